import type { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { REFRESH_AUDIT_SQL, REFRESH_COLUMNS_SQL, refreshColumnsParameters } from './column-refresh';
import type { ObjectState, RefreshFigures, RefreshState } from './object-state';
import { layoutOf } from './run-plan';
import { statementNameFor, statementWaitFor } from './statement-waits';
import {
  fetchRows,
  runStatement,
  type StatementRequest,
  type TimeBudget,
  type WarehouseLayout,
  type WarehouseTarget,
} from './warehouse';

/** What the refresh's statements need (Consolidate's dependencies). */
export interface RefreshCallDependencies {
  redshift: RedshiftDataClient;
  target: WarehouseTarget;
  layout: WarehouseLayout;
  budget: TimeBudget;
  statementNamePrefix: string;
}

function refreshStatement(
  deps: RefreshCallDependencies,
  state: ObjectState,
  step: string,
  what: string,
  sql: string,
  parameters: Record<string, string>,
): StatementRequest {
  const { plan, run } = state;
  return {
    what: `${plan.objectName}: ${what}`,
    name: statementNameFor(deps.statementNamePrefix, plan.objectName, step, run.runId),
    idempotencyKey: `${run.runId}/${plan.objectName}/${step}`,
    sql,
    parameters,
  };
}

function figuresOf(row: Record<string, unknown> | undefined): RefreshFigures {
  const number = (value: unknown) => Number(value ?? 0);
  return {
    rowsStaged: number(row?.rows_staged),
    keysMatched: number(row?.keys_matched),
    keysMissing: number(row?.keys_missing),
    rowsRefreshed: number(row?.rows_refreshed),
  };
}

/**
 * The column refresh's warehouse side (issue 21), after the consolidation: `CALL refresh_columns`
 * (one transaction: the changed values of the refreshed columns, the refresh table emptied, the
 * columns' pending flags cleared, an audit row) and the read of its audit rows. Both are kept in
 * `state.refresh` so that neither is sent twice; one still running is handed to the state machine
 * (`waiting`), and the next Consolidate goes on from there.
 */
export async function callRefreshColumns(
  deps: RefreshCallDependencies,
  state: ObjectState,
): Promise<ObjectState> {
  let refresh = state.refresh as RefreshState;
  if (refresh.figures) return state;
  const runner = { client: deps.redshift, target: deps.target };
  const { plan, run } = state;
  const layout = layoutOf(plan, deps.layout);
  const waitingOn = (next: RefreshState, slot: NonNullable<RefreshState['call']>, what: string) => ({
    ...state,
    refresh: next,
    waiting: statementWaitFor(slot, `${plan.objectName}: ${what}`, state.waiting),
  });

  const call = await runStatement(
    runner,
    refreshStatement(
      deps,
      state,
      'refresh',
      'refresh_columns',
      REFRESH_COLUMNS_SQL,
      refreshColumnsParameters(
        layout,
        plan.targetTable,
        plan.primaryKey.toLowerCase(),
        refresh.columns,
        run.runId,
      ),
    ),
    refresh.call,
    deps.budget,
  );
  refresh = { ...refresh, call };
  if (call.status !== 'FINISHED') return waitingOn(refresh, call, 'refresh_columns');

  const audit = await runStatement(
    runner,
    refreshStatement(deps, state, 'refresh-audit', 'read the refresh audit', REFRESH_AUDIT_SQL, {
      run_id: run.runId,
      final_schema: layout.finalSchema,
      table_name: plan.targetTable,
    }),
    refresh.audit,
    deps.budget,
  );
  refresh = { ...refresh, audit };
  if (audit.status !== 'FINISHED') return waitingOn(refresh, audit, 'read the refresh audit');
  const [row] = await fetchRows(deps.redshift, audit.id);
  const { waiting: _answered, ...rest } = state;
  return { ...rest, refresh: { ...refresh, figures: figuresOf(row) } };
}
