import { randomUUID } from 'node:crypto';
import { matchesEventPattern } from './event-pattern';
import { type FaultInjector, injectedServiceError } from './fault-injector';
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

/** An event as EventBridge hands it to a rule's targets. */
export interface AwsEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** A deployed rule of the default bus: its pattern or schedule and the targets it invokes. */
export interface EventRoute {
  name: string;
  eventPattern?: Record<string, unknown>;
  scheduleExpression?: string;
  /** Lambda targets, invoked asynchronously: Lambda retries a failed invocation twice. */
  targets: ((event: AwsEvent) => Promise<unknown>)[];
}

export interface EventBridgeStandInOptions extends StandInChecksOptions {
  /** A scenario's faults on `PutEvents` (`"service": "events"`). @default none */
  faults?: FaultInjector;
  /** The template's rules with Lambda targets. @default [] */
  routes?: EventRoute[];
  /** Account and region of the events the stand-in stamps. */
  account?: string;
  region?: string;
}

/** Lambda's asynchronous invocation: the first attempt and two retries. */
const ASYNC_INVOKE_ATTEMPTS = 3;

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
  /** Events AWS services published to the default bus, and the rules each matched. */
  readonly serviceEvents: { event: AwsEvent; matchedRules: string[] }[] = [];
  /** Target invocations that failed after Lambda's retries: the event is lost, as in AWS without a DLQ. */
  readonly failedDeliveries: { rule: string; error: string }[] = [];
  private readonly server: HttpStandInServer;
  private readonly routes: EventRoute[];

  constructor(private readonly options: EventBridgeStandInOptions = {}) {
    this.server = new HttpStandInServer('EventBridge', (request) => this.handle(request), {
      awsService: 'events',
      checks: options.checks,
    });
    this.routes = options.routes ?? [];
  }

  /**
   * An AWS service's event on the default bus (AppFlow's "End Flow Run Report"): every rule
   * whose pattern matches invokes its targets; resolves once they have run.
   */
  async publishServiceEvent(
    source: string,
    detailType: string,
    detail: Record<string, unknown>,
    resources: string[] = [],
  ): Promise<string[]> {
    const event = this.event(source, detailType, detail, resources);
    const matched = this.routes.filter(
      (route) =>
        route.eventPattern &&
        matchesEventPattern(route.eventPattern, event as unknown as Record<string, unknown>),
    );
    this.serviceEvents.push({ event, matchedRules: matched.map((route) => route.name) });
    await Promise.all(matched.map((route) => this.deliver(route, event)));
    return matched.map((route) => route.name);
  }

  /** One tick of every scheduled rule (`rate(…)`): its targets get EventBridge's "Scheduled Event". */
  async fireSchedules(): Promise<void> {
    const scheduled = this.routes.filter((route) => route.scheduleExpression);
    await Promise.all(
      scheduled.map((route) => {
        const { account, region } = this.location();
        const rule = `arn:aws:events:${region}:${account}:rule/${route.name}`;
        return this.deliver(route, this.event('aws.events', 'Scheduled Event', {}, [rule]));
      }),
    );
  }

  private location(): { account: string; region: string } {
    return { account: this.options.account ?? '000000000000', region: this.options.region ?? 'eu-west-1' };
  }

  /** EventBridge's envelope, stamped now (to the second, as EventBridge writes `time`). */
  private event(
    source: string,
    detailType: string,
    detail: Record<string, unknown>,
    resources: string[],
  ): AwsEvent {
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source,
      ...this.location(),
      time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      resources,
      detail,
    };
  }

  private async deliver(route: EventRoute, event: AwsEvent): Promise<void> {
    for (const target of route.targets) {
      let delivered = false;
      let lastError: unknown;
      for (let attempt = 0; attempt < ASYNC_INVOKE_ATTEMPTS && !delivered; attempt++) {
        try {
          await target(event);
          delivered = true;
        } catch (error) {
          lastError = error;
        }
      }
      if (!delivered) {
        this.failedDeliveries.push({
          rule: route.name,
          error: (lastError as Error).message ?? String(lastError),
        });
      }
    }
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
    const fault = this.options.faults?.take('events', operation);
    if (fault !== undefined) return awsJson.error(injectedServiceError('events', fault));
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
