import { createHash } from 'node:crypto';
import { splitSqlStatements, tokenizeSql } from '../../lambdas/common/sql-statements';
import { describeFindings, scanSql } from './dialect-scanner';
import {
  REDSHIFT_ONLY_RESERVED_WORDS,
  REDSHIFT_RESERVED_WORDS,
  reservedWordMessage,
} from './redshift-reserved-words';

/**
 * Redshift SQL → the Postgres the local warehouse (PGlite) runs.
 *
 * What is translated here (text in, text out):
 * - table attributes Postgres lacks: `DISTSTYLE`, `DISTKEY(col)` and column-level `DISTKEY`
 *   (no equivalent: dropped), `ENCODE x` (dropped), `BACKUP YES|NO` (dropped),
 *   `[COMPOUND] SORTKEY(cols)` and column-level `SORTKEY` (a b-tree index on the same columns,
 *   created by a follow-up statement; `INTERLEAVED SORTKEY` gets one index per column),
 *   in CREATE [TEMP] TABLE, CREATE TABLE AS and ALTER TABLE ALTER SORTKEY/DISTKEY/DISTSTYLE;
 * - `VARCHAR(MAX)` → `VARCHAR(65535)`, `NVARCHAR` → `VARCHAR`, Redshift's `IDENTITY(seed, step)`;
 * - procedure bodies: the same for their static statements, and every `EXECUTE <expression>`
 *   becomes `EXECUTE redshift_local.to_postgres(<expression>)`, so that DDL the procedure builds
 *   at run time is translated by the warehouse's own port of these rules (see
 *   redshift-emulation.ts): a run-time string cannot be intercepted from outside;
 * - `quote_ident(` → `redshift_local.quote_ident(`: Redshift's QUOTE_IDENT adds quotes only where
 *   characters or case need them (not for reserved words, which Postgres' quotes), so any SQL that
 *   still relies on it gets Redshift's answer.
 *
 * What is refused (RedshiftDialectError naming the construct):
 * - Postgres-only SQL (dialect-scanner.ts);
 * - `VARCHAR(n)` over 65,535 and `CHAR(n)` over 4,096;
 * - `ALTER TABLE … ALTER COLUMN … TYPE` to anything but VARCHAR(n), or inside a transaction
 *   block (a multi-statement text, a BatchExecuteStatement, a procedure);
 * - an ALTER TABLE with several actions (Redshift takes one, e.g. one ADD COLUMN per statement);
 * - a Redshift reserved word (OPEN, TAG, PERCENT, TIMESTAMP, ORDER …, redshift-reserved-words.ts) as
 *   a bare identifier where DDL names things (table and schema names and their qualified parts,
 *   CREATE TABLE column lists, ADD/ALTER/RENAME COLUMN, DISTKEY/SORTKEY lists), as the table of
 *   INSERT/UPDATE/DELETE/FROM/JOIN, and, for the words no statement uses as syntax (OPEN, TAG,
 *   PERCENT, NEW, SYSTEM, SNAPSHOT …), anywhere in a statement's code. Postgres accepts most of
 *   them; Redshift answers `syntax error at or near "open"`, and so does the local warehouse.
 *
 * What the warehouse itself enforces, whoever runs the DDL (redshift-emulation.ts, an event
 * trigger): VARCHAR lengths in bytes, no narrowing of a VARCHAR, VARCHAR/TEXT without a length
 * in CREATE TABLE is VARCHAR(256), and `CREATE TABLE AS` results are analyzed.
 */

export class RedshiftDialectError extends Error {
  constructor(
    /** The construct Redshift lacks or refuses, e.g. `string_agg`. */
    readonly construct: string,
    message: string,
  ) {
    super(message);
    this.name = 'RedshiftDialectError';
  }
}

export interface ToPostgresOptions {
  /**
   * The statements run inside a transaction block (a BatchExecuteStatement): what Redshift
   * refuses there (ALTER COLUMN … TYPE) is refused. A text of several statements is one
   * transaction anyway. @default false
   */
  readonly inTransactionBlock?: boolean;
}

