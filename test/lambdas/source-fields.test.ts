import {
  columnTypeFor,
  type FieldMetadata,
  fieldMetadata,
  redshiftTypeFor,
  selectSourceFields,
} from '../../lambdas/common/source-fields';
import { accountEntityFields, entityField } from './support/fixtures';

const accountKeys = { primaryKey: 'Id', cursorField: 'SystemModstamp' };

describe('selectSourceFields', () => {
  test('takes every supported field when the row lists none, key, cursor and IsDeleted first', () => {
    // Act
    const fields = selectSourceFields('Account', accountEntityFields(), accountKeys);

    // Assess
    expect(fields.map((field) => field.name)).toEqual([
      'Id',
      'SystemModstamp',
      'IsDeleted',
      'Name',
      'AnnualRevenue',
      'NumberOfEmployees',
    ]);
  });

  test('skips compound types AppFlow cannot write to a column when the row lists no fields', () => {
    // Prepare
    const entity = [
      ...accountEntityFields(),
      entityField('Location__c', 'location'),
      entityField('Logo__c', 'base64'),
      entityField('Anything__c', 'anyType'),
    ];

    // Act
    const names = selectSourceFields('Account', entity, accountKeys).map((field) => field.name);

    // Assess
    expect(names).not.toContain('BillingAddress');
    expect(names).not.toContain('Location__c');
    expect(names).not.toContain('Logo__c');
    expect(names).not.toContain('Anything__c');
  });

  test('always keeps the primary key, the cursor and IsDeleted next to the selected fields', () => {
    // Act
    const fields = selectSourceFields('Account', accountEntityFields(), { ...accountKeys, fields: ['Name'] });

    // Assess
    expect(fields.map((field) => field.name)).toEqual(['Name', 'Id', 'SystemModstamp', 'IsDeleted']);
  });

  test('does not ask for IsDeleted when the source object has no such field', () => {
    // Prepare
    const entity = [
      entityField('Id', 'id'),
      entityField('SystemModstamp', 'datetime'),
      entityField('Name', 'string'),
    ];

    // Act
    const fields = selectSourceFields('Invoice', entity, accountKeys);

    // Assess
    expect(fields.map((field) => field.name)).toEqual(['Id', 'SystemModstamp', 'Name']);
  });

  test('lists a selected field once even when the row repeats the key', () => {
    // Act
    const fields = selectSourceFields('Account', accountEntityFields(), {
      ...accountKeys,
      fields: ['Id', 'Name', 'Name'],
    });

    // Assess
    expect(fields.map((field) => field.name)).toEqual(['Id', 'Name', 'SystemModstamp', 'IsDeleted']);
  });

  test('fails with SchemaMismatch naming the object and a selected field the source no longer has', () => {
    // Act
    const act = () =>
      selectSourceFields('Account', accountEntityFields(), { ...accountKeys, fields: ['Name', 'Region__c'] });

    // Assess
    expect(act).toThrow(expect.objectContaining({ name: 'SchemaMismatch' }));
    expect(act).toThrow('Account: field(s) Region__c no longer exist at the source');
  });

  test("keeps the row's refreshFields as columns next to the selected fields (issue 21)", () => {
    // Act
    const fields = selectSourceFields('Account', accountEntityFields(), {
      ...accountKeys,
      fields: ['Name'],
      refreshFields: ['AnnualRevenue'],
    });

    // Assess
    expect(fields.map((field) => field.name)).toEqual([
      'Name',
      'Id',
      'SystemModstamp',
      'IsDeleted',
      'AnnualRevenue',
    ]);
  });

  test('names refreshFields in the error when one of them is not a field of the source', () => {
    // Act
    const act = () =>
      selectSourceFields('Account', accountEntityFields(), { ...accountKeys, refreshFields: ['Status__c'] });

    // Assess
    expect(act).toThrow(
      'Account: field(s) Status__c no longer exist at the source (refreshFields names Status__c)',
    );
  });

  test('fails with SchemaMismatch when the cursor field is missing at the source', () => {
    // Act
    const act = () =>
      selectSourceFields('Account', accountEntityFields(), {
        primaryKey: 'Id',
        cursorField: 'LastModifiedDate',
      });

    // Assess
    expect(act).toThrow(
      expect.objectContaining({
        name: 'SchemaMismatch',
        message: expect.stringContaining('LastModifiedDate'),
      }),
    );
  });

  test('fails with SchemaMismatch when two fields differ only in case (one column)', () => {
    // Prepare
    const entity = [...accountEntityFields(), entityField('NAME', 'string')];

    // Act
    const act = () => selectSourceFields('Account', entity, accountKeys);

    // Assess
    expect(act).toThrow(
      expect.objectContaining({ name: 'SchemaMismatch', message: expect.stringContaining('Name and NAME') }),
    );
  });

  test('names each column after its field in lower case, typed from the source metadata', () => {
    // Act
    const fields = selectSourceFields('Account', accountEntityFields(), accountKeys);

    // Assess
    expect(fields.map(({ name, column, redshiftType }) => ({ name, column, redshiftType }))).toEqual([
      { name: 'Id', column: 'id', redshiftType: 'VARCHAR(18)' },
      { name: 'SystemModstamp', column: 'systemmodstamp', redshiftType: 'TIMESTAMP' },
      { name: 'IsDeleted', column: 'isdeleted', redshiftType: 'BOOLEAN' },
      { name: 'Name', column: 'name', redshiftType: 'VARCHAR(1020)' },
      { name: 'AnnualRevenue', column: 'annualrevenue', redshiftType: 'DECIMAL(18,2)' },
      { name: 'NumberOfEmployees', column: 'numberofemployees', redshiftType: 'INTEGER' },
    ]);
    expect(fields.every((field) => field.truncateLength === undefined)).toBe(true);
  });

  test('treats a field without type details as text of unknown length: widest column, truncated', () => {
    // Prepare
    const entity = [
      entityField('Id', 'id'),
      entityField('SystemModstamp', 'datetime'),
      { identifier: 'Note' },
    ];

    // Act
    const note = selectSourceFields('Account', entity, accountKeys).find((field) => field.name === 'Note');

    // Assess
    expect(note).toEqual({
      name: 'Note',
      sourceType: 'string',
      column: 'note',
      redshiftType: 'VARCHAR(65535)',
      columnType: { kind: 'varchar', length: 65535 },
      truncateLength: 16383,
    });
  });

  test('gives a Long Text Area of 131,072 characters VARCHAR(65535) and a cut to 16,383 characters', () => {
    // Prepare
    const entity = [...accountEntityFields(), entityField('Description', 'textarea', { length: '131072' })];

    // Act
    const description = selectSourceFields('Account', entity, accountKeys).find(
      (field) => field.name === 'Description',
    );

    // Assess: 16,383 characters of 4 bytes each (65,532) fit whatever the text
    expect(description).toMatchObject({ redshiftType: 'VARCHAR(65535)', truncateLength: 16383 });
  });

  test('reads length, precision and scale from customProperties, ignoring values that are not numbers', () => {
    // Act
    const metadata = fieldMetadata(
      entityField('Amount', 'currency', { precision: '16', scale: '0', length: 'n/a' }),
    );

    // Assess
    expect(metadata).toEqual({ precision: 16, scale: 0 });
  });
});

