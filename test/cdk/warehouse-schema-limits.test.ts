import * as path from 'node:path';
import { readSqlFiles } from '../../lambdas/common/sql-files';
import { MAX_BATCH_STATEMENTS } from '../../lambdas/common/warehouse';
import { assertWithinDataApiLimits, MAX_STATEMENT_BYTES } from '../../lib/constructs/warehouse-schema';

describe('sql/ fits one Data API batch', () => {
  test('the shipped sql/ is within 40 statements of at most 100 KB each', () => {
    const files = readSqlFiles(path.join(__dirname, '..', '..', 'sql'));
    expect(() => assertWithinDataApiLimits(files)).not.toThrow();
    const statements = files.flatMap((file) => file.statements);
    expect(statements.length).toBeLessThanOrEqual(MAX_BATCH_STATEMENTS);
    for (const statement of statements) {
      expect(Buffer.byteLength(statement)).toBeLessThanOrEqual(MAX_STATEMENT_BYTES);
    }
  });

  test('41 statements fail the synth instead of the deploy', () => {
    const statements = Array.from({ length: 41 }, (_, i) => `SELECT ${i}`);
    expect(() => assertWithinDataApiLimits([{ file: '001_many.sql', statements }])).toThrow(
      /41 statements; the Data API's BatchExecuteStatement takes at most 40/,
    );
  });

  test('a statement over 100,000 bytes (counted in UTF-8) fails, naming its file', () => {
    // 33,334 three-byte characters: 100,011 bytes but only 33,343 characters.
    const statement = `SELECT '${'€'.repeat(33_334)}'`;
    expect(() => assertWithinDataApiLimits([{ file: '030_big.sql', statements: [statement] }])).toThrow(
      /030_big\.sql: a statement of 100011 bytes exceeds/,
    );
  });
});