export const REDSHIFT_MAX_VARCHAR_BYTES = 65_535;
export const REDSHIFT_MAX_CHAR_BYTES = 4_096;
/** Postgres' identifier limit (NAMEDATALEN - 1), for derived index names. */
const MAX_IDENTIFIER_BYTES = 63;
/** Schema of the warehouse-side helpers (redshift-emulation.ts). */
export const EMULATION_SCHEMA = 'redshift_local';

/** Translates Redshift SQL (one or more statements) into Postgres text; see the module comment. */
export function toPostgres(sql: string, options: ToPostgresOptions = {}): string {
  return toPostgresStatements(sql, options).join(';\n');
}

/**
 * The same as single statements, for callers that run one statement at a time (the Data
 * API stand-in's prepared statements): a CREATE TABLE with a sort key becomes two.
 */
export function toPostgresStatements(sql: string, options: ToPostgresOptions = {}): string[] {
  const statements = splitSqlStatements(sql);
  const inTransactionBlock = options.inTransactionBlock === true || statements.length > 1;
  return statements.flatMap((statement) => translateStatement(statement, inTransactionBlock));
}

/** The derived name of a table's sort-key index: `<table>_sortkey` (`_sortkey_<n>` when interleaved). */
export function sortKeyIndexName(tableName: string, position?: number): string {
  const suffix = position === undefined ? '_sortkey' : `_sortkey_${position}`;
  const plain = `${tableName}${suffix}`;
  if (Buffer.byteLength(plain) <= MAX_IDENTIFIER_BYTES) return plain;
  const hash = createHash('md5').update(tableName).digest('hex').slice(0, 8);
  return `${tableName.slice(0, 40)}_${hash}${suffix}`;
}

// ---------------------------------------------------------------------------------------------

const IDENT = String.raw`[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*`;
const QUALIFIED = String.raw`${IDENT}(?:\s*\.\s*${IDENT}){0,2}`;
const VARCHAR_LENGTH = /\b(?:n?varchar|character\s+varying)\s*\(\s*(\d+)\s*\)/gi;
const CHAR_LENGTH = /\b(?:n?char|character|bpchar)\s*\(\s*(\d+)\s*\)/gi;
const PROCEDURE_START = /^\s*create\s+(?:or\s+replace\s+)?(?:procedure|function)\b/i;

interface Edit {
  start: number;
  end: number;
  text: string;
}

function applyEdits(text: string, edits: Edit[]): string {
  let output = text;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) {
    output = output.slice(0, edit.start) + edit.text + output.slice(edit.end);
  }
  return output;
}

/**
 * The text with comments and string contents blanked and quoted identifiers turned into `_`
 * runs (so identifier patterns match them), same length: patterns match the mask and edits
 * take the original text at the same offsets. Dollar-quoted bodies are blanked: they are
 * translated on their own.
 */
function maskForMatching(text: string): string {
  return tokenizeSql(text)
    .map((token) => {
      switch (token.kind) {
        case 'code':
          return token.text;
        case 'quoted-identifier':
          return '_'.repeat(token.text.length);
        case 'string':
          return `'${' '.repeat(token.text.length - 2)}'`;
        default:
          return token.text.replace(/[^\n]/g, ' ');
      }
    })
    .join('');
}

function unquoteIdentifier(identifier: string): string {
  const trimmed = identifier.trim();
  return trimmed.startsWith('"') ? trimmed.slice(1, -1).replace(/""/g, '"') : trimmed.toLowerCase();
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Splits `a.b.c` (original text, located by the mask) into its parts. */
function identifierParts(original: string, mask: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i <= mask.length; i += 1) {
    if (i === mask.length || mask[i] === '.') {
      parts.push(original.slice(start, i).trim());
      start = i + 1;
    }
  }
  return parts;
}

