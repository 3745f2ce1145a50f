import type { PGlite } from '@electric-sql/pglite';
import { EMULATION_SCHEMA, REDSHIFT_MAX_CHAR_BYTES, REDSHIFT_MAX_VARCHAR_BYTES } from './redshift-dialect';
import { REDSHIFT_ONLY_RESERVED_WORDS, REDSHIFT_RESERVED_WORDS } from './redshift-reserved-words';

/*
 * What the local warehouse (Postgres) enforces itself so that it behaves like Redshift, whoever
 * runs the DDL: the Data API stand-in, sql/, the AppFlow stand-in, or a procedure's dynamic SQL
 * (which no translation from outside can see). Installed once per warehouse, in its own schema
 * `redshift_local`; sql/ knows nothing of it.
 *
 * - redshift_local.to_postgres(text): the warehouse's port of redshift-dialect.ts' DDL rules,
 *   which procedures call for every EXECUTE (toPostgres rewrites their bodies so): table
 *   attributes dropped, a sort key becomes an index of the same derived name, ALTER COLUMN TYPE
 *   refused (a procedure is a transaction block), and a Redshift reserved word used as a bare
 *   identifier refused with Redshift's "syntax error at or near" (refuse_reserved_words: table
 *   and schema names and their qualified parts, column lists and ADD/ALTER/RENAME COLUMN of DDL,
 *   DISTKEY/SORTKEY lists; anywhere in the code for the words no statement uses as syntax).
 * - redshift_local.quote_ident(text): Redshift's QUOTE_IDENT, which adds double quotes only where
 *   characters or case need them and so leaves reserved words bare (Postgres' quote_ident quotes
 *   its own keywords); toPostgres points every quote_ident( call at it.
 * - An event trigger on ddl_command_end for CREATE TABLE, CREATE TABLE AS, SELECT INTO and
 *   ALTER TABLE:
 *   * CREATE TABLE: a TEXT or VARCHAR column without a length becomes VARCHAR(256), as in Redshift;
 *   * VARCHAR(n) over 65,535 (CHAR(n) over 4,096) refused;
 *   * every VARCHAR(n)/CHAR(n) column of a CREATE TABLE or ALTER TABLE gets a byte check
 *     `octet_length(col) > n` → error (CHECK constraints `redshift_varchar_bytes_<first attnum>`,
 *     one per DDL statement, all columns in one expression: a constraint per column costs
 *     seconds on a 1,000-column table), failing with Redshift's own text, "value too long for
 *     type character varying(n)" (SQLSTATE 22001). Postgres counts characters, Redshift bytes:
 *     'é' is 1 character and 2 bytes;
 *   * the check remembers the width, so an ALTER that narrows a VARCHAR is refused (Redshift
 *     only widens) and a widening replaces the check;
 *   * CREATE TABLE AS / SELECT INTO: the new table is ANALYZEd, as Redshift does automatically
 *     (Postgres would plan the procedure's temporary tables with no statistics). Their columns
 *     get no byte checks: their values come from columns already checked.
 */

const S = EMULATION_SCHEMA;
const RESERVED_ARRAY = REDSHIFT_RESERVED_WORDS.map((word) => `'${word}'`).join(', ');
const REDSHIFT_ONLY_ALTERNATION = REDSHIFT_ONLY_RESERVED_WORDS.join('|');

