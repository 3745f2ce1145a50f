import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import type { Context } from 'aws-lambda';
import { callRefreshColumns } from './common/column-refresh-call';
import { requireEnv } from './common/environment';
import {
  type ConsolidationFigures,
  type ConsolidationState,
  extractFlowOf,
  type ObjectState,
} from './common/object-state';
import { logger, objectKeys, publishConsolidationMetrics } from './common/observability';
import { layoutOf } from './common/run-plan';
import { TRUNCATE_LENGTH } from './common/source-fields';
import { historySchemaOf } from './common/sources';
import { objectStatement, waitingOn } from './common/statement-waits';
import {
  budgetOf,
  checkStatement,
  chunked,
  fetchRows,
  quoteIdent,
  runStatement,
  type StatementRequest,
  type TimeBudget,
  type WarehouseLayout,
  type WarehouseTarget,
  warehouseLayoutFromEnv,
  warehouseTargetFromEnv,
} from './common/warehouse';

const layout = warehouseLayoutFromEnv();
const target = warehouseTargetFromEnv();
const STATEMENT_NAME_PREFIX = requireEnv('FLOW_NAME_PREFIX');
/** What the function keeps after its last wait: reading the figures and returning the state. */
const RESERVED_MS = 10_000;
const redshift = new RedshiftDataClient({});

export interface ConsolidateDependencies {
  redshift: RedshiftDataClient;
  target: WarehouseTarget;
  layout: WarehouseLayout;
  /** How long this invocation may wait on the warehouse before handing the wait to the state machine. */
  budget: TimeBudget;
  /** Names the statements (the rule on the Data API's events matches the prefix). */
  statementNamePrefix: string;
}

/** The procedure call of DESIGN.md, every value a Data API parameter. */
export const CONSOLIDATE_SQL =
  'CALL consolidate_object(:staging_schema, :final_schema, :table_name, :pk_column, :cursor_column, :delete_mode, :run_id, :sync_mode)';

/**
 * The same CALL keeping history (issue 22): the 10-argument form, tombstones kept 30 days as the
 * 8-argument form keeps them (a literal: the Data API sends no NULL or empty value, and a number
 * as text would need a cast), the history schema `<final schema>_history` (the precheck creates it).
 */
export const CONSOLIDATE_WITH_HISTORY_SQL =
  'CALL consolidate_object(:staging_schema, :final_schema, :table_name, :pk_column, :cursor_column, :delete_mode, :run_id, :sync_mode, 30, :history_schema)';

/** Summed over the run's audit rows for the table, so a retried CALL (a no-op) adds zeros, not a second count. */
export const AUDIT_SQL = `SELECT COALESCE(SUM(rows_staged), 0) AS rows_staged,
  COALESCE(SUM(duplicates_removed), 0) AS duplicates_removed,
  COALESCE(SUM(rows_inserted), 0) AS rows_inserted,
  COALESCE(SUM(rows_updated), 0) AS rows_updated,
  COALESCE(SUM(rows_unchanged), 0) AS rows_unchanged,
  COALESCE(SUM(rows_deleted), 0) AS rows_deleted,
  COALESCE(SUM(rows_purged), 0) AS rows_purged,
  COALESCE(SUM(history_versions_added), 0) AS history_versions_added,
  COALESCE(SUM(history_versions_closed), 0) AS history_versions_closed
FROM public.consolidation_audit
WHERE run_id = :run_id AND final_schema = :final_schema AND table_name = :table_name`;

/** Columns per counting statement: about 75 bytes each keeps a statement far below the Data API's 100 KB. */
const COUNTED_COLUMNS_PER_STATEMENT = 800;

/**
 * The statement (one per 800 columns) that counts the staged values of the truncated columns
 * that reached the Truncate task's limit: one scan of staging, a CASE per column. CHAR_LENGTH
 * counts characters on Redshift (a synonym of LEN) and on Postgres alike.
 */
export function valuesTruncatedSql(stagingSchema: string, table: string, columns: string[]): string[] {
  return chunked(columns, COUNTED_COLUMNS_PER_STATEMENT).map((chunk) => {
    const cases = chunk.map(
      (column) => `CASE WHEN CHAR_LENGTH(${quoteIdent(column)}) >= ${TRUNCATE_LENGTH} THEN 1 ELSE 0 END`,
    );
    return `SELECT COALESCE(SUM(${cases.join(' + ')}), 0) AS values_truncated FROM ${quoteIdent(stagingSchema)}.${quoteIdent(table)}`;
  });
}

/**
 * The procedure call of DESIGN.md, every value a Data API parameter. An object that keeps history
 * calls the 10-argument form; one that does not (any more) calls the 8-argument form, which leaves
 * an existing history table as it is.
 */
function callStatement(deps: ConsolidateDependencies, state: ObjectState): StatementRequest {
  const { plan, run } = state;
  const layout = layoutOf(plan, deps.layout);
  const parameters = {
    staging_schema: layout.stagingSchema,
    final_schema: layout.finalSchema,
    table_name: plan.targetTable,
    pk_column: plan.primaryKey.toLowerCase(),
    cursor_column: plan.cursorField.toLowerCase(),
    delete_mode: plan.deleteMode,
    run_id: run.runId,
    sync_mode: plan.syncMode,
  };
  return objectStatement(
    deps.statementNamePrefix,
    state,
    'consolidate',
    'consolidate_object',
    plan.history ? CONSOLIDATE_WITH_HISTORY_SQL : CONSOLIDATE_SQL,
    plan.history ? { ...parameters, history_schema: historySchemaOf(layout.finalSchema) } : parameters,
  );
}

