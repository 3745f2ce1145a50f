import { randomUUID } from 'node:crypto';
import {
  awsJson,
  HttpStandInServer,
  ServiceError,
  type ServiceRequest,
  type ServiceResponse,
  type StandInChecksOptions,
} from './http-service';

export interface PutEvent {
  source: string;
  detailType: string;
  detail: unknown;
  eventBusName: string;
}

interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Time?: number;
  Resources?: string[];
}

type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** PutEvents' documented limit on the entries of one request, counted as AWS counts them. */
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

/**
 * An entry's size as the EventBridge User Guide's "Calculating PutEvents event entry size"
 * counts it: UTF-8 bytes of Source, DetailType, Detail and Resources, 14 bytes for a Time.
 */
export function putEventsEntrySize(entry: PutEventsEntry): number {
  const bytes = (text: string | undefined) => Buffer.byteLength(text ?? '', 'utf8');
  return (
    (entry.Time === undefined ? 0 : 14) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((total, resource) => total + bytes(resource), 0)
  );
}

function isJsonObjectText(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/**
 * EventBridge `PutEvents` (awsJson1_1): keeps every accepted event, so a run's report can be
 * read back. As EventBridge does, a bad entry fails alone (FailedEntryCount, ErrorCode) while
 * the call itself succeeds, and a request over 256 KB is refused whole.
 */
export class EventBridgeStandIn {
  readonly events: PutEvent[] = [];
  private readonly server: HttpStandInServer;

  constructor(options: StandInChecksOptions = {}) {
    this.server = new HttpStandInServer('EventBridge', (request) => this.handle(request), {
      awsService: 'events',
      checks: options.checks,
    });
  }

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
    const size = entries.reduce((total, entry) => total + putEventsEntrySize(entry), 0);
    if (size > PUT_EVENTS_MAX_BYTES) {
      return awsJson.error(
        new ServiceError(
          'ValidationException',
          `Total size of the entries in the request is over the limit (${size} bytes, limit ${PUT_EVENTS_MAX_BYTES}).`,
        ),
      );
    }
    const results = entries.map((entry) => this.put(entry));
    const failed = results.filter((result) => 'ErrorCode' in result).length;
    return awsJson.ok({ FailedEntryCount: failed, Entries: results });
  }

  private put(entry: PutEventsEntry): EntryResult {
    for (const member of ['Source', 'DetailType', 'Detail'] as const) {
      if (entry[member] === undefined || entry[member] === '') {
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: `Parameter ${member} is not valid. Reason: ${member} is a required argument.`,
        };
      }
    }
    if (!isJsonObjectText(entry.Detail!)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    this.events.push({
      source: entry.Source!,
      detailType: entry.DetailType!,
      detail: JSON.parse(entry.Detail!),
      eventBusName: entry.EventBusName ?? 'default',
    });
    return { EventId: randomUUID() };
  }
}
