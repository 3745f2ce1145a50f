import { FaultInjector } from '../../../local/stand-ins/fault-injector';
import { SimulatedClock } from '../../../local/stand-ins/simulated-clock';
import { SourceOrg } from '../../../local/stand-ins/source-org';

describe('SimulatedClock', () => {
  test('tick advances and returns the new time', () => {
    const clock = new SimulatedClock('2026-01-01T00:00:00.000Z');

    expect(clock.tick().toISOString()).toBe('2026-01-01T00:00:01.000Z');
    expect(clock.tick(500).toISOString()).toBe('2026-01-01T00:00:01.500Z');
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:01.500Z');
  });

  test('advanceToDate moves to 06:00Z of a later date and never backwards', () => {
    const clock = new SimulatedClock();

    clock.advanceToDate('2026-01-02');
    expect(clock.now().toISOString()).toBe('2026-01-02T06:00:00.000Z');
    clock.tick(60_000);
    clock.advanceToDate('2026-01-02'); // a rerun of the same day
    expect(clock.now().toISOString()).toBe('2026-01-02T06:01:00.000Z');
    clock.advanceToDate('2026-01-01');
    expect(clock.now().toISOString()).toBe('2026-01-02T06:01:00.000Z');
    expect(() => clock.advanceToDate('2 Jan')).toThrow(/YYYY-MM-DD/);
  });
});

describe('FaultInjector', () => {
  test('take matches service and object case-insensitively and counts down times', () => {
    const faults = new FaultInjector();
    faults.add([
      {
        service: 'AppFlow',
        operation: 'StartFlow',
        object: 'Account',
        times: 2,
        error: 'ThrottlingException',
      },
    ]);

    expect(faults.take('appflow', 'StartFlow', 'Contact')).toBeUndefined();
    expect(faults.take('appflow', 'StartFlow')).toBeUndefined();
    expect(faults.take('appflow', 'StartFlow', 'account')).toBe('ThrottlingException');
    expect(faults.pending()).toEqual([expect.objectContaining({ times: 1 })]);
    expect(faults.take('appflow', 'StartFlow', 'ACCOUNT')).toBe('ThrottlingException');
    expect(faults.take('appflow', 'StartFlow', 'Account')).toBeUndefined();
    expect(faults.pending()).toEqual([]);
  });

  test('a fault without object matches any object; redshift-data names one service however spelled', () => {
    const faults = new FaultInjector();
    faults.add([{ service: 'redshift-data', operation: 'Statement', times: 1, error: 'boom' }]);

    expect(faults.take('RedshiftData', 'Statement', 'Account')).toBe('boom');
    expect(faults.take('redshift-data', 'Statement')).toBeUndefined();
  });

  test('add rejects faults without a positive times; clear drops everything', () => {
    const faults = new FaultInjector();

    expect(() => faults.add([{ service: 'appflow', operation: 'CreateFlow', times: 0, error: 'x' }])).toThrow(
      /times/,
    );
    faults.add([{ service: 'appflow', operation: 'CreateFlow', times: 3, error: 'x' }]);
    faults.clear();
    expect(faults.pending()).toEqual([]);
  });
});

describe('SourceOrg', () => {
  function newOrg(): { org: SourceOrg; clock: SimulatedClock } {
    const clock = new SimulatedClock('2026-01-01T06:00:00.000Z');
    const org = new SourceOrg(clock);
    org.defineObject('Account', [{ name: 'Industry', type: 'picklist' }]);
    return { org, clock };
  }

  test('defineObject adds the system fields', () => {
    const { org } = newOrg();

    expect(org.fields('Account')).toEqual([
      { name: 'Id', type: 'id' },
      { name: 'Industry', type: 'picklist' },
      { name: 'Name', type: 'string' },
      { name: 'SystemModstamp', type: 'datetime' },
      { name: 'IsDeleted', type: 'boolean' },
    ]);
    expect(org.objectNames()).toEqual(['Account']);
    expect(() => org.fields('Nope')).toThrow(/object 'Nope' does not exist/);
  });

  test('upsert creates, then replaces only the given fields with a new SystemModstamp', () => {
    const { org } = newOrg();

    org.upsert('Account', [{ Id: '001A', Name: 'Edge', Industry: 'Energy' }]);
    org.upsert('account', [{ Id: '001A', Name: 'Edge 2' }]);

    expect(org.truth('Account')).toEqual([
      {
        Id: '001A',
        Industry: 'Energy',
        Name: 'Edge 2',
        SystemModstamp: '2026-01-01T06:00:02.000Z',
        IsDeleted: false,
      },
    ]);
  });

  test('upsert keeps a given SystemModstamp and infers types of new fields', () => {
    const { org } = newOrg();

    org.upsert('Account', [
      {
        Id: '001B',
        SystemModstamp: '2025-12-31T23:00:00Z',
        AnnualRevenue: 12.5,
        IsPartner: true,
        LastActivity: '2026-01-01T05:00:00.000Z',
        Site: 'HQ',
      },
    ]);

    expect(org.query('Account', { includeDeleted: false })[0].SystemModstamp).toBe(
      '2025-12-31T23:00:00.000Z',
    );
    expect(org.fields('Account')).toEqual(
      expect.arrayContaining([
        { name: 'AnnualRevenue', type: 'double' },
        { name: 'IsPartner', type: 'boolean' },
        { name: 'LastActivity', type: 'datetime' },
        { name: 'Site', type: 'string' },
      ]),
    );
  });

  test('delete keeps the record for includeDeleted queries; purge removes it with no trace', () => {
    const { org } = newOrg();
    org.upsert('Account', [{ Id: '001A' }, { Id: '001B' }]);

    org.delete('Account', ['001A']);

    expect(org.truth('Account').map((record) => record.Id)).toEqual(['001B']);
    const deleted = org.query('Account', { includeDeleted: true }).find((record) => record.Id === '001A');
    expect(deleted).toEqual(
      expect.objectContaining({ IsDeleted: true, SystemModstamp: '2026-01-01T06:00:03.000Z' }),
    );

    org.purge('Account', ['001A']);
    expect(org.query('Account', { includeDeleted: true }).map((record) => record.Id)).toEqual(['001B']);
    expect(() => org.delete('Account', ['001X'])).toThrow(/no record with Id '001X'/);
  });

  test('query returns copies', () => {
    const { org } = newOrg();
    org.upsert('Account', [{ Id: '001A', Name: 'Edge' }]);

    org.query('Account', { includeDeleted: false })[0].Name = 'changed';

    expect(org.truth('Account')[0].Name).toBe('Edge');
  });

  test('API quota defaults to 15000 and is only consumed when enough remain', () => {
    const { org } = newOrg();
    expect(org.apiQuota).toEqual({ remaining: 15000, max: 15000 });

    org.setApiQuota({ remaining: 3, max: 100 });

    expect(org.consumeApiRequests(2)).toBe(true);
    expect(org.consumeApiRequests(2)).toBe(false);
    expect(org.apiQuota).toEqual({ remaining: 1, max: 100 });
  });
});
