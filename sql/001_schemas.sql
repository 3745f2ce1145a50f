-- Schemas of the default source (Salesforce): staging, where AppFlow inserts each run's
-- extract, final, where consolidate_object keeps one row per record, and history, where it
-- keeps every captured version of the objects whose control row asks for history.
-- Other sources get `<source>_incremental` / `<source>` / `<final schema>_history` the same way.
-- Idempotent: applying this file again changes nothing.

CREATE SCHEMA IF NOT EXISTS salesforce_incremental;

CREATE SCHEMA IF NOT EXISTS salesforce;

CREATE SCHEMA IF NOT EXISTS salesforce_history;