describe('fieldMetadata', () => {
  test("takes the length from the type details' fieldLengthRange when customProperties has none", () => {
    // Prepare
    const field = {
      identifier: 'Phone',
      supportedFieldTypeDetails: {
        v1: { fieldType: 'phone', filterOperators: [], fieldLengthRange: { minimum: 0, maximum: 40 } },
      },
    };

    // Act / Assess
    expect(fieldMetadata(field)).toEqual({ length: 40 });
  });
});

describe('redshiftTypeFor', () => {
  test.each([
    ['boolean', {}, 'BOOLEAN'],
    ['datetime', {}, 'TIMESTAMP'],
    ['DateTime', {}, 'TIMESTAMP'],
    ['date', {}, 'DATE'],
    ['time', {}, 'VARCHAR(32)'],
    ['currency', { precision: 18, scale: 2 }, 'DECIMAL(18,2)'],
    ['percent', { precision: 5, scale: 2 }, 'DECIMAL(5,2)'],
    ['double', { precision: 18, scale: 6 }, 'DECIMAL(18,6)'],
    ['currency', {}, 'DECIMAL(38,18)'],
    ['double', {}, 'DOUBLE PRECISION'],
    ['double', { precision: 60, scale: 50 }, 'DECIMAL(38,28)'],
    ['int', { precision: 9 }, 'INTEGER'],
    ['int', { precision: 18 }, 'BIGINT'],
    ['int', {}, 'BIGINT'],
    ['long', {}, 'BIGINT'],
    ['id', { length: 18 }, 'VARCHAR(18)'],
    ['id', {}, 'VARCHAR(18)'],
    ['reference', { length: 18 }, 'VARCHAR(18)'],
    ['string', { length: 80 }, 'VARCHAR(320)'],
    ['email', { length: 80 }, 'VARCHAR(320)'],
    ['picklist', { length: 255 }, 'VARCHAR(1020)'],
    ['textarea', { length: 16383 }, 'VARCHAR(65532)'],
    ['textarea', { length: 16384 }, 'VARCHAR(65535)'],
    ['string', {}, 'VARCHAR(65535)'],
  ] as [string, FieldMetadata, string][])('maps %s %j to %s', (sourceType, metadata, redshiftType) => {
    // Act / Assess
    expect(redshiftTypeFor(sourceType, metadata)).toBe(redshiftType);
  });

  test('sizes text in bytes for the worst case of UTF-8: 4 bytes per character', () => {
    // Act
    const { columnType, truncateLength } = columnTypeFor('string', { length: 255 });

    // Assess
    expect(columnType).toEqual({ kind: 'varchar', length: 1020 });
    expect(truncateLength).toBeUndefined();
  });

  test('cuts text only when it may not fit: longer than 16,383 characters, or of unknown length', () => {
    // Act / Assess
    expect(columnTypeFor('textarea', { length: 16383 }).truncateLength).toBeUndefined();
    expect(columnTypeFor('textarea', { length: 32768 }).truncateLength).toBe(16383);
    expect(columnTypeFor('url', {}).truncateLength).toBe(16383);
    expect(columnTypeFor('currency', {}).truncateLength).toBeUndefined();
  });
});