/** Index of the `)` matching the `(` at `open` in the mask, or -1. */
function matchingParen(mask: string, open: number): number {
  let depth = 0;
  for (let i = open; i < mask.length; i += 1) {
    if (mask[i] === '(') depth += 1;
    else if (mask[i] === ')') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** [start, end) ranges of the top-level comma-separated items between `from` and `to`. */
function topLevelItems(mask: string, from: number, to: number): [number, number][] {
  const items: [number, number][] = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < to; i += 1) {
    if (mask[i] === '(') depth += 1;
    else if (mask[i] === ')') depth -= 1;
    else if (mask[i] === ',' && depth === 0) {
      items.push([start, i]);
      start = i + 1;
    }
  }
  items.push([start, to]);
  return items;
}

function refuseLengths(mask: string): void {
  for (const match of mask.matchAll(VARCHAR_LENGTH)) {
    if (Number(match[1]) > REDSHIFT_MAX_VARCHAR_BYTES) {
      throw new RedshiftDialectError(
        'VARCHAR length',
        `length for type varchar cannot exceed ${REDSHIFT_MAX_VARCHAR_BYTES} (${match[0].replace(/\s+/g, '')})`,
      );
    }
  }
  for (const match of mask.matchAll(CHAR_LENGTH)) {
    if (Number(match[1]) > REDSHIFT_MAX_CHAR_BYTES) {
      throw new RedshiftDialectError(
        'CHAR length',
        `length for type character cannot exceed ${REDSHIFT_MAX_CHAR_BYTES} (${match[0].replace(/\s+/g, '')})`,
      );
    }
  }
}

function refusePostgresOnly(statement: string, context: 'procedure' | 'statement'): void {
  const findings = scanSql('statement', statement, { context });
  if (findings.length > 0) {
    const [first] = findings;
    throw new RedshiftDialectError(
      first.construct,
      `${first.construct} is not supported by Amazon Redshift (local warehouse refuses Postgres-only SQL): ` +
        describeFindings(findings).replace(/^statement:/gm, 'line '),
    );
  }
}

/** Type spellings Redshift has and Postgres does not. */
function typeEdits(mask: string): Edit[] {
  const edits: Edit[] = [];
  for (const match of mask.matchAll(/\b(?:n?varchar|character\s+varying)\s*\(\s*max\s*\)/gi)) {
    edits.push({
      start: match.index,
      end: match.index + match[0].length,
      text: `varchar(${REDSHIFT_MAX_VARCHAR_BYTES})`,
    });
  }
  for (const match of mask.matchAll(/\bnvarchar\b(?!\s*\(\s*max)/gi)) {
    edits.push({ start: match.index, end: match.index + match[0].length, text: 'varchar' });
  }
  for (const match of mask.matchAll(/\bnchar\b/gi)) {
    edits.push({ start: match.index, end: match.index + match[0].length, text: 'char' });
  }
  for (const match of mask.matchAll(/\bidentity\s*\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)/gi)) {
    edits.push({
      start: match.index,
      end: match.index + match[0].length,
      text: `GENERATED BY DEFAULT AS IDENTITY (START WITH ${match[1]} INCREMENT BY ${match[2]})`,
    });
  }
  return edits;
}

interface TableTranslation {
  edits: Edit[];
  /** CREATE INDEX statements for the sort key, and where a statement containing this one ends. */
  indexes: { statementEnd: number; sql: string }[];
}

/** End (exclusive, after `;`) of the statement containing `from`, in a procedure body mask. */
function statementEnd(mask: string, from: number): number {
  let depth = 0;
  for (let i = from; i < mask.length; i += 1) {
    if (mask[i] === '(') depth += 1;
    else if (mask[i] === ')') depth -= 1;
    else if (mask[i] === ';' && depth <= 0) return i + 1;
  }
  return mask.length;
}

/** CREATE [TEMP] TABLE … (columns) attributes [AS …]: attributes out, sort key → index. */
function createTableEdits(text: string, mask: string): TableTranslation {
  const result: TableTranslation = { edits: [], indexes: [] };
  const createTable = new RegExp(
    String.raw`\bcreate\s+(?:(?:local\s+)?(?:temp|temporary)\s+)?table\s+(?:if\s+not\s+exists\s+)?(${QUALIFIED})`,
    'gi',
  );
  for (const match of mask.matchAll(createTable)) {
    const nameStart = match.index + match[0].length - match[1].length;
    const nameEnd = match.index + match[0].length;
    const qualifiedName = text.slice(nameStart, nameEnd);
    const parts = identifierParts(qualifiedName, mask.slice(nameStart, nameEnd));
    const tableName = unquoteIdentifier(parts.at(-1) ?? '');
    const sortColumns: string[] = [];
    let interleaved = false;

    let position = nameEnd;
    const afterName = /^\s*\(/.exec(mask.slice(position));
    if (afterName) {
      const open = position + afterName[0].length - 1;
      const close = matchingParen(mask, open);
      if (close < 0) continue;
      for (const [itemStart, itemEnd] of topLevelItems(mask, open + 1, close)) {
        const itemMask = mask.slice(itemStart, itemEnd);
        if (/^\s*(?:primary|unique|foreign|check|constraint|like)\b/i.test(itemMask)) continue;
        const columnName = new RegExp(`^\\s*(${IDENT})`).exec(itemMask);
        for (const attribute of itemMask.matchAll(/\b(?:encode\s+\w+|distkey|sortkey)\b/gi)) {
          if (/^sortkey$/i.test(attribute[0]) && columnName) {
            const columnStart = itemStart + columnName[0].length - columnName[1].length;
            sortColumns.push(text.slice(columnStart, columnStart + columnName[1].length));
          }
          const start = itemStart + attribute.index;
          result.edits.push({ start, end: start + attribute[0].length, text: ' ' });
        }
      }
      position = close + 1;
    }

    // Table attributes, in any order, up to AS or the end of the statement.
    const attributePatterns = [
      /^\s*backup\s+(?:yes|no)\b/i,
      /^\s*diststyle\s+(?:auto|even|key|all)\b/i,
      new RegExp(String.raw`^\s*distkey\s*\(\s*${IDENT}\s*\)`, 'i'),
      /^\s*sortkey\s+auto\b/i,
      /^\s*encode\s+auto\b/i,
      /^\s*(?:(compound|interleaved)\s+)?sortkey\s*\(([^)]*)\)/i,
    ];
    for (;;) {
      const rest = mask.slice(position);
      const found = attributePatterns.map((pattern) => pattern.exec(rest)).find((m) => m !== null);
      if (!found) break;
      if (/sortkey\s*\(/i.test(found[0]) && found[2] !== undefined) {
        interleaved = /^interleaved$/i.test(found[1] ?? '');
        const listStart = position + found[0].lastIndexOf('(') + 1;
        const listEnd = position + found[0].length - 1;
        for (const [itemStart, itemEnd] of topLevelItems(mask, listStart, listEnd)) {
          sortColumns.push(text.slice(itemStart, itemEnd).trim());
        }
      }
      result.edits.push({ start: position, end: position + found[0].length, text: ' ' });
      position += found[0].length;
    }

    if (sortColumns.length > 0) {
      const groups = interleaved ? sortColumns.map((column) => [column]) : [sortColumns];
      groups.forEach((columns, index) => {
        const indexName = sortKeyIndexName(tableName, interleaved ? index + 1 : undefined);
        result.indexes.push({
          statementEnd: statementEnd(mask, nameEnd),
          sql: `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(indexName)} ON ${qualifiedName} (${columns.join(', ')})`,
        });
      });
    }
  }
  return result;
}

/** ALTER TABLE forms Redshift has: sort/dist keys, encodings, widening a VARCHAR. */
function alterTableStatements(
  statement: string,
  mask: string,
  inTransactionBlock: boolean,
): string[] | undefined {
  const alter = new RegExp(
    String.raw`^\s*alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?(${QUALIFIED})\s+`,
    'i',
  ).exec(mask);
  if (!alter) return undefined;
  const nameEnd = alter[0].trimEnd().length;
  const nameStart = nameEnd - alter[1].length;
  const qualifiedName = statement.slice(nameStart, nameEnd);
  const parts = identifierParts(qualifiedName, mask.slice(nameStart, nameEnd));
  const tableName = unquoteIdentifier(parts.at(-1) ?? '');
  const schemaPrefix = parts.length > 1 ? `${parts.slice(0, -1).join('.')}.` : '';
  const action = mask.slice(alter[0].length);
  const actionText = statement.slice(alter[0].length);
  const noOp = `ALTER TABLE ${qualifiedName} SET WITHOUT CLUSTER`;

  if (topLevelItems(mask, alter[0].length, mask.length).length > 1) {
    throw new RedshiftDialectError(
      'ALTER TABLE with several actions',
      `Amazon Redshift takes one action per ALTER TABLE (e.g. one ADD COLUMN each): ${statement.slice(0, 120)}`,
    );
  }
  if (/^add\s/i.test(action)) {
    const encodings = [...mask.matchAll(/\bencode\s+\w+/gi)].map((match) => ({
      start: match.index,
      end: match.index + match[0].length,
      text: ' ',
    }));
    return [applyEdits(statement, [...typeEdits(mask), ...encodings]).trim()];
  }

  const columnType = new RegExp(String.raw`^alter\s+column\s+(${IDENT})\s+type\s+([\s\S]*)$`, 'i').exec(
    action,
  );
  if (columnType) {
    const newType = actionText.slice(action.length - columnType[2].length).trim();
    if (!/^(?:n?varchar|character\s+varying)\s*\(\s*(?:\d+|max)\s*\)$/i.test(newType)) {
      throw new RedshiftDialectError(
        'ALTER COLUMN TYPE',
        `ALTER TABLE ALTER COLUMN TYPE changes only the size of a VARCHAR column in Amazon Redshift, not to ${newType}`,
      );
    }
    if (inTransactionBlock) {
      throw new RedshiftDialectError(
        'ALTER COLUMN TYPE in a transaction block',
        'ALTER TABLE ALTER COLUMN TYPE cannot run inside a transaction block (Amazon Redshift): ' +
          'send it as a statement of its own',
      );
    }
    return undefined; // translated as usual; narrowing is refused by the warehouse (event trigger)
  }
  const sortKey = /^alter\s+(?:(compound|interleaved)\s+)?sortkey\s*(?:\(([^)]*)\)|(none|auto)\b)/i.exec(
    action,
  );
  if (sortKey) {
    const drops = [
      sortKeyIndexName(tableName),
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => sortKeyIndexName(tableName, n)),
    ].map((name) => `DROP INDEX IF EXISTS ${schemaPrefix}${quoteIdentifier(name)}`);
    if (sortKey[2] === undefined) return [noOp, ...drops];
    const listStart = alter[0].length + sortKey[0].indexOf('(') + 1;
    const columns = topLevelItems(mask, listStart, listStart + sortKey[2].length).map(([s, e]) =>
      statement.slice(s, e).trim(),
    );
    const interleaved = /^interleaved$/i.test(sortKey[1] ?? '');
    const creates = (interleaved ? columns.map((column) => [column]) : [columns]).map(
      (group, index) =>
        `CREATE INDEX ${quoteIdentifier(sortKeyIndexName(tableName, interleaved ? index + 1 : undefined))} ON ${qualifiedName} (${group.join(', ')})`,
    );
    return [noOp, ...drops, ...creates];
  }
  if (
    new RegExp(
      String.raw`^alter\s+(?:distkey\s+${IDENT}|diststyle\s+\w+(?:\s+sort)?|encode\s+auto|column\s+${IDENT}\s+encode\s+\w+)\s*$`,
      'i',
    ).test(action)
  ) {
    return [noOp]; // distribution and encodings have no Postgres equivalent
  }
  return undefined;
}

