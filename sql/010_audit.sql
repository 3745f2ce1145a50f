-- Audit table: public.consolidation_audit
-- One row per CALL consolidate_object(...), written by the procedure in the same transaction
-- as the consolidation it describes. Counts:
--   rows_staged         rows found in the staging table (all of them leave staging)
--   rows_null_key       staged rows with a NULL primary key: not consolidated, dropped
--   duplicates_removed  rows_staged - rows_null_key - distinct keys (older versions discarded)
--   rows_inserted       keys written with a live version: rows_new + rows_updated
--   rows_updated        of rows_inserted, keys whose final row was replaced by a newer version
--   rows_deleted        keys live in final before and now removed or flagged isdeleted,
--                       rows_purged included
--   rows_purged         full sync only: final keys absent from staging, removed or flagged
--   rows_new            of rows_inserted, keys new to the final table
--   rows_unchanged      keys whose newest staged version was not written because the final
--                       table already holds it (same cursor, same content: the lookback
--                       overlap) or something newer (late data, or a live version older than
--                       a consolidated hard delete)
--   history_schema      schema of the history table this CALL maintained (NULL: no history);
--                       a CALL with history that finds the previous CALL of its object did not
--                       maintain it brings the history table up to the final table first
--   history_versions_added   versions written to the history table (the seed of a new history
--                       table and the catching up included; NULL without history)
--   history_versions_closed  current versions this CALL closed (by a newer version, a delete, a
--                       purge of a full sync or the catching up; NULL without history)
-- Idempotent: applying this file again changes nothing. Redshift has no
-- ADD COLUMN IF NOT EXISTS, so the columns added after the first release come from a
-- procedure that looks at the catalog first, called once and dropped again.

CREATE TABLE IF NOT EXISTS public.consolidation_audit (
  run_id varchar(256) NOT NULL,
  staging_schema varchar(128) NOT NULL,
  final_schema varchar(128) NOT NULL,
  table_name varchar(128) NOT NULL,
  sync_mode varchar(16) NOT NULL,
  delete_mode varchar(16) NOT NULL,
  rows_staged bigint NOT NULL,
  rows_null_key bigint NOT NULL,
  duplicates_removed bigint NOT NULL,
  rows_inserted bigint NOT NULL,
  rows_updated bigint NOT NULL,
  rows_deleted bigint NOT NULL,
  rows_purged bigint NOT NULL,
  started_at timestamp NOT NULL,
  finished_at timestamp NOT NULL,
  rows_new bigint,
  rows_unchanged bigint,
  history_schema varchar(128),
  history_versions_added bigint,
  history_versions_closed bigint
);

CREATE OR REPLACE PROCEDURE public.consolidation_audit_add_columns()
AS $$
DECLARE
  v_count bigint;
BEGIN
  SELECT COUNT(*) INTO v_count FROM information_schema.columns
  WHERE table_schema = 'public' AND table_name = 'consolidation_audit' AND column_name = 'rows_new';
  IF v_count = 0 THEN
    ALTER TABLE public.consolidation_audit ADD COLUMN rows_new bigint;
  END IF;
  SELECT COUNT(*) INTO v_count FROM information_schema.columns
  WHERE table_schema = 'public' AND table_name = 'consolidation_audit' AND column_name = 'rows_unchanged';
  IF v_count = 0 THEN
    ALTER TABLE public.consolidation_audit ADD COLUMN rows_unchanged bigint;
  END IF;
  SELECT COUNT(*) INTO v_count FROM information_schema.columns
  WHERE table_schema = 'public' AND table_name = 'consolidation_audit' AND column_name = 'history_schema';
  IF v_count = 0 THEN
    ALTER TABLE public.consolidation_audit ADD COLUMN history_schema varchar(128);
  END IF;
  SELECT COUNT(*) INTO v_count FROM information_schema.columns
  WHERE table_schema = 'public' AND table_name = 'consolidation_audit' AND column_name = 'history_versions_added';
  IF v_count = 0 THEN
    ALTER TABLE public.consolidation_audit ADD COLUMN history_versions_added bigint;
  END IF;
  SELECT COUNT(*) INTO v_count FROM information_schema.columns
  WHERE table_schema = 'public' AND table_name = 'consolidation_audit' AND column_name = 'history_versions_closed';
  IF v_count = 0 THEN
    ALTER TABLE public.consolidation_audit ADD COLUMN history_versions_closed bigint;
  END IF;
END;
$$ LANGUAGE plpgsql;

CALL public.consolidation_audit_add_columns();

DROP PROCEDURE IF EXISTS public.consolidation_audit_add_columns();

-- Tombstones: public.consolidation_tombstones
-- One row per key whose newest version was a delete consolidated in hard mode (the row left
-- the final table, so nothing else remembers the delete). A live version of that key staged
-- later with a cursor not newer than delete_cursor is late data and stays out (Airbyte's
-- "update after delete"). delete_cursor is the cursor value as text, cast back to the
-- cursor column's type when compared. Rows older than the CALL's tombstone_days (default 30)
-- are pruned by the procedure.
CREATE TABLE IF NOT EXISTS public.consolidation_tombstones (
  final_schema varchar(128) NOT NULL,
  table_name varchar(128) NOT NULL,
  record_key varchar(1024) NOT NULL,
  delete_cursor varchar(256),
  recorded_at timestamp NOT NULL
) DISTKEY(record_key) SORTKEY(final_schema, table_name, record_key);
