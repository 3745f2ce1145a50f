-- Column refresh (issue 21): rewrites chosen columns of a final table from a refresh extract,
-- without cursor, watermark or delete changes. It serves formula fields (Salesforce does not
-- move SystemModstamp when a formula's value changes), a row's refreshFields, new fields (their
-- old records get values without a full reload) and fields whose type changed (the column then
-- holds the source's own values, not a cast of the old ones).
--
--   CALL refresh_columns('salesforce_incremental', 'salesforce', 'account', '_refresh_account',
--                        'id', 'days_open__c,score__c', 'run-2026-01-01');
--   -- staging schema, final schema, table, refresh table, primary-key column,
--   -- comma-separated columns to refresh, run id
--
-- The refresh table `<staging schema>._refresh_<table>` holds what the refresh flow extracted:
-- the primary key and the chosen columns of every record (no cursor filter, deleted records
-- excluded). Its name starts with an underscore, which a targetTable (^[a-z][a-z0-9_]{0,79}$)
-- never does, so it can never be an object's staging table; the procedure refuses any other
-- name. The pipeline creates it with the final table's types before the flow runs.
--
-- One transaction: no COMMIT, ROLLBACK or TRUNCATE inside; a failed CALL leaves final, the
-- refresh table, public.source_column_types and the audit as they were. Rules:
-- * a final row is rewritten only when a refreshed value differs from its own, NULL-safely
--   (NULL -> value and value -> NULL are changes, NULL = NULL is not; no IS DISTINCT FROM):
--   Redshift rewrites a whole row on UPDATE, so unchanged rows are left alone;
-- * refreshed keys that final does not hold are ignored and counted (keys_missing): a record
--   new since the last load arrives with the next incremental load, with its cursor;
-- * duplicate keys in the refresh table (AppFlow may write a retried page twice): exact copies
--   count once; copies that differ keep, column by column, NULL if any copy is NULL, else the
--   lowest value, so the result never depends on the physical order of the rows;
-- * rows with a NULL key are dropped (counted as rows_null_key);
-- * every row leaves the refresh table (DELETE), so a second identical CALL changes nothing;
-- * the refreshed columns' refresh_pending flags in public.source_column_types are cleared.
-- Runs inside the object's claim (the control table), so no consolidation of the same object
-- runs beside it; calls for different objects touch different tables, except
-- public.source_column_types, which is locked first (as consolidate_object locks its tombstones)
-- so that concurrent CALLs wait for each other instead of failing Redshift's serializable
-- isolation check.
--
-- Identifiers are checked against a pattern and quoted unconditionally ('"' || REPLACE(x, '"',
-- '""') || '"'): quote_ident leaves words alone that Postgres does not reserve but Redshift does
-- (open, percent, tag, …). Statements stay within Redshift's 65,535 bytes per procedure
-- variable: the per-column comparison and assignment are split over several statements when
-- many columns are refreshed at once. Temporary tables tmp_refresh_*, and columns refresh__*
-- inside them, are the procedure's own.
-- Idempotent: applying this file again changes nothing.

-- Audit table: one row per CALL refresh_columns(...), written in the CALL's transaction.
--   rows_staged         rows found in the refresh table (all of them leave it)
--   rows_null_key       of those, rows with a NULL key (dropped)
--   duplicates_removed  keyed rows - distinct keys
--   keys_matched        distinct refreshed keys the final table holds
--   keys_missing        distinct refreshed keys the final table does not hold (ignored)
--   rows_refreshed      final rows rewritten because a refreshed value differed
--   columns             the refreshed columns, comma-separated, as given
CREATE TABLE IF NOT EXISTS public.column_refresh_audit (
  run_id varchar(256) NOT NULL,
  staging_schema varchar(128) NOT NULL,
  final_schema varchar(128) NOT NULL,
  table_name varchar(128) NOT NULL,
  refresh_table varchar(128) NOT NULL,
  columns varchar(65535) NOT NULL,
  rows_staged bigint NOT NULL,
  rows_null_key bigint NOT NULL,
  duplicates_removed bigint NOT NULL,
  keys_matched bigint NOT NULL,
  keys_missing bigint NOT NULL,
  rows_refreshed bigint NOT NULL,
  started_at timestamp NOT NULL,
  finished_at timestamp NOT NULL
);

-- What the warehouse remembers of each final column: the Redshift type its source field called
-- for when the structure sync last saw it (e.g. DECIMAL(18,2), VARCHAR(160)), and whether the
-- column still waits for a column refresh (a new column, or a field whose type changed). The
-- structure sync writes a column's row before it changes the column, so a failure between the
-- two leaves the refresh pending; refresh_columns clears the flag in its own transaction.
CREATE TABLE IF NOT EXISTS public.source_column_types (
  final_schema varchar(128) NOT NULL,
  table_name varchar(128) NOT NULL,
  column_name varchar(128) NOT NULL,
  source_type varchar(128) NOT NULL,
  refresh_pending boolean NOT NULL,
  recorded_at timestamp NOT NULL
) DISTSTYLE ALL SORTKEY(final_schema, table_name, column_name);

CREATE OR REPLACE PROCEDURE public.refresh_columns(
  p_staging_schema varchar,
  p_final_schema varchar,
  p_table_name varchar,
  p_refresh_table varchar,
  p_pk_column varchar,
  p_columns varchar,
  p_run_id varchar
)
AS $$
DECLARE
  v_identifier_pattern varchar(64) := '^[a-z_][a-z0-9_]{0,126}$';
  -- Final tables are named after targetTable: never a leading underscore.
  v_table_pattern varchar(64) := '^[a-z][a-z0-9_]{0,126}$';
  v_refresh_pattern varchar(64) := '^_refresh_[a-z][a-z0-9_]{0,117}$';
  -- Bytes of per-column SQL in one statement: with the fixed text around it, a statement stays
  -- well inside Redshift's VARCHAR(65535) limit for procedure variables.
  v_piece_limit integer := 30000;
  v_columns_limit integer := 30000;
  v_shown varchar(1024);
  v_count bigint;
  v_total integer;
  v_index integer;
  v_name varchar(256);
  v_quoted varchar(512);
  v_final_type varchar(256);
  v_refresh_type varchar(256);
  v_value varchar(1024);
  v_piece varchar(4096);
  v_seen varchar(65535) := ',';
  v_select_list varchar(65535);
  v_changed varchar(65535) := '';
  v_set varchar(65535) := '';
  v_first_compare boolean := true;
  v_source varchar(512);
  v_r_list varchar(65535);
  v_figures record;
  v_refresh varchar(512);
  v_final varchar(512);
  v_target varchar(256);
  v_pk varchar(256);
  v_rows_staged bigint := 0;
  v_rows_keyed bigint := 0;
  v_distinct_rows bigint := 0;
  v_distinct_keys bigint := 0;
  v_keys_matched bigint := 0;
  v_rows_refreshed bigint := 0;
  v_started_at timestamp;
  v_finished_at timestamp;
BEGIN
  -- CALLs of different objects all update this one table: wait for each other, in order.
  LOCK public.source_column_types;
  v_started_at := CAST(timeofday() AS timestamp);

  -- 1. Arguments. Every identifier is checked before any SQL is built from it.
  IF p_staging_schema IS NULL OR NOT (p_staging_schema ~ v_identifier_pattern) THEN
    v_shown := COALESCE(quote_literal(p_staging_schema), 'NULL');
    RAISE EXCEPTION 'refresh_columns: invalid staging_schema %: must match %', v_shown, v_identifier_pattern;
  END IF;
  IF p_final_schema IS NULL OR NOT (p_final_schema ~ v_identifier_pattern) THEN
    v_shown := COALESCE(quote_literal(p_final_schema), 'NULL');
    RAISE EXCEPTION 'refresh_columns: invalid final_schema %: must match %', v_shown, v_identifier_pattern;
  END IF;
  IF p_table_name IS NULL OR NOT (p_table_name ~ v_table_pattern) THEN
    v_shown := COALESCE(quote_literal(p_table_name), 'NULL');
    RAISE EXCEPTION 'refresh_columns: invalid table_name %: must match %', v_shown, v_table_pattern;
  END IF;
  IF p_refresh_table IS NULL OR NOT (p_refresh_table ~ v_refresh_pattern) THEN
    v_shown := COALESCE(quote_literal(p_refresh_table), 'NULL');
    RAISE EXCEPTION 'refresh_columns: invalid refresh_table %: must match % (the pipeline names it _refresh_<table>)',
      v_shown, v_refresh_pattern;
  END IF;
  IF p_pk_column IS NULL OR NOT (p_pk_column ~ v_identifier_pattern) THEN
    v_shown := COALESCE(quote_literal(p_pk_column), 'NULL');
    RAISE EXCEPTION 'refresh_columns: invalid pk_column %: must match %', v_shown, v_identifier_pattern;
  END IF;
  IF p_run_id IS NULL OR p_run_id = '' THEN
    RAISE EXCEPTION 'refresh_columns: run_id must not be empty';
  END IF;
  IF p_columns IS NULL OR TRIM(p_columns) = '' THEN
    RAISE EXCEPTION 'refresh_columns: no columns to refresh of %.%', p_final_schema, p_table_name;
  END IF;
  IF OCTET_LENGTH(p_columns) > v_columns_limit THEN
    RAISE EXCEPTION 'refresh_columns: the column list of %.% has % bytes, more than % (refresh fewer columns per CALL)',
      p_final_schema, p_table_name, OCTET_LENGTH(p_columns), v_columns_limit;
  END IF;

  v_refresh := '"' || REPLACE(p_staging_schema, '"', '""') || '"."' || REPLACE(p_refresh_table, '"', '""') || '"';
  v_target := '"' || REPLACE(p_table_name, '"', '""') || '"';
  v_final := '"' || REPLACE(p_final_schema, '"', '""') || '".' || v_target;
  v_pk := '"' || REPLACE(p_pk_column, '"', '""') || '"';

  SELECT COUNT(*) INTO v_count FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = p_staging_schema AND c.relname = p_refresh_table AND c.relkind = 'r';
  IF v_count = 0 THEN
    RAISE EXCEPTION 'refresh_columns: refresh table %.% does not exist', p_staging_schema, p_refresh_table;
  END IF;
  SELECT COUNT(*) INTO v_count FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = p_final_schema AND c.relname = p_table_name AND c.relkind = 'r';
  IF v_count = 0 THEN
    RAISE EXCEPTION 'refresh_columns: final table %.% does not exist', p_final_schema, p_table_name;
  END IF;
  SELECT COUNT(*) INTO v_count FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attname = p_pk_column AND a.attnum > 0 AND NOT a.attisdropped
    AND ((n.nspname = p_staging_schema AND c.relname = p_refresh_table)
      OR (n.nspname = p_final_schema AND c.relname = p_table_name));
  IF v_count < 2 THEN
    RAISE EXCEPTION 'refresh_columns: pk_column % is not a column of both %.% and %.%',
      p_pk_column, p_staging_schema, p_refresh_table, p_final_schema, p_table_name;
  END IF;

  -- 2. The columns: each a column of both tables, not the key, named once.
  v_total := OCTET_LENGTH(p_columns) - OCTET_LENGTH(REPLACE(p_columns, ',', '')) + 1;
  v_select_list := v_pk;
  v_r_list := 'r.' || v_pk;
  FOR v_index IN 1..v_total LOOP
    v_name := TRIM(SPLIT_PART(p_columns, ',', v_index));
    IF NOT (v_name ~ v_identifier_pattern) THEN
      v_shown := quote_literal(v_name);
      RAISE EXCEPTION 'refresh_columns: invalid column % in the list for %.%: must match %',
        v_shown, p_final_schema, p_table_name, v_identifier_pattern;
    END IF;
    IF v_name = p_pk_column THEN
      RAISE EXCEPTION 'refresh_columns: % is the primary key of %.%; it identifies rows and is never refreshed',
        v_name, p_final_schema, p_table_name;
    END IF;
    IF POSITION(',' || v_name || ',' IN v_seen) > 0 THEN
      RAISE EXCEPTION 'refresh_columns: column % is listed twice for %.%', v_name, p_final_schema, p_table_name;
    END IF;
    v_seen := v_seen || v_name || ',';
    v_final_type := NULL;
    v_refresh_type := NULL;
    SELECT format_type(a.atttypid, a.atttypmod) INTO v_final_type FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = p_final_schema AND c.relname = p_table_name AND a.attname = v_name
      AND a.attnum > 0 AND NOT a.attisdropped;
    IF v_final_type IS NULL THEN
      RAISE EXCEPTION 'refresh_columns: % is not a column of %.%', v_name, p_final_schema, p_table_name;
    END IF;
    SELECT format_type(a.atttypid, a.atttypmod) INTO v_refresh_type FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = p_staging_schema AND c.relname = p_refresh_table AND a.attname = v_name
      AND a.attnum > 0 AND NOT a.attisdropped;
    IF v_refresh_type IS NULL THEN
      RAISE EXCEPTION 'refresh_columns: % is not a column of the refresh table %.%', v_name, p_staging_schema,
        p_refresh_table;
    END IF;
    v_select_list := v_select_list || ', "' || REPLACE(v_name, '"', '""') || '"';
    v_r_list := v_r_list || ', r."' || REPLACE(v_name, '"', '""') || '"';
  END LOOP;

  -- 3. What was extracted. Keys extracted more than once (rare) get a table of their own with
  -- one row per key; otherwise the refresh table is read as it is.
  EXECUTE 'SELECT COUNT(*) AS staged, COUNT(' || v_pk || ') AS keyed, COUNT(DISTINCT ' || v_pk || ') AS keys FROM '
    || v_refresh INTO v_figures;
  v_rows_staged := v_figures.staged;
  v_rows_keyed := v_figures.keyed;
  v_distinct_keys := v_figures.keys;
  v_source := v_refresh;
  DROP TABLE IF EXISTS tmp_refresh_changed;
  DROP TABLE IF EXISTS tmp_refresh_rows;
  IF v_rows_keyed > v_distinct_keys THEN
    -- DISTINCT removes exact copies; copies that differ keep, column by column, NULL if any copy
    -- is NULL, else the lowest value, until one row per key is left.
    EXECUTE 'CREATE TEMP TABLE tmp_refresh_rows DISTKEY(' || v_pk || ') AS SELECT DISTINCT ' || v_select_list
      || ' FROM ' || v_refresh || ' WHERE ' || v_pk || ' IS NOT NULL';
    EXECUTE 'SELECT COUNT(*) FROM tmp_refresh_rows' INTO v_distinct_rows;
    FOR v_index IN 1..v_total LOOP
      EXIT WHEN v_distinct_rows <= v_distinct_keys;
      v_name := TRIM(SPLIT_PART(p_columns, ',', v_index));
      v_quoted := '"' || REPLACE(v_name, '"', '""') || '"';
      SELECT format_type(a.atttypid, a.atttypmod) INTO v_refresh_type FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = p_staging_schema AND c.relname = p_refresh_table AND a.attname = v_name
        AND a.attnum > 0 AND NOT a.attisdropped;
      EXECUTE 'DELETE FROM tmp_refresh_rows USING (SELECT ' || v_pk || ' AS refresh__key, '
        || CASE WHEN v_refresh_type = 'boolean' THEN 'BOOL_AND(' ELSE 'MIN(' END || v_quoted
        || ') AS refresh__lowest, COUNT(*) - COUNT(' || v_quoted || ') AS refresh__nulls FROM tmp_refresh_rows'
        || ' GROUP BY ' || v_pk || ' HAVING COUNT(*) > 1) g WHERE tmp_refresh_rows.' || v_pk || ' = g.refresh__key'
        || ' AND ((g.refresh__nulls > 0 AND tmp_refresh_rows.' || v_quoted || ' IS NOT NULL)'
        || ' OR (g.refresh__nulls = 0 AND tmp_refresh_rows.' || v_quoted || ' <> g.refresh__lowest))';
      EXECUTE 'SELECT COUNT(*) FROM tmp_refresh_rows' INTO v_distinct_rows;
    END LOOP;
    IF v_distinct_rows > v_distinct_keys THEN
      RAISE EXCEPTION 'refresh_columns: %.% holds rows of one key that differ only in columns that cannot be ordered',
        p_staging_schema, p_refresh_table;
    END IF;
    v_source := 'tmp_refresh_rows';
  END IF;

  -- 4. One join with final on the key (co-located: both are distributed and sorted on it): the
  -- rows whose refreshed values differ from final's, and the keys final does not hold. When many
  -- columns are refreshed, further statements add the rows the next columns change.
  IF v_distinct_keys > 0 THEN
    FOR v_index IN 1..v_total + 1 LOOP
      IF v_index <= v_total THEN
        v_name := TRIM(SPLIT_PART(p_columns, ',', v_index));
        v_quoted := '"' || REPLACE(v_name, '"', '""') || '"';
        SELECT format_type(a.atttypid, a.atttypmod) INTO v_final_type FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = p_final_schema AND c.relname = p_table_name AND a.attname = v_name
          AND a.attnum > 0 AND NOT a.attisdropped;
        SELECT format_type(a.atttypid, a.atttypmod) INTO v_refresh_type FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = p_staging_schema AND c.relname = p_refresh_table AND a.attname = v_name
          AND a.attnum > 0 AND NOT a.attisdropped;
        -- The refreshed value in final's type (the pipeline makes the refresh table with final's
        -- types; a cast only where they differ).
        IF v_final_type = v_refresh_type THEN
          v_value := 'r.' || v_quoted;
        ELSE
          v_value := 'CAST(r.' || v_quoted || ' AS ' || v_final_type || ')';
        END IF;
        v_piece := '(f.' || v_quoted || ' <> ' || v_value || ' OR (f.' || v_quoted || ' IS NULL AND ' || v_value
          || ' IS NOT NULL) OR (f.' || v_quoted || ' IS NOT NULL AND ' || v_value || ' IS NULL))';
      END IF;
      IF v_changed <> '' AND (v_index > v_total OR OCTET_LENGTH(v_changed) + OCTET_LENGTH(v_piece) > v_piece_limit) THEN
        IF v_first_compare THEN
          EXECUTE 'CREATE TEMP TABLE tmp_refresh_changed DISTKEY(' || v_pk || ') AS SELECT ' || v_r_list
            || ', CASE WHEN f.' || v_pk || ' IS NULL THEN 1 ELSE 0 END AS refresh__missing FROM ' || v_source
            || ' r LEFT JOIN ' || v_final || ' f ON f.' || v_pk || ' = r.' || v_pk || ' WHERE r.' || v_pk
            || ' IS NOT NULL AND (f.' || v_pk || ' IS NULL OR ' || v_changed || ')';
          v_first_compare := false;
        ELSE
          EXECUTE 'INSERT INTO tmp_refresh_changed SELECT ' || v_r_list || ', 0 FROM ' || v_source || ' r JOIN '
            || v_final || ' f ON f.' || v_pk || ' = r.' || v_pk || ' WHERE (' || v_changed || ') AND NOT EXISTS'
            || ' (SELECT 1 FROM tmp_refresh_changed c WHERE c.' || v_pk || ' = r.' || v_pk || ')';
        END IF;
        v_changed := '';
      END IF;
      IF v_index <= v_total THEN
        v_changed := v_changed || CASE WHEN v_changed = '' THEN '' ELSE ' OR ' END || v_piece;
      END IF;
    END LOOP;
    -- The source holds one row per key here, and final one per key (the consolidation's rule).
    EXECUTE 'SELECT COALESCE(SUM(refresh__missing), 0) AS missing, COALESCE(SUM(1 - refresh__missing), 0) AS changed'
      || ' FROM tmp_refresh_changed' INTO v_figures;
    v_keys_matched := v_distinct_keys - v_figures.missing;
    v_rows_refreshed := v_figures.changed;

    -- 5. Rewrite the rows that differ, only the refreshed columns (in several statements when
    -- the assignments would not fit one); the missing keys find no final row to update.
    IF v_rows_refreshed > 0 THEN
      FOR v_index IN 1..v_total + 1 LOOP
        IF v_index <= v_total THEN
          v_name := TRIM(SPLIT_PART(p_columns, ',', v_index));
          v_quoted := '"' || REPLACE(v_name, '"', '""') || '"';
          SELECT format_type(a.atttypid, a.atttypmod) INTO v_final_type FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = p_final_schema AND c.relname = p_table_name AND a.attname = v_name
            AND a.attnum > 0 AND NOT a.attisdropped;
          SELECT format_type(a.atttypid, a.atttypmod) INTO v_refresh_type FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = p_staging_schema AND c.relname = p_refresh_table AND a.attname = v_name
            AND a.attnum > 0 AND NOT a.attisdropped;
          IF v_final_type = v_refresh_type THEN
            v_piece := v_quoted || ' = _u.' || v_quoted;
          ELSE
            v_piece := v_quoted || ' = CAST(_u.' || v_quoted || ' AS ' || v_final_type || ')';
          END IF;
        END IF;
        IF v_set <> '' AND (v_index > v_total OR OCTET_LENGTH(v_set) + OCTET_LENGTH(v_piece) > v_piece_limit) THEN
          EXECUTE 'UPDATE ' || v_final || ' SET ' || v_set || ' FROM tmp_refresh_changed _u WHERE ' || v_target || '.'
            || v_pk || ' = _u.' || v_pk;
          v_set := '';
        END IF;
        IF v_index <= v_total THEN
          v_set := v_set || CASE WHEN v_set = '' THEN '' ELSE ', ' END || v_piece;
        END IF;
      END LOOP;
    END IF;
  END IF;

  -- 6. The refreshed columns wait for nothing any more.
  FOR v_index IN 1..v_total LOOP
    v_name := TRIM(SPLIT_PART(p_columns, ',', v_index));
    UPDATE public.source_column_types SET refresh_pending = false
    WHERE final_schema = p_final_schema AND table_name = p_table_name AND column_name = v_name
      AND refresh_pending;
  END LOOP;

  -- 7. Everything extracted has been dealt with (NULL-key rows included).
  IF v_rows_staged > 0 THEN
    EXECUTE 'DELETE FROM ' || v_refresh;
  END IF;
  DROP TABLE IF EXISTS tmp_refresh_changed;
  DROP TABLE IF EXISTS tmp_refresh_rows;

  v_finished_at := CAST(timeofday() AS timestamp);
  INSERT INTO public.column_refresh_audit (
    run_id, staging_schema, final_schema, table_name, refresh_table, columns, rows_staged, rows_null_key,
    duplicates_removed, keys_matched, keys_missing, rows_refreshed, started_at, finished_at
  ) VALUES (
    p_run_id, p_staging_schema, p_final_schema, p_table_name, p_refresh_table, p_columns, v_rows_staged,
    v_rows_staged - v_rows_keyed, v_rows_keyed - v_distinct_keys, v_keys_matched, v_distinct_keys - v_keys_matched,
    v_rows_refreshed, v_started_at, v_finished_at
  );
END;
$$ LANGUAGE plpgsql;
