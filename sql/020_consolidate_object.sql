-- Procedures: public.consolidate_object in four forms; the 7-argument one is the contract the
-- pipeline and operators call:
--
--   CALL consolidate_object('salesforce_incremental', 'salesforce', 'account',
--                           'id', 'systemmodstamp', 'hard', 'run-2026-01-01');
--   CALL consolidate_object(..., 'run-2026-01-01', 'full');        -- sync mode
--   CALL consolidate_object(..., 'run-2026-01-01', 'full', 30);    -- days a tombstone is kept
--   CALL consolidate_object(..., 'run-2026-01-01', 'full', 30, 'salesforce_history');
--                                                      -- keep every version in this schema
-- A NULL or empty history schema, or a shorter form, keeps no history (see History below).
--
-- Moves everything staged for one object into its final table, keeping one row per key,
-- and writes one row to public.consolidation_audit. One transaction: no COMMIT, ROLLBACK or
-- table-emptying DDL inside, so a failure leaves staging, final, tombstones and audit as they
-- were (the pipeline empties staging with a statement of its own before the next load).
--
-- Runs on Amazon Redshift and on Postgres (the local warehouse and the tests), so it sticks
-- to what both have: dynamic SQL as plain strings (EXECUTE without USING), loops over column
-- metadata only, set-based statements over the data. Every identifier is validated and quoted,
-- always: in double quotes, embedded ones doubled, never through QUOTE_IDENT, which in Redshift
-- adds quotes only where characters or case need them, so a column named open, tag, percent,
-- timestamp, new, system or snapshot (words Redshift reserves and Postgres does not; custom
-- connectors have such fields) would come out bare and fail. Column metadata comes from pg_catalog (pg_attribute, pg_class,
-- pg_namespace and format_type, which Redshift's own PG_TABLE_DEF is built on): Redshift and
-- Postgres both have it for local tables, and it answers in milliseconds where
-- information_schema.columns takes a quarter of a second for a 300-column table (svv_columns
-- is Redshift's only).
--
-- Bounded SQL. Redshift keeps a procedure's dynamic SQL in VARCHAR(65535) variables, and wide
-- Salesforce objects have 300-800 fields, so no statement repeats anything per column:
-- rows move as s.* / *, and contents are compared with EXCEPT, which compares whole rows
-- (NULLs equal) without naming a column. That needs the staging table's columns to be the
-- final table's columns in the same order ("positional"; the pipeline creates and extends both
-- from one field list, and this procedure appends the columns final lacks). If they are not
-- (final has columns staging lacks, or another order), the statements list the columns by
-- name, as long as the list fits the limit; beyond it the CALL fails with an error naming the
-- table and the limit before running anything. Per-column statements exist only for adding
-- missing columns and for breaking exact cursor ties between different staged rows (rare).
-- The one statement that names every column is the CREATE TABLE of a new history table (each
-- column's definition, up to the limit; the rest are added one by one).
--
-- Structure: columns of staging that final lacks are added to final here (same type, from the
-- catalog), inside the CALL's transaction: a CALL that fails leaves them missing, so the
-- pipeline's retry still sees them missing. A column that is wider, or of another type, in
-- staging than in final is an error naming both types (widening happens outside a
-- transaction block, before the CALL).
--
-- History (10th argument, the schema, e.g. salesforce_history): the history table
-- <history schema>.<table> keeps every captured version of every record: the final table's
-- columns after three of its own, _valid_from (timestamp: the version's cursor), _valid_to
-- (timestamp, exclusive: where the next version or a delete begins; 9999-12-31 00:00:00 while
-- current) and _is_active (true exactly for a key's current version). DISTKEY(key)
-- SORTKEY(key, _valid_from). It is maintained in the same transaction as the final table, so
-- the two always agree, by set-based statements over the staged keys only:
-- * The schema must exist (sql/001 creates salesforce_history; the pipeline creates the others
--   before the CALL): a missing one is an error. The table is created here when missing, in
--   this transaction, with final's columns and types, each defined (text ENCODE ZSTD, as the
--   structure sync defines it: a column Redshift encoded itself might not widen later), and
--   seeded with one current version per live final row (its cursor as _valid_from). Final's
--   columns come after the three validity columns so that rows still move positionally (s.*)
--   when columns are added later: final's columns history lacks are appended here, in final's
--   order (NULL in the older versions). Its columns are matched with final's by name; where
--   their order differs (a column history lacked while a later one was added to final, a table
--   made elsewhere), rows move by name. Dropped columns (the structure sync rebuilds a column
--   whose type changed in final and history: added anew, copied, the old one dropped) change
--   nothing. Types follow final's: a history column narrower than final's is an error (widen
--   it with final's, outside a transaction block); so is a history table without the three
--   validity columns or with a column final lacks (rename it away: the next CALL makes a new
--   one). The cursor must be a date or timestamp.
-- * A version is (key, cursor). A staged version history already has adds nothing (the
--   lookback overlap, a rerun, a redrive, rows written twice, a full sync); so a value that
--   changed without its cursor moving (a formula refresh) changes final, not history: history
--   holds the versions as they were captured. Several different staged rows of one version
--   keep the one final would (the lowest values, column by column).
-- * A newer version closes the current one at its _valid_from and becomes current; an older
--   one history lacks is slotted into its place: the intervals of every key a CALL touches are
--   recomputed from its versions and deletes in cursor order, so they never overlap. A NULL
--   cursor is the oldest version (_valid_from NULL).
-- * A delete (isdeleted, hard or soft mode) closes the current version at the delete's cursor
--   (_is_active false, no row of its own; an older version's interval ends there too); a purge
--   found by a full sync closes it at this run's time; a live version after a delete (a restore)
--   opens a new version. A live version at the cursor of a delete loses, as in final; in hard
--   mode a live version not newer than the key's tombstone stays out, as in final. Ignore mode
--   has no deletes.
-- * Reading: a key whose staged versions are all at or after its final row's cursor reads its
--   history from that cursor on (its current version and anything newer: one row, through the
--   sort key); any other key (new, deleted, or given an older version) reads all of its rows.
-- * Switched off (a form without history), the table is kept and no longer updated; switched
--   on again, it first catches up with final: a key whose final row is newer than its history
--   closes its current version there and gets final's row as current, a key gone from final
--   closes its current version at this run's time. syncMode full and resets never empty
--   history. Whether the previous CALL maintained the table is the table's comment: each CALL
--   marks the history table it maintains and unmarks this object's other ones, so concurrent
--   CALLs of different objects share no table for it (on Redshift, reading a table that every
--   CALL writes, such as the audit table, makes serializable isolation abort one: error 1023).
-- * Audit: history_schema, history_versions_added (seed and catching up included),
--   history_versions_closed.
--
-- Cost follows the changed rows: in incremental mode no step needs the whole final table,
-- each reads final only through a join on the key with the changed keys (on Redshift a
-- co-located join on the sort key; a Postgres planner may still prefer a scan). Steps:
--   1. staging: counts (one scan);
--   2. tmp_consolidate_target: per staged key, the newest (cursor, delete flag) from a window
--      over the key, cursor and delete columns only, joined on the key with final's key,
--      cursor and isdeleted columns (and with this table's tombstones, if any): the action;
--   3. cursor ties only (few in an incremental run): the staged row and the final row are
--      compared whole (EXCEPT); a key whose newest version has several different staged rows
--      with the same cursor keeps one of them by the lowest values column by column;
--   4. DELETE … USING the changed keys, INSERT the new versions straight from staging;
--   5. tombstones of hard deletes; history (the staged versions, the touched keys' history
--      rows, their events in order, then UPDATE of the versions whose end moved and INSERT of
--      the new versions from staging); full sync: final keys absent from staging (this step
--      reads the final table's keys, as a full reload must);
--   6. the consolidated rows leave staging (DELETE); audit row.
-- Temporary tables are distributed on the key (DISTKEY; sorted too where they are joined on
-- it), so the joins on the key stay node-local.
--
-- Rules:
-- * Newest version per key: the highest cursor; a NULL cursor counts as oldest; on equal
--   cursors a delete beats a live version, and different rows then keep the one with the
--   lowest values in column order (NULL lowest), so the result never depends on the physical
--   order of staged rows.
-- * Incremental: the staged newest version replaces the final row iff
--     the key is not in final (unless a tombstone says it was deleted at or after that
--     version's cursor), or
--     the final cursor IS NULL and the staged one is not, or
--     staged cursor > final cursor, or
--     the cursors are equal (both NULL counts as equal) and the content differs.
--   Equal cursor, different content: the staged version wins, since the newer extraction
--   is the better picture of the source (formula fields and newly added columns change
--   content without moving SystemModstamp). Equal cursor, same content: nothing happens.
--   So late data loses, and re-staging what was already consolidated changes nothing.
-- * Full: the staged newest versions are the source's truth: each replaces the final row
--   unless the final row is identical, and final keys absent from staging were purged at
--   the source: removed (hard), flagged isdeleted (soft; removed if there is no isdeleted
--   column), kept (ignore). An empty staging table purges nothing: it means nothing was
--   staged (or this is a rerun after success), not that the source is empty.
-- * Deletes (column isdeleted true in a version): hard removes the key from final and keeps a
--   tombstone (key and delete cursor, public.consolidation_tombstones) for tombstone_days
--   days, so that an older live version staged later stays out; soft keeps the row with
--   isdeleted true; ignore drops delete versions before ranking, as if they had never
--   arrived (final keeps its row; a record never in final is not inserted).
-- * Staged rows with a NULL key are not consolidated (counted as rows_null_key).
-- * Every staged row leaves staging (DELETE), so a second identical CALL finds nothing to do
--   and changes nothing (it writes an audit row of zeros).
--
-- Temporary tables tmp_consolidate_*, and columns consolidate__* inside them, are the
-- procedure's own.

CREATE OR REPLACE PROCEDURE public.consolidate_object(
  p_staging_schema varchar,
  p_final_schema varchar,
  p_table_name varchar,
  p_pk_column varchar,
  p_cursor_column varchar,
  p_delete_mode varchar,
  p_run_id varchar,
  p_sync_mode varchar,
  p_tombstone_days integer,
  p_history_schema varchar
)
AS $$
DECLARE
  v_identifier_pattern varchar(64) := '^[a-z_][a-z0-9_]{0,126}$';
  -- Redshift's limit for a VARCHAR, so for a statement built in a procedure variable.
  v_statement_limit integer := 65535;
  -- A column list appears at most twice in a statement, with at most ~1 KB around it.
  v_column_list_limit integer := 32000;
  v_shown varchar(1024);
  v_count bigint;
  v_column record;
  v_final_column record;
  v_final_count integer;
  v_final_max_position integer;
  v_figures record;
  v_staging_table varchar(512);
  v_final_table varchar(512);
  v_pk varchar(256);
  v_cursor varchar(256);
  v_cursor_type varchar(256);
  v_cursor_column_type varchar(256);
  v_quoted varchar(300);
  v_table_ref varchar(300);
  v_column_count integer := 0;
  v_positional boolean := true;
  v_final_type_wrong boolean := false;
  v_missing_columns integer := 0;
  v_position integer := 0;
  v_misalignment varchar(1024) := '';
  v_column_list varchar(65535) := '';
  v_column_list_bytes integer := 0;
  v_select_list varchar(65535);
  v_insert_into varchar(65535);
  v_deleted_template varchar(1024) := '0';
  v_s_deleted varchar(1024);
  v_f_deleted varchar(1024);
  v_has_isdeleted boolean := false;
  v_deleted_true varchar(16);
  v_on_key varchar(256) := ' DISTKEY(consolidate__key) SORTKEY(consolidate__key)';
  -- History's working tables are only ever joined whole (hash joins): distributed, not sorted.
  v_by_key varchar(256) := ' DISTKEY(consolidate__key)';
  v_key_text varchar(256) := 'CAST(t.consolidate__key AS varchar(1024))';
  v_tombstone_match varchar(1024);
  v_staged_top varchar(4096);
  v_winners varchar(65535);
  v_applied varchar(1024);
  v_applied_joined varchar(1024);
  v_figures_from varchar(1024) := ' FROM tmp_consolidate_target t';
  v_tombstones_here bigint := 0;
  v_use_tombstones boolean := false;
  v_tie_keys bigint := 0;
  v_multi_keys bigint := 0;
  v_multi_rows bigint := 0;
  v_sql varchar(65535);
  v_rows_staged bigint := 0;
  v_rows_keyed bigint := 0;
  v_distinct_keys bigint := 0;
  v_rows_new bigint := 0;
  v_rows_updated bigint := 0;
  v_rows_unchanged bigint := 0;
  v_rows_deleted bigint := 0;
  v_rows_purged bigint := 0;
  v_started_at timestamp;
  v_started_literal varchar(64);
  v_finished_at timestamp;
  v_run_time varchar(128);
  v_multi_groups bigint := 0;
  -- History (p_history_schema given).
  v_history boolean := false;
  v_history_table varchar(512);
  v_history_existed boolean := false;
  v_history_marker varchar(512);
  v_history_marked boolean := false;
  v_history_other varchar(128);
  v_history_created boolean := false;
  v_history_key_defined boolean := false;
  v_history_table_attributes varchar(1024);
  v_history_definition varchar(2048);
  v_history_positional boolean := true;
  v_history_previous integer := 0;
  v_history_previous_name varchar(256);
  v_history_misalignment varchar(1024) := '';
  v_final_list varchar(65535) := '';
  v_final_list_bytes integer := 0;
  v_history_multi bigint := 0;
  v_history_added bigint;
  v_history_closed bigint;
  v_history_versions varchar(65535);
  v_low varchar(64) := 'CAST(''0001-01-01 00:00:00'' AS timestamp)';
  v_open_end varchar(64) := 'CAST(''9999-12-31 00:00:00'' AS timestamp)';
BEGIN
  -- Hard-mode CALLs of different objects read and write the one tombstone table; run
  -- concurrently, Redshift would fail one of them with a serializable isolation violation
  -- (error 1023). Locking it first, before any read, makes them wait for each other instead.
  IF p_delete_mode = 'hard' THEN
    LOCK public.consolidation_tombstones;
  END IF;
  -- 1. Arguments. Every identifier is checked before any SQL is built from it.
  IF p_staging_schema IS NULL OR NOT (p_staging_schema ~ v_identifier_pattern) THEN
    v_shown := COALESCE(quote_literal(p_staging_schema), 'NULL');
    RAISE EXCEPTION 'consolidate_object: invalid staging_schema %: must match %', v_shown, v_identifier_pattern;
  END IF;
  IF p_final_schema IS NULL OR NOT (p_final_schema ~ v_identifier_pattern) THEN
    v_shown := COALESCE(quote_literal(p_final_schema), 'NULL');
    RAISE EXCEPTION 'consolidate_object: invalid final_schema %: must match %', v_shown, v_identifier_pattern;
  END IF;
  IF p_table_name IS NULL OR NOT (p_table_name ~ v_identifier_pattern) THEN
    v_shown := COALESCE(quote_literal(p_table_name), 'NULL');
    RAISE EXCEPTION 'consolidate_object: invalid table_name %: must match %', v_shown, v_identifier_pattern;
  END IF;
  IF p_pk_column IS NULL OR NOT (p_pk_column ~ v_identifier_pattern) THEN
    v_shown := COALESCE(quote_literal(p_pk_column), 'NULL');
    RAISE EXCEPTION 'consolidate_object: invalid pk_column %: must match %', v_shown, v_identifier_pattern;
  END IF;
  IF p_cursor_column IS NULL OR NOT (p_cursor_column ~ v_identifier_pattern) THEN
    v_shown := COALESCE(quote_literal(p_cursor_column), 'NULL');
    RAISE EXCEPTION 'consolidate_object: invalid cursor_column %: must match %', v_shown, v_identifier_pattern;
  END IF;
  IF p_delete_mode IS NULL OR p_delete_mode NOT IN ('hard', 'soft', 'ignore') THEN
    v_shown := COALESCE(quote_literal(p_delete_mode), 'NULL');
    RAISE EXCEPTION 'consolidate_object: invalid delete_mode %: must be hard, soft or ignore', v_shown;
  END IF;
  IF p_sync_mode IS NULL OR p_sync_mode NOT IN ('incremental', 'full') THEN
    v_shown := COALESCE(quote_literal(p_sync_mode), 'NULL');
    RAISE EXCEPTION 'consolidate_object: invalid sync_mode %: must be incremental or full', v_shown;
  END IF;
  IF p_run_id IS NULL OR LENGTH(p_run_id) = 0 OR LENGTH(p_run_id) > 256 THEN
    RAISE EXCEPTION 'consolidate_object: run_id must be 1 to 256 characters';
  END IF;
  IF p_tombstone_days IS NULL OR p_tombstone_days < 0 OR p_tombstone_days > 36500 THEN
    RAISE EXCEPTION 'consolidate_object: tombstone_days must be 0 to 36500, not %', COALESCE(CAST(p_tombstone_days AS varchar), 'NULL');
  END IF;
  IF p_staging_schema = p_final_schema THEN
    -- Staging and final would be the same table, and it would be emptied at the end.
    RAISE EXCEPTION 'consolidate_object: staging_schema and final_schema are both %', p_final_schema;
  END IF;
  IF p_pk_column = p_cursor_column THEN
    RAISE EXCEPTION 'consolidate_object: pk_column and cursor_column are both %', p_pk_column;
  END IF;
  IF p_history_schema IS NOT NULL AND LENGTH(p_history_schema) > 0 THEN
    IF NOT (p_history_schema ~ v_identifier_pattern) THEN
      v_shown := quote_literal(p_history_schema);
      RAISE EXCEPTION 'consolidate_object: invalid history_schema %: must match %', v_shown, v_identifier_pattern;
    END IF;
    IF p_history_schema = p_staging_schema OR p_history_schema = p_final_schema THEN
      RAISE EXCEPTION 'consolidate_object: history_schema % must differ from staging_schema and final_schema', p_history_schema;
    END IF;
    v_history := true;
    v_history_added := 0;
    v_history_closed := 0;
  END IF;

  v_started_at := CAST(timeofday() AS timestamp);
  v_started_literal := quote_literal(CAST(v_started_at AS varchar));
  v_run_time := 'CAST(' || v_started_literal || ' AS timestamp)';
  -- Every identifier is quoted, whatever it is: Redshift reserves words Postgres does not (OPEN,
  -- TAG, PERCENT, TIMESTAMP …), and its QUOTE_IDENT leaves reserved words bare.
  v_table_ref := '"' || REPLACE(p_table_name, '"', '""') || '"';
  v_staging_table := '"' || REPLACE(p_staging_schema, '"', '""') || '".' || v_table_ref;
  v_final_table := '"' || REPLACE(p_final_schema, '"', '""') || '".' || v_table_ref;
  v_pk := '"' || REPLACE(p_pk_column, '"', '""') || '"';
  v_cursor := '"' || REPLACE(p_cursor_column, '"', '""') || '"';
  IF v_history THEN
    v_history_table := '"' || REPLACE(p_history_schema, '"', '""') || '".' || v_table_ref;
  END IF;
  -- The comment of the history table this object's last CALL maintained (see its marking below).
  v_history_marker := 'History of ' || p_final_schema || '.' || p_table_name
    || ', kept up to date by consolidate_object: the last CALL for that table maintained this one';

  -- 2. Tables and columns, from the catalog.
  SELECT COUNT(*) INTO v_count FROM information_schema.tables
  WHERE table_schema = p_staging_schema AND table_name = p_table_name;
  IF v_count = 0 THEN
    RAISE EXCEPTION 'consolidate_object: staging table %.% does not exist', p_staging_schema, p_table_name;
  END IF;
  SELECT COUNT(*) INTO v_count FROM information_schema.tables
  WHERE table_schema = p_final_schema AND table_name = p_table_name;
  IF v_count = 0 THEN
    RAISE EXCEPTION 'consolidate_object: final table %.% does not exist', p_final_schema, p_table_name;
  END IF;
  IF v_history THEN
    SELECT COUNT(*) INTO v_count FROM pg_catalog.pg_namespace WHERE nspname = p_history_schema;
    IF v_count = 0 THEN
      RAISE EXCEPTION 'consolidate_object: history schema % does not exist, so %.% cannot keep its history there: create it first (CREATE SCHEMA %)',
        p_history_schema, p_final_schema, p_table_name, p_history_schema;
    END IF;
    SELECT COUNT(*) INTO v_count FROM information_schema.tables
    WHERE table_schema = p_history_schema AND table_name = p_table_name;
    v_history_existed := v_count > 0;
  END IF;
  SELECT COUNT(*) INTO v_count FROM information_schema.columns
  WHERE table_schema = p_staging_schema AND table_name = p_table_name AND column_name = p_pk_column;
  IF v_count = 0 THEN
    RAISE EXCEPTION 'consolidate_object: pk_column % is not a column of %.%', p_pk_column, p_staging_schema, p_table_name;
  END IF;
  SELECT COUNT(*) INTO v_count FROM information_schema.columns
  WHERE table_schema = p_staging_schema AND table_name = p_table_name AND column_name = p_cursor_column;
  IF v_count = 0 THEN
    RAISE EXCEPTION 'consolidate_object: cursor_column % is not a column of %.%', p_cursor_column, p_staging_schema, p_table_name;
  END IF;

  -- Staging's columns against final's, side by side in column order: one catalog read that
  -- pairs each staging column with final's column at the same position (Redshift allows one
  -- open cursor per session, and a FOR loop over a query is one, so no second cursor beside it):
  -- * same name at the same position: final's type must hold staging's values (the same
  --   type; a VARCHAR or a DECIMAL's precision may be larger in final; a VARCHAR is widened
  --   before the CALL, outside a transaction block);
  -- * final has no more columns: staging's remaining columns are added to final with
  --   staging's type, inside this transaction, so they stay positional;
  -- * another name, or a dropped column's gap in either table: the columns are matched by
  --   name instead (see the top of this file).
  -- Also: the cursor's type, the isdeleted column, and the column list for the named form.
  SELECT COUNT(*), COALESCE(MAX(a.attnum), 0) INTO v_final_count, v_final_max_position
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = p_final_schema AND c.relname = p_table_name AND a.attnum > 0 AND NOT a.attisdropped;
  IF v_final_count <> v_final_max_position THEN
    v_positional := false;
    v_misalignment := 'final has dropped columns';
  END IF;
  FOR v_column IN
    SELECT a.attnum AS position, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type,
      f.attname AS final_name, format_type(f.atttypid, f.atttypmod) AS final_type
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN (
      SELECT fa.attnum, fa.attname, fa.atttypid, fa.atttypmod
      FROM pg_catalog.pg_attribute fa
      JOIN pg_catalog.pg_class fc ON fc.oid = fa.attrelid
      JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
      WHERE fn.nspname = p_final_schema AND fc.relname = p_table_name AND fa.attnum > 0 AND NOT fa.attisdropped
    ) f ON f.attnum = a.attnum
    WHERE n.nspname = p_staging_schema AND c.relname = p_table_name AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum
  LOOP
    v_column_count := v_column_count + 1;
    IF v_column.column_name = p_cursor_column THEN
      v_cursor_column_type := v_column.column_type;
      v_cursor_type := CASE
        WHEN v_column.column_type LIKE 'character varying%' THEN 'varchar(1024)'
        ELSE v_column.column_type END;
    END IF;
    IF v_column.column_name = 'isdeleted' THEN
      v_has_isdeleted := true;
      IF v_column.column_type = 'boolean' THEN
        v_deleted_template := 'CASE WHEN {c} THEN 1 ELSE 0 END';
        v_deleted_true := 'true';
      ELSIF v_column.column_type LIKE 'character%' OR v_column.column_type = 'text' THEN
        v_deleted_template := 'CASE WHEN LOWER({c}) IN (''true'', ''t'', ''1'') THEN 1 ELSE 0 END';
        v_deleted_true := '''true''';
      ELSE
        RAISE EXCEPTION 'consolidate_object: column isdeleted of %.% must be boolean or character, not %',
          p_staging_schema, p_table_name, v_column.column_type;
      END IF;
    END IF;
    -- The column list for the named form, while it stays within its budget.
    v_quoted := '"' || REPLACE(v_column.column_name, '"', '""') || '"';
    IF v_column_list_bytes + OCTET_LENGTH(v_quoted) + 2 <= v_column_list_limit THEN
      IF v_column_count > 1 THEN
        v_column_list := v_column_list || ', ';
      END IF;
      v_column_list := v_column_list || v_quoted;
    END IF;
    v_column_list_bytes := v_column_list_bytes + OCTET_LENGTH(v_quoted) + 2;

    IF v_positional THEN
      IF v_column.position <> v_column_count THEN
        v_positional := false;
        v_misalignment := 'staging has dropped columns';
      ELSIF v_column.position > v_final_max_position THEN
        v_missing_columns := v_missing_columns + 1;
      ELSIF v_column.final_name <> v_column.column_name THEN
        v_positional := false;
        v_misalignment := 'column ' || CAST(v_column_count AS varchar) || ' is ' || v_column.column_name
          || ' in staging but ' || v_column.final_name || ' in final';
      ELSIF v_column.final_type <> v_column.column_type THEN
        -- Compared once more below, by name, where the widths are worked out.
        v_final_type_wrong := true;
      END IF;
    END IF;
  END LOOP;
  IF v_positional AND v_final_count > v_column_count THEN
    SELECT a.attname AS column_name INTO v_final_column
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = p_final_schema AND c.relname = p_table_name AND a.attnum = v_column_count + 1;
    v_positional := false;
    v_misalignment := 'final has more columns than staging, ' || v_final_column.column_name || ' first';
  END IF;
  v_s_deleted := REPLACE(v_deleted_template, '{c}', 's."isdeleted"');
  v_f_deleted := REPLACE(v_deleted_template, '{c}', 'f."isdeleted"');
  IF v_history AND NOT (v_cursor_column_type LIKE 'timestamp%' OR v_cursor_column_type = 'date') THEN
    RAISE EXCEPTION 'consolidate_object: the history of %.% needs a date or timestamp cursor, and % is %',
      p_final_schema, p_table_name, p_cursor_column, v_cursor_column_type;
  END IF;

  IF NOT v_positional AND v_column_list_bytes > v_column_list_limit THEN
    RAISE EXCEPTION 'consolidate_object: %.% and %.% have their columns in different orders (%), so the statements must name all % columns, and that list (% bytes) would take the SQL past Redshift''s limit of % bytes per statement in a procedure; create the staging table with the final table''s columns in the same order',
      p_staging_schema, p_table_name, p_final_schema, p_table_name, v_misalignment, v_column_count,
      v_column_list_bytes, v_statement_limit;
  END IF;

  -- Columns to add to final, and types that differ, by name: only when there are any
  -- (positionally, the loop above has compared every pair already), one catalog lookup per
  -- staging column.
  IF NOT v_positional OR v_final_type_wrong OR v_missing_columns > 0 THEN
    FOR v_column IN
      SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = p_staging_schema AND c.relname = p_table_name AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum
    LOOP
      -- Positionally, the columns before final's end with the same type need no second look.
      v_position := v_position + 1;
      CONTINUE WHEN v_positional AND NOT v_final_type_wrong AND v_position <= v_column_count - v_missing_columns;
      SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type INTO v_final_column
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = p_final_schema AND c.relname = p_table_name AND a.attname = v_column.column_name
        AND a.attnum > 0 AND NOT a.attisdropped;
      IF FOUND THEN
        IF v_final_column.column_type <> v_column.column_type AND NOT (
          -- A wider VARCHAR, or a DECIMAL of the same scale and more digits, holds the values.
          (v_column.column_type LIKE 'character varying(%' AND v_final_column.column_type LIKE 'character varying(%'
            AND CAST(SPLIT_PART(SPLIT_PART(v_final_column.column_type, '(', 2), ')', 1) AS integer)
              >= CAST(SPLIT_PART(SPLIT_PART(v_column.column_type, '(', 2), ')', 1) AS integer))
          OR (v_column.column_type LIKE 'numeric(%' AND v_final_column.column_type LIKE 'numeric(%'
            AND SPLIT_PART(v_final_column.column_type, ',', 2) = SPLIT_PART(v_column.column_type, ',', 2)
            AND CAST(SPLIT_PART(SPLIT_PART(v_final_column.column_type, '(', 2), ',', 1) AS integer)
              >= CAST(SPLIT_PART(SPLIT_PART(v_column.column_type, '(', 2), ',', 1) AS integer))) THEN
          RAISE EXCEPTION 'consolidate_object: column % is % in %.% but % in %.%; the final column must have the same type and be at least as wide',
            v_column.column_name, v_column.column_type, p_staging_schema, p_table_name, v_final_column.column_type,
            p_final_schema, p_table_name;
        END IF;
      ELSE
        -- Text gets ZSTD as structure sync gives it: under ENCODE AUTO Redshift may pick an
        -- encoding (BYTEDICT, TEXT255, TEXT32K) that a later widening cannot change.
        EXECUTE 'ALTER TABLE ' || v_final_table || ' ADD COLUMN "' || REPLACE(v_column.column_name, '"', '""') || '" '
          || v_column.column_type
          || CASE WHEN v_column.column_type LIKE 'character varying%' THEN ' ENCODE ZSTD' ELSE '' END;
      END IF;
    END LOOP;
  END IF;

  IF v_positional THEN
    v_select_list := '*';
    v_insert_into := v_final_table;
  ELSE
    v_select_list := v_column_list;
    v_insert_into := v_final_table || ' (' || v_column_list || ')';
  END IF;

  -- History: the table, its columns, and its catching up with final (see the top of this file).
  IF v_history THEN
    SELECT COUNT(*) INTO v_final_count
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = p_final_schema AND c.relname = p_table_name AND a.attnum > 0 AND NOT a.attisdropped;
    IF v_final_count + 3 > 1600 THEN
      RAISE EXCEPTION 'consolidate_object: %.% has % columns, and its history table would need 3 more: Amazon Redshift allows 1,600 columns per table',
        p_final_schema, p_table_name, v_final_count;
    END IF;
  END IF;
  IF v_history AND NOT v_history_existed THEN
    -- Created with final's columns (in final's order, final's types) after the three of its own,
    -- each defined here, so text gets ZSTD as everywhere else (under ENCODE AUTO, which CREATE
    -- TABLE AS gives, Redshift may pick BYTEDICT, TEXT255 or TEXT32K, and the structure sync's
    -- widening of the column would then fail); the key, a sort key, keeps Redshift's RAW. The
    -- definitions go into the CREATE as long as it stays within a statement; the rest are added
    -- one by one (the table is still empty). A key column that comes after that (a very wide
    -- table of long names) leaves only CREATE TABLE AS, with Redshift's encodings.
    v_history_table_attributes := ' DISTKEY(' || v_pk || ') SORTKEY(' || v_pk || ', "_valid_from")';
    v_sql := 'CREATE TABLE ' || v_history_table || ' ("_valid_from" timestamp, "_valid_to" timestamp, "_is_active" boolean';
    FOR v_column IN
      SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = p_final_schema AND c.relname = p_table_name AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum
    LOOP
      v_history_definition := '"' || REPLACE(v_column.column_name, '"', '""') || '" ' || v_column.column_type
        || CASE WHEN v_column.column_type LIKE 'character varying%' AND v_column.column_name <> p_pk_column
          THEN ' ENCODE ZSTD' ELSE '' END;
      IF NOT v_history_created AND OCTET_LENGTH(v_sql) + OCTET_LENGTH(v_history_definition)
          + OCTET_LENGTH(v_history_table_attributes) + 3 <= v_statement_limit THEN
        v_sql := v_sql || ', ' || v_history_definition;
        v_history_key_defined := v_history_key_defined OR v_column.column_name = p_pk_column;
      ELSE
        EXIT WHEN NOT v_history_key_defined;
        IF NOT v_history_created THEN
          EXECUTE v_sql || ')' || v_history_table_attributes;
          v_history_created := true;
        END IF;
        EXECUTE 'ALTER TABLE ' || v_history_table || ' ADD COLUMN ' || v_history_definition;
      END IF;
    END LOOP;
    IF v_history_key_defined AND NOT v_history_created THEN
      EXECUTE v_sql || ')' || v_history_table_attributes;
    ELSIF NOT v_history_key_defined THEN
      EXECUTE 'CREATE TABLE ' || v_history_table || v_history_table_attributes || ' AS SELECT CAST(NULL AS timestamp)'
        || ' AS "_valid_from", CAST(NULL AS timestamp) AS "_valid_to", CAST(NULL AS boolean) AS "_is_active", f.*'
        || ' FROM ' || v_final_table || ' f WHERE 1 = 0';
    END IF;
    -- One current version per live final row. Its columns follow final's: rows move as f.*.
    EXECUTE 'INSERT INTO ' || v_history_table || ' SELECT CAST(f.' || v_cursor || ' AS timestamp), ' || v_open_end
      || ', true, f.* FROM ' || v_final_table || ' f'
      || CASE WHEN v_has_isdeleted THEN ' WHERE ' || v_f_deleted || ' = 0' ELSE '' END;
    GET DIAGNOSTICS v_history_added := ROW_COUNT;
  ELSIF v_history THEN
    -- Its columns are matched with final's by name: the three validity columns, then final's
    -- columns, none other. Final's columns it lacks (added since) are appended. Where the order
    -- is the same (the three first, then final's columns in final's order: what this procedure
    -- creates and appends, and what the structure sync's rebuild of a column in final and history
    -- keeps), rows move positionally (s.*, f.*); otherwise by name. Dropped columns' gaps
    -- (a rebuild leaves one in both tables) count for nothing: only the order matters.
    SELECT COALESCE(SUM(CASE WHEN a.attname IN ('_valid_from', '_valid_to', '_is_active') THEN 1 ELSE 0 END), 0)
        AS validity_columns,
      MAX(CASE WHEN a.attname IN ('_valid_from', '_valid_to', '_is_active') THEN a.attnum END) AS validity_last,
      MIN(CASE WHEN a.attname NOT IN ('_valid_from', '_valid_to', '_is_active') THEN a.attnum END) AS others_first,
      MAX(CASE WHEN a.attname = '_valid_from' THEN a.attnum END) AS valid_from_at,
      MAX(CASE WHEN a.attname = '_valid_to' THEN a.attnum END) AS valid_to_at,
      MAX(CASE WHEN a.attname = '_is_active' THEN a.attnum END) AS is_active_at
    INTO v_figures
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = p_history_schema AND c.relname = p_table_name AND a.attnum > 0 AND NOT a.attisdropped;
    IF v_figures.validity_columns <> 3 THEN
      v_history_misalignment := 'it lacks _valid_from, _valid_to or _is_active';
    END IF;
    -- Positional only with the three first and in their order: a start and an end swapped by
    -- position would be wrong history without an error.
    v_history_positional := (v_figures.others_first IS NULL OR v_figures.validity_last < v_figures.others_first)
      AND v_figures.valid_from_at < v_figures.valid_to_at AND v_figures.valid_to_at < v_figures.is_active_at;
    SELECT h.attname AS column_name INTO v_final_column
    FROM pg_catalog.pg_attribute h
    JOIN pg_catalog.pg_class hc ON hc.oid = h.attrelid
    JOIN pg_catalog.pg_namespace hn ON hn.oid = hc.relnamespace
    LEFT JOIN (
      SELECT fa.attname
      FROM pg_catalog.pg_attribute fa
      JOIN pg_catalog.pg_class fc ON fc.oid = fa.attrelid
      JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
      WHERE fn.nspname = p_final_schema AND fc.relname = p_table_name AND fa.attnum > 0 AND NOT fa.attisdropped
    ) f ON f.attname = h.attname
    WHERE hn.nspname = p_history_schema AND hc.relname = p_table_name AND h.attnum > 0 AND NOT h.attisdropped
      AND h.attname NOT IN ('_valid_from', '_valid_to', '_is_active') AND f.attname IS NULL
    ORDER BY h.attnum
    LIMIT 1;
    IF FOUND THEN
      v_history_misalignment := 'its column ' || v_final_column.column_name || ' is not a column of the final table';
    END IF;
    IF LENGTH(v_history_misalignment) > 0 THEN
      RAISE EXCEPTION 'consolidate_object: history table %.% does not follow %.%: %; it must hold _valid_from, _valid_to, _is_active and the final table''s columns (rename it away and the next CALL creates a new one from the final table)',
        p_history_schema, p_table_name, p_final_schema, p_table_name, v_history_misalignment;
    END IF;

    -- Final's columns in final's order, each with its history column of that name: in order as
    -- long as those come in increasing column numbers (the ones appended here come last).
    v_position := 0;
    FOR v_column IN
      SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type,
        h.attnum AS history_position, format_type(h.atttypid, h.atttypmod) AS history_type
      FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN (
        SELECT ha.attnum, ha.attname, ha.atttypid, ha.atttypmod
        FROM pg_catalog.pg_attribute ha
        JOIN pg_catalog.pg_class hc ON hc.oid = ha.attrelid
        JOIN pg_catalog.pg_namespace hn ON hn.oid = hc.relnamespace
        WHERE hn.nspname = p_history_schema AND hc.relname = p_table_name AND ha.attnum > 0 AND NOT ha.attisdropped
      ) h ON h.attname = a.attname
      WHERE n.nspname = p_final_schema AND c.relname = p_table_name AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum
    LOOP
      v_position := v_position + 1;
      v_quoted := '"' || REPLACE(v_column.column_name, '"', '""') || '"';
      IF v_final_list_bytes + OCTET_LENGTH(v_quoted) + 2 <= v_column_list_limit THEN
        IF v_position > 1 THEN
          v_final_list := v_final_list || ', ';
        END IF;
        v_final_list := v_final_list || v_quoted;
      END IF;
      v_final_list_bytes := v_final_list_bytes + OCTET_LENGTH(v_quoted) + 2;
      IF v_column.history_position IS NULL THEN
        EXECUTE 'ALTER TABLE ' || v_history_table || ' ADD COLUMN ' || v_quoted || ' ' || v_column.column_type
          || CASE WHEN v_column.column_type LIKE 'character varying%' THEN ' ENCODE ZSTD' ELSE '' END;
        -- After every column history has: beyond any column number it holds.
        v_history_previous := 100000 + v_position;
      ELSE
        IF v_column.history_position <= v_history_previous AND v_history_positional THEN
          v_history_positional := false;
          v_history_misalignment := 'column ' || v_column.column_name || ' comes before '
            || v_history_previous_name || ' in history but after it in final';
        END IF;
        v_history_previous := v_column.history_position;
        IF v_column.history_type <> v_column.column_type AND NOT (
          (v_column.column_type LIKE 'character varying(%' AND v_column.history_type LIKE 'character varying(%'
            AND CAST(SPLIT_PART(SPLIT_PART(v_column.history_type, '(', 2), ')', 1) AS integer)
              >= CAST(SPLIT_PART(SPLIT_PART(v_column.column_type, '(', 2), ')', 1) AS integer))
          OR (v_column.column_type LIKE 'numeric(%' AND v_column.history_type LIKE 'numeric(%'
            AND SPLIT_PART(v_column.history_type, ',', 2) = SPLIT_PART(v_column.column_type, ',', 2)
            AND CAST(SPLIT_PART(SPLIT_PART(v_column.history_type, '(', 2), ',', 1) AS integer)
              >= CAST(SPLIT_PART(SPLIT_PART(v_column.column_type, '(', 2), ',', 1) AS integer))) THEN
          RAISE EXCEPTION 'consolidate_object: column % is % in %.% but % in %.%; the history column must have the same type and be at least as wide (widen it as the final column was, outside a transaction block)',
            v_column.column_name, v_column.column_type, p_final_schema, p_table_name, v_column.history_type,
            p_history_schema, p_table_name;
        END IF;
      END IF;
      v_history_previous_name := v_column.column_name;
    END LOOP;
    IF NOT v_history_positional AND LENGTH(v_history_misalignment) = 0 THEN
      v_history_misalignment := 'its columns _valid_from, _valid_to, _is_active are not its first three in that order';
    END IF;
    -- Staged rows then go into history by name (final's rows too, when it catches up below).
    IF NOT v_history_positional AND v_column_list_bytes > v_column_list_limit THEN
      RAISE EXCEPTION 'consolidate_object: history table %.% has its columns in another order than %.% (%), so the statements must name all % columns of %.%, and that list (% bytes) would take the SQL past Redshift''s limit of % bytes per statement in a procedure; rename the history table away and the next CALL creates a new one in the final table''s order',
        p_history_schema, p_table_name, p_final_schema, p_table_name, v_history_misalignment, v_column_count,
        p_staging_schema, p_table_name, v_column_list_bytes, v_statement_limit;
    END IF;

    -- A history table the previous CALL of this object did not maintain (history was switched
    -- off, or kept in another schema, or the table was made elsewhere: its comment is not this
    -- procedure's mark, see below) first catches up with final: a key whose final row is newer
    -- than its history closes its current version there and gets final's row as its current one;
    -- a key gone from final (deleted while history was off) closes its current version at this
    -- run's time. History newer than final is left as it is.
    SELECT COUNT(*) INTO v_count
    FROM pg_catalog.pg_description d
    JOIN pg_catalog.pg_class c ON c.oid = d.objoid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = p_history_schema AND c.relname = p_table_name AND d.objsubid = 0
      AND d.description = v_history_marker;
    v_history_marked := v_count > 0;
    IF NOT v_history_marked THEN
      IF NOT v_history_positional AND v_final_list_bytes > v_column_list_limit THEN
        RAISE EXCEPTION 'consolidate_object: history table %.% has its columns in another order than %.% (%), so catching it up must name all % columns of the final table, and that list (% bytes) would take the SQL past Redshift''s limit of % bytes per statement in a procedure; rename the history table away and the next CALL creates a new one in the final table''s order',
          p_history_schema, p_table_name, p_final_schema, p_table_name, v_history_misalignment, v_final_count,
          v_final_list_bytes, v_statement_limit;
      END IF;
      DROP TABLE IF EXISTS tmp_consolidate_history_sync;
      EXECUTE 'CREATE TEMP TABLE tmp_consolidate_history_sync' || v_on_key || ' AS SELECT'
        || ' COALESCE(f.consolidate__key, o.consolidate__key) AS consolidate__key, f.consolidate__at AS consolidate__final_at,'
        || ' f.consolidate__live, o.consolidate__open_at, o.consolidate__last_at'
        || ' FROM (SELECT f.' || v_pk || ' AS consolidate__key, COALESCE(CAST(f.' || v_cursor || ' AS timestamp), ' || v_low
        || ') AS consolidate__at, ' || CASE WHEN v_has_isdeleted THEN '1 - ' || v_f_deleted ELSE '1' END
        || ' AS consolidate__live FROM ' || v_final_table || ' f) f'
        || ' FULL OUTER JOIN (SELECT h.' || v_pk || ' AS consolidate__key,'
        || ' MAX(CASE WHEN h."_is_active" THEN COALESCE(h."_valid_from", ' || v_low || ') END) AS consolidate__open_at,'
        || ' MAX(CASE WHEN h."_valid_to" = ' || v_open_end || ' THEN COALESCE(h."_valid_from", ' || v_low
        || ') ELSE h."_valid_to" END) AS consolidate__last_at FROM ' || v_history_table || ' h GROUP BY h.' || v_pk
        || ') o ON o.consolidate__key = f.consolidate__key';
      EXECUTE 'UPDATE ' || v_history_table || ' SET "_valid_to" = CASE WHEN y.consolidate__final_at IS NULL'
        || ' THEN GREATEST("_valid_from", ' || v_run_time || ') ELSE y.consolidate__final_at END, "_is_active" = false'
        || ' FROM tmp_consolidate_history_sync y WHERE ' || v_table_ref || '.' || v_pk || ' = y.consolidate__key'
        || ' AND ' || v_table_ref || '."_is_active" AND (y.consolidate__final_at IS NULL'
        || ' OR y.consolidate__final_at > y.consolidate__open_at'
        || ' OR (y.consolidate__live = 0 AND y.consolidate__final_at >= y.consolidate__open_at))';
      GET DIAGNOSTICS v_count := ROW_COUNT;
      v_history_closed := v_history_closed + v_count;
      v_sql := 'SELECT f.* FROM ' || v_final_table || ' f JOIN tmp_consolidate_history_sync y ON y.consolidate__key = f.'
        || v_pk || ' WHERE y.consolidate__live = 1 AND (y.consolidate__last_at IS NULL'
        || ' OR y.consolidate__final_at > y.consolidate__last_at)';
      IF v_history_positional THEN
        EXECUTE 'INSERT INTO ' || v_history_table || ' SELECT CAST(w.' || v_cursor || ' AS timestamp), ' || v_open_end
          || ', true, w.* FROM (' || v_sql || ') w';
      ELSE
        EXECUTE 'INSERT INTO ' || v_history_table || ' ("_valid_from", "_valid_to", "_is_active", ' || v_final_list
          || ') SELECT CAST(w.' || v_cursor || ' AS timestamp), ' || v_open_end || ', true, ' || v_final_list
          || ' FROM (' || v_sql || ') w';
      END IF;
      GET DIAGNOSTICS v_count := ROW_COUNT;
      v_history_added := v_history_added + v_count;
      DROP TABLE tmp_consolidate_history_sync;
    END IF;
  END IF;

  -- The mark of a maintained history table: its comment, which this CALL sets on the table it
  -- maintains and takes off any other history table of this object (history switched off, or
  -- moved to another schema), so that the next CALL with that one catches it up. A comment is
  -- the table's own: CALLs of different objects, concurrent on Redshift, share no table for it
  -- (reading the audit table that every CALL writes would make Redshift's serializable isolation
  -- abort one of them, error 1023). A catalog lookup by table name when nothing is to change.
  IF v_history AND NOT v_history_marked THEN
    EXECUTE 'COMMENT ON TABLE ' || v_history_table || ' IS ' || quote_literal(v_history_marker);
  END IF;
  LOOP
    SELECT n.nspname INTO v_history_other
    FROM pg_catalog.pg_description d
    JOIN pg_catalog.pg_class c ON c.oid = d.objoid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname = p_table_name AND d.objsubid = 0 AND d.description = v_history_marker
      AND (NOT v_history OR n.nspname <> p_history_schema)
    LIMIT 1;
    EXIT WHEN NOT FOUND;
    EXECUTE 'COMMENT ON TABLE "' || REPLACE(v_history_other, '"', '""') || '".' || v_table_ref || ' IS '
      || quote_literal('History of ' || p_final_schema || '.' || p_table_name || ', not maintained since run '
        || p_run_id || ' (the next CALL that keeps history here catches it up with the final table)');
  END LOOP;

  -- 3. What was staged (one scan).
  EXECUTE 'SELECT COUNT(*) AS staged, COUNT(' || v_pk || ') AS keyed FROM ' || v_staging_table INTO v_figures;
  v_rows_staged := v_figures.staged;
  v_rows_keyed := v_figures.keyed;

  IF p_delete_mode = 'hard' THEN
    SELECT COUNT(*) INTO v_tombstones_here FROM public.consolidation_tombstones
    WHERE final_schema = p_final_schema AND table_name = p_table_name;
  END IF;
  v_use_tombstones := p_delete_mode = 'hard' AND v_tombstones_here > 0;

  IF v_rows_keyed > 0 THEN
    -- 4. Per staged key: its newest (cursor, delete flag), how many staged rows share them,
    -- what final holds for the key (key, cursor and isdeleted columns only), its tombstone,
    -- and the action:
    --   1 insert (key not in final), 2 replace, 3 cursor tie: compare contents,
    --   4 unchanged (final holds it or something newer), 5 hard delete of a key not in
    --   final (tombstone only), 6 ignore mode: only delete versions were staged.
    v_sql := 'CREATE TEMP TABLE tmp_consolidate_target' || v_on_key || ' AS SELECT k.consolidate__key,'
      || ' k.consolidate__cursor, k.consolidate__deleted, k.consolidate__copies, k.consolidate__final_rows,'
      || ' k.consolidate__final_live, k.consolidate__final_cursor, k.consolidate__tombstone,'
      || ' k.consolidate__tombstone_cursor, k.consolidate__first_at, CASE';
    IF p_delete_mode = 'ignore' THEN
      v_sql := v_sql || ' WHEN k.consolidate__deleted = 1 THEN 6';
    END IF;
    v_sql := v_sql || ' WHEN k.consolidate__final_rows = 0 THEN CASE WHEN k.consolidate__deleted = 1 THEN '
      || CASE WHEN p_delete_mode = 'soft' THEN '1' ELSE '5' END
      || ' WHEN k.consolidate__tombstone = 1 AND (k.consolidate__cursor IS NULL OR k.consolidate__cursor'
      || ' <= k.consolidate__tombstone_cursor) THEN 4 ELSE 1 END'
      || ' WHEN k.consolidate__cursor = k.consolidate__final_cursor OR (k.consolidate__cursor IS NULL'
      || ' AND k.consolidate__final_cursor IS NULL) THEN 3'
      || ' WHEN (k.consolidate__final_cursor IS NULL AND k.consolidate__cursor IS NOT NULL)'
      || ' OR k.consolidate__cursor > k.consolidate__final_cursor THEN 2'
      || CASE WHEN p_sync_mode = 'full' THEN ' ELSE 2 END' ELSE ' ELSE 4 END' END
      || ' AS consolidate__action FROM (SELECT r.consolidate__key, r.consolidate__cursor, r.consolidate__deleted,'
      || ' r.consolidate__copies, r.consolidate__first_at, COUNT(f.' || v_pk || ') AS consolidate__final_rows,'
      || ' MAX(f.' || v_cursor || ') AS consolidate__final_cursor,'
      || ' MAX(CASE WHEN f.' || v_pk || ' IS NOT NULL AND ' || v_f_deleted || ' = 0 THEN 1 ELSE 0 END)'
      || ' AS consolidate__final_live,';
    IF v_use_tombstones THEN
      v_sql := v_sql || ' MAX(CASE WHEN b.record_key IS NULL THEN 0 ELSE 1 END) AS consolidate__tombstone,'
        || ' MAX(CAST(b.delete_cursor AS ' || v_cursor_type || ')) AS consolidate__tombstone_cursor';
    ELSE
      v_sql := v_sql || ' 0 AS consolidate__tombstone, CAST(NULL AS ' || v_cursor_type || ') AS consolidate__tombstone_cursor';
    END IF;
    -- With history, also the key's oldest staged cursor (NULL as oldest), which says how much of
    -- its history must be read (step 9).
    v_sql := v_sql || ' FROM (SELECT consolidate__key, consolidate__cursor, consolidate__deleted,'
      || ' consolidate__first_at, COUNT(*) AS consolidate__copies FROM (SELECT s.' || v_pk || ' AS consolidate__key, s.'
      || v_cursor || ' AS consolidate__cursor, ' || v_s_deleted || ' AS consolidate__deleted, RANK() OVER (PARTITION BY s.'
      || v_pk || ' ORDER BY '
      || CASE WHEN p_delete_mode = 'ignore' THEN v_s_deleted || ' ASC, ' ELSE '' END
      || 's.' || v_cursor || ' DESC NULLS LAST, ' || v_s_deleted || ' DESC) AS consolidate__rank, '
      || CASE WHEN v_history THEN 'MIN(COALESCE(CAST(s.' || v_cursor || ' AS timestamp), ' || v_low
        || ')) OVER (PARTITION BY s.' || v_pk || ')' ELSE 'CAST(NULL AS timestamp)' END
      || ' AS consolidate__first_at FROM ' || v_staging_table || ' s WHERE s.' || v_pk || ' IS NOT NULL) ranked'
      || ' WHERE consolidate__rank = 1 GROUP BY consolidate__key, consolidate__cursor, consolidate__deleted,'
      || ' consolidate__first_at) r'
      || ' LEFT JOIN ' || v_final_table || ' f ON f.' || v_pk || ' = r.consolidate__key';
    IF v_use_tombstones THEN
      v_sql := v_sql || ' LEFT JOIN public.consolidation_tombstones b ON b.final_schema = '
        || quote_literal(p_final_schema) || ' AND b.table_name = ' || quote_literal(p_table_name)
        || ' AND b.record_key = CAST(r.consolidate__key AS varchar(1024))';
    END IF;
    v_sql := v_sql || ' GROUP BY r.consolidate__key, r.consolidate__cursor, r.consolidate__deleted,'
      || ' r.consolidate__copies, r.consolidate__first_at) k';
    DROP TABLE IF EXISTS tmp_consolidate_target;
    EXECUTE v_sql;

    EXECUTE 'SELECT COUNT(*) AS keys,'
      || ' COALESCE(SUM(CASE WHEN consolidate__action = 3 THEN 1 ELSE 0 END), 0) AS ties,'
      || ' COALESCE(SUM(CASE WHEN consolidate__copies > 1 AND consolidate__action IN (1, 2, 3) THEN 1 ELSE 0 END), 0)'
      || ' AS multi FROM tmp_consolidate_target' INTO v_figures;
    v_distinct_keys := v_figures.keys;
    v_tie_keys := v_figures.ties;
    v_multi_keys := v_figures.multi;

    -- History: every staged version (key, cursor), whether it is a delete (a delete beats a live
    -- row at the same cursor), and how many staged rows it has. Ignore mode drops deletes.
    IF v_history THEN
      DROP TABLE IF EXISTS tmp_consolidate_history_staged;
      EXECUTE 'CREATE TEMP TABLE tmp_consolidate_history_staged' || v_by_key || ' AS SELECT s.' || v_pk
        || ' AS consolidate__key, s.' || v_cursor || ' AS consolidate__cursor, COALESCE(CAST(s.' || v_cursor
        || ' AS timestamp), ' || v_low || ') AS consolidate__at, MAX(' || v_s_deleted || ') AS consolidate__deleted,'
        || ' COUNT(*) AS consolidate__copies FROM ' || v_staging_table || ' s WHERE s.' || v_pk || ' IS NOT NULL'
        || CASE WHEN p_delete_mode = 'ignore' THEN ' AND ' || v_s_deleted || ' = 0' ELSE '' END
        || ' GROUP BY s.' || v_pk || ', s.' || v_cursor;
      EXECUTE 'SELECT COALESCE(SUM(CASE WHEN consolidate__copies > 1 AND consolidate__deleted = 0 THEN 1 ELSE 0 END), 0)'
        || ' FROM tmp_consolidate_history_staged' INTO v_history_multi;
    END IF;

    -- 5. The staged row of each key's newest version (and, with history, of every live version).
    -- A version with several staged rows gets them de-duplicated in a table of its own; if they
    -- differ, the lowest values win, column by column (rare: exact copies are the usual case).
    v_staged_top := ' FROM ' || v_staging_table || ' s JOIN tmp_consolidate_target t ON s.' || v_pk
      || ' = t.consolidate__key AND (s.' || v_cursor || ' = t.consolidate__cursor OR (s.' || v_cursor
      || ' IS NULL AND t.consolidate__cursor IS NULL)) AND ' || v_s_deleted || ' = t.consolidate__deleted';
    DROP TABLE IF EXISTS tmp_consolidate_multi;
    IF v_multi_keys > 0 OR v_history_multi > 0 THEN
      v_sql := 'CREATE TEMP TABLE tmp_consolidate_multi DISTKEY(' || v_pk || ') SORTKEY(' || v_pk
        || ') AS SELECT DISTINCT s.*' || v_staged_top
        || ' WHERE t.consolidate__copies > 1 AND t.consolidate__action IN (1, 2, 3)';
      IF v_history_multi > 0 THEN
        v_sql := v_sql || ' UNION SELECT s.* FROM ' || v_staging_table || ' s JOIN tmp_consolidate_history_staged v ON s.'
          || v_pk || ' = v.consolidate__key AND (s.' || v_cursor || ' = v.consolidate__cursor OR (s.' || v_cursor
          || ' IS NULL AND v.consolidate__cursor IS NULL)) WHERE v.consolidate__copies > 1 AND v.consolidate__deleted = 0';
      END IF;
      EXECUTE v_sql;
      EXECUTE 'SELECT COUNT(*) FROM tmp_consolidate_multi' INTO v_multi_rows;
      EXECUTE 'SELECT COUNT(*) FROM (SELECT ' || v_pk || ', ' || v_cursor || ' FROM tmp_consolidate_multi GROUP BY '
        || v_pk || ', ' || v_cursor || ') g' INTO v_multi_groups;
      IF v_multi_rows > v_multi_groups THEN
        FOR v_column IN
          SELECT a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type
          FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = p_staging_schema AND c.relname = p_table_name AND a.attnum > 0 AND NOT a.attisdropped
            AND a.attname NOT IN (p_pk_column, p_cursor_column, 'isdeleted')
          ORDER BY a.attnum
        LOOP
          EXIT WHEN v_multi_rows <= v_multi_groups;
          v_quoted := '"' || REPLACE(v_column.column_name, '"', '""') || '"';
          EXECUTE 'DELETE FROM tmp_consolidate_multi USING (SELECT ' || v_pk || ' AS consolidate__key, ' || v_cursor
            || ' AS consolidate__cursor, ' || CASE WHEN v_column.column_type = 'boolean' THEN 'BOOL_AND(' ELSE 'MIN(' END
            || v_quoted || ') AS consolidate__lowest, COUNT(*) - COUNT(' || v_quoted || ') AS consolidate__nulls'
            || ' FROM tmp_consolidate_multi GROUP BY ' || v_pk || ', ' || v_cursor || ' HAVING COUNT(*) > 1) g'
            || ' WHERE tmp_consolidate_multi.' || v_pk || ' = g.consolidate__key AND (tmp_consolidate_multi.' || v_cursor
            || ' = g.consolidate__cursor OR (tmp_consolidate_multi.' || v_cursor || ' IS NULL AND g.consolidate__cursor IS NULL))'
            || ' AND ((g.consolidate__nulls > 0 AND tmp_consolidate_multi.' || v_quoted || ' IS NOT NULL)'
            || ' OR (g.consolidate__nulls = 0 AND tmp_consolidate_multi.' || v_quoted || ' <> g.consolidate__lowest))';
          EXECUTE 'SELECT COUNT(*) FROM tmp_consolidate_multi' INTO v_multi_rows;
        END LOOP;
        IF v_multi_rows > v_multi_groups THEN
          RAISE EXCEPTION 'consolidate_object: %.% has staged rows of one key and cursor that differ only in columns that cannot be ordered',
            p_staging_schema, p_table_name;
        END IF;
      END IF;
    END IF;
    -- The winners of the keys that satisfy {filter} (on t, the target row), staging's columns.
    v_winners := 'SELECT s.*' || v_staged_top || ' WHERE t.consolidate__copies = 1 AND ({filter})';
    IF v_multi_keys > 0 THEN
      v_winners := v_winners || ' UNION ALL SELECT m.* FROM tmp_consolidate_multi m JOIN tmp_consolidate_target t'
        || ' ON m.' || v_pk || ' = t.consolidate__key AND (m.' || v_cursor || ' = t.consolidate__cursor OR (m.'
        || v_cursor || ' IS NULL AND t.consolidate__cursor IS NULL)) WHERE {filter}';
    END IF;

    -- 6. Cursor ties: the whole staged row against the whole final row.
    DROP TABLE IF EXISTS tmp_consolidate_tie_changed;
    v_applied := 't.consolidate__action IN (1, 2)';
    IF v_tie_keys > 0 THEN
      EXECUTE 'CREATE TEMP TABLE tmp_consolidate_tie_changed' || v_on_key || ' AS SELECT x.' || v_pk
        || ' AS consolidate__key FROM (SELECT ' || v_select_list || ' FROM ('
        || REPLACE(v_winners, '{filter}', 't.consolidate__action = 3') || ') w EXCEPT SELECT ' || v_select_list
        || ' FROM (SELECT f.* FROM ' || v_final_table || ' f JOIN tmp_consolidate_target t ON f.' || v_pk
        || ' = t.consolidate__key WHERE t.consolidate__action = 3) v) x';
      v_applied := '(t.consolidate__action IN (1, 2) OR (t.consolidate__action = 3 AND t.consolidate__key IN'
        || ' (SELECT consolidate__key FROM tmp_consolidate_tie_changed)))';
    END IF;
    -- The same condition as a join, for the figures: Redshift takes IN (subquery) in WHERE only.
    IF v_tie_keys > 0 THEN
      v_applied_joined := '(t.consolidate__action IN (1, 2) OR (t.consolidate__action = 3'
        || ' AND c.consolidate__key IS NOT NULL))';
      v_figures_from := v_figures_from || ' LEFT JOIN tmp_consolidate_tie_changed c'
        || ' ON c.consolidate__key = t.consolidate__key';
    ELSE
      v_applied_joined := v_applied;
    END IF;

    EXECUTE 'SELECT'
      || ' COALESCE(SUM(CASE WHEN ' || v_applied_joined || ' AND t.consolidate__deleted = 0'
      || ' AND t.consolidate__final_rows = 0 THEN 1 ELSE 0 END), 0) AS rows_new,'
      || ' COALESCE(SUM(CASE WHEN ' || v_applied_joined || ' AND t.consolidate__deleted = 0'
      || ' AND t.consolidate__final_rows > 0 THEN 1 ELSE 0 END), 0) AS rows_updated,'
      || ' COALESCE(SUM(CASE WHEN ' || v_applied_joined || ' AND t.consolidate__deleted = 1'
      || ' AND t.consolidate__final_live = 1 THEN 1 ELSE 0 END), 0) AS rows_deleted,'
      || ' COALESCE(SUM(CASE WHEN t.consolidate__action IN (3, 4) AND NOT ' || v_applied_joined
      || ' THEN 1 ELSE 0 END), 0) AS rows_unchanged,'
      || ' COALESCE(SUM(CASE WHEN ' || v_applied_joined || ' AND t.consolidate__final_rows > 0'
      || ' THEN 1 ELSE 0 END), 0) AS replaced' || v_figures_from INTO v_figures;
    v_rows_new := v_figures.rows_new;
    v_rows_updated := v_figures.rows_updated;
    v_rows_deleted := v_figures.rows_deleted;
    v_rows_unchanged := v_figures.rows_unchanged;

    -- 7. Apply: replaced and deleted keys out of final, new versions in, straight from
    -- staging (hard mode does not insert delete versions).
    IF v_figures.replaced > 0 THEN
      EXECUTE 'DELETE FROM ' || v_final_table || ' USING tmp_consolidate_target t WHERE '
        || v_table_ref || '.' || v_pk || ' = t.consolidate__key AND t.consolidate__final_rows > 0 AND '
        || v_applied;
    END IF;
    IF v_rows_new + v_rows_updated > 0 OR p_delete_mode = 'soft' THEN
      EXECUTE 'INSERT INTO ' || v_insert_into || ' SELECT ' || v_select_list || ' FROM ('
        || REPLACE(v_winners, '{filter}', v_applied
          || CASE WHEN p_delete_mode = 'hard' THEN ' AND t.consolidate__deleted = 0' ELSE '' END)
        || ') w';
    END IF;

    -- 8. Tombstones (hard mode): the newest delete of a key, unless a newer one is kept already;
    -- a live version newer than its key's tombstone went in, so that tombstone goes.
    IF p_delete_mode = 'hard' THEN
      v_tombstone_match := 'consolidation_tombstones.final_schema = ' || quote_literal(p_final_schema)
        || ' AND consolidation_tombstones.table_name = ' || quote_literal(p_table_name)
        || ' AND consolidation_tombstones.record_key = ' || v_key_text;
      v_sql := ' t.consolidate__deleted = 1 AND (t.consolidate__action = 5 OR ' || v_applied || ')'
        || ' AND (t.consolidate__tombstone = 0 OR (t.consolidate__cursor IS NOT NULL'
        || ' AND (t.consolidate__tombstone_cursor IS NULL OR t.consolidate__cursor > t.consolidate__tombstone_cursor)))';
      EXECUTE 'SELECT COUNT(*) FROM tmp_consolidate_target t WHERE' || v_sql INTO v_count;
      IF v_count > 0 THEN
        IF v_use_tombstones THEN
          EXECUTE 'DELETE FROM public.consolidation_tombstones USING tmp_consolidate_target t WHERE '
            || v_tombstone_match || ' AND' || v_sql;
        END IF;
        EXECUTE 'INSERT INTO public.consolidation_tombstones (final_schema, table_name, record_key, delete_cursor,'
          || ' recorded_at) SELECT ' || quote_literal(p_final_schema) || ', ' || quote_literal(p_table_name) || ', '
          || v_key_text || ', CAST(t.consolidate__cursor AS varchar(256)), CAST(' || v_started_literal
          || ' AS timestamp) FROM tmp_consolidate_target t WHERE' || v_sql;
      END IF;
      IF v_use_tombstones THEN
        EXECUTE 'DELETE FROM public.consolidation_tombstones USING tmp_consolidate_target t WHERE '
          || v_tombstone_match || ' AND t.consolidate__action = 1 AND t.consolidate__deleted = 0'
          || ' AND t.consolidate__tombstone = 1';
      END IF;
    END IF;

    -- 9. History: the staged versions history lacks go in, and the intervals of the keys they
    -- (and staged deletes) touch are recomputed. Only those keys' history rows are read, and of
    -- a key whose staged versions are all at or after its final row's cursor only the rows from
    -- that cursor on: its current version and anything newer (a key read so must have its
    -- version at that cursor; one that has not is read whole).
    IF v_history THEN
      -- A key is read from its final cursor on when final holds it live and nothing older than
      -- that cursor was staged for it; any other key is read whole. Keys with neither a final
      -- row nor a tombstone are mostly new: which of them have history at all is found from the
      -- key column alone (the sort key) before any of their rows is read.
      v_sql := 't.consolidate__final_live = 1 AND t.consolidate__first_at >= CAST(t.consolidate__final_cursor AS timestamp)';
      v_history_versions := 'SELECT h.' || v_pk || ' AS consolidate__key, COALESCE(h."_valid_from", ' || v_low
        || ') AS consolidate__at, h."_valid_to" AS consolidate__to FROM ' || v_history_table || ' h JOIN ';
      DROP TABLE IF EXISTS tmp_consolidate_history_known;
      EXECUTE 'CREATE TEMP TABLE tmp_consolidate_history_known' || v_by_key || ' AS SELECT DISTINCT h.' || v_pk
        || ' AS consolidate__key FROM ' || v_history_table || ' h JOIN tmp_consolidate_target t ON h.' || v_pk
        || ' = t.consolidate__key WHERE t.consolidate__final_rows = 0 AND t.consolidate__tombstone = 0';
      DROP TABLE IF EXISTS tmp_consolidate_history_old;
      EXECUTE 'CREATE TEMP TABLE tmp_consolidate_history_old' || v_by_key || ' AS ' || v_history_versions
        || 'tmp_consolidate_target t ON h.' || v_pk || ' = t.consolidate__key WHERE ' || v_sql
        || ' AND h."_valid_from" >= CAST(t.consolidate__final_cursor AS timestamp) UNION ALL ' || v_history_versions
        || 'tmp_consolidate_target t ON h.' || v_pk || ' = t.consolidate__key WHERE NOT (' || v_sql
        || ' AND t.consolidate__final_cursor IS NOT NULL) AND NOT (t.consolidate__final_rows = 0'
        || ' AND t.consolidate__tombstone = 0) UNION ALL ' || v_history_versions
        || 'tmp_consolidate_history_known k ON h.' || v_pk || ' = k.consolidate__key';
      EXECUTE 'SELECT COUNT(*) FROM tmp_consolidate_target t LEFT JOIN tmp_consolidate_history_old o'
        || ' ON o.consolidate__key = t.consolidate__key AND o.consolidate__at = CAST(t.consolidate__final_cursor AS timestamp)'
        || ' WHERE ' || v_sql || ' AND o.consolidate__key IS NULL' INTO v_count;
      IF v_count > 0 THEN
        EXECUTE 'INSERT INTO tmp_consolidate_history_old ' || v_history_versions || 'tmp_consolidate_target t ON h.'
          || v_pk || ' = t.consolidate__key WHERE ' || v_sql
          || ' AND (h."_valid_from" < CAST(t.consolidate__final_cursor AS timestamp) OR h."_valid_from" IS NULL)'
          || ' AND t.consolidate__key NOT IN (SELECT o.consolidate__key FROM tmp_consolidate_history_old o'
          || ' JOIN tmp_consolidate_target b ON b.consolidate__key = o.consolidate__key'
          || ' AND o.consolidate__at = CAST(b.consolidate__final_cursor AS timestamp))';
      END IF;

      -- Each key's events in order: its versions (kind 1 in history, 2 staged and new) and its
      -- deletes (3: a version closed without the next one starting then, or a staged delete). A
      -- version lasts until the next event; at the same instant a delete comes last (a delete
      -- beats a live version with the same cursor), so such a staged version is not added.
      DROP TABLE IF EXISTS tmp_consolidate_history_events;
      EXECUTE 'CREATE TEMP TABLE tmp_consolidate_history_events' || v_by_key || ' AS SELECT e.consolidate__key,'
        || ' e.consolidate__at, e.consolidate__kind, e.consolidate__to, e.consolidate__copies,'
        || ' LEAD(e.consolidate__at) OVER (PARTITION BY e.consolidate__key ORDER BY e.consolidate__at,'
        || ' e.consolidate__kind) AS consolidate__next FROM ('
        || 'SELECT o.consolidate__key, o.consolidate__at, 1 AS consolidate__kind, o.consolidate__to,'
        || ' CAST(0 AS bigint) AS consolidate__copies FROM tmp_consolidate_history_old o'
        || ' UNION ALL SELECT o.consolidate__key, o.consolidate__to, 3, NULL, 0 FROM tmp_consolidate_history_old o'
        || ' LEFT JOIN tmp_consolidate_history_old n ON n.consolidate__key = o.consolidate__key'
        || ' AND n.consolidate__at = o.consolidate__to WHERE o.consolidate__to <> ' || v_open_end
        || ' AND (n.consolidate__key IS NULL OR o.consolidate__to = o.consolidate__at)'
        || ' UNION ALL SELECT v.consolidate__key, v.consolidate__at, 3, NULL, 0 FROM tmp_consolidate_history_staged v'
        || ' WHERE v.consolidate__deleted = 1'
        -- A staged live version history lacks, unless the key's tombstone (hard mode) says it
        -- was deleted at or after it: the final table's rule.
        || ' UNION ALL SELECT v.consolidate__key, v.consolidate__at, 2, NULL, v.consolidate__copies'
        || ' FROM tmp_consolidate_history_staged v LEFT JOIN tmp_consolidate_history_old o'
        || ' ON o.consolidate__key = v.consolidate__key AND o.consolidate__at = v.consolidate__at'
        || CASE WHEN v_use_tombstones THEN ' JOIN tmp_consolidate_target t ON t.consolidate__key = v.consolidate__key'
          || ' WHERE (t.consolidate__tombstone = 0 OR (v.consolidate__cursor IS NOT NULL'
          || ' AND (t.consolidate__tombstone_cursor IS NULL OR v.consolidate__cursor > t.consolidate__tombstone_cursor))) AND'
          ELSE ' WHERE' END
        || ' v.consolidate__deleted = 0 AND o.consolidate__key IS NULL) e';
      EXECUTE 'SELECT COALESCE(SUM(CASE WHEN consolidate__kind = 2 AND (consolidate__next IS NULL'
        || ' OR consolidate__next > consolidate__at) THEN 1 ELSE 0 END), 0) AS added,'
        || ' COALESCE(SUM(CASE WHEN consolidate__kind = 1 AND consolidate__to = ' || v_open_end
        || ' AND consolidate__next IS NOT NULL THEN 1 ELSE 0 END), 0) AS closed,'
        || ' COALESCE(SUM(CASE WHEN consolidate__kind = 1 AND consolidate__to <> COALESCE(consolidate__next, '
        || v_open_end || ') THEN 1 ELSE 0 END), 0) AS changed,'
        || ' COALESCE(SUM(CASE WHEN consolidate__kind = 1 AND consolidate__at = ' || v_low
        || ' AND consolidate__to <> COALESCE(consolidate__next, ' || v_open_end || ') THEN 1 ELSE 0 END), 0) AS undated'
        || ' FROM tmp_consolidate_history_events' INTO v_figures;
      v_history_added := v_history_added + v_figures.added;
      v_history_closed := v_history_closed + v_figures.closed;

      -- Versions in history whose end moved: closed by a newer version or a delete, or shortened
      -- by an older version slotted in after them. Matched on (key, _valid_from), the sort key.
      IF v_figures.changed > v_figures.undated THEN
        EXECUTE 'UPDATE ' || v_history_table || ' SET "_valid_to" = COALESCE(i.consolidate__next, ' || v_open_end
          || '), "_is_active" = (i.consolidate__next IS NULL) FROM tmp_consolidate_history_events i WHERE '
          || v_table_ref || '.' || v_pk || ' = i.consolidate__key AND ' || v_table_ref
          || '."_valid_from" = i.consolidate__at AND i.consolidate__kind = 1 AND i.consolidate__to'
          || ' <> COALESCE(i.consolidate__next, ' || v_open_end || ')';
      END IF;
      IF v_figures.undated > 0 THEN
        EXECUTE 'UPDATE ' || v_history_table || ' SET "_valid_to" = COALESCE(i.consolidate__next, ' || v_open_end
          || '), "_is_active" = (i.consolidate__next IS NULL) FROM tmp_consolidate_history_events i WHERE '
          || v_table_ref || '.' || v_pk || ' = i.consolidate__key AND ' || v_table_ref
          || '."_valid_from" IS NULL AND i.consolidate__at = ' || v_low || ' AND i.consolidate__kind = 1'
          || ' AND i.consolidate__to <> COALESCE(i.consolidate__next, ' || v_open_end || ')';
      END IF;

      -- The new versions, straight from staging (or from the de-duplicated rows of a version
      -- staged several times), behind the three validity columns: positionally, or by name when
      -- staging, final and history do not have their columns in one order.
      IF v_figures.added > 0 THEN
        v_history_versions := 'SELECT CAST(s.' || v_cursor || ' AS timestamp) AS consolidate__valid_from,'
          || ' COALESCE(n.consolidate__next, ' || v_open_end || ') AS consolidate__valid_to,'
          || ' (n.consolidate__next IS NULL) AS consolidate__is_active, s.* FROM ' || v_staging_table
          || ' s JOIN tmp_consolidate_history_events n ON s.' || v_pk || ' = n.consolidate__key AND COALESCE(CAST(s.'
          || v_cursor || ' AS timestamp), ' || v_low || ') = n.consolidate__at'
          || ' WHERE n.consolidate__kind = 2 AND n.consolidate__copies = 1 AND (n.consolidate__next IS NULL'
          || ' OR n.consolidate__next > n.consolidate__at)';
        IF v_history_multi > 0 THEN
          v_history_versions := v_history_versions || ' UNION ALL SELECT CAST(m.' || v_cursor || ' AS timestamp),'
            || ' COALESCE(n.consolidate__next, ' || v_open_end || '), (n.consolidate__next IS NULL), m.*'
            || ' FROM tmp_consolidate_multi m JOIN tmp_consolidate_history_events n ON m.' || v_pk
            || ' = n.consolidate__key AND COALESCE(CAST(m.' || v_cursor || ' AS timestamp), ' || v_low
            || ') = n.consolidate__at WHERE n.consolidate__kind = 2 AND n.consolidate__copies > 1'
            || ' AND (n.consolidate__next IS NULL OR n.consolidate__next > n.consolidate__at)';
        END IF;
        IF v_positional AND v_history_positional THEN
          EXECUTE 'INSERT INTO ' || v_history_table || ' ' || v_history_versions;
        ELSE
          EXECUTE 'INSERT INTO ' || v_history_table || ' ("_valid_from", "_valid_to", "_is_active", ' || v_column_list
            || ') SELECT consolidate__valid_from, consolidate__valid_to, consolidate__is_active, ' || v_column_list
            || ' FROM (' || v_history_versions || ') w';
        END IF;
      END IF;
    END IF;

    -- 10. Full sync: final keys that were not staged were purged at the source. This reads
    -- the final table's keys: a full reload is about the whole table. Their current versions in
    -- history end at this run's time.
    IF p_sync_mode = 'full' AND p_delete_mode <> 'ignore' THEN
      IF v_history THEN
        EXECUTE 'UPDATE ' || v_history_table || ' SET "_valid_to" = GREATEST("_valid_from", ' || v_run_time
          || '), "_is_active" = false WHERE "_is_active" AND NOT EXISTS (SELECT 1 FROM tmp_consolidate_target t'
          || ' WHERE t.consolidate__key = ' || v_table_ref || '.' || v_pk || ')';
        GET DIAGNOSTICS v_count := ROW_COUNT;
        v_history_closed := v_history_closed + v_count;
      END IF;
      IF p_delete_mode = 'soft' AND v_has_isdeleted THEN
        EXECUTE 'UPDATE ' || v_final_table || ' SET "isdeleted" = ' || v_deleted_true || ' WHERE '
          || REPLACE(v_deleted_template, '{c}', '"isdeleted"') || ' = 0 AND NOT EXISTS (SELECT 1 FROM'
          || ' tmp_consolidate_target t WHERE t.consolidate__key = ' || v_table_ref || '.' || v_pk || ')';
      ELSE
        EXECUTE 'DELETE FROM ' || v_final_table || ' WHERE NOT EXISTS (SELECT 1 FROM tmp_consolidate_target t'
          || ' WHERE t.consolidate__key = ' || v_table_ref || '.' || v_pk || ')';
      END IF;
      GET DIAGNOSTICS v_rows_purged := ROW_COUNT;
      v_rows_deleted := v_rows_deleted + v_rows_purged;
    END IF;

    DROP TABLE IF EXISTS tmp_consolidate_tie_changed;
    DROP TABLE IF EXISTS tmp_consolidate_multi;
    DROP TABLE IF EXISTS tmp_consolidate_target;
    DROP TABLE IF EXISTS tmp_consolidate_history_staged;
    DROP TABLE IF EXISTS tmp_consolidate_history_known;
    DROP TABLE IF EXISTS tmp_consolidate_history_old;
    DROP TABLE IF EXISTS tmp_consolidate_history_events;
  END IF;

  -- Tombstones older than tombstone_days go.
  IF v_tombstones_here > 0 THEN
    EXECUTE 'DELETE FROM public.consolidation_tombstones WHERE final_schema = ' || quote_literal(p_final_schema)
      || ' AND table_name = ' || quote_literal(p_table_name) || ' AND recorded_at < CAST(' || v_started_literal
      || ' AS timestamp) - INTERVAL ' || quote_literal(CAST(p_tombstone_days AS varchar) || ' days');
  END IF;

  -- 11. Everything staged has been dealt with (NULL-key rows included).
  IF v_rows_staged > 0 THEN
    EXECUTE 'DELETE FROM ' || v_staging_table;
  END IF;

  v_finished_at := CAST(timeofday() AS timestamp);
  INSERT INTO public.consolidation_audit (
    run_id, staging_schema, final_schema, table_name, sync_mode, delete_mode,
    rows_staged, rows_null_key, duplicates_removed, rows_inserted, rows_updated,
    rows_deleted, rows_purged, started_at, finished_at, rows_new, rows_unchanged,
    history_schema, history_versions_added, history_versions_closed
  ) VALUES (
    p_run_id, p_staging_schema, p_final_schema, p_table_name, p_sync_mode, p_delete_mode,
    v_rows_staged, v_rows_staged - v_rows_keyed, v_rows_keyed - v_distinct_keys, v_rows_new + v_rows_updated,
    v_rows_updated, v_rows_deleted, v_rows_purged, v_started_at, v_finished_at, v_rows_new, v_rows_unchanged,
    CASE WHEN v_history THEN p_history_schema END, v_history_added, v_history_closed
  );
END;
$$ LANGUAGE plpgsql;

-- No history: the form before history existed (sync mode and tombstone days given).
CREATE OR REPLACE PROCEDURE public.consolidate_object(
  p_staging_schema varchar,
  p_final_schema varchar,
  p_table_name varchar,
  p_pk_column varchar,
  p_cursor_column varchar,
  p_delete_mode varchar,
  p_run_id varchar,
  p_sync_mode varchar,
  p_tombstone_days integer
)
AS $$
BEGIN
  CALL public.consolidate_object(p_staging_schema, p_final_schema, p_table_name, p_pk_column,
    p_cursor_column, p_delete_mode, p_run_id, p_sync_mode, p_tombstone_days, CAST(NULL AS varchar));
END;
$$ LANGUAGE plpgsql;

-- Sync mode given, tombstones kept 30 days.
CREATE OR REPLACE PROCEDURE public.consolidate_object(
  p_staging_schema varchar,
  p_final_schema varchar,
  p_table_name varchar,
  p_pk_column varchar,
  p_cursor_column varchar,
  p_delete_mode varchar,
  p_run_id varchar,
  p_sync_mode varchar
)
AS $$
BEGIN
  CALL public.consolidate_object(p_staging_schema, p_final_schema, p_table_name, p_pk_column,
    p_cursor_column, p_delete_mode, p_run_id, p_sync_mode, 30, CAST(NULL AS varchar));
END;
$$ LANGUAGE plpgsql;

-- The 7-argument form of the contract: an incremental consolidation.
CREATE OR REPLACE PROCEDURE public.consolidate_object(
  p_staging_schema varchar,
  p_final_schema varchar,
  p_table_name varchar,
  p_pk_column varchar,
  p_cursor_column varchar,
  p_delete_mode varchar,
  p_run_id varchar
)
AS $$
BEGIN
  CALL public.consolidate_object(p_staging_schema, p_final_schema, p_table_name, p_pk_column,
    p_cursor_column, p_delete_mode, p_run_id, 'incremental', 30, CAST(NULL AS varchar));
END;
$$ LANGUAGE plpgsql;
