import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { EventBridgeStandIn, PUT_EVENTS_MAX_BYTES } from '../../../local/stand-ins/eventbridge-stand-in';

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
