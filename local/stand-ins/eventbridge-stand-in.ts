import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PutEvent {
  source: string;
  detailType: string;
  detail: unknown;
  eventBusName: string;
}

/** EventBridge `PutEvents` (awsJson1_1): keeps every event so a run's report can be read back. */
export class EventBridgeStandIn {
  readonly events: PutEvent[] = [];
  private server?: Server;

  async start(): Promise<{ url: string }> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(this.server.address() as AddressInfo).port}` };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    if (target !== 'AWSEvents.PutEvents') {
      reply(400, { __type: 'UnknownOperationException', message: `${target} is not simulated` });
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
      Entries?: { Source: string; DetailType: string; Detail: string; EventBusName?: string }[];
    };
    const entries = body.Entries ?? [];
    for (const entry of entries) {
      this.events.push({
        source: entry.Source,
        detailType: entry.DetailType,
        detail: JSON.parse(entry.Detail),
        eventBusName: entry.EventBusName ?? 'default',
      });
    }
    reply(200, { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) });
  }
}
