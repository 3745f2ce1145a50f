import { parseScenario } from '../../../local/runner/scenario';
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

  test('DuplicateWrite needs no error and belongs to appflow', () => {
    const faults = new FaultInjector();

    faults.add([{ service: 'appflow', operation: 'DuplicateWrite', object: 'Account', times: 1 }]);
    expect(faults.take('appflow', 'DuplicateWrite', 'Account')).toBe('DuplicateWrite');
    expect(() => faults.add([{ service: 'redshift-data', operation: 'DuplicateWrite', times: 1 }])).toThrow(
      /DuplicateWrite is a fault of service appflow/,
    );
    expect(() => faults.add([{ service: 'appflow', operation: 'StartFlow', times: 1 }])).toThrow(
      /error: required for operation StartFlow/,
    );
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
      { name: 'Id', type: 'id', length: 18 },
      { name: 'Industry', type: 'picklist', length: 255 },
      { name: 'Name', type: 'string', length: 255 },
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
        // One value cannot tell the scale; cents at least, so 12.5 stays 12.5.
        { name: 'AnnualRevenue', type: 'double', precision: 18, scale: 2 },
        { name: 'IsPartner', type: 'boolean' },
        { name: 'LastActivity', type: 'datetime' },
        { name: 'Site', type: 'string', length: 255 },
      ]),
    );
    expect(org.truth('Account')[0].AnnualRevenue).toBe('12.50');
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
  test('defineObject completes declared fields with their type describe defaults and stores the options', () => {
    const { org } = newOrg();

    org.defineObject(
      'Opportunity',
      [
        { name: 'Amount', type: 'currency' },
        { name: 'Probability', type: 'percent', precision: 3, scale: 0 },
        { name: 'Description', type: 'textarea', length: 32_000 },
        { name: 'AccountId', type: 'reference' },
        { name: 'Phone__c', type: 'phone' },
        { name: 'Count__c', type: 'int' },
      ],
      { primaryKey: 'Id', cursorField: 'SystemModstamp', profile: 'salesforce-local' },
    );

    expect(org.fields('Opportunity').slice(1, 7)).toEqual([
      { name: 'Amount', type: 'currency', precision: 18, scale: 2 },
      { name: 'Probability', type: 'percent', precision: 3, scale: 0 },
      { name: 'Description', type: 'textarea', length: 32_000 },
      { name: 'AccountId', type: 'reference', length: 18 },
      { name: 'Phone__c', type: 'phone', length: 40 },
      { name: 'Count__c', type: 'int', precision: 9, scale: 0 },
    ]);
    expect(org.objectOptions('opportunity')).toEqual({
      primaryKey: 'Id',
      cursorField: 'SystemModstamp',
      profile: 'salesforce-local',
    });
    expect(() => org.defineObject('Bad', [{ name: 'X', type: 'float' as never }])).toThrow(
      /Bad\.X has unknown type 'float'/,
    );
  });

  test('numbers are stored as Salesforce saves them: rounded half up to the scale, as exact decimal text', () => {
    const { org } = newOrg();
    org.defineObject('Account', [
      { name: 'AnnualRevenue', type: 'currency', precision: 18, scale: 2 },
      { name: 'Probability__c', type: 'percent', precision: 3, scale: 0 },
      { name: 'Employees__c', type: 'int' },
    ]);

    org.upsert('Account', [
      { Id: 'A1', AnnualRevenue: 1234567.89, Probability__c: 70, Employees__c: 12 },
      { Id: 'A2', AnnualRevenue: 0.1 + 0.2, Probability__c: '99.5' },
      { Id: 'A3', AnnualRevenue: 1.005, Employees__c: '7' },
      { Id: 'A4', AnnualRevenue: '9999999999999999.99' },
      { Id: 'A5', AnnualRevenue: -0.004 },
    ]);

    expect(
      org
        .truth('Account')
        .map((record) => [record.AnnualRevenue, record.Probability__c, record.Employees__c]),
    ).toEqual([
      ['1234567.89', '70', 12],
      ['0.30', '100', null],
      ['1.01', null, 7], // 1.005 is 1.00499… as a double; Salesforce reads the JSON text 1.005
      ['9999999999999999.99', null, null],
      ['0.00', null, null],
    ]);
  });

  test('values Salesforce would refuse fail the upsert with object, field and cause, and change nothing', () => {
    const { org } = newOrg();
    org.defineObject('Account', [
      { name: 'AnnualRevenue', type: 'currency', precision: 5, scale: 2 },
      { name: 'Code__c', type: 'string', length: 3 },
      { name: 'Employees__c', type: 'int' },
      { name: 'Since__c', type: 'date' },
    ]);

    expect(() => org.upsert('Account', [{ Id: 'B1' }, { Id: 'B2', Code__c: 'ABCD' }])).toThrow(
      'SourceOrg: Account.Code__c (string) holds at most 3 characters; the value has 4 (STRING_TOO_LONG)',
    );
    expect(() => org.upsert('Account', [{ Id: 'B3', AnnualRevenue: 1000 }])).toThrow(
      /Account\.AnnualRevenue \(currency\) holds 5 digits with 2 after the point.*NUMBER_OUTSIDE_VALID_RANGE/,
    );
    expect(() => org.upsert('Account', [{ Id: 'B4', Employees__c: 1.5 }])).toThrow(/expects a whole number/);
    expect(() => org.upsert('Account', [{ Id: 'B5', Since__c: '01/02/2026' }])).toThrow(
      /expects a date YYYY-MM-DD/,
    );
    expect(org.truth('Account')).toEqual([]);
  });

  test('text length counts characters, so a 4-byte character counts once; time and date keep Salesforce formats', () => {
    const { org } = newOrg();
    org.defineObject('Account', [
      { name: 'Motto__c', type: 'string', length: 2 },
      { name: 'Opens__c', type: 'time' },
      { name: 'Since__c', type: 'date' },
      { name: 'Tags__c', type: 'multipicklist' },
    ]);

    org.upsert('Account', [
      { Id: 'C1', Motto__c: '𝄞𝄞', Opens__c: '09:30', Since__c: '2026-02-01', Tags__c: 'A;B' },
    ]);

    expect(org.truth('Account')[0]).toEqual(
      expect.objectContaining({
        Motto__c: '𝄞𝄞',
        Opens__c: '09:30:00.000Z',
        Since__c: '2026-02-01',
        Tags__c: 'A;B',
      }),
    );
  });

  test('a new field is typed from its first non-null value; text fields take numbers as text', () => {
    const { org } = newOrg();

    org.upsert('Account', [
      { Id: 'E1', Score__c: null },
      { Id: 'E2', Score__c: 4.25 },
    ]);
    org.upsert('Account', [{ Id: 'E3', Industry: 42 }]);

    expect(org.fields('Account')).toEqual(
      expect.arrayContaining([{ name: 'Score__c', type: 'double', precision: 18, scale: 2 }]),
    );
    expect(org.truth('Account').map((record) => [record.Score__c, record.Industry])).toEqual([
      [null, null],
      ['4.25', null],
      [null, '42'],
    ]);
    expect(() =>
      org.upsert('Account', [{ Id: 'E4', Brand_New__c: 'x', Industry: { nested: true } }]),
    ).toThrow(/Account\.Industry \(picklist\) expects text/);
    // The failed call added no field.
    expect(org.fields('Account').map((field) => field.name)).not.toContain('Brand_New__c');
  });

  test('a new text field longer than 255 characters is inferred as a Long Text Area', () => {
    const { org } = newOrg();

    org.upsert('Account', [{ Id: 'D1', Notes__c: 'n'.repeat(300) }]);

    expect(org.fields('Account')).toEqual(
      expect.arrayContaining([{ name: 'Notes__c', type: 'textarea', length: 131_072 }]),
    );
  });
});

