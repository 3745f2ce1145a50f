import type { Server } from 'node:http';
import { closeServer, listenOnLoopback } from './http-service';

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
    const url = await listenOnLoopback(server);
    this.server = server;
    return { url };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) {
      return;
    }
    this.server = undefined;
    await closeServer(server);
  }
}
