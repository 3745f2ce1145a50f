import type { FlowState } from '../../../lambdas/common/object-state';
import { waitTimes } from '../../../local/runner/flow-wait-emulation';
import { statementWaitTimeout } from '../../../local/runner/statement-wait-emulation';

const flow = (fields: Partial<FlowState>): FlowState => ({
  flowName: 's2r-Account-run-1',
  executionId: 'exec-1',
  state: 'RUNNING',
  polls: 0,
  recordsProcessed: 0,
  ...fields,
});

describe('the flow wait as Step Functions reads it from the state', () => {
  test('takes the timeout and the heartbeat from the state (TimeoutSecondsPath, HeartbeatSecondsPath)', () => {
    expect(waitTimes(flow({ waitTimeoutSeconds: 600, heartbeatSeconds: 599 }))).toEqual({
      timeoutSeconds: 600,
      heartbeatSeconds: 599,
    });
  });

  test.each([
    [3600, 3600],
    [3600, 120],
  ])(
    'refuses a heartbeat of %i s with a timeout of %i s, as Step Functions does (States.Runtime)',
    (heartbeatSeconds, waitTimeoutSeconds) => {
      expect(() => waitTimes(flow({ heartbeatSeconds, waitTimeoutSeconds }))).toThrow(
        expect.objectContaining({
          name: 'States.Runtime',
          message: expect.stringContaining('HeartbeatSeconds'),
        }),
      );
    },
  );
});

describe('a wait whose timeout path holds no positive integer fails the execution as Step Functions does (States.Runtime)', () => {
  test.each([
    ['no heartbeat', { waitTimeoutSeconds: 600 }, '$.flow.heartbeatSeconds', 'nothing'],
    ['no timeout', { heartbeatSeconds: 60 }, '$.flow.waitTimeoutSeconds', 'nothing'],
    ['a zero heartbeat', { waitTimeoutSeconds: 600, heartbeatSeconds: 0 }, '$.flow.heartbeatSeconds', '0'],
    [
      'a fractional timeout',
      { waitTimeoutSeconds: 60.5, heartbeatSeconds: 30 },
      '$.flow.waitTimeoutSeconds',
      '60.5',
    ],
  ])('%s', (_case, fields, path, found) => {
    const act = () => waitTimes(flow(fields));

    expect(act).toThrow(
      expect.objectContaining({
        name: 'States.Runtime',
        message: `The wait on flow s2r-Account-run-1: ${path} must hold a positive integer of seconds, found ${found}`,
        // No Retry or Catch stops it, not even States.ALL.
        isRetryable: false,
        isCatchable: false,
      }),
    );
  });

  test('a state without $.flow', () => {
    expect(() => waitTimes(undefined)).toThrow(
      /The wait on flow \(no \$\.flow\): \$\.flow\.waitTimeoutSeconds/,
    );
  });

  test.each([
    [undefined, 'nothing'],
    [-5, '-5'],
    ['900', '"900"'],
  ])('a statement wait with timeoutSeconds %p', (timeoutSeconds, found) => {
    const act = () =>
      statementWaitTimeout({
        wait: { statementId: 'st-1', what: 'consolidation', timeoutSeconds: timeoutSeconds as number },
      });

    expect(act).toThrow(
      expect.objectContaining({
        name: 'States.Runtime',
        message: `The wait on statement st-1: $.waiting.timeoutSeconds must hold a positive integer of seconds, found ${found}`,
      }),
    );
  });

  test('a statement wait with a positive integer timeout', () => {
    expect(statementWaitTimeout({ wait: { statementId: 'st-1', what: 'x', timeoutSeconds: 900 } })).toBe(900);
  });
});