/**
 * `EXECUTE <expression>` → `EXECUTE redshift_local.to_postgres(<expression>)` in a plpgsql
 * body; the expression ends at `;`, INTO or USING at its own parenthesis depth.
 */
function executeEdits(mask: string, text: string): Edit[] {
  const edits: Edit[] = [];
  for (const match of mask.matchAll(/\bexecute\b/gi)) {
    const expressionStart = match.index + match[0].length;
    let depth = 0;
    let end = mask.length;
    for (let i = expressionStart; i < mask.length; i += 1) {
      const char = mask[i];
      if (char === '(') depth += 1;
      else if (char === ')') depth -= 1;
      else if (depth === 0 && char === ';') {
        end = i;
        break;
      } else if (depth === 0 && /^(?:into|using)\b/i.test(mask.slice(i, i + 6)) && /\W/.test(mask[i - 1])) {
        end = i;
        break;
      }
    }
    const expression = text.slice(expressionStart, end);
    if (expression.trim() === '') continue;
    edits.push({
      start: expressionStart,
      end,
      text: ` ${EMULATION_SCHEMA}.to_postgres(${expression.trim()}) `,
    });
  }
  return edits;
}

/** Translates a plpgsql body: static DDL as everywhere, EXECUTE through the warehouse's port. */
function translateProcedureBody(original: string): string {
  // quote_ident first: it may sit inside an EXECUTE expression, which the edits below replace whole.
  const body = applyEdits(original, quoteIdentEdits(maskForMatching(original)));
  const mask = maskForMatching(body);
  refuseReservedIdentifiers(mask, false);
  const tables = createTableEdits(body, mask);
  const edits = [...typeEdits(mask), ...tables.edits, ...executeEdits(mask, body)];
  for (const index of tables.indexes) {
    edits.push({ start: index.statementEnd, end: index.statementEnd, text: `\n  ${index.sql};` });
  }
  if (/\balter\s+table\b[^;]*\balter\s+column\b[^;]*\btype\b/i.test(mask)) {
    throw new RedshiftDialectError(
      'ALTER COLUMN TYPE in a procedure',
      'ALTER TABLE ALTER COLUMN TYPE cannot run inside a transaction block (Amazon Redshift), and a procedure is one',
    );
  }
  return applyEdits(body, edits);
}