describe('scenario: sourceObjects and the DuplicateWrite fault', () => {
  const day = { date: '2026-01-01' };

  test('sourceObjects fields carry Salesforce types with length, precision and scale; profile and keys are kept', () => {
    const scenario = parseScenario({
      objects: [{ objectName: 'Account' }],
      sourceObjects: {
        Account: {
          fields: [
            { name: 'AnnualRevenue', type: 'currency', precision: 18, scale: 2 },
            { name: 'Description', type: 'textarea', length: 32_000 },
          ],
          profile: 'salesforce-local',
          primaryKey: 'Id',
          cursorField: 'SystemModstamp',
        },
        Ticket: { fields: [] },
      },
      days: [day],
    });

    expect(scenario.sourceObjects?.Account).toEqual({
      fields: [
        { name: 'AnnualRevenue', type: 'currency', precision: 18, scale: 2 },
        { name: 'Description', type: 'textarea', length: 32_000 },
      ],
      profile: 'salesforce-local',
      primaryKey: 'Id',
      cursorField: 'SystemModstamp',
    });
  });

  test.each([
    [{ name: 'X', type: 'geometry' }, /sourceObjects\.Account\.fields\.0\.type/],
    [{ name: 'X', type: 'currency', precision: 2, scale: 3 }, /scale must not exceed precision/],
    [{ name: 'X', type: 'string', length: 0 }, /fields\.0\.length/],
    [{ name: 'X', type: 'string', size: 10 }, /Unrecognized key/],
  ])('a bad field declaration %j is refused naming where', (field, message) => {
    expect(() =>
      parseScenario({ objects: [], sourceObjects: { Account: { fields: [field] } }, days: [day] }),
    ).toThrow(message);
  });

  test('DuplicateWrite needs no error; every other fault does; DuplicateWrite is an appflow fault', () => {
    const parsed = parseScenario({
      objects: [],
      days: [
        { ...day, faults: [{ service: 'appflow', operation: 'DuplicateWrite', object: 'Opportunity' }] },
      ],
    });
    expect(parsed.days[0].faults).toEqual([
      { service: 'appflow', operation: 'DuplicateWrite', object: 'Opportunity', times: 1 },
    ]);
    expect(() =>
      parseScenario({
        objects: [],
        days: [{ ...day, faults: [{ service: 'appflow', operation: 'StartFlow' }] }],
      }),
    ).toThrow(/faults\.0\.error: required for operation StartFlow/);
    expect(() =>
      parseScenario({
        objects: [],
        days: [{ ...day, faults: [{ service: 'redshift-data', operation: 'DuplicateWrite' }] }],
      }),
    ).toThrow(/DuplicateWrite is a fault of service appflow/);
  });
});

