import { matchesEventPattern } from '../../../local/stand-ins/event-pattern';

/** The pipeline's own rule (FlowRunWaits): AppFlow's end-of-run report of the local flows. */
const FLOW_RUN_ENDED_PATTERN = {
  source: ['aws.appflow'],
  'detail-type': ['AppFlow End Flow Run Report'],
  detail: { 'flow-name': [{ prefix: 'saas2rs-local-' }] },
};

function anEndOfRunReport(overrides: Record<string, unknown> = {}, detail: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: 'e-1',
    source: 'aws.appflow',
    'detail-type': 'AppFlow End Flow Run Report',
    account: '000000000000',
    region: 'eu-west-1',
    time: '2026-03-10T06:12:00Z',
    resources: ['arn:aws:appflow:eu-west-1:000000000000:flow/saas2rs-local-Account-run-1'],
    detail: {
      'flow-name': 'saas2rs-local-Account-run-1',
      'execution-id': 'exec-1',
      status: 'Execution Successful',
      'num-of-records-processed': '12',
      ...detail,
    },
    ...overrides,
  };
}

describe("matchesEventPattern with the pipeline's rule", () => {
  test("matches the end-of-run report of the pipeline's flows", () => {
    expect(matchesEventPattern(FLOW_RUN_ENDED_PATTERN, anEndOfRunReport())).toBe(true);
  });

  test.each([
    ["another pipeline's flow", anEndOfRunReport({}, { 'flow-name': 'saas2rs-prod-Account-run-1' })],
    [
      'a flow whose name only contains the prefix',
      anEndOfRunReport({}, { 'flow-name': 'x-saas2rs-local-A' }),
    ],
    ['another detail-type', anEndOfRunReport({ 'detail-type': 'AppFlow Start Flow Run Report' })],
    ['another source', anEndOfRunReport({ source: 'custom.appflow' })],
    ['a report without a flow name', { ...anEndOfRunReport(), detail: { status: 'Execution Successful' } }],
    ['a flow name that is not a string', anEndOfRunReport({}, { 'flow-name': 42 })],
    ['a detail that is not an object', { ...anEndOfRunReport(), detail: 'saas2rs-local-Account' }],
  ])('does not match %s', (_what, event) => {
    expect(matchesEventPattern(FLOW_RUN_ENDED_PATTERN, event)).toBe(false);
  });
});

describe('matchesEventPattern operators', () => {
  test('an array in the event matches when any of its elements does', () => {
    // Prepare
    const pattern = { resources: [{ suffix: '/flow-b' }], detail: { tags: ['blue'] } };

    // Act / Assess
    expect(
      matchesEventPattern(pattern, {
        resources: ['arn:a/flow-a', 'arn:b/flow-b'],
        detail: { tags: ['red', 'blue'] },
      }),
    ).toBe(true);
    expect(
      matchesEventPattern(pattern, { resources: ['arn:a/flow-a'], detail: { tags: ['red', 'blue'] } }),
    ).toBe(false);
    expect(matchesEventPattern(pattern, { resources: ['arn:b/flow-b'], detail: { tags: [] } })).toBe(false);
  });

  test('exact values match by type and value: a number is not its string', () => {
    expect(matchesEventPattern({ detail: { count: [12] } }, { detail: { count: 12 } })).toBe(true);
    expect(matchesEventPattern({ detail: { count: [12] } }, { detail: { count: '12' } })).toBe(false);
    expect(matchesEventPattern({ detail: { done: [true, null] } }, { detail: { done: null } })).toBe(true);
  });

  test('exists: true needs the field; exists: false needs it absent, nested objects included', () => {
    // Prepare
    const present = { detail: { 'error-message': [{ exists: true }] } };
    const absent = { detail: { 'error-message': [{ exists: false }] } };
    const failed = { detail: { 'error-message': 'boom' } };
    const succeeded = { detail: {} };

    // Act / Assess
    expect(matchesEventPattern(present, failed)).toBe(true);
    expect(matchesEventPattern(present, succeeded)).toBe(false);
    expect(matchesEventPattern(absent, succeeded)).toBe(true);
    expect(matchesEventPattern(absent, failed)).toBe(false);
    // No detail at all: nothing under it exists.
    expect(matchesEventPattern(absent, { source: 'aws.appflow' })).toBe(true);
    expect(matchesEventPattern(present, { source: 'aws.appflow' })).toBe(false);
  });

  test('anything-but matches any other value, a single value or a list, but not a missing field', () => {
    // Prepare
    const notSuccessful = { detail: { status: [{ 'anything-but': 'Execution Successful' }] } };
    const neither = {
      detail: { status: [{ 'anything-but': ['Execution Successful', 'Execution Canceled'] }] },
    };

    // Act / Assess
    expect(matchesEventPattern(notSuccessful, { detail: { status: 'Execution Failed' } })).toBe(true);
    expect(matchesEventPattern(notSuccessful, { detail: { status: 'Execution Successful' } })).toBe(false);
    expect(matchesEventPattern(neither, { detail: { status: 'Execution Canceled' } })).toBe(false);
    expect(matchesEventPattern(neither, { detail: { status: 'Execution Failed' } })).toBe(true);
    expect(matchesEventPattern(notSuccessful, { detail: {} })).toBe(false);
  });

  test('suffix matches the end of a string value only', () => {
    // Prepare
    const pattern = { detail: { 'flow-name': [{ suffix: '-run-1' }] } };

    // Act / Assess
    expect(matchesEventPattern(pattern, { detail: { 'flow-name': 'saas2rs-local-Account-run-1' } })).toBe(
      true,
    );
    expect(matchesEventPattern(pattern, { detail: { 'flow-name': 'saas2rs-local-Account-run-10' } })).toBe(
      false,
    );
  });

  test('equals-ignore-case matches a string in any case, and nothing else', () => {
    // Prepare
    const pattern = { detail: { status: [{ 'equals-ignore-case': 'execution successful' }] } };

    // Act / Assess
    expect(matchesEventPattern(pattern, { detail: { status: 'Execution Successful' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { status: 'EXECUTION SUCCESSFUL' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { status: 'Execution Successful!' } })).toBe(false);
  });

  test('a field matches when any of its matchers does', () => {
    // Prepare
    const pattern = { detail: { 'flow-name': [{ prefix: 'saas2rs-dev-' }, { prefix: 'saas2rs-local-' }] } };

    // Act / Assess
    expect(matchesEventPattern(pattern, { detail: { 'flow-name': 'saas2rs-local-A' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { 'flow-name': 'saas2rs-prod-A' } })).toBe(false);
  });

  test.each([
    ['numeric', { numeric: ['>', 0] }],
    ['wildcard', { wildcard: 'saas2rs-*' }],
    ['cidr', { cidr: '10.0.0.0/24' }],
  ])('an operator it does not simulate (%s) throws, naming it, rather than guessing', (operator, matcher) => {
    // Prepare
    const pattern = { detail: { 'flow-name': [matcher] } };

    // Act
    const act = () => matchesEventPattern(pattern, { detail: { 'flow-name': 'saas2rs-local-A' } });

    // Assess
    expect(act).toThrow(`operator "${operator}" is not simulated`);
    expect(act).toThrow('flow-name');
  });

  test('a pattern value that is neither an array nor an object throws, naming the field', () => {
    expect(() => matchesEventPattern({ source: 'aws.appflow' }, { source: 'aws.appflow' })).toThrow(
      'Event pattern field source: a value must be an array or an object',
    );
  });
});