describe('selectSourceFields for a custom connector', () => {
  const custom = { primaryKey: 'id', cursorField: 'updated_at', connectorType: 'CustomConnector' };
  const ordersEntity = () => [
    entityField('id', 'bigint'),
    entityField('updated_at', 'timestamp'),
    entityField('amount', 'decimal', { precision: '12', scale: '2' }),
    entityField('note', 'string'),
    entityField('paid', 'boolean'),
    entityField('IsDeleted', 'boolean'),
    entityField('payload', 'Struct'),
  ];

  test('maps the types the connector reports (SQL-style labels) to Redshift columns', () => {
    // Act
    const fields = selectSourceFields('tidb_orders', ordersEntity(), custom);

    // Assess
    expect(Object.fromEntries(fields.map((field) => [field.name, field.redshiftType]))).toEqual({
      id: 'BIGINT',
      updated_at: 'TIMESTAMP',
      amount: 'DECIMAL(12,2)',
      note: 'VARCHAR(65535)',
      paid: 'BOOLEAN',
      IsDeleted: 'BOOLEAN',
    });
  });

  test.each([
    ['String', 'VARCHAR(65535)'],
    ['Integer', 'INTEGER'],
    ['Short', 'INTEGER'],
    ['Long', 'BIGINT'],
    ['BigInteger', 'DECIMAL(38,0)'],
    ['Float', 'DOUBLE PRECISION'],
    ['Double', 'DOUBLE PRECISION'],
    ['BigDecimal', 'DECIMAL(38,18)'],
    ['Boolean', 'BOOLEAN'],
    ['Date', 'DATE'],
    ['DateTime', 'TIMESTAMP'],
  ])('maps the Custom Connector SDK FieldDataType %s to %s', (fieldType, redshiftType) => {
    // Act
    const [field] = selectSourceFields(
      'Orders',
      [entityField('id', 'Long'), entityField('updated_at', 'DateTime'), entityField('x', fieldType)],
      {
        ...custom,
        fields: ['x'],
      },
    );

    // Assess
    expect(field.redshiftType).toBe(redshiftType);
  });

  test('does not force IsDeleted into a custom source selection: deletes come from full-sync reconciliation', () => {
    // Act
    const names = selectSourceFields('tidb_orders', ordersEntity(), { ...custom, fields: ['amount'] }).map(
      (field) => field.name,
    );

    // Assess
    expect(names).toEqual(['amount', 'id', 'updated_at']);
  });

  test('refuses an unknown type, naming object, field and type', () => {
    // Prepare
    const entity = [...ordersEntity(), entityField('shape', 'geometry')];

    // Act / Assess
    expect(() => selectSourceFields('tidb_orders', entity, custom)).toThrow(
      /^tidb_orders: field shape has source type "geometry".*allowUnknownTypes/,
    );
  });

  test('loads an unknown type as VARCHAR(65535) with a Truncate task when the row allows unknown types', () => {
    // Prepare
    const entity = [...ordersEntity(), entityField('shape', 'geometry')];

    // Act
    const shape = selectSourceFields('tidb_orders', entity, { ...custom, allowUnknownTypes: true }).find(
      (field) => field.name === 'shape',
    );

    // Assess
    expect(shape).toMatchObject({ redshiftType: 'VARCHAR(65535)', truncateLength: 16383 });
  });

  test('keeps the operators the source declares for a field, for the cursor filter', () => {
    // Prepare
    const entity = ordersEntity().map((field) =>
      field.identifier === 'updated_at'
        ? {
            ...field,
            supportedFieldTypeDetails: {
              v1: { fieldType: 'timestamp', filterOperators: ['BETWEEN' as const] },
            },
          }
        : field,
    );

    // Act
    const cursor = selectSourceFields('tidb_orders', entity, custom).find(
      (field) => field.name === 'updated_at',
    );

    // Assess
    expect(cursor?.filterOperators).toEqual(['BETWEEN']);
  });
});
