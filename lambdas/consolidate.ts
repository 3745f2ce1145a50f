import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { optionalEnv } from './common/environment';
import {
  type ConsolidationFigures,
  type ConsolidationState,
  nextWaitSeconds,
  type ObjectState,
  STATEMENT_WAIT_SCHEDULE,
} from './common/object-state';
import { logger, objectKeys, publishObjectMetrics } from './common/observability';
import { addPendingColumns } from './common/structure-sync';
import {
  checkStatement,
  query,
  sqlLiteral,
  submitBatch,
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
  COALESCE(SUM(rows_deleted), 0) AS rows_deleted,
  COALESCE(SUM(rows_purged), 0) AS rows_purged
FROM public.consolidation_audit
WHERE run_id = :run_id AND final_schema = :final_schema AND table_name = :table_name`;

async function readFigures(deps: ConsolidateDependencies, state: ObjectState): Promise<ConsolidationFigures> {
  const [row] = await query(deps.redshift, deps.target, AUDIT_SQL, {
    run_id: state.run.runId,
    final_schema: deps.layout.finalSchema,
    table_name: state.plan.targetTable,
  });
  const number = (value: unknown) => Number(value ?? 0);
  return {
    rowsStaged: number(row?.rows_staged),
    duplicatesRemoved: number(row?.duplicates_removed),
    rowsInserted: number(row?.rows_inserted),
    rowsDeleted: number(row?.rows_deleted),
    rowsPurged: number(row?.rows_purged),
  };
}

/**
 * New source columns reach the final table in the same transaction as the CALL that fills
 * them: if the CALL fails they are not there either, and the next run reloads in full
 * again. A batch takes no parameters, so its CALL carries literals of validated values.
 */
async function submitConsolidation(deps: ConsolidateDependencies, state: ObjectState): Promise<string> {
  const { plan, run } = state;
  const values = {
    staging_schema: deps.layout.stagingSchema,
    final_schema: deps.layout.finalSchema,
    table_name: plan.targetTable,
    pk_column: plan.primaryKey.toLowerCase(),
    cursor_column: plan.cursorField.toLowerCase(),
    delete_mode: plan.deleteMode,
    run_id: run.runId,
    sync_mode: plan.syncMode,
  };
  const statementName = `consolidate-${plan.targetTable}-${run.runId}`.slice(0, 500);
  const pending = state.flow?.finalColumnsPending ?? [];
  if (pending.length === 0) {
    return submitStatement(deps.redshift, deps.target, CONSOLIDATE_SQL, values, statementName);
  }
  const existing = await query(
    deps.redshift,
    deps.target,
    'SELECT column_name FROM information_schema.columns WHERE table_schema = :final_schema AND table_name = :table_name',
    { final_schema: values.final_schema, table_name: values.table_name },
  );
  const alters = addPendingColumns(
    deps.layout,
    plan.targetTable,
    pending,
    new Set(existing.map((row) => String(row.column_name))),
  );
  const call = CONSOLIDATE_SQL.replace(/:(\w+)/g, (_, name: keyof typeof values) => sqlLiteral(values[name]));
  return submitBatch(deps.redshift, deps.target, [...alters, call], statementName);
}

/**
 * Submits the consolidation (first call) or looks at it again (calls from the Wait loop),
 * waiting inside the Lambda briefly so that most objects need no Wait state at all.
 */
export async function consolidate(deps: ConsolidateDependencies, state: ObjectState): Promise<ObjectState> {
  const { plan } = state;
  const what = `${plan.objectName}: consolidate_object`;
  const previous = state.consolidation;
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
    };
    return { ...state, consolidation };
  }
  const figures = await readFigures(deps, state);
  publishObjectMetrics(plan.objectName, {
    RowsStaged: figures.rowsStaged,
    DuplicatesRemoved: figures.duplicatesRemoved,
    RowsInserted: figures.rowsInserted,
    RowsDeleted: figures.rowsDeleted,
  });
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
