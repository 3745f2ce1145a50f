import { Agent, request as httpRequest, type Server } from 'node:http';
import { type FaultInjector, injectedServiceError } from './fault-injector';
import {
  awsJson,
  closeServer,
  HttpStandInServer,
  listenOnLoopback,
  type ServiceRequest,
  type ServiceResponse,
  type StandInChecksOptions,
} from './http-service';

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

type CreateDynalite = (options: DynaliteOptions) => Server;

// dynalite ships no type declarations; this is the one function the stand-in uses.
const createDynalite: CreateDynalite = require('dynalite');

// Response headers of dynalite's that the SDK reads; the proxy sets its own length.
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'x-amzn-requestid', 'x-amz-crc32'];

/**
 * DynamoDB stand-in: an in-memory dynalite server on 127.0.0.1 with tables ready at once,
 * behind a forwarding proxy (the shared HttpStandInServer) so that every DynamoDB call
 * passes the same checks and API-model validation as the other AWS stand-ins.
 */
export class DynamoDbStandIn {
  private dynalite: Server | undefined;
  private dynaliteUrl = '';
  private readonly agent = new Agent({ keepAlive: true });
  private readonly proxy: HttpStandInServer;

  private readonly faults: FaultInjector | undefined;

  constructor(options: StandInChecksOptions & { faults?: FaultInjector } = {}) {
    this.faults = options.faults;
    this.proxy = new HttpStandInServer('DynamoDB', (request) => this.forward(request), {
      awsService: 'dynamodb',
      checks: options.checks,
    });
  }

  async start(): Promise<{ url: string }> {
    if (this.dynalite) {
      throw new Error('DynamoDB stand-in is already started');
    }
    const dynalite = createDynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    this.dynaliteUrl = await listenOnLoopback(dynalite);
    this.dynalite = dynalite;
    try {
      return await this.proxy.start();
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    const dynalite = this.dynalite;
    if (!dynalite) {
      return;
    }
    this.dynalite = undefined;
    await this.proxy.stop();
    this.agent.destroy();
    await closeServer(dynalite);
  }

  /** Passes an accepted request to dynalite unchanged (JSON re-serialized) and returns its answer. */
  private forward(request: ServiceRequest): Promise<ServiceResponse> {
    const key = request.body?.Key as { objectName?: { S?: string } } | undefined;
    const fault = this.faults?.take('dynamodb', awsJson.operationOf(request), key?.objectName?.S);
    if (fault !== undefined) {
      return Promise.resolve(awsJson.error(injectedServiceError('dynamodb', fault)));
    }
    const body = request.method === 'POST' ? JSON.stringify(request.body) : '';
    const headers = { ...request.headers, 'content-length': String(Buffer.byteLength(body)) };
    delete headers.host;
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        `${this.dynaliteUrl}${request.path}`,
        { method: request.method, headers, agent: this.agent },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const forwarded: Record<string, string> = {};
            for (const name of FORWARDED_RESPONSE_HEADERS) {
              const value = response.headers[name];
              if (typeof value === 'string') forwarded[name] = value;
            }
            resolve({
              status: response.statusCode ?? 500,
              headers: forwarded,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }
}
