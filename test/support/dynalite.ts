import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbStandIn } from '../../local/stand-ins/dynamodb-stand-in';

/** The local run's DynamoDB stand-in (dynalite), with a client for tests. */
export class Dynalite {
  private readonly standIn = new DynamoDbStandIn();
  endpoint = '';

  async start(): Promise<string> {
    this.endpoint = (await this.standIn.start()).url;
    return this.endpoint;
  }

  client(): DynamoDBClient {
    return new DynamoDBClient({ endpoint: this.endpoint, maxAttempts: 1 });
  }

  stop(): Promise<void> {
    return this.standIn.stop();
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