function figuresOf(
  row: Record<string, unknown> | undefined,
  valuesTruncated: number,
  history: boolean,
): ConsolidationFigures {
  const number = (value: unknown) => Number(value ?? 0);
  return {
    rowsStaged: number(row?.rows_staged),
    duplicatesRemoved: number(row?.duplicates_removed),
    rowsInserted: number(row?.rows_inserted),
    rowsDeleted: number(row?.rows_deleted),
    rowsPurged: number(row?.rows_purged),
    rowsUpdated: number(row?.rows_updated),
    rowsUnchanged: number(row?.rows_unchanged),
    valuesTruncated,
    ...(history
      ? {
          historyVersionsAdded: number(row?.history_versions_added),
          historyVersionsClosed: number(row?.history_versions_closed),
        }
      : {}),
  };
}

/**
 * The step: the consolidation of what the incremental flow staged (none when it found nothing),
 * then the run's column refresh, if one is due (issue 21: its flow ran after the incremental
 * flow, so its values are the newer; the CALL runs after the consolidation, so it also reaches
 * the rows this run inserted). `consolidation.state` is FINISHED once the consolidation is; a
 * refresh statement still running leaves `waiting` for the state machine.
 */
export async function consolidate(deps: ConsolidateDependencies, state: ObjectState): Promise<ObjectState> {
  let next = state;
  if (state.consolidation?.state !== 'FINISHED') {
    const nothingStaged = state.extract !== undefined && state.extract.recordsProcessed === 0;
    next = nothingStaged
      ? { ...state, consolidation: { state: 'FINISHED' } }
      : await consolidateStaged(deps, state);
    if (next.consolidation?.state !== 'FINISHED') return next;
  }
  return next.refresh ? callRefreshColumns(deps, next) : next;
}

/**
 * The consolidation in three parts, each statement kept in the state so that no part is sent
 * twice: the truncated values are counted in staging (the CALL empties it), the CALL consolidates
 * (ONE parameterised statement: the procedure adds the final table's missing columns itself,
 * inside the CALL's transaction), and its audit row is read. Each is waited on while the budget
 * lasts; one still running is handed to the state machine (`waiting`), and the next invocation
 * goes on from there.
 */
async function consolidateStaged(deps: ConsolidateDependencies, state: ObjectState): Promise<ObjectState> {
  // `waiting` stays until the consolidation ends: a statement still running waits twice as long next time.
  const runner = { client: deps.redshift, target: deps.target };
  const { plan, run } = state;
  let progress: ConsolidationState = state.consolidation ?? {
    state: 'RUNNING',
    counting: { done: 0, total: 0 },
  };

  if (progress.counting) {
    const { stagingSchema } = layoutOf(plan, deps.layout);
    const counts = valuesTruncatedSql(
      stagingSchema,
      plan.targetTable,
      extractFlowOf(state)?.truncatedColumns ?? [],
    );
    let { done, current: slot, total } = progress.counting;
    while (done < counts.length) {
      slot = await runStatement(
        runner,
        objectStatement(
          deps.statementNamePrefix,
          state,
          `count${done + 1}`,
          'count truncated values',
          counts[done],
        ),
        slot,
        deps.budget,
      );
      if (slot.status !== 'FINISHED') {
        progress = { ...progress, counting: { done, current: slot, total } };
        return waitingOn(state, { consolidation: progress }, slot, 'count truncated values');
      }
      const [row] = await fetchRows(deps.redshift, slot.id);
      total += Number(row?.values_truncated ?? 0);
      done += 1;
      slot = undefined;
    }
    const { counting: _counted, ...rest } = progress;
    progress = { ...rest, valuesTruncated: total };
  }

  const call = await runStatement(runner, callStatement(deps, state), progress.call, deps.budget);
  progress = { ...progress, call, statementId: call.id };
  if (call.status !== 'FINISHED')
    return waitingOn(state, { consolidation: progress }, call, 'consolidate_object');

  const audit = await runStatement(
    runner,
    objectStatement(deps.statementNamePrefix, state, 'audit', 'read the audit row', AUDIT_SQL, {
      run_id: run.runId,
      final_schema: layoutOf(plan, deps.layout).finalSchema,
      table_name: plan.targetTable,
    }),
    progress.audit,
    deps.budget,
  );
  if (audit.status !== 'FINISHED')
    return waitingOn(state, { consolidation: { ...progress, audit } }, audit, 'read the audit row');
  const [row] = await fetchRows(deps.redshift, audit.id);
  const figures = figuresOf(row, progress.valuesTruncated ?? 0, plan.history === true);
  // The CALL's own runtime, for the metrics: the statement is this role's, so it may be described.
  const callStatus = await checkStatement(deps.redshift, call.id, `${plan.objectName}: consolidate_object`);
  publishConsolidationMetrics(plan.objectName, figures, callStatus.raw);
  const { waiting: _answered, ...rest } = state;
  return {
    ...rest,
    consolidation: {
      state: 'FINISHED',
      statementId: call.id,
      ...(progress.valuesTruncated ? { valuesTruncated: progress.valuesTruncated } : {}),
      figures,
    },
  };
}

export const handler = async (state: ObjectState, context: Context): Promise<ObjectState> => {
  const next = await consolidate(
    {
      redshift,
      target,
      layout,
      budget: budgetOf(context, RESERVED_MS),
      statementNamePrefix: STATEMENT_NAME_PREFIX,
    },
    state,
  );
  logger.info('Consolidation', {
    ...objectKeys(state),
    state: next.consolidation?.state,
    waiting: next.waiting,
    figures: next.consolidation?.figures,
    ...(next.refresh ? { refreshed: next.refresh.columns, refreshFigures: next.refresh.figures } : {}),
  });
  return next;
};
