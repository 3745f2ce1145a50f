import { MissingSqlParameterError, substituteNamedParameters } from '../../../local/stand-ins/sql-parameters';

describe('substituteNamedParameters', () => {
  test('replaces placeholders with quoted literals, doubling quotes', () => {
    const sql = substituteNamedParameters('SELECT * FROM t WHERE name = :name AND id = :id', [
      { name: 'name', value: "O'Brien" },
      { name: 'id', value: '7' },
    ]);

    expect(sql).toBe("SELECT * FROM t WHERE name = 'O''Brien' AND id = '7'");
  });

  test('leaves literals, quoted identifiers, comments, dollar quotes and casts alone', () => {
    const sql = [
      "SELECT ':a', E'\\':a', \":a\", x::text -- :a",
      '/* :a /* nested :a */ :a */',
      '$$ BEGIN v := :a; END $$, $body$ :a $body$, :a',
    ].join('\n');

    const result = substituteNamedParameters(sql, [{ name: 'a', value: 'A' }]);

    expect(result).toBe(
      [
        "SELECT ':a', E'\\':a', \":a\", x::text -- :a",
        '/* :a /* nested :a */ :a */',
        "$$ BEGIN v := :a; END $$, $body$ :a $body$, 'A'",
      ].join('\n'),
    );
  });

  test('a placeholder without a parameter is an error naming it', () => {
    expect(() => substituteNamedParameters('SELECT :missing', [])).toThrow(MissingSqlParameterError);
    expect(() => substituteNamedParameters('SELECT :missing', [])).toThrow(/'missing'/);
  });
});