describe('SourceOrg: an entity of a custom connector source (issue 14)', () => {
  const tidb = { profile: 'tidb-cloud', connectorType: 'CustomConnector' };
  let clock: SimulatedClock;
  let org: SourceOrg;

  beforeEach(() => {
    clock = new SimulatedClock('2026-01-05T06:00:00.000Z');
    org = new SourceOrg(clock);
    org.defineObject(
      'orders',
      [
        { name: 'id', type: 'bigint' },
        { name: 'amount', type: 'decimal', precision: 12, scale: 2 },
      ],
      tidb,
    );
  });

  test('has its own key and cursor and none of Salesforce’s system fields', () => {
    expect(org.fields('orders').map((field) => [field.name, field.type])).toEqual([
      ['id', 'bigint'],
      ['amount', 'decimal'],
      ['updated_at', 'timestamp'],
    ]);
  });

  test('a change that omits the cursor gets the clock’s time; one that gives it keeps it; no IsDeleted', () => {
    org.upsert('orders', [{ id: '1', amount: '12.5' }]);
    org.upsert('orders', [{ id: 2, amount: 3, updated_at: '2026-01-01T00:00:00Z' }]);

    expect(org.truth('orders')).toEqual([
      { id: 1, amount: '12.50', updated_at: '2026-01-05T06:00:01.000Z' },
      { id: 2, amount: '3.00', updated_at: '2026-01-01T00:00:00.000Z' },
    ]);
    org.upsert('orders', [{ id: '1', amount: '13' }]);
    expect(org.truth('orders')[0]).toEqual({
      id: 1,
      amount: '13.00',
      updated_at: '2026-01-05T06:00:02.000Z',
    });
  });

  test('a record without its key is refused, naming the key', () => {
    expect(() => org.upsert('orders', [{ amount: '1' }])).toThrow(
      'orders record {"amount":"1"} has no id (its key)',
    );
  });

  test('delete is refused (no soft delete); purge removes the record', () => {
    org.upsert('orders', [{ id: '1' }, { id: '2' }]);

    expect(() => org.delete('orders', ['1'])).toThrow(
      'orders is held by connector profile tidb-cloud (CustomConnector), which has no soft delete (IsDeleted); use purge',
    );
    org.purge('orders', ['1']);
    expect(org.truth('orders').map((record) => record.id)).toEqual([2]);
  });

  test('takes only the types a custom connector reports', () => {
    expect(() => org.defineObject('orders', [{ name: 'owner', type: 'reference' }], tidb)).toThrow(
      "orders.owner has unknown type 'reference' for a CustomConnector source (profile tidb-cloud)",
    );
    expect(() => org.defineObject('Account', [{ name: 'Total', type: 'bigint' }])).toThrow(
      "Account.Total has unknown type 'bigint' for Salesforce",
    );
  });
});

