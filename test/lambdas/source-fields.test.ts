import { redshiftTypeFor, selectSourceFields } from '../../lambdas/common/source-fields';
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

  test('names each column after its field in lower case with the Redshift type of its source type', () => {
    // Act
    const fields = selectSourceFields('Account', accountEntityFields(), accountKeys);

    // Assess
    expect(fields).toEqual([
      { name: 'Id', sourceType: 'id', column: 'id', redshiftType: 'VARCHAR(65535)' },
      { name: 'SystemModstamp', sourceType: 'datetime', column: 'systemmodstamp', redshiftType: 'TIMESTAMP' },
      { name: 'IsDeleted', sourceType: 'boolean', column: 'isdeleted', redshiftType: 'BOOLEAN' },
      { name: 'Name', sourceType: 'string', column: 'name', redshiftType: 'VARCHAR(65535)' },
      {
        name: 'AnnualRevenue',
        sourceType: 'currency',
        column: 'annualrevenue',
        redshiftType: 'DOUBLE PRECISION',
      },
      { name: 'NumberOfEmployees', sourceType: 'int', column: 'numberofemployees', redshiftType: 'BIGINT' },
    ]);
  });

  test('treats a field without type details as a string', () => {
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
    });
  });
});

describe('redshiftTypeFor', () => {
  test.each([
    ['boolean', 'BOOLEAN'],
    ['datetime', 'TIMESTAMP'],
    ['DateTime', 'TIMESTAMP'],
    ['date', 'DATE'],
    ['double', 'DOUBLE PRECISION'],
    ['currency', 'DOUBLE PRECISION'],
    ['percent', 'DOUBLE PRECISION'],
    ['int', 'BIGINT'],
    ['long', 'BIGINT'],
    ['string', 'VARCHAR(65535)'],
    ['picklist', 'VARCHAR(65535)'],
    ['id', 'VARCHAR(65535)'],
    ['textarea', 'VARCHAR(65535)'],
  ])('maps %s to %s', (sourceType, redshiftType) => {
    // Act / Assess
    expect(redshiftTypeFor(sourceType)).toBe(redshiftType);
  });
});
