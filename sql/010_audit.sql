-- Audit table: public.consolidation_audit
-- One row per CALL consolidate_object(...), written by the procedure in the same transaction
-- as the consolidation it describes. Counts:
--   rows_staged         rows found in the staging table (all of them leave staging)
--   rows_null_key       staged rows with a NULL primary key: not consolidated, dropped
--   duplicates_removed  rows_staged - rows_null_key - distinct keys (older versions discarded)
--   rows_inserted       keys written with a live version: new keys plus rows_updated
--   rows_updated        of rows_inserted, keys that replaced an existing final row
--   rows_deleted        keys live in final before and now removed or flagged isdeleted,
--                       rows_purged included
--   rows_purged         full sync only: final keys absent from staging, removed or flagged
-- A staged version that loses to the final row (older, or identical) counts in none of them.
-- Idempotent: applying this file again changes nothing.

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
  finished_at timestamp NOT NULL
);