describe('scenario: sources and connectorProfiles (issue 14)', () => {
  const day = { date: '2026-01-05' };

  test('top-level sources and connectorProfiles are kept; a CustomConnector profile needs its label', () => {
    const scenario = parseScenario({
      objects: [{ objectName: 'orders', sourceName: 'tidb' }],
      sources: {
        tidb: {
          connectorType: 'CustomConnector',
          connectorLabel: 'TiDBCloud',
          connectorProfileName: 'tidb-cloud',
        },
      },
      connectorProfiles: [
        { name: 'tidb-cloud', connectorType: 'CustomConnector', connectorLabel: 'TiDBCloud' },
      ],
      sourceObjects: { orders: { profile: 'tidb-cloud', fields: [{ name: 'id', type: 'bigint' }] } },
      days: [day],
    });
    expect(scenario.sources?.tidb).toMatchObject({ connectorProfileName: 'tidb-cloud' });
    expect(scenario.connectorProfiles).toEqual([
      { name: 'tidb-cloud', connectorType: 'CustomConnector', connectorLabel: 'TiDBCloud' },
    ]);
    expect(() =>
      parseScenario({
        objects: [],
        connectorProfiles: [{ name: 'tidb-cloud', connectorType: 'CustomConnector' }],
        days: [day],
      }),
    ).toThrow(
      /connectorProfiles\.0\.connectorLabel: connectorLabel is required for a CustomConnector profile/,
    );
  });
});

