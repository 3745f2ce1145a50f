import { parseScenario } from '../../../local/runner/scenario';

const quiet = (date: string) => ({ date });

describe('scenario validation: what cannot play as written is refused before the first day', () => {
  test('a fault of a service no stand-in asks, on the last day, names the day and the services that take faults', () => {
    const act = () =>
      parseScenario({
        objects: [],
        days: [
          quiet('2026-01-01'),
          {
            date: '2026-01-02',
            faults: [{ service: 'lambda', operation: 'Invoke', times: 1, error: 'TooManyRequestsException' }],
          },
        ],
      });

    expect(act).toThrow(
      /days\.1\.faults\.0\.service: no stand-in of service lambda takes faults \(known: appflow, redshift-data, dynamodb, events, stepfunctions\)/,
    );
  });

  test('an operation the stand-in does not fail, and an error code the service never answers with', () => {
    const act = () =>
      parseScenario({
        objects: [],
        days: [
          {
            date: '2026-01-01',
            faults: [
              { service: 'appflow', operation: 'StartFlows', times: 1, error: 'ThrottlingException' },
              { service: 'dynamodb', operation: 'UpdateItem', times: 1, error: 'Throttled' },
            ],
          },
        ],
      });

    expect(act).toThrow(/days\.0\.faults\.0\.operation: the appflow stand-in fails no operation StartFlows/);
    expect(act).toThrow(/days\.0\.faults\.1\.error: dynamodb answers with no error Throttled \(known: /);
  });

  test('a fault given as a message, and the codes a service has, are taken', () => {
    const parsed = parseScenario({
      objects: [],
      days: [
        {
          date: '2026-01-01',
          faults: [
            { service: 'dynamodb', operation: 'UpdateItem', error: 'ConditionalCheckFailedException' },
            { service: 'dynamodb', operation: 'PutItem', error: 'TransactionConflictException' },
            { service: 'redshift-data', operation: 'ExecuteStatement', error: 'cluster is resizing' },
          ],
        },
      ],
    });

    expect(parsed.days[0].faults.map((fault) => fault.error)).toEqual([
      'ConditionalCheckFailedException',
      'TransactionConflictException',
      'cluster is resizing',
    ]);
  });

  test('a day whose startTime is not on its date (UTC)', () => {
    const act = () =>
      parseScenario({
        objects: [],
        days: [{ date: '2026-01-01', startTime: '2026-01-02T07:00:00.000Z' }],
      });

    expect(act).toThrow(/days\.0\.startTime: must fall on the day’s date \(UTC\)/);
    expect(
      parseScenario({ objects: [], days: [{ date: '2026-01-01', startTime: '2026-01-01T23:59:59.000Z' }] })
        .days[0].startTime,
    ).toBe('2026-01-01T23:59:59.000Z');
  });
});
