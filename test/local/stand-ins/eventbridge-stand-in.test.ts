import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  type AwsEvent,
  EventBridgeStandIn,
  PUT_EVENTS_MAX_BYTES,
} from '../../../local/stand-ins/eventbridge-stand-in';

const clientConfig = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};

describe('EventBridgeStandIn through the AWS SDK', () => {
  const standIn = new EventBridgeStandIn();
  let events: EventBridgeClient;

  beforeAll(async () => {
    events = new EventBridgeClient({ ...clientConfig, endpoint: (await standIn.start()).url });
  });

  afterAll(async () => {
    events.destroy();
    await standIn.stop();
  });

  test('an accepted entry is kept with its bus, source and parsed detail', async () => {
    const out = await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: 'runs', Source: 'saas-to-redshift', DetailType: 'Run', Detail: '{"runId":"r1"}' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(standIn.events.at(-1)).toEqual({
      source: 'saas-to-redshift',
      detailType: 'Run',
      detail: { runId: 'r1' },
      eventBusName: 'runs',
    });
  });

  test('a malformed detail fails that entry only, as FailedEntryCount, while the call succeeds', async () => {
    const before = standIn.events.length;
    const out = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 's', DetailType: 'd', Detail: 'not json' },
          { Source: 's', DetailType: 'd', Detail: '{}' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
    expect(standIn.events.length).toBe(before + 1);
  });

  test('an entry without Source fails with InvalidArgument', async () => {
    const out = await events.send(new PutEventsCommand({ Entries: [{ DetailType: 'd', Detail: '{}' }] }));
    expect(out.Entries?.[0]).toMatchObject({ ErrorCode: 'InvalidArgument' });
  });

  test('entries over 256 KB in UTF-8 bytes are refused whole, even under 256 K characters', async () => {
    // 70,000 four-byte characters: 140,000 UTF-16 units but 280,000 bytes.
    const detail = JSON.stringify({ text: '😀'.repeat(70_000) });
    expect(detail.length).toBeLessThan(PUT_EVENTS_MAX_BYTES);
    await expect(
      events.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: detail }] })),
    ).rejects.toMatchObject({ name: 'ValidationException', message: /Total size of the entries/ });
  });
});