describe('SourceOrg: formulas, recomputed values and type changes (issue 21)', () => {
  function formulaOrg(): { org: SourceOrg; clock: SimulatedClock } {
    const clock = new SimulatedClock('2026-01-01T06:00:00.000Z');
    const org = new SourceOrg(clock);
    org.defineObject('Account', [
      { name: 'AnnualRevenue', type: 'currency', precision: 18, scale: 2 },
      { name: 'Code__c', type: 'string', length: 10 },
      { name: 'Opened__c', type: 'date' },
      { name: 'VIP__c', type: 'boolean' },
      { name: 'Days_Open__c', type: 'double', precision: 18, scale: 0, formula: true },
    ]);
    org.upsert('Account', [
      {
        Id: '001A',
        Name: 'Edge',
        AnnualRevenue: 1234.5,
        Code__c: '42',
        Opened__c: '2026-01-01',
        VIP__c: true,
      },
      {
        Id: '001B',
        Name: 'Burlington',
        AnnualRevenue: null,
        Code__c: 'ABC-1',
        Opened__c: null,
        VIP__c: false,
      },
    ]);
    return { org, clock };
  }
  const recordOf = (org: SourceOrg, id: string) => org.truth('Account').find((record) => record.Id === id);

  test('a formula field is described as one and refuses a value, as Salesforce refuses a write to it', () => {
    const { org } = formulaOrg();

    expect(org.fields('Account').find((field) => field.name === 'Days_Open__c')).toEqual({
      name: 'Days_Open__c',
      type: 'double',
      precision: 18,
      scale: 0,
      formula: true,
    });
    expect(() => org.upsert('Account', [{ Id: '001A', Days_Open__c: 3 }])).toThrow(
      /Account: Unable to create\/update fields: Days_Open__c\..*\(INVALID_FIELD_FOR_INSERT_UPDATE\)/,
    );
    expect(recordOf(org, '001A')?.Days_Open__c).toBeNull();
  });

  test('recompute sets values as the org stores them and moves no cursor', () => {
    const { org, clock } = formulaOrg();
    const before = recordOf(org, '001A')?.SystemModstamp;
    clock.tick(60_000);

    org.recompute('Account', [
      { Id: '001A', Days_Open__c: 4.4 },
      { Id: '001B', Days_Open__c: '7', Code__c: 'Z' },
    ]);

    expect(recordOf(org, '001A')).toMatchObject({ Days_Open__c: '4', SystemModstamp: before });
    expect(recordOf(org, '001B')).toMatchObject({ Days_Open__c: '7', Code__c: 'Z' });
  });

  test('recompute refuses an unknown record or field and the cursor, changing nothing', () => {
    const { org } = formulaOrg();

    expect(() =>
      org.recompute('Account', [
        { Id: '001A', Days_Open__c: 1 },
        { Id: '001Z', Days_Open__c: 2 },
      ]),
    ).toThrow(/Account has no record with Id '001Z'/);
    expect(() => org.recompute('Account', [{ Id: '001A', Nope__c: 1 }])).toThrow(
      /Account has no field Nope__c/,
    );
    expect(() => org.recompute('Account', [{ Id: '001A', SystemModstamp: '2027-01-01T00:00:00Z' }])).toThrow(
      /SystemModstamp cannot be recomputed/,
    );
    expect(() => org.recompute('Account', [{ Days_Open__c: 1 }])).toThrow(/has no Id \(its key\)/);
    expect(recordOf(org, '001A')?.Days_Open__c).toBeNull();
  });

  test('alterFields converts values as Salesforce does: numbers to decimal text, text to numbers where they parse', () => {
    const { org } = formulaOrg();
    org.alterFields('Account', [{ name: 'Revenue__c', type: 'currency', precision: 18, scale: 2 }]);
    org.upsert('Account', [{ Id: '001A', Revenue__c: 1234.5 }]);
    const before = recordOf(org, '001A')?.SystemModstamp;

    org.alterFields('Account', [
      { name: 'Revenue__c', type: 'string', length: 40 },
      { name: 'Code__c', type: 'double', precision: 18, scale: 2 },
    ]);

    expect(org.fields('Account').find((field) => field.name === 'Revenue__c')).toEqual({
      name: 'Revenue__c',
      type: 'string',
      length: 40,
    });
    expect(recordOf(org, '001A')).toMatchObject({
      Revenue__c: '1234.50',
      Code__c: '42.00',
      SystemModstamp: before,
    });
    expect(recordOf(org, '001B')).toMatchObject({ Revenue__c: null, Code__c: null });
    // From now on values are checked against the new types.
    expect(() => org.upsert('Account', [{ Id: '001A', Code__c: 'not a number' }])).toThrow(
      /expects a number/,
    );
  });

  test('alterFields refuses what Salesforce refuses: a standard field’s type, a new field without __c', () => {
    const { org } = formulaOrg();

    expect(() => org.alterFields('Account', [{ name: 'AnnualRevenue', type: 'string', length: 40 }])).toThrow(
      'SourceOrg: Account.AnnualRevenue is a standard Salesforce field: Salesforce changes the type of custom fields (ending in __c) only, and adds only custom fields',
    );
    expect(() => org.alterFields('Account', [{ name: 'Tier', type: 'picklist' }])).toThrow(
      /Account\.Tier is a standard Salesforce field/,
    );
    // Nothing changed: the whole call is refused.
    expect(org.fields('Account').find((field) => field.name === 'AnnualRevenue')?.type).toBe('currency');
  });

  test('alterFields on a custom connector’s entity may change any field but its key and cursor', () => {
    const org = new SourceOrg(new SimulatedClock());
    org.defineObject('orders', [{ name: 'total', type: 'decimal', precision: 12, scale: 2 }], {
      profile: 'tidb-cloud',
      connectorType: 'CustomConnector',
    });
    org.upsert('orders', [{ id: '1', total: '12.50' }]);

    org.alterFields('orders', [
      { name: 'total', type: 'string', length: 20 },
      { name: 'status', type: 'string', length: 10 },
    ]);

    expect(org.fields('orders').find((field) => field.name === 'total')?.type).toBe('string');
    expect(org.query('orders', { includeDeleted: false })[0]).toMatchObject({ total: '12.50', status: null });
  });

  test('alterFields: a shorter text keeps what fits, dates become datetimes, a checkbox becomes nothing as a number', () => {
    const { org } = formulaOrg();

    org.alterFields('Account', [
      { name: 'Code__c', type: 'string', length: 3 },
      { name: 'Opened__c', type: 'datetime' },
      { name: 'VIP__c', type: 'int', precision: 9 },
    ]);

    expect(recordOf(org, '001A')).toMatchObject({
      Code__c: '42',
      Opened__c: '2026-01-01T00:00:00.000Z',
      VIP__c: null,
    });
    expect(recordOf(org, '001B')).toMatchObject({ Code__c: 'ABC', Opened__c: null, VIP__c: null });

    org.alterFields('Account', [{ name: 'Opened__c', type: 'date' }]);
    expect(recordOf(org, '001A')?.Opened__c).toBe('2026-01-01');
  });

  test('alterFields adds a field, keeps a formula a formula, and refuses system fields and unknown types', () => {
    const { org } = formulaOrg();

    org.alterFields('Account', [
      { name: 'Tier__c', type: 'picklist' },
      { name: 'Days_Open__c', type: 'double', precision: 18, scale: 1 },
    ]);

    expect(org.fields('Account').find((field) => field.name === 'Tier__c')).toEqual({
      name: 'Tier__c',
      type: 'picklist',
      length: 255,
    });
    expect(org.fields('Account').find((field) => field.name === 'Days_Open__c')?.formula).toBe(true);
    expect(recordOf(org, '001A')?.Tier__c).toBeNull();
    expect(() => org.alterFields('Account', [{ name: 'SystemModstamp', type: 'date' }])).toThrow(
      /SystemModstamp is a system field/,
    );
    expect(() => org.alterFields('Account', [{ name: 'Code__c', type: 'bigint' }])).toThrow(
      /cannot become unknown type 'bigint'/,
    );
  });

  test('a custom connector source has no formula fields', () => {
    const org = new SourceOrg(new SimulatedClock());
    expect(() =>
      org.defineObject('orders', [{ name: 'total', type: 'decimal', formula: true }], {
        profile: 'tidb-cloud',
        connectorType: 'CustomConnector',
      }),
    ).toThrow(/orders\.total is declared a formula, but a CustomConnector source .* has no formula fields/);
  });
});

