import { FAULT_SERVICES, FaultInjector } from '../../../local/stand-ins/fault-injector';

describe('the fault injector', () => {
  test.each(FAULT_SERVICES)('takes faults of %s, whose stand-in asks it', (service) => {
    // Prepare
    const faults = new FaultInjector();

    // Act
    faults.add([{ service, operation: 'SomeOperation', times: 1, error: 'ThrottlingException' }]);

    // Assess
    expect(faults.take(service, 'SomeOperation')).toBe('ThrottlingException');
    expect(faults.take(service, 'SomeOperation')).toBeUndefined();
  });

  test('refuses a fault of a service no stand-in asks, instead of never firing it', () => {
    // Act
    const act = () =>
      new FaultInjector().add([
        { service: 'dynamo', operation: 'UpdateItem', times: 1, error: 'ThrottlingException' },
      ]);

    // Assess
    expect(act).toThrow(
      /no stand-in of service dynamo takes faults \(known: appflow, redshift-data, dynamodb, events, stepfunctions\)/,
    );
  });
});
