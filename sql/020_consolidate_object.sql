-- Procedures: public.consolidate_object (8 arguments, with sync mode) and its 7-argument
-- form (sync mode 'incremental'), the contract the pipeline and operators call:
--
--   CALL consolidate_object('salesforce_incremental', 'salesforce', 'account',
--                           'id', 'systemmodstamp', 'hard', 'run-2026-01-01');
--   CALL consolidate_object('salesforce_incremental', 'salesforce', 'account',
--                           'id', 'systemmodstamp', 'hard', 'run-2026-01-01', 'full');
--
-- Moves everything staged for one object into its final table, keeping one row per key,
-- and writes one row to public.consolidation_audit. One transaction: no COMMIT, ROLLBACK or
-- TRUNCATE inside, so a failure leaves staging, final and audit as they were.
--
-- Runs on Amazon Redshift and on Postgres (the local warehouse and the tests), so it sticks
-- to what both have: dynamic SQL as plain strings with every identifier validated and put
-- through quote_ident (EXECUTE without USING), loops over column metadata only, set-based
-- statements over the data.
--
-- Rules:
-- * Newest version per key: ROW_NUMBER() OVER (PARTITION BY pk ORDER BY cursor DESC NULLS
--   LAST, deleted first, content hash). A NULL cursor counts as oldest; equal cursors break
--   on content, so the result never depends on the physical order of staged rows.
-- * Incremental: the staged newest version replaces the final row iff
--     the key is not in final, or
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
-- * Deletes (column isdeleted true in a version): hard removes the key from final; soft
--   keeps the row with isdeleted true; ignore drops delete versions before ranking, as if
--   they had never arrived (final keeps its row; a record never in final is not inserted).
-- * Hard mode keeps no tombstones: an old live version staged after its key's delete was
--   consolidated brings the key back.
-- * Staged rows with a NULL key are not consolidated (counted as rows_null_key).
-- * Every staged row leaves staging (DELETE, not TRUNCATE), so a second identical CALL
--   finds nothing to do and changes nothing in final (it writes an audit row of zeros).
--
-- Temporary tables tmp_consolidate_*, and columns consolidate__* inside them, are the
-- procedure's own; staging tables must not use those column names.

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
DECLARE
  v_identifier_pattern varchar(64) := '^[a-z_][a-z0-9_]{0,126}$';
  v_shown varchar(1024);
  v_count bigint;
  v_column record;
  v_column_count bigint := 0;
  v_staging_table varchar(512);
  v_final_table varchar(512);
  v_pk varchar(256);
  v_cursor varchar(256);
  v_column_list varchar(65535) := '';
  v_staged_column_list varchar(65535) := '';
  v_hash_parts varchar(65535) := '';
  v_hash_expression varchar(65535);
  v_deleted_expression varchar(1024) := '0';
  v_final_deleted_expression varchar(1024) := '0';
  v_deleted_true varchar(16);
  v_has_isdeleted boolean := false;
  v_replace_condition varchar(4096);
  v_sql varchar(65535);
  v_rows_staged bigint := 0;
  v_rows_null_key bigint := 0;
  v_distinct_keys bigint := 0;
  v_rows_inserted bigint := 0;
  v_rows_updated bigint := 0;
  v_rows_deleted bigint := 0;
  v_rows_purged bigint := 0;
  v_started_at timestamp;
  v_finished_at timestamp;