function translateProcedure(statement: string): string {
  const edits: Edit[] = [];
  for (const token of tokenizeSql(statement)) {
    if (token.kind !== 'dollar-quoted') continue;
    const tag = /^\$[A-Za-z0-9_]*\$/.exec(token.text)?.[0] ?? '$$';
    const body = token.text.slice(tag.length, token.text.length - tag.length);
    edits.push({
      start: token.start,
      end: token.start + token.text.length,
      text: tag + translateProcedureBody(body) + tag,
    });
  }
  return applyEdits(statement, edits);
}

const RESERVED = new Set(REDSHIFT_RESERVED_WORDS);
const REDSHIFT_ONLY_RESERVED = new Set(REDSHIFT_ONLY_RESERVED_WORDS);
/** Constraint items of a column list, whose first word names no column. */
const CONSTRAINT_ITEM = /^\s*(?:primary|unique|foreign|check|constraint|like)\b/i;

function refuseReservedWord(word: string | undefined): void {
  if (word === undefined) return;
  const folded = word.trim().toLowerCase();
  if (RESERVED.has(folded)) throw new RedshiftDialectError('reserved word', reservedWordMessage(folded));
}

/** Every bare part of a (qualified) name; quoted parts are `_` runs in the mask, never reserved. */
function refuseReservedName(maskedName: string): void {
  for (const part of maskedName.split('.')) refuseReservedWord(part);
}

