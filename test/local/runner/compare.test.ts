import { compareWarehouseToSource } from '../../../local/runner/compare';
import { parseScenario } from '../../../local/runner/scenario';

const scenario = parseScenario({
  objects: [{ objectName: 'Deal__c' }],
  sourceObjects: {
    Deal__c: {
      fields: [
        { name: 'Amount__c', type: 'currency', precision: 18, scale: 2 },
        { name: 'Days_Open__c', type: 'double', precision: 18, scale: 0, formula: true },
        { name: 'Code__c', type: 'int' },
      ],
    },
  },
  days: [],
});

const source = (daysOpen: number) => ({
  Deal__c: [
    {
      Id: 'a0D1',
      Name: 'Edge',
      SystemModstamp: '2026-04-01T06:00:00.000Z',
      IsDeleted: false,
      Amount__c: '1000.00',
      Days_Open__c: String(daysOpen),
      // The org keeps an integer field's value as a number.
      Code__c: 42,
    },
  ],
});
const warehouse = (daysOpen: string, code = '42') => ({
  deal__c: [
    {
      id: 'a0D1',
      name: 'Edge',
      systemmodstamp: '2026-04-01T06:00:00.000Z',
      isdeleted: false,
      amount__c: '1000.00',
      days_open__c: daysOpen,
      // A number kept in a VARCHAR column (a text field that became a number): the number as text.
      code__c: code,
    },
  ],
});

describe('compareWarehouseToSource: every column, formulas included (issue 21)', () => {
  test('a formula value the warehouse did not refresh is a difference, though no cursor moved', () => {
    const [comparison] = compareWarehouseToSource(scenario, warehouse('1'), source(5));

    expect(comparison.equal).toBe(false);
    expect(comparison.differences).toEqual(['a0D1.days_open__c: "1" ≠ "5"']);
  });

  test('a refreshed formula and a number kept as text in a VARCHAR column are equal', () => {
    const [comparison] = compareWarehouseToSource(scenario, warehouse('5'), source(5));

    expect(comparison).toMatchObject({ equal: true, differences: [] });
  });

  test('a number kept as text that is not the source number is a difference', () => {
    const [comparison] = compareWarehouseToSource(scenario, warehouse('5', '43'), source(5));

    expect(comparison.differences).toEqual(['a0D1.code__c: "43" ≠ 42']);
  });
});
