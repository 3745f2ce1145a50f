import { quoteDatabaseUser } from '../../lambdas/common/database-user';
import { chunked, MAX_BATCH_STATEMENTS } from '../../lambdas/common/warehouse';

describe('chunked', () => {
  test('splits 45 statements into batches of 40 and 5, keeping their order', () => {
    // Prepare
    const statements = Array.from({ length: 45 }, (_, i) => `ALTER ${i}`);

    // Act
    const batches = chunked(statements, MAX_BATCH_STATEMENTS);

    // Assess
    expect(batches.map((batch) => batch.length)).toEqual([40, 5]);
    expect(batches.flat()).toEqual(statements);
  });

  test('makes no batch of nothing (BatchExecuteStatement refuses an empty list)', () => {
    // Act / Assess
    expect(chunked([], MAX_BATCH_STATEMENTS)).toEqual([]);
  });
});

describe('quoteDatabaseUser', () => {
  test.each([
    ['appflow_loader', '"appflow_loader"'],
    ['IAMR:appflow-redshift-dev', '"IAMR:appflow-redshift-dev"'],
    ['IAM:loader@example.com', '"IAM:loader@example.com"'],
  ])('quotes %s as %s', (user, quoted) => {
    // Act / Assess
    expect(quoteDatabaseUser(user)).toBe(quoted);
  });

  test.each(['loader"; DROP TABLE x; --', 'a b', '', 'x'.repeat(128)])('refuses %j', (user) => {
    // Act / Assess
    expect(() => quoteDatabaseUser(user)).toThrow(/Refusing database user name/);
  });
});