/** The bare words of a comma-separated column list (DISTKEY, SORTKEY, an index's columns). */
function refuseReservedList(maskedList: string): void {
  for (const item of maskedList.split(',')) refuseReservedWord(item.trim().split(/\s+/)[0]);
}

/**
 * A Redshift reserved word used as a bare identifier (see the module comment); `mask` has
 * comments and string contents blanked and quoted identifiers as `_` runs. `everywhere`: also the
 * words no statement uses as syntax, anywhere in the code (not in procedure bodies, whose
 * PL/pgSQL has OPEN, and whose dynamic SQL the warehouse checks at run time).
 */
function refuseReservedIdentifiers(mask: string, everywhere: boolean): void {
  if (everywhere) {
    for (const match of mask.matchAll(/(?<![\w$:])[A-Za-z_][\w$]*/g)) {
      if (REDSHIFT_ONLY_RESERVED.has(match[0].toLowerCase())) {
        throw new RedshiftDialectError('reserved word', reservedWordMessage(match[0].toLowerCase()));
      }
    }
  }
  const name = `(${QUALIFIED})`;
  const namePatterns = [
    String.raw`\bcreate\s+(?:(?:local\s+)?(?:temp|temporary)\s+)?table\s+(?:if\s+not\s+exists\s+)?${name}`,
    String.raw`\balter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?${name}`,
    String.raw`\bdrop\s+table\s+(?:if\s+exists\s+)?${name}`,
    String.raw`\b(?:create|drop)\s+schema\s+(?:if\s+(?:not\s+)?exists\s+)?${name}`,
    String.raw`\binsert\s+into\s+${name}`,
    String.raw`\bupdate\s+${name}`,
    String.raw`\bdelete\s+from\s+${name}`,
    String.raw`\b(?:from|join|using)\s+${name}`,
    String.raw`\brename\s+(?:column\s+${IDENT}\s+)?to\s+${name}`,
    String.raw`\b(?:add|alter|rename|drop)\s+column\s+(?:if\s+(?:not\s+)?exists\s+)?${name}`,
    String.raw`\balter\s+table\s+${QUALIFIED}\s+add\s+(?!column\b|constraint\b|primary\b|unique\b|foreign\b|check\b)${name}`,
    String.raw`\balter\s+distkey\s+${name}`,
    String.raw`(?<!\w)distkey\s*\(\s*${name}\s*\)`,
  ];
  for (const pattern of namePatterns) {
    for (const match of mask.matchAll(new RegExp(pattern, 'gi'))) refuseReservedName(match[1]);
  }
  for (const match of mask.matchAll(/\bsortkey\s*\(([^)]*)\)/gi)) refuseReservedList(match[1]);
  // CREATE TABLE column lists: the first word of each item names a column.
  const createTable = new RegExp(
    String.raw`\bcreate\s+(?:(?:local\s+)?(?:temp|temporary)\s+)?table\s+(?:if\s+not\s+exists\s+)?${QUALIFIED}\s*\(`,
    'gi',
  );
  for (const match of mask.matchAll(createTable)) {
    const open = match.index + match[0].length - 1;
    const close = matchingParen(mask, open);
    if (close < 0) continue;
    for (const [itemStart, itemEnd] of topLevelItems(mask, open + 1, close)) {
      const item = mask.slice(itemStart, itemEnd);
      if (CONSTRAINT_ITEM.test(item)) continue;
      refuseReservedWord(new RegExp(`^\\s*(${IDENT})`).exec(item)?.[1]);
    }
  }
}

