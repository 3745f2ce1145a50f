import type { FlowState } from '../../../lambdas/common/object-state';
import { waitTimes } from '../../../local/runner/flow-wait-emulation';

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
