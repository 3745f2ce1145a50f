import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { optionalEnv } from './common/environment';
import {
  type ConsolidationFigures,
  type ConsolidationState,
  nextWaitSeconds,
  type ObjectState,
  STATEMENT_WAIT_SCHEDULE,
} from './common/object-state';
import { logger, objectKeys, publishConsolidationMetrics } from './common/observability';
import { layoutOf } from './common/run-plan';
import { TRUNCATE_LENGTH } from './common/source-fields';
import {
  checkStatement,
  chunked,
  query,
  quoteIdent,
  submitStatement,
  type WarehouseLayout,
  type WarehouseTarget,
  waitForStatement,
  warehouseLayoutFromEnv,
  warehouseTargetFromEnv,
} from './common/warehouse';

const layout = warehouseLayoutFromEnv();
const target = warehouseTargetFromEnv();
/** How long one invocation waits for the CALL before handing over to the state machine's Wait loop. */
const IN_LAMBDA_WAIT_MS = Number(optionalEnv('CONSOLIDATION_WAIT_MS') ?? 20_000);
const redshift = new RedshiftDataClient({});

export interface ConsolidateDependencies {
  redshift: RedshiftDataClient;
  target: WarehouseTarget;
  layout: WarehouseLayout;
  waitBudgetMs: number;
}

/** The procedure call of DESIGN.md, every value a Data API parameter. */
export const CONSOLIDATE_SQL =
  'CALL consolidate_object(:staging_schema, :final_schema, :table_name, :pk_column, :cursor_column, :delete_mode, :run_id, :sync_mode)';

/** Summed over the run's audit rows for the table, so a retried CALL (a no-op) adds zeros, not a second count. */
export const AUDIT_SQL = `SELECT COALESCE(SUM(rows_staged), 0) AS rows_staged,
  COALESCE(SUM(duplicates_removed), 0) AS duplicates_removed,
  COALESCE(SUM(rows_inserted), 0) AS rows_inserted,
  COALESCE(SUM(rows_updated), 0) AS rows_updated,
  COALESCE(SUM(rows_unchanged), 0) AS rows_unchanged,
  COALESCE(SUM(rows_deleted), 0) AS rows_deleted,
  COALESCE(SUM(rows_purged), 0) AS rows_purged
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

async function countValuesTruncated(deps: ConsolidateDependencies, state: ObjectState): Promise<number> {
  const columns = state.flow?.truncatedColumns ?? [];
  let total = 0;
  const { stagingSchema } = layoutOf(state.plan, deps.layout);
  for (const sql of valuesTruncatedSql(stagingSchema, state.plan.targetTable, columns)) {
    const [row] = await query(deps.redshift, deps.target, sql);
    total += Number(row?.values_truncated ?? 0);
  }
  return total;
}

async function readFigures(
  deps: ConsolidateDependencies,
  state: ObjectState,
  valuesTruncated: number,
): Promise<ConsolidationFigures> {
  const [row] = await query(deps.redshift, deps.target, AUDIT_SQL, {
    run_id: state.run.runId,
    final_schema: layoutOf(state.plan, deps.layout).finalSchema,
    table_name: state.plan.targetTable,
  });
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
  };
}

/**
 * The consolidation is ONE parameterised ExecuteStatement: the procedure adds the final
 * table's missing columns itself inside the CALL's transaction, so a failed CALL leaves
 * them missing and the next run still reloads in full. States of older versions may carry
 * `finalColumnsPending`; it is ignored.
 */
async function submitConsolidation(deps: ConsolidateDependencies, state: ObjectState): Promise<string> {
  const { plan, run } = state;
  const layout = layoutOf(plan, deps.layout);
  const values = {
    staging_schema: layout.stagingSchema,
    final_schema: layout.finalSchema,
    table_name: plan.targetTable,
    pk_column: plan.primaryKey.toLowerCase(),
    cursor_column: plan.cursorField.toLowerCase(),
    delete_mode: plan.deleteMode,
    run_id: run.runId,
    sync_mode: plan.syncMode,
  };
  const statementName = `consolidate-${plan.targetTable}-${run.runId}`.slice(0, 500);
  return submitStatement(deps.redshift, deps.target, CONSOLIDATE_SQL, values, statementName);
}

/**
 * Submits the consolidation (first call) or looks at it again (calls from the Wait loop),
 * waiting inside the Lambda briefly so that most objects need no Wait state at all.
 */
export async function consolidate(deps: ConsolidateDependencies, state: ObjectState): Promise<ObjectState> {
  const { plan } = state;
  const what = `${plan.objectName}: consolidate_object`;
  const previous = state.consolidation;
  // Counted before the CALL: the consolidated rows leave staging.
  const valuesTruncated = previous
    ? (previous.valuesTruncated ?? 0)
    : await countValuesTruncated(deps, state);
  const statementId = previous?.statementId ?? (await submitConsolidation(deps, state));
  const status = previous
    ? await checkStatement(deps.redshift, statementId, what)
    : await waitForStatement(deps.redshift, statementId, what, deps.waitBudgetMs);
  const polls = (previous?.polls ?? -1) + 1;
  if (status.status !== 'FINISHED') {
    const consolidation: ConsolidationState = {
      statementId,
      state: 'RUNNING',
      polls,
      nextWaitSeconds: nextWaitSeconds(polls, STATEMENT_WAIT_SCHEDULE),
      ...(valuesTruncated > 0 ? { valuesTruncated } : {}),
    };
    return { ...state, consolidation };
  }
  const figures = await readFigures(deps, state, valuesTruncated);
  publishConsolidationMetrics(plan.objectName, figures, status.raw);
  return { ...state, consolidation: { statementId, state: 'FINISHED', polls, nextWaitSeconds: 0, figures } };
}

export const handler = async (state: ObjectState): Promise<ObjectState> => {
  const next = await consolidate({ redshift, target, layout, waitBudgetMs: IN_LAMBDA_WAIT_MS }, state);
  logger.info('Consolidation', {
    ...objectKeys(state),
    state: next.consolidation?.state,
    figures: next.consolidation?.figures,
  });
  return next;
};
