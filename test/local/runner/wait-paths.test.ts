import type { StateMachineDefinition } from '../../../local/runner/definition';
import { refuseWaitPathsNotPlayed } from '../../../local/runner/local-services';

const lambda = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/** A definition whose one token task, AwaitIt, has the given timing fields. */
function awaiting(timing: Record<string, unknown>): StateMachineDefinition {
  return {
    StartAt: 'AwaitIt',
    States: { AwaitIt: { Type: 'Task', Resource: lambda, ...timing, End: true } },
  } as StateMachineDefinition;
}

describe('the token waits the local run plays', () => {
  test('takes a flow wait and a statement wait timed by the fields the emulations read', () => {
    const flowWait = {
      TimeoutSecondsPath: '$.flow.waitTimeoutSeconds',
      HeartbeatSecondsPath: '$.flow.heartbeatSeconds',
    };
    const statementWait = { TimeoutSecondsPath: '$.waiting.timeoutSeconds' };

    expect(() =>
      refuseWaitPathsNotPlayed({ definition: awaiting(flowWait), tokenTasks: ['AwaitIt'] }),
    ).not.toThrow();
    expect(() =>
      refuseWaitPathsNotPlayed({ definition: awaiting(statementWait), tokenTasks: ['AwaitIt'] }),
    ).not.toThrow();
  });

  test.each([
    [
      'a timeout read elsewhere',
      { TimeoutSecondsPath: '$.flow.timeoutSeconds', HeartbeatSecondsPath: '$.flow.heartbeatSeconds' },
    ],
    [
      'a heartbeat read elsewhere',
      { TimeoutSecondsPath: '$.flow.waitTimeoutSeconds', HeartbeatSecondsPath: '$.heartbeat' },
    ],
    [
      'a static heartbeat beside the path',
      { TimeoutSecondsPath: '$.waiting.timeoutSeconds', HeartbeatSeconds: 60 },
    ],
    ['a static timeout', { TimeoutSeconds: 600 }],
  ])('refuses %s, naming the task and what it reads', (_, timing) => {
    expect(() => refuseWaitPathsNotPlayed({ definition: awaiting(timing), tokenTasks: ['AwaitIt'] })).toThrow(
      /^Token task AwaitIt: the local run plays a wait whose TimeoutSecondsPath is \$\.flow\.waitTimeoutSeconds/,
    );
  });

  test('looks only at token tasks', () => {
    expect(() =>
      refuseWaitPathsNotPlayed({ definition: awaiting({ TimeoutSeconds: 600 }), tokenTasks: [] }),
    ).not.toThrow();
  });
});
