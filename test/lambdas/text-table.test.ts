import { renderTable } from '../../lambdas/common/text-table';

describe('renderTable', () => {
  test('right-aligns a column of numbers and left-aligns text', () => {
    const table = renderTable(
      ['object', 'rows'],
      [
        ['Account', 1204],
        ['Contact', 7],
      ],
    ).split('\n');
    expect(table).toEqual(['object   rows', '-------  ----', 'Account  1204', 'Contact     7']);
  });

  test("a figure shown as '-' (not reported) keeps its number column right-aligned", () => {
    const table = renderTable(
      ['object', 'updated'],
      [
        ['Account', 12],
        ['Contact', '-'],
      ],
    ).split('\n');
    expect(table.slice(2)).toEqual(['Account       12', 'Contact        -']);
  });

  test('a column with text in it is left-aligned throughout', () => {
    const table = renderTable(
      ['object', 'note'],
      [
        ['Account', 3],
        ['Contact', 'empty run'],
      ],
    ).split('\n');
    expect(table.slice(2)).toEqual(['Account  3', 'Contact  empty run']);
  });
});
