import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

type CreateDynalite = (options: DynaliteOptions) => Server;

// dynalite ships no type declarations; this is the one function the stand-in uses.
const createDynalite: CreateDynalite = require('dynalite');

/** DynamoDB stand-in: an in-memory dynalite server on 127.0.0.1 with tables ready at once. */
export class DynamoDbStandIn {
  private server: Server | undefined;

  async start(): Promise<{ url: string }> {
    if (this.server) {
      throw new Error('DynamoDB stand-in is already started');
    }
    const server = createDynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}` };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) {
      return;
    }
    this.server = undefined;
    // Keep-alive connections from SDK clients would otherwise hold close() open.
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
  }
}