BEGIN
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
  IF p_staging_schema = p_final_schema THEN
    -- Staging and final would be the same table, and it would be emptied at the end.
    RAISE EXCEPTION 'consolidate_object: staging_schema and final_schema are both %', p_final_schema;
  END IF;

  v_started_at := CAST(timeofday() AS timestamp);
  v_staging_table := quote_ident(p_staging_schema) || '.' || quote_ident(p_table_name);
  v_final_table := quote_ident(p_final_schema) || '.' || quote_ident(p_table_name);
  v_pk := quote_ident(p_pk_column);
  v_cursor := quote_ident(p_cursor_column);

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

  -- Column list (staging order) and a content hash over every column. Each column hashes
  -- to 32 hex characters, or N for NULL (T / F for booleans, which Redshift cannot cast to
  -- varchar), so the concatenation is unambiguous and stays short on wide tables.
  FOR v_column IN
    SELECT column_name, data_type FROM information_schema.columns
    WHERE table_schema = p_staging_schema AND table_name = p_table_name
    ORDER BY ordinal_position
  LOOP
    SELECT COUNT(*) INTO v_count FROM information_schema.columns
    WHERE table_schema = p_final_schema AND table_name = p_table_name AND column_name = v_column.column_name;
    IF v_count = 0 THEN
      RAISE EXCEPTION 'consolidate_object: column % of %.% is missing from %.%',
        v_column.column_name, p_staging_schema, p_table_name, p_final_schema, p_table_name;
    END IF;

    IF v_column_count > 0 THEN
      v_column_list := v_column_list || ', ';
      v_staged_column_list := v_staged_column_list || ', ';
      v_hash_parts := v_hash_parts || ' || ';
    END IF;
    v_column_count := v_column_count + 1;
    v_column_list := v_column_list || quote_ident(v_column.column_name);
    v_staged_column_list := v_staged_column_list || 't.' || quote_ident(v_column.column_name);
    IF v_column.data_type = 'boolean' THEN
      v_hash_parts := v_hash_parts || 'CASE WHEN t.' || quote_ident(v_column.column_name) || ' THEN ''T'' WHEN NOT t.'
        || quote_ident(v_column.column_name) || ' THEN ''F'' ELSE ''N'' END';
    ELSE
      v_hash_parts := v_hash_parts || 'COALESCE(md5(CAST(t.' || quote_ident(v_column.column_name)
        || ' AS varchar(65535))), ''N'')';
    END IF;

    IF v_column.column_name = 'isdeleted' THEN
      v_has_isdeleted := true;
      IF v_column.data_type = 'boolean' THEN
        v_deleted_expression := 'CASE WHEN t.isdeleted THEN 1 ELSE 0 END';
        v_final_deleted_expression := 'CASE WHEN isdeleted THEN 1 ELSE 0 END';
        v_deleted_true := 'true';
      ELSIF v_column.data_type IN ('character varying', 'character', 'text') THEN
        v_deleted_expression := 'CASE WHEN LOWER(t.isdeleted) IN (''true'', ''t'', ''1'') THEN 1 ELSE 0 END';
        v_final_deleted_expression := 'CASE WHEN LOWER(isdeleted) IN (''true'', ''t'', ''1'') THEN 1 ELSE 0 END';
        v_deleted_true := '''true''';
      ELSE
        RAISE EXCEPTION 'consolidate_object: column isdeleted of %.% must be boolean or character, not %',
          p_staging_schema, p_table_name, v_column.data_type;
      END IF;
    END IF;
  END LOOP;
  v_hash_expression := 'md5(' || v_hash_parts || ')';
  -- (pk and cursor are staging columns, so the loop has checked final has them too.)

  -- 3. What was staged.
  EXECUTE 'SELECT COUNT(*) FROM ' || v_staging_table INTO v_rows_staged;
  EXECUTE 'SELECT COUNT(*) FROM ' || v_staging_table || ' WHERE ' || v_pk || ' IS NULL' INTO v_rows_null_key;
  EXECUTE 'SELECT COUNT(DISTINCT ' || v_pk || ') FROM ' || v_staging_table INTO v_distinct_keys;

  IF v_distinct_keys > 0 THEN
    -- 4. Newest staged version per key. In ignore mode delete versions never compete.
    DROP TABLE IF EXISTS tmp_consolidate_winner;
    v_sql := 'CREATE TEMP TABLE tmp_consolidate_winner AS SELECT ' || v_column_list
      || ', consolidate__hash, consolidate__deleted FROM (SELECT ' || v_column_list
      || ', consolidate__hash, consolidate__deleted, ROW_NUMBER() OVER (PARTITION BY ' || v_pk
      || ' ORDER BY ' || v_cursor || ' DESC NULLS LAST, consolidate__deleted DESC, consolidate__hash)'
      || ' AS consolidate__rank FROM (SELECT ' || v_staged_column_list || ', ' || v_hash_expression
      || ' AS consolidate__hash, ' || v_deleted_expression || ' AS consolidate__deleted FROM '
      || v_staging_table || ' t WHERE t.' || v_pk || ' IS NOT NULL';
    IF p_delete_mode = 'ignore' THEN
      v_sql := v_sql || ' AND ' || v_deleted_expression || ' = 0';
    END IF;
    v_sql := v_sql || ') hashed) ranked WHERE consolidate__rank = 1';
    EXECUTE v_sql;

    -- 5. The final row each winner competes with (the best one, should final hold copies).
    DROP TABLE IF EXISTS tmp_consolidate_final_best;
    v_sql := 'CREATE TEMP TABLE tmp_consolidate_final_best AS SELECT consolidate__key, consolidate__cursor,'
      || ' consolidate__hash, consolidate__deleted FROM (SELECT consolidate__key, consolidate__cursor,'
      || ' consolidate__hash, consolidate__deleted, ROW_NUMBER() OVER (PARTITION BY consolidate__key'
      || ' ORDER BY consolidate__cursor DESC NULLS LAST, consolidate__deleted DESC, consolidate__hash)'
      || ' AS consolidate__rank FROM (SELECT t.' || v_pk || ' AS consolidate__key, t.' || v_cursor
      || ' AS consolidate__cursor, ' || v_hash_expression || ' AS consolidate__hash, '
      || v_deleted_expression || ' AS consolidate__deleted FROM ' || v_final_table
      || ' t JOIN tmp_consolidate_winner w ON t.' || v_pk || ' = w.' || v_pk
      || ') hashed) ranked WHERE consolidate__rank = 1';
    EXECUTE v_sql;

    -- 6. Winners that change final (rules at the top of this file).
    IF p_sync_mode = 'full' THEN
      v_replace_condition := 'w.consolidate__hash <> b.consolidate__hash';
    ELSE
      v_replace_condition := '(b.consolidate__cursor IS NULL AND w.' || v_cursor || ' IS NOT NULL)'
        || ' OR w.' || v_cursor || ' > b.consolidate__cursor'
        || ' OR ((w.' || v_cursor || ' = b.consolidate__cursor OR (w.' || v_cursor
        || ' IS NULL AND b.consolidate__cursor IS NULL)) AND w.consolidate__hash <> b.consolidate__hash)';
    END IF;
    DROP TABLE IF EXISTS tmp_consolidate_apply;
    v_sql := 'CREATE TEMP TABLE tmp_consolidate_apply AS SELECT w.*,'
      || ' CASE WHEN b.consolidate__key IS NULL THEN 0 ELSE 1 END AS consolidate__existed,'
      || ' CASE WHEN b.consolidate__key IS NOT NULL AND b.consolidate__deleted = 0 THEN 1 ELSE 0 END'
      || ' AS consolidate__was_live FROM tmp_consolidate_winner w LEFT JOIN tmp_consolidate_final_best b'
      || ' ON b.consolidate__key = w.' || v_pk || ' WHERE b.consolidate__key IS NULL OR '
      || v_replace_condition;
    EXECUTE v_sql;

    -- 7. Apply: old versions out, new ones in (hard mode does not insert delete versions).
    EXECUTE 'DELETE FROM ' || v_final_table || ' USING tmp_consolidate_apply a WHERE '
      || v_final_table || '.' || v_pk || ' = a.' || v_pk;
    v_sql := 'INSERT INTO ' || v_final_table || ' (' || v_column_list || ') SELECT ' || v_column_list
      || ' FROM tmp_consolidate_apply';
    IF p_delete_mode = 'hard' THEN
      v_sql := v_sql || ' WHERE consolidate__deleted = 0';
    END IF;
    EXECUTE v_sql;

    EXECUTE 'SELECT COUNT(*) FROM tmp_consolidate_apply WHERE consolidate__deleted = 0' INTO v_rows_inserted;
    EXECUTE 'SELECT COUNT(*) FROM tmp_consolidate_apply WHERE consolidate__deleted = 0'
      || ' AND consolidate__existed = 1' INTO v_rows_updated;
    EXECUTE 'SELECT COUNT(*) FROM tmp_consolidate_apply WHERE consolidate__deleted = 1'
      || ' AND consolidate__was_live = 1' INTO v_rows_deleted;

    -- 8. Full sync: final keys that were not staged were purged at the source.
    IF p_sync_mode = 'full' AND p_delete_mode <> 'ignore' THEN
      IF p_delete_mode = 'soft' AND v_has_isdeleted THEN
        EXECUTE 'UPDATE ' || v_final_table || ' SET isdeleted = ' || v_deleted_true || ' WHERE '
          || v_final_deleted_expression || ' = 0 AND (' || v_pk || ' IS NULL OR ' || v_pk
          || ' NOT IN (SELECT ' || v_pk || ' FROM tmp_consolidate_winner))';
      ELSE
        EXECUTE 'DELETE FROM ' || v_final_table || ' WHERE ' || v_pk || ' IS NULL OR ' || v_pk
          || ' NOT IN (SELECT ' || v_pk || ' FROM tmp_consolidate_winner)';
      END IF;
      GET DIAGNOSTICS v_rows_purged := ROW_COUNT;
      v_rows_deleted := v_rows_deleted + v_rows_purged;
    END IF;

    DROP TABLE IF EXISTS tmp_consolidate_apply;
    DROP TABLE IF EXISTS tmp_consolidate_final_best;
    DROP TABLE IF EXISTS tmp_consolidate_winner;
  END IF;

  -- 9. Everything staged has been dealt with (NULL-key rows included).
  EXECUTE 'DELETE FROM ' || v_staging_table;

  v_finished_at := CAST(timeofday() AS timestamp);
  INSERT INTO public.consolidation_audit (
    run_id, staging_schema, final_schema, table_name, sync_mode, delete_mode,
    rows_staged, rows_null_key, duplicates_removed, rows_inserted, rows_updated,
    rows_deleted, rows_purged, started_at, finished_at
  ) VALUES (
    p_run_id, p_staging_schema, p_final_schema, p_table_name, p_sync_mode, p_delete_mode,
    v_rows_staged, v_rows_null_key, v_rows_staged - v_rows_null_key - v_distinct_keys, v_rows_inserted,
    v_rows_updated, v_rows_deleted, v_rows_purged, v_started_at, v_finished_at
  );
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
    p_cursor_column, p_delete_mode, p_run_id, 'incremental');
END;
$$ LANGUAGE plpgsql;