/** `quote_ident(` → the warehouse's Redshift QUOTE_IDENT (code only: strings stay data). */
function quoteIdentEdits(mask: string): Edit[] {
  return [...mask.matchAll(/(?<![\w$.])quote_ident(?=\s*\()/gi)].map((match) => ({
    start: match.index,
    end: match.index + match[0].length,
    text: `${EMULATION_SCHEMA}.quote_ident`,
  }));
}

function translateStatement(statement: string, inTransactionBlock: boolean): string[] {
  const isProcedure = PROCEDURE_START.test(maskForMatching(statement));
  refusePostgresOnly(statement, isProcedure ? 'procedure' : 'statement');
  // Lengths are checked in procedure bodies and their dynamic SQL pieces too.
  refuseLengths(isProcedure ? maskSql(statement) : maskForMatching(statement));
  if (isProcedure) return [translateProcedure(statement)];

  const mask = maskForMatching(statement);
  refuseReservedIdentifiers(mask, true);
  const altered = alterTableStatements(statement, mask, inTransactionBlock);
  if (altered) return altered;
  const tables = createTableEdits(statement, mask);
  const translated = applyEdits(statement, [
    ...typeEdits(mask),
    ...tables.edits,
    ...quoteIdentEdits(mask),
  ]).trim();
  return [translated, ...tables.indexes.map((index) => index.sql)];
}

/** Comments blanked, strings kept: the view in which dynamic SQL pieces are checked. */
function maskSql(text: string): string {
  return tokenizeSql(text)
    .map((token) => (token.kind.endsWith('comment') ? token.text.replace(/[^\n]/g, ' ') : token.text))
    .join('');
}
