import type { CreateFlowCommandInput } from '@aws-sdk/client-appflow';
import { quoteDatabaseUser } from './database-user';
import { SchemaMismatchError } from './errors';
import { buildCreateFlowRequest, type FlowSettings, flowNameFor } from './flow-definition';
import type { RefreshReason } from './formula-refresh';
import type { ObjectPlan } from './run-plan';
import type { SourceField } from './source-fields';
import { columnDefinition, type PlannedColumn, type TypeChange } from './structure-sync';
import { quoteIdent, type WarehouseLayout } from './warehouse';

/**
 * A column refresh (issue 21): a temporary flow extracts the primary key and chosen fields of
 * every record (no cursor filter, deleted records excluded) into `<staging>._refresh_<table>`,
 * and `CALL refresh_columns(...)` (sql/030) rewrites those columns of the final rows whose values
 * differ. It serves formula fields (Salesforce moves no cursor when a formula's value changes),
 * a row's `refreshFields`, new columns and type-changed columns. Nothing here talks to AWS.
 */

/** `_refresh_<table>`: a targetTable never starts with an underscore, so no object's staging table has this name. */
export const REFRESH_TABLE_PREFIX = '_refresh_';

export function refreshTableName(targetTable: string): string {
  return `${REFRESH_TABLE_PREFIX}${targetTable}`;
}

export interface ColumnRefreshPlan {
  /** The primary key first, then the fields to refresh; what the refresh flow selects. */
  flowFields: SourceField[];
  /** The refreshed columns (lower case), for the CALL and the report's `columnsRefreshed`. */
  columns: string[];
  reasons: RefreshReason[];
  /** `syncReason` of the run: the first reason (the load itself stays incremental). */
  syncReason: RefreshReason;
  /**
   * Every due formula and `refreshFields` column is in `columns` (none was left out for the
   * CALL's 30,000-byte limit): only then does the run count as the formulas' refresh.
   */
  formulasComplete: boolean;
}

/** What `refresh_columns` accepts in its comma-separated column list (sql/030). */
export const MAX_REFRESH_COLUMNS_BYTES = 30_000;

export interface ColumnRefreshInput {
  objectName: string;
  /** The selected fields (`selectSourceFields`). */
  fields: SourceField[];
  primaryKey: string;
  cursorField: string;
  /** Fields the source marks calculated (Salesforce describe `calculated: true`); none for custom connectors. */
  calculatedFields: readonly string[];
  /** The row's `refreshFields`: fields that change without moving the cursor. */
  refreshFields?: readonly string[];
  /** Whether formulas and refreshFields are due (`formulaRefreshDue`). */
  formulaDue: boolean;
  /** Columns the structure sync listed (`TableChanges.refreshColumns`): new and type-changed ones. */
  structureColumns: readonly string[];
  /** `TableChanges.typeChanges`, to tell the reasons apart. */
  typeChanges?: readonly TypeChange[];
}

/**
 * What a refresh of this run covers, or `undefined` when none is due. The key, the cursor and
 * `IsDeleted` are never refreshed (a refresh moves no cursor and no delete). Every `refreshFields`
 * entry is a selected field: selectSourceFields selects them and fails, naming them, when the
 * source lacks one.
 */
export function planColumnRefresh(input: ColumnRefreshInput): ColumnRefreshPlan | undefined {
  const byName = new Map(input.fields.map((field) => [field.name, field]));
  const byColumn = new Map(input.fields.map((field) => [field.column, field]));
  const never = new Set([input.primaryKey, input.cursorField, 'IsDeleted']);
  const chosen = new Map<string, RefreshReason>();
  const typeChanged = new Set((input.typeChanges ?? []).map((change) => byName.get(change.field)?.column));
  for (const column of input.structureColumns) {
    const field = byColumn.get(column);
    if (field && !never.has(field.name))
      chosen.set(field.column, typeChanged.has(column) ? 'type-change' : 'new-columns');
  }
  if (input.formulaDue) {
    for (const name of [...input.calculatedFields, ...(input.refreshFields ?? [])]) {
      const field = byName.get(name);
      if (field && !never.has(field.name) && !chosen.has(field.column))
        chosen.set(field.column, 'formula-refresh');
    }
  }
  if (chosen.size === 0) return undefined;
  const key = byName.get(input.primaryKey);
  if (!key)
    throw new SchemaMismatchError(`${input.objectName}: the primary key ${input.primaryKey} is not selected`);
  // The procedure takes at most 30,000 bytes of column names: new and type-changed columns first
  // (what is left stays pending in public.source_column_types), then the formulas.
  const order: RefreshReason[] = ['type-change', 'new-columns', 'formula-refresh'];
  const fitting = new Set<string>();
  let bytes = 0;
  const inOrder = order.flatMap((reason) =>
    input.fields.filter((field) => chosen.get(field.column) === reason),
  );
  for (const field of inOrder) {
    bytes += Buffer.byteLength(field.column) + (fitting.size > 0 ? 1 : 0);
    if (bytes > MAX_REFRESH_COLUMNS_BYTES) break;
    fitting.add(field.column);
  }
  const refreshed = input.fields.filter((field) => fitting.has(field.column));
  const reasons = order.filter((reason) => refreshed.some((field) => chosen.get(field.column) === reason));
  return {
    flowFields: [key, ...refreshed],
    columns: refreshed.map((field) => field.column),
    reasons,
    syncReason: reasons[0],
    formulasComplete: [...chosen].every(
      ([column, reason]) => reason !== 'formula-refresh' || fitting.has(column),
    ),
  };
}