describe('scenario: formula, recompute, alterFields and statementSeconds (issue 21)', () => {
  test('parses the extensions of DESIGN.md', () => {
    const scenario = parseScenario({
      objects: [{ objectName: 'Account' }],
      sourceObjects: { Account: { fields: [{ name: 'Days_Open__c', type: 'double', formula: true }] } },
      days: [
        {
          date: '2026-01-01',
          changes: { Account: { recompute: [{ Id: '001A', Days_Open__c: 3 }] } },
          alterFields: { Account: [{ name: 'Code__c', type: 'double', precision: 18, scale: 2 }] },
          statementSeconds: 1.5,
        },
      ],
    });

    expect(scenario.sourceObjects?.Account.fields[0].formula).toBe(true);
    expect(scenario.days[0].changes.Account.recompute).toEqual([{ Id: '001A', Days_Open__c: 3 }]);
    expect(scenario.days[0].alterFields?.Account[0]).toEqual({
      name: 'Code__c',
      type: 'double',
      precision: 18,
      scale: 2,
    });
    expect(scenario.days[0].statementSeconds).toBe(1.5);
  });

  test('refuses a formula key in alterFields, a scale above the precision and negative statementSeconds', () => {
    const day = { date: '2026-01-01' };
    expect(() =>
      parseScenario({
        objects: [],
        days: [{ ...day, alterFields: { Account: [{ name: 'X', type: 'double', formula: true }] } }],
      }),
    ).toThrow(/days\.0\.alterFields\.Account\.0/);
    expect(() =>
      parseScenario({
        objects: [],
        days: [{ ...day, alterFields: { Account: [{ name: 'X', type: 'double', precision: 2, scale: 3 }] } }],
      }),
    ).toThrow(/scale must not exceed precision/);
    expect(() => parseScenario({ objects: [], days: [{ ...day, statementSeconds: -1 }] })).toThrow(
      /days\.0\.statementSeconds/,
    );
  });
});
