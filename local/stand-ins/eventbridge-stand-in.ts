import { randomUUID } from 'node:crypto';
import {
  awsJson,
  HttpStandInServer,
  ServiceError,
  type ServiceRequest,
  type ServiceResponse,
} from './http-service';

export interface PutEvent {
  source: string;
  detailType: string;
  detail: unknown;
  eventBusName: string;
}

interface PutEventsEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName?: string;
}

/** EventBridge `PutEvents` (awsJson1_1): keeps every event, so a run's report can be read back. */
export class EventBridgeStandIn {
  readonly events: PutEvent[] = [];
  private readonly server = new HttpStandInServer('EventBridge', (request) => this.handle(request));

  start(): Promise<{ url: string }> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  private async handle(request: ServiceRequest): Promise<ServiceResponse> {
    const operation = awsJson.operationOf(request);
    if (operation !== 'PutEvents') {
      return awsJson.error(new ServiceError('UnknownOperationException', `${operation} is not simulated`));
    }
    const entries = (request.body.Entries ?? []) as PutEventsEntry[];
    for (const entry of entries) {
      this.events.push({
        source: entry.Source,
        detailType: entry.DetailType,
        detail: JSON.parse(entry.Detail),
        eventBusName: entry.EventBusName ?? 'default',
      });
    }
    return awsJson.ok({ FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) });
  }
}