/**
 * The refresh table, dropped and created again (one batch: one transaction) before the refresh flow runs:
 * the key and the refreshed columns with the final table's types (the CALL then compares like
 * with like), distributed and sorted on the key like the final table, granted to AppFlow's user.
 * Run it only when no refresh flow of this object and run exists (as staging is cleared only
 * before a flow run starts): StartExtract runs it with the structure sync, before the incremental
 * flow; the refresh flow is created after that flow ended, so a retry that adopts a running refresh
 * flow never drops what it writes.
 */
export function refreshTableStatements(
  layout: WarehouseLayout,
  targetTable: string,
  primaryKeyColumn: string,
  finalColumns: readonly PlannedColumn[],
  columns: readonly string[],
  appflowDatabaseUser?: string,
): string[] {
  const types = new Map(finalColumns.map((column) => [column.column, column]));
  const wanted = [primaryKeyColumn, ...columns.filter((column) => column !== primaryKeyColumn)];
  const definitions = wanted.map((column) => {
    const planned = types.get(column);
    if (!planned) throw new Error(`${targetTable}: column ${column} is not a column of the final table`);
    return columnDefinition(column, planned.columnType, column === primaryKeyColumn);
  });
  const table = `${quoteIdent(layout.stagingSchema)}.${quoteIdent(refreshTableName(targetTable))}`;
  const statements = [
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TABLE ${table} (${definitions.join(', ')}) DISTKEY(${quoteIdent(primaryKeyColumn)}) SORTKEY(${quoteIdent(primaryKeyColumn)})`,
  ];
  // USAGE on the staging schema is the precheck's, once per run (schema-level work of concurrent
  // children collides in the catalog).
  if (appflowDatabaseUser)
    statements.push(`GRANT INSERT, SELECT ON TABLE ${table} TO ${quoteDatabaseUser(appflowDatabaseUser)}`);
  return statements;
}

/** The procedure call (sql/030), every value a Data API parameter. */
export const REFRESH_COLUMNS_SQL =
  'CALL refresh_columns(:staging_schema, :final_schema, :table_name, :refresh_table, :pk_column, :columns, :run_id)';

export function refreshColumnsParameters(
  layout: WarehouseLayout,
  targetTable: string,
  primaryKeyColumn: string,
  columns: readonly string[],
  runId: string,
): Record<string, string> {
  return {
    staging_schema: layout.stagingSchema,
    final_schema: layout.finalSchema,
    table_name: targetTable,
    refresh_table: refreshTableName(targetTable),
    pk_column: primaryKeyColumn,
    columns: columns.join(','),
    run_id: runId,
  };
}

/** The run's refresh figures for the table, summed so that a retried CALL (a no-op) adds zeros. */
export const REFRESH_AUDIT_SQL = `SELECT COALESCE(SUM(rows_staged), 0) AS rows_staged,
  COALESCE(SUM(keys_matched), 0) AS keys_matched,
  COALESCE(SUM(keys_missing), 0) AS keys_missing,
  COALESCE(SUM(rows_refreshed), 0) AS rows_refreshed
FROM public.column_refresh_audit
WHERE run_id = :run_id AND final_schema = :final_schema AND table_name = :table_name`;

/** `<prefix>-<Object>-refresh-<runId>`: an object name has no `-`, so it never names another object's flow. */
export function refreshFlowNameFor(prefix: string, objectName: string, runId: string): string {
  return flowNameFor(prefix, `${objectName}-refresh`, runId);
}

/**
 * The refresh flow: the incremental flow's shape (projection, one Map task per field, Truncate
 * for long text) for the key and the refreshed fields only, with no cursor filter, deleted
 * records excluded (Salesforce `includeDeletedRecords: false`, AppFlow's default: the connector
 * queries live records only), into the refresh table.
 */
export function buildRefreshFlowRequest(
  plan: ObjectPlan,
  refresh: Pick<ColumnRefreshPlan, 'flowFields' | 'reasons'>,
  runId: string,
  settings: FlowSettings,
): CreateFlowCommandInput {
  const request = buildCreateFlowRequest(
    {
      ...plan,
      syncMode: 'full',
      window: {},
      deleteMode: 'ignore',
      targetTable: refreshTableName(plan.targetTable),
    },
    refresh.flowFields,
    runId,
    settings,
  );
  const flowName = refreshFlowNameFor(settings.flowNamePrefix, plan.objectName, runId);
  const destination = request.destinationFlowConfigList?.[0];
  const redshift = destination?.destinationConnectorProperties?.Redshift;
  return {
    ...request,
    flowName,
    // CreateFlow's description allows [\w!@#\-.?,\s]* only: no parentheses or colons.
    description:
      `Temporary column refresh of ${plan.objectName} for run ${runId}, ${refresh.reasons.join(', ')}`.slice(
        0,
        2048,
      ),
    destinationFlowConfigList:
      destination && redshift
        ? [
            {
              ...destination,
              destinationConnectorProperties: {
                Redshift: {
                  ...redshift,
                  bucketPrefix: `staging/${flowName}`,
                  ...(redshift.errorHandlingConfig
                    ? {
                        errorHandlingConfig: {
                          ...redshift.errorHandlingConfig,
                          bucketPrefix: `errors/${flowName}`,
                        },
                      }
                    : {}),
                },
              },
            },
          ]
        : request.destinationFlowConfigList,
  };
}
