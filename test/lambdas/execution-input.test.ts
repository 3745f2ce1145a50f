import { parseExecutionInput } from '../../lambdas/common/execution-input';

function rejectionOf(raw: unknown): Error {
  try {
    parseExecutionInput(raw);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe('parseExecutionInput', () => {
  test.each([
    ["the schedule's empty input", {}],
    ['a one-day backfill', { runDate: '2026-03-05' }],
    ['a range backfill', { from: '2026-03-01', to: '2026-03-03' }],
    ['a one-day range', { from: '2026-03-01', to: '2026-03-01' }],
    ['a rerun of some objects', { objects: ['Account', 'Contact'] }],
    ['a forced full reload', { syncMode: 'full' }],
    [
      'everything an operator can combine',
      { runDate: '2026-03-05', objects: ['Account'], syncMode: 'incremental' },
    ],
  ])('accepts %s', (_what, raw) => {
    // Act / Assess
    expect(parseExecutionInput(raw)).toEqual(raw);
  });

  test('treats a missing input as {}', () => {
    // Act / Assess
    expect(parseExecutionInput(undefined)).toEqual({});
    expect(parseExecutionInput(null)).toEqual({});
  });

  test.each(['2026-3-5', '05/03/2026', '2026-03-05T00:00:00Z', '2026-13-01', ''])(
    'rejects runDate %j that is not YYYY-MM-DD',
    (runDate) => {
      // Act
      const error = rejectionOf({ runDate });

      // Assess
      expect(error.name).toBe('InvalidExecutionInput');
      expect(error.message).toMatch(/runDate/);
    },
  );

  test.each(['2026-02-30', '2025-02-29'])('rejects runDate %s, which is not a calendar date', (runDate) => {
    // Act
    const error = rejectionOf({ runDate });

    // Assess
    expect(error.message).toMatch(/runDate is not a calendar date/);
  });

  test.each([
    ['from', { from: '2026-04-31', to: '2026-05-02' }],
    ['to', { from: '2026-02-27', to: '2026-02-29' }],
  ])('rejects a %s that is not a calendar date', (key, raw) => {
    // Act
    const error = rejectionOf(raw);

    // Assess
    expect(error.name).toBe('InvalidExecutionInput');
    expect(error.message).toMatch(new RegExp(`${key} is not a calendar date`));
  });

  test.each(['2024-02-29', '2026-12-31', '2026-01-01'])(
    'accepts runDate %s, a real calendar date',
    (runDate) => {
      // Act / Assess
      expect(parseExecutionInput({ runDate })).toEqual({ runDate });
    },
  );

  test('rejects unknown keys (a typo must not silently run a full daily load)', () => {
    // Act
    const error = rejectionOf({ object: ['Account'] });

    // Assess
    expect(error.name).toBe('InvalidExecutionInput');
    expect(error.message).toContain('"object"');
  });

  test('rejects from without to, and to without from', () => {
    // Act / Assess
    expect(rejectionOf({ from: '2026-03-01' }).message).toMatch(/from and to go together/);
    expect(rejectionOf({ to: '2026-03-01' }).message).toMatch(/from and to go together/);
  });

  test('rejects a range that ends before it starts', () => {
    // Act / Assess
    expect(rejectionOf({ from: '2026-03-03', to: '2026-03-01' }).message).toMatch(
      /to must not be before from/,
    );
  });

  test('rejects runDate combined with from/to', () => {
    // Act / Assess
    expect(rejectionOf({ runDate: '2026-03-05', from: '2026-03-01', to: '2026-03-03' }).message).toMatch(
      /runDate cannot be combined with from\/to/,
    );
  });

  test.each([
    ['an object name with SQL', { objects: ['Account;DROP TABLE x'] }, /objects/],
    ['a non-list objects', { objects: 'Account' }, /objects/],
    ['an unknown syncMode', { syncMode: 'reset' }, /syncMode/],
    ['a non-object input', 'Account', /input/],
  ])('rejects %s', (_what, raw, expected) => {
    // Act
    const error = rejectionOf(raw);

    // Assess
    expect(error.name).toBe('InvalidExecutionInput');
    expect(error.message).toMatch(expected);
  });
});