const EMULATION_SQL = `
CREATE SCHEMA IF NOT EXISTS ${S};

-- Raises Redshift's error; called by the byte checks only when a value is too long. p_attnum is
-- not used here: it records which column the check term belongs to (see enforce_table_rules).
CREATE OR REPLACE FUNCTION ${S}.value_too_long(p_type text, p_limit integer, p_attnum integer) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $body$
BEGIN
  RAISE EXCEPTION 'value too long for type %(%)', p_type, p_limit USING ERRCODE = '22001';
END;
$body$;

CREATE OR REPLACE FUNCTION ${S}.sort_key_index_name(p_table text, p_position integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $body$
  SELECT CASE
    WHEN octet_length(p_table || v.suffix) <= 63 THEN p_table || v.suffix
    ELSE left(p_table, 40) || '_' || left(md5(p_table), 8) || v.suffix
  END
  FROM (SELECT CASE WHEN p_position IS NULL THEN '_sortkey' ELSE '_sortkey_' || p_position END AS suffix) v
$body$;

-- Redshift's QUOTE_IDENT: double quotes only where characters or case need them (a string that
-- is not a lower-case identifier: letters, digits, _ and $, not starting with a digit or $;
-- multibyte characters are identifier characters), embedded double quotes doubled. Reserved
-- words stay bare, as Redshift documents; Postgres' quote_ident would quote them.
CREATE OR REPLACE FUNCTION ${S}.quote_ident(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $body$
  SELECT CASE
    WHEN p_name IS NULL THEN NULL
    WHEN p_name ~ '^[a-z_\\u0080-\\uffff][a-z0-9_$\\u0080-\\uffff]*$' AND p_name = lower(p_name) THEN p_name
    ELSE '"' || replace(p_name, '"', '""') || '"'
  END
$body$;

CREATE OR REPLACE FUNCTION ${S}.refuse_reserved_word(p_word text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $body$
BEGIN
  IF lower(trim(p_word)) = ANY (ARRAY[${RESERVED_ARRAY}]) THEN
    RAISE EXCEPTION 'syntax error at or near "%" (% is a reserved word in Amazon Redshift: quote the identifier, "%")',
      lower(trim(p_word)), upper(trim(p_word)), lower(trim(p_word)) USING ERRCODE = '42601';
  END IF;
END;
$body$;

-- A Redshift reserved word as a bare identifier in SQL a procedure built (redshift-dialect.ts
-- checks statements the same way before they reach the warehouse). Strings and quoted
-- identifiers are blanked first: a quoted name is never reserved.
CREATE OR REPLACE FUNCTION ${S}.refuse_reserved_words(p_sql text) RETURNS void
LANGUAGE plpgsql AS $body$
DECLARE
  v_code text;
  v_found text;
  v_match text[];
  v_part text;
  v_open integer;
  v_depth integer := 0;
  v_start integer;
  v_char text;
  v_item text;
  v_name constant text := '((?:[a-z_][a-z0-9_$]*|"q")(?:\\s*\\.\\s*(?:[a-z_][a-z0-9_$]*|"q")){0,2})';
  v_patterns constant text[] := ARRAY[
    '\\mcreate\\s+(?:(?:local\\s+)?(?:temp|temporary)\\s+)?table\\s+(?:if\\s+not\\s+exists\\s+)?',
    '\\malter\\s+table\\s+(?:if\\s+exists\\s+)?(?:only\\s+)?',
    '\\mdrop\\s+table\\s+(?:if\\s+exists\\s+)?',
    '\\m(?:create|drop)\\s+schema\\s+(?:if\\s+(?:not\\s+)?exists\\s+)?',
    '\\minsert\\s+into\\s+',
    '\\mupdate\\s+',
    '\\mdelete\\s+from\\s+',
    '\\m(?:from|join|using)\\s+',
    '\\mrename\\s+(?:column\\s+[a-z_][a-z0-9_$]*\\s+)?to\\s+',
    '\\m(?:add|alter|rename|drop)\\s+column\\s+(?:if\\s+(?:not\\s+)?exists\\s+)?',
    '\\malter\\s+table\\s+\\S+\\s+add\\s+(?!column\\M|constraint\\M|primary\\M|unique\\M|foreign\\M|check\\M)',
    '\\malter\\s+distkey\\s+',
    '\\mdistkey\\s*\\(\\s*'
  ];
  v_pattern text;
BEGIN
  v_code := regexp_replace(p_sql, '''(?:[^'']|'''')*''', '''''', 'g');
  v_code := regexp_replace(v_code, '"(?:[^"]|"")*"', '"q"', 'g');
  v_code := regexp_replace(v_code, '--[^\\n]*', ' ', 'g');
  -- Words no statement uses as syntax: an identifier wherever they are.
  v_found := substring(v_code from '(?i)(?:^|[^a-z0-9_$:"])(${REDSHIFT_ONLY_ALTERNATION})(?![a-z0-9_$])');
  IF v_found IS NOT NULL THEN
    PERFORM ${S}.refuse_reserved_word(v_found);
  END IF;
  IF v_code !~* '\\m(create|alter|drop|insert|update|delete|from|join|using|distkey|sortkey)\\M' THEN
    RETURN;
  END IF;
  FOREACH v_pattern IN ARRAY v_patterns LOOP
    FOR v_match IN SELECT regexp_matches(v_code, v_pattern || v_name, 'gi') LOOP
      FOREACH v_part IN ARRAY regexp_split_to_array(v_match[1], '\\s*\\.\\s*') LOOP
        PERFORM ${S}.refuse_reserved_word(v_part);
      END LOOP;
    END LOOP;
  END LOOP;
  FOR v_match IN SELECT regexp_matches(v_code, '\\msortkey\\s*\\(([^)]*)\\)', 'gi') LOOP
    FOREACH v_part IN ARRAY regexp_split_to_array(v_match[1], '\\s*,\\s*') LOOP
      PERFORM ${S}.refuse_reserved_word(split_part(trim(v_part), ' ', 1));
    END LOOP;
  END LOOP;
  -- CREATE TABLE's column list: the first word of each item names a column.
  v_item := substring(v_code from '(?i)^(\\s*create\\s+(?:(?:local\\s+)?(?:temp|temporary)\\s+)?table\\s+(?:if\\s+not\\s+exists\\s+)?'
    || '(?:[a-z_][a-z0-9_$]*|"q")(?:\\s*\\.\\s*(?:[a-z_][a-z0-9_$]*|"q")){0,2}\\s*\\()');
  IF v_item IS NOT NULL THEN
    v_open := length(v_item);
    v_start := v_open + 1;
    FOR v_position IN v_open .. length(v_code) LOOP
      v_char := substr(v_code, v_position, 1);
      IF v_char = '(' THEN
        v_depth := v_depth + 1;
      ELSIF v_char = ')' THEN
        v_depth := v_depth - 1;
      END IF;
      IF (v_char = ',' AND v_depth = 1) OR v_depth = 0 THEN
        v_item := substr(v_code, v_start, v_position - v_start);
        IF v_item !~* '^\\s*(primary|unique|foreign|check|constraint|like)\\M' THEN
          PERFORM ${S}.refuse_reserved_word(substring(v_item from '^\\s*([a-z_][a-z0-9_$]*)'));
        END IF;
        v_start := v_position + 1;
      END IF;
      EXIT WHEN v_depth = 0;
    END LOOP;
  END IF;
END;
$body$;

-- The port of redshift-dialect.ts' DDL rules for SQL built at run time inside procedures.
CREATE OR REPLACE FUNCTION ${S}.to_postgres(p_sql text) RETURNS text
LANGUAGE plpgsql AS $body$
DECLARE
  v_sql text := p_sql;
  v_name text;
  v_table text;
  v_sort text[];
  v_column text;
  v_position integer := 0;
  v_identifier constant text := '(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)';
BEGIN
  IF v_sql IS NULL THEN
    RETURN v_sql;
  END IF;
  PERFORM ${S}.refuse_reserved_words(v_sql);
  v_sql := regexp_replace(v_sql, '(?<![a-z0-9_$.])quote_ident(?=\\s*\\()', '${S}.quote_ident', 'gi');
  IF v_sql !~* '(distkey|sortkey|diststyle|encode|backup|alter)' THEN
    RETURN v_sql;
  END IF;
  IF v_sql ~* '^\\s*alter\\s+table\\M.*\\malter\\s+column\\M.*\\mtype\\M' THEN
    RAISE EXCEPTION 'ALTER TABLE ALTER COLUMN TYPE cannot run inside a transaction block (Amazon Redshift), and a procedure is one: %',
      left(v_sql, 200) USING ERRCODE = '25001';
  END IF;
  IF v_sql ~* '^\\s*alter\\s+table\\M' THEN
    RETURN regexp_replace(v_sql, '\\mencode\\s+[a-z0-9_]+', ' ', 'gi');
  END IF;
  v_name := substring(v_sql from '(?i)^\\s*create\\s+(?:(?:local\\s+)?(?:temp|temporary)\\s+)?table\\s+(?:if\\s+not\\s+exists\\s+)?('
    || v_identifier || '(?:\\s*\\.\\s*' || v_identifier || '){0,2})');
  IF v_name IS NULL THEN
    RETURN v_sql;
  END IF;
  v_sort := regexp_match(v_sql, '\\m(compound\\s+|interleaved\\s+)?sortkey\\s*\\(([^)]*)\\)', 'i');
  v_sql := regexp_replace(v_sql, '\\m(compound\\s+|interleaved\\s+)?sortkey\\s*\\([^)]*\\)', ' ', 'gi');
  v_sql := regexp_replace(v_sql, '\\mdistkey\\s*\\([^)]*\\)', ' ', 'gi');
  v_sql := regexp_replace(v_sql, '\\mdiststyle\\s+(auto|even|key|all)\\M', ' ', 'gi');
  v_sql := regexp_replace(v_sql, '\\mbackup\\s+(yes|no)\\M', ' ', 'gi');
  v_sql := regexp_replace(v_sql, '\\m(sortkey|encode)\\s+auto\\M', ' ', 'gi');
  v_sql := regexp_replace(v_sql, '\\mencode\\s+[a-z0-9_]+', ' ', 'gi');
  -- Column-level DISTKEY/SORTKEY are not ported (a bare word could be a column's name): such
  -- dynamic DDL fails loudly with Postgres' syntax error instead of losing a column.
  IF v_sort IS NOT NULL THEN
    v_table := substring(v_name from '(' || v_identifier || ')\\s*$');
    IF left(v_table, 1) = '"' THEN
      v_table := replace(substr(v_table, 2, length(v_table) - 2), '""', '"');
    ELSE
      v_table := lower(v_table);
    END IF;
    IF lower(coalesce(trim(v_sort[1]), '')) = 'interleaved' THEN
      FOREACH v_column IN ARRAY regexp_split_to_array(v_sort[2], '\\s*,\\s*') LOOP
        v_position := v_position + 1;
        v_sql := v_sql || ';' || chr(10) || 'CREATE INDEX IF NOT EXISTS '
          || quote_ident(${S}.sort_key_index_name(v_table, v_position)) || ' ON ' || v_name || ' (' || trim(v_column) || ')';
      END LOOP;
    ELSE
      v_sql := v_sql || ';' || chr(10) || 'CREATE INDEX IF NOT EXISTS '
        || quote_ident(${S}.sort_key_index_name(v_table, NULL)) || ' ON ' || v_name || ' (' || v_sort[2] || ')';
    END IF;
  END IF;
  RETURN v_sql;
END;
$body$;

CREATE OR REPLACE FUNCTION ${S}.enforce_table_rules() RETURNS event_trigger
LANGUAGE plpgsql AS $body$
DECLARE
  v_command record;
  v_column record;
  v_term record;
  v_table text;
  v_recorded integer[];
  v_all_terms text[];
  v_new_terms text[];
  v_first_new integer;
  v_rebuild boolean;
  v_term_text text;
BEGIN
  -- The trigger's own ALTERs fire it again: nothing to do for them.
  IF current_setting('${S}.busy', true) = 'on' THEN
    RETURN;
  END IF;
  PERFORM set_config('${S}.busy', 'on', true);
  FOR v_command IN
    SELECT DISTINCT objid, command_tag FROM pg_event_trigger_ddl_commands()
    WHERE object_type = 'table'
      AND command_tag IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
  LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = v_command.objid AND relkind IN ('r', 'p'));
    v_table := v_command.objid::regclass::text;
    IF v_command.command_tag IN ('CREATE TABLE AS', 'SELECT INTO') THEN
      EXECUTE 'ANALYZE ' || v_table;
      CONTINUE;
    END IF;
    IF v_command.command_tag = 'CREATE TABLE' THEN
      FOR v_column IN
        SELECT a.attname FROM pg_attribute a
        WHERE a.attrelid = v_command.objid AND a.attnum > 0 AND NOT a.attisdropped
          AND (a.atttypid = 'text'::regtype OR (a.atttypid = 'varchar'::regtype AND a.atttypmod < 0))
      LOOP
        EXECUTE 'ALTER TABLE ' || v_table || ' ALTER COLUMN ' || quote_ident(v_column.attname) || ' TYPE varchar(256)';
      END LOOP;
    END IF;

    -- The widths the byte checks hold, per column: value_too_long(type, bytes, attnum) terms.
    v_recorded := '{}';
    FOR v_term IN
      SELECT m[1]::integer AS bytes, m[2]::integer AS attnum
      FROM pg_constraint c,
           regexp_matches(pg_get_constraintdef(c.oid), 'value_too_long\\(''[a-z ]+''::text, ([0-9]+), ([0-9]+)\\)', 'g') m
      WHERE c.conrelid = v_command.objid AND c.contype = 'c' AND c.conname LIKE 'redshift_varchar_bytes_%'
    LOOP
      v_recorded[v_term.attnum] := v_term.bytes;
    END LOOP;

    v_all_terms := '{}';
    v_new_terms := '{}';
    v_first_new := NULL;
    v_rebuild := false;
    FOR v_column IN
      SELECT a.attnum, a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod) AS type_name,
             CASE WHEN a.atttypmod >= 4 THEN a.atttypmod - 4 END AS declared
      FROM pg_attribute a
      WHERE a.attrelid = v_command.objid AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum
    LOOP
      IF v_column.atttypid NOT IN ('varchar'::regtype, 'bpchar'::regtype) THEN
        IF v_recorded[v_column.attnum] IS NOT NULL THEN
          RAISE EXCEPTION 'cannot alter column "%" of relation "%" to %: Amazon Redshift only changes the size of a VARCHAR column',
            v_column.attname, v_table, v_column.type_name USING ERRCODE = '0A000';
        END IF;
        CONTINUE;
      END IF;
      IF v_column.atttypid = 'varchar'::regtype AND v_column.declared > ${REDSHIFT_MAX_VARCHAR_BYTES} THEN
        RAISE EXCEPTION 'length for type varchar cannot exceed ${REDSHIFT_MAX_VARCHAR_BYTES} (column % of %)',
          v_column.attname, v_table USING ERRCODE = '22023';
      END IF;
      IF v_column.atttypid = 'bpchar'::regtype AND v_column.declared > ${REDSHIFT_MAX_CHAR_BYTES} THEN
        RAISE EXCEPTION 'length for type character cannot exceed ${REDSHIFT_MAX_CHAR_BYTES} (column % of %)',
          v_column.attname, v_table USING ERRCODE = '22023';
      END IF;
      CONTINUE WHEN v_column.declared IS NULL;
      IF v_column.declared < v_recorded[v_column.attnum] THEN
        RAISE EXCEPTION 'cannot alter column "%" of relation "%", target column size % should be greater or equal to current maximum column size %',
          v_column.attname, v_table, v_column.declared, v_recorded[v_column.attnum] USING ERRCODE = '0A000';
      END IF;
      v_term_text := '(CASE WHEN octet_length(' || quote_ident(v_column.attname) || ') > ' || v_column.declared
        || ' THEN ${S}.value_too_long('
        || quote_literal(CASE WHEN v_column.atttypid = 'bpchar'::regtype THEN 'character' ELSE 'character varying' END)
        || ', ' || v_column.declared || ', ' || v_column.attnum || ') ELSE true END)';
      v_all_terms := v_all_terms || v_term_text;
      IF v_recorded[v_column.attnum] IS NULL THEN
        v_new_terms := v_new_terms || v_term_text;
        v_first_new := coalesce(v_first_new, v_column.attnum);
      ELSIF v_column.declared > v_recorded[v_column.attnum] THEN
        v_rebuild := true;
      END IF;
    END LOOP;

    -- One CHECK per ALTER (adding a constraint per column costs seconds on wide tables); a
    -- widened column rebuilds them all as one.
    IF v_rebuild THEN
      FOR v_term IN
        SELECT conname FROM pg_constraint
        WHERE conrelid = v_command.objid AND contype = 'c' AND conname LIKE 'redshift_varchar_bytes_%'
      LOOP
        EXECUTE 'ALTER TABLE ' || v_table || ' DROP CONSTRAINT ' || quote_ident(v_term.conname);
      END LOOP;
      v_new_terms := v_all_terms;
      v_first_new := 0;
    END IF;
    IF cardinality(v_new_terms) > 0 THEN
      EXECUTE 'ALTER TABLE ' || v_table || ' ADD CONSTRAINT ' || quote_ident('redshift_varchar_bytes_' || v_first_new)
        || ' CHECK (' || array_to_string(v_new_terms, ' AND ') || ') NOT VALID';
    END IF;
  END LOOP;
  PERFORM set_config('${S}.busy', 'off', true);
END;
$body$;

DROP EVENT TRIGGER IF EXISTS redshift_local_table_rules;
CREATE EVENT TRIGGER redshift_local_table_rules ON ddl_command_end
  WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
  EXECUTE FUNCTION ${S}.enforce_table_rules();
`;

/**
 * Makes a Postgres database behave like Redshift where Postgres alone would not (see the top of
 * this file). Idempotent: run it on every warehouse before sql/ is applied.
 */
export async function installRedshiftEmulation(db: Pick<PGlite, 'exec'>): Promise<void> {
  await db.exec(EMULATION_SQL);
}
