import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

type CreateDynalite = (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

// dynalite ships no type declarations.
const createDynalite: CreateDynalite = require('dynalite');

/** A real, in-memory DynamoDB (dynalite) on 127.0.0.1 and a random port. */
export class Dynalite {
  private server: Server | undefined;
  endpoint = '';

  async start(): Promise<string> {
    const server = createDynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  client(): DynamoDBClient {
    return new DynamoDBClient({ endpoint: this.endpoint, maxAttempts: 1 });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    // SDK keep-alive sockets would otherwise hold close() open.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A control table as the stack defines it: partition key `objectName`, on demand. */
export async function createControlTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'objectName', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'objectName', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}
