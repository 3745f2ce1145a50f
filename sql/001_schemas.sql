-- Schemas of the default source (Salesforce): staging, where AppFlow inserts each run's
-- extract, and final, where consolidate_object keeps one row per record.
-- Other sources get `<source>_incremental` / `<source>` the same way.
-- Idempotent: applying this file again changes nothing.

CREATE SCHEMA IF NOT EXISTS salesforce_incremental;

CREATE SCHEMA IF NOT EXISTS salesforce;
