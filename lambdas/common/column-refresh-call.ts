import type { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { REFRESH_AUDIT_SQL, REFRESH_COLUMNS_SQL, refreshColumnsParameters } from './column-refresh';
import type { ObjectState, RefreshFigures, RefreshState } from './object-state';
import { publishObjectMetrics } from './observability';
import { layoutOf } from './run-plan';
import { objectStatement, waitingOn } from './statement-waits';
import {
  fetchRows,
  runStatement,
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
  const call = await runStatement(
    runner,
    objectStatement(
      deps.statementNamePrefix,
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
  if (call.status !== 'FINISHED') return waitingOn(state, { refresh }, call, 'refresh_columns');

  const audit = await runStatement(
    runner,
    objectStatement(
      deps.statementNamePrefix,
      state,
      'refresh-audit',
      'read the refresh audit',
      REFRESH_AUDIT_SQL,
      {
        run_id: run.runId,
        final_schema: layout.finalSchema,
        table_name: plan.targetTable,
      },
    ),
    refresh.audit,
    deps.budget,
  );
  refresh = { ...refresh, audit };
  if (audit.status !== 'FINISHED') return waitingOn(state, { refresh }, audit, 'read the refresh audit');
  const [row] = await fetchRows(deps.redshift, audit.id);
  const figures = figuresOf(row);
  // Once: a refresh with figures is not called again (above).
  publishObjectMetrics(plan.objectName, { RowsRefreshed: figures.rowsRefreshed });
  const { waiting: _answered, ...rest } = state;
  return { ...rest, refresh: { ...refresh, figures } };
}