describe("EventBridgeStandIn's rules for AWS services' events", () => {
  const FLOW_RUN_ENDED_PATTERN = {
    source: ['aws.appflow'],
    'detail-type': ['AppFlow End Flow Run Report'],
    detail: { 'flow-name': [{ prefix: 'saas2rs-local-' }] },
  };
  const REPORT_DETAIL = {
    'flow-name': 'saas2rs-local-Account-run-1',
    'execution-id': 'exec-1',
    status: 'Execution Successful',
    'num-of-records-processed': '12',
  };
  const FLOW_ARN = 'arn:aws:appflow:eu-west-1:000000000000:flow/saas2rs-local-Account-run-1';

  /** A Lambda target that records the events it gets. */
  function aTarget(behaviour: (event: AwsEvent) => Promise<unknown> = async () => undefined) {
    return jest.fn(behaviour);
  }

  test('a service event invokes only the rules whose pattern matches, and returns their names', async () => {
    // Prepare
    const ended = aTarget();
    const s3 = aTarget();
    const sweep = aTarget();
    const standIn = new EventBridgeStandIn({
      account: '111111111111',
      region: 'eu-west-1',
      routes: [
        { name: 'flow-run-ended', eventPattern: FLOW_RUN_ENDED_PATTERN, targets: [ended] },
        { name: 's3-objects', eventPattern: { source: ['aws.s3'] }, targets: [s3] },
        { name: 'sweep', scheduleExpression: 'rate(15 minutes)', targets: [sweep] },
      ],
    });

    // Act
    const matched = await standIn.publishServiceEvent(
      'aws.appflow',
      'AppFlow End Flow Run Report',
      REPORT_DETAIL,
      [FLOW_ARN],
    );

    // Assess
    expect(matched).toEqual(['flow-run-ended']);
    expect(ended).toHaveBeenCalledTimes(1);
    expect(ended.mock.calls[0][0]).toEqual({
      version: '0',
      id: expect.any(String),
      'detail-type': 'AppFlow End Flow Run Report',
      source: 'aws.appflow',
      account: '111111111111',
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
      region: 'eu-west-1',
      resources: [FLOW_ARN],
      detail: REPORT_DETAIL,
    });
    expect(s3).not.toHaveBeenCalled();
    expect(sweep).not.toHaveBeenCalled();
    expect(standIn.serviceEvents.map((entry) => entry.matchedRules)).toEqual([['flow-run-ended']]);
  });

  test("an event no rule matches (another pipeline's flow) invokes nothing and is still recorded", async () => {
    // Prepare
    const ended = aTarget();
    const standIn = new EventBridgeStandIn({
      routes: [{ name: 'flow-run-ended', eventPattern: FLOW_RUN_ENDED_PATTERN, targets: [ended] }],
    });

    // Act
    const matched = await standIn.publishServiceEvent('aws.appflow', 'AppFlow End Flow Run Report', {
      ...REPORT_DETAIL,
      'flow-name': 'saas2rs-prod-Account-run-1',
    });

    // Assess
    expect(matched).toEqual([]);
    expect(ended).not.toHaveBeenCalled();
    expect(standIn.serviceEvents).toHaveLength(1);
    expect(standIn.serviceEvents[0].matchedRules).toEqual([]);
  });

  test("a failing target is retried as Lambda's async invocation does (3 attempts), then recorded as lost", async () => {
    // Prepare
    const failing = aTarget(async () => {
      throw new Error('Task timed out after 120 seconds');
    });
    const healthy = aTarget();
    const standIn = new EventBridgeStandIn({
      routes: [{ name: 'flow-run-ended', eventPattern: FLOW_RUN_ENDED_PATTERN, targets: [failing, healthy] }],
    });

    // Act
    const matched = await standIn.publishServiceEvent(
      'aws.appflow',
      'AppFlow End Flow Run Report',
      REPORT_DETAIL,
    );

    // Assess
    expect(matched).toEqual(['flow-run-ended']);
    expect(failing).toHaveBeenCalledTimes(3);
    expect(healthy).toHaveBeenCalledTimes(1);
    expect(standIn.failedDeliveries).toEqual([
      { rule: 'flow-run-ended', error: 'Task timed out after 120 seconds' },
    ]);
  });

  test('a target that succeeds on a retry is not recorded as lost', async () => {
    // Prepare
    let attempts = 0;
    const flaky = aTarget(async () => {
      attempts += 1;
      if (attempts < 3) throw new Error('Rate exceeded');
    });
    const standIn = new EventBridgeStandIn({
      routes: [{ name: 'flow-run-ended', eventPattern: FLOW_RUN_ENDED_PATTERN, targets: [flaky] }],
    });

    // Act
    await standIn.publishServiceEvent('aws.appflow', 'AppFlow End Flow Run Report', REPORT_DETAIL);

    // Assess
    expect(flaky).toHaveBeenCalledTimes(3);
    expect(standIn.failedDeliveries).toEqual([]);
  });

  test("fireSchedules sends a 'Scheduled Event' from 'aws.events' to the scheduled rules only", async () => {
    // Prepare
    const ended = aTarget();
    const sweep = aTarget();
    const standIn = new EventBridgeStandIn({
      account: '111111111111',
      region: 'eu-west-1',
      routes: [
        { name: 'flow-run-ended', eventPattern: FLOW_RUN_ENDED_PATTERN, targets: [ended] },
        { name: 'sweep', scheduleExpression: 'rate(15 minutes)', targets: [sweep] },
      ],
    });

    // Act
    await standIn.fireSchedules();

    // Assess
    expect(ended).not.toHaveBeenCalled();
    expect(sweep).toHaveBeenCalledTimes(1);
    expect(sweep.mock.calls[0][0]).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      resources: ['arn:aws:events:eu-west-1:111111111111:rule/sweep'],
      detail: {},
    });
    expect(standIn.serviceEvents).toEqual([]);
  });
});
