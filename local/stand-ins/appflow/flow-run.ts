import { randomUUID } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import type { FaultInjector } from '../fault-injector';
import { errorMessage } from '../http-service';
import type { SimulatedClock } from '../simulated-clock';
import type { SourceFieldType, SourceOrg } from '../source-org';
import type { FlowPlan } from './flow-plan';
import { matchesFilter, passesValidation, truncateText } from './flow-tasks';
import { type LoadColumn, loadStagingRows } from './staging-load';

export type ExecutionStatus = 'InProgress' | 'Successful' | 'Error';

export interface FlowExecution {
  executionId: string;
  outcome: Exclude<ExecutionStatus, 'InProgress'>;
  message?: string;
  recordsProcessed: number;
  bytesProcessed: number;
  bytesWritten: number;
  putFailuresCount: number;
  startedAt: Date;
  finishedAt: Date;
  /** DescribeFlowExecutionRecords calls that have seen this run; the outcome shows after `pollsUntilDone`. */
  describesSeen: number;
}

/** What AppFlow asks of S3 when it stages a Redshift load in an intermediate bucket (contract 3). */
export interface StagingBucketRequest {
  flowName: string;
  bucketName: string;
  actions: string[];
  keys: string[];
}

export type StagingBucketAccess = (request: StagingBucketRequest) => Promise<void>;

/**
 * The S3 actions AppFlow performs on an intermediate bucket for a Redshift destination
 * (AppFlow User Guide, "Amazon Redshift" destination requirements / S3 bucket policy):
 * multipart uploads of the staged files, and the ACL calls of its writes.
 */
export const STAGING_BUCKET_ACTIONS: readonly string[] = [
  's3:PutObject',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
  's3:ListBucketMultipartUploads',
  's3:GetBucketAcl',
  's3:PutObjectAcl',
];

export interface FlowRunDependencies {
  org: SourceOrg;
  db: PGlite;
  faults: FaultInjector;
  clock: SimulatedClock;
  /** Database user the staging rows are inserted as. */
  databaseUser?: string;
  /** Rows per multi-row INSERT into the destination table. */
  insertBatchRows: number;
  stagingBucketAccess?: StagingBucketAccess;
}

const RECORDS_PER_API_REQUEST = 2000;
const QUOTA_EXCEEDED_MESSAGE = 'REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.';

/** The object keys a run stages under the destination's bucket prefix: `<prefix>/<flow>/<execution>/…`. */
function stagedObjectKeys(plan: FlowPlan, flowName: string, executionId: string): string[] {
  const prefix = plan.bucketPrefix ? `${plan.bucketPrefix.replace(/\/+$/, '')}/` : '';
  return [`${prefix}${flowName}/${executionId}/${randomUUID()}`];
}

/**
 * One flow run: reads the source through the flow's filters, applies projection,
 * validation and truncation, stages the rows in S3 (the caller's access check) and loads
 * them into the destination table. A DuplicateWrite fault writes the first page again,
 * as AppFlow does when it retries a page whose first write it believes failed.
 */
export async function runFlow(
  flowName: string,
  plan: FlowPlan,
  executionId: string,
  deps: FlowRunDependencies,
): Promise<FlowExecution> {
  const { org, clock, faults } = deps;
  const startedAt = clock.now();
  const execution: FlowExecution = {
    executionId,
    outcome: 'Successful',
    recordsProcessed: 0,
    bytesProcessed: 0,
    bytesWritten: 0,
    putFailuresCount: 0,
    startedAt,
    finishedAt: startedAt,
    describesSeen: 0,
  };
  const fail = (message: string): FlowExecution => {
    execution.outcome = 'Error';
    execution.message = message;
    execution.finishedAt = clock.now();
    return execution;
  };

  const injected = faults.take('appflow', 'FlowRun', plan.sourceObject);
  if (injected !== undefined) {
    return fail(injected);
  }

  // Filters are pushed down to the source query, so they bound what the API calls return; deleted
  // records come only when the flow includes them (Salesforce's queryAll rather than query).
  let records = org.query(plan.sourceObject, { includeDeleted: plan.includeDeletedRecords });
  try {
    for (const task of plan.tasks) {
      if (task.kind === 'filter') {
        records = records.filter((record) => matchesFilter(record, task));
      }
    }
  } catch (error) {
    return fail(errorMessage(error));
  }
  // The query selects the projected fields only (SOQL SELECT of the projection): what the source
  // sends, and what bytesProcessed counts, is those fields' values.
  const projection = plan.tasks.find((task) => task.kind === 'projection');
  const readableFields = projection ? new Set(projection.fields) : undefined;
  if (readableFields) {
    records = records.map((record) =>
      Object.fromEntries(Object.entries(record).filter(([field]) => readableFields.has(field))),
    );
  }
  // Only Salesforce reads spend the org's daily API requests; a custom connector reads its own source.
  if (
    plan.sourceConnectorType === 'Salesforce' &&
    !org.consumeApiRequests(1 + Math.ceil(records.length / RECORDS_PER_API_REQUEST))
  ) {
    return fail(QUOTA_EXCEEDED_MESSAGE);
  }
  execution.bytesProcessed = Buffer.byteLength(JSON.stringify(records));

  const readValue = (record: Record<string, unknown>, field: string): unknown =>
    readableFields === undefined || readableFields.has(field) ? record[field] : null;

  for (const task of plan.tasks) {
    if (task.kind !== 'validate') {
      continue;
    }
    const invalid = records.filter(
      (record) => !passesValidation(readValue(record, task.field), task.operator),
    );
    if (invalid.length > 0 && task.action === 'TerminateFlow') {
      return fail(`Validation ${task.operator} failed on ${task.field} for ${invalid.length} record(s)`);
    }
    if (task.action === 'DropRecord') {
      records = records.filter((record) => passesValidation(readValue(record, task.field), task.operator));
    }
  }

  for (const task of plan.tasks) {
    if (task.kind === 'truncate') {
      for (const record of records) {
        record[task.field] = truncateText(record[task.field], task.length);
      }
    }
  }

  const mapping = columnMapping(plan, org, readableFields);
  const rows = records.map((record) => mapping.map(({ sourceField }) => readValue(record, sourceField)));
  const recordIds = records.map((record) => String(record.Id ?? record.id ?? '?'));
  // Taken only by a run with rows, so the fault lands where it has an effect.
  if (rows.length > 0 && faults.take('appflow', 'DuplicateWrite', plan.sourceObject) !== undefined) {
    // The retried page: the first half of the records (at least one), written a second time.
    const retried = Math.ceil(rows.length / 2);
    rows.push(...rows.slice(0, retried));
    recordIds.push(...recordIds.slice(0, retried));
  }

  try {
    if (deps.stagingBucketAccess) {
      await deps.stagingBucketAccess({
        flowName,
        bucketName: plan.intermediateBucketName,
        actions: [...STAGING_BUCKET_ACTIONS],
        keys: stagedObjectKeys(plan, flowName, executionId),
      });
    }
  } catch (error) {
    return fail(
      `Failed to stage ${plan.sourceObject} in S3 bucket ${plan.intermediateBucketName}: ${errorMessage(error)}`,
    );
  }

  try {
    await loadStagingRows(
      {
        db: deps.db,
        objectName: plan.sourceObject,
        table: plan.destinationTable,
        columns: mapping.map(({ column, sourceType }): LoadColumn => ({ column, sourceType })),
        rows,
        recordIds,
        ...(deps.databaseUser === undefined ? {} : { databaseUser: deps.databaseUser }),
      },
      deps.insertBatchRows,
    );
  } catch (error) {
    execution.recordsProcessed = records.length;
    execution.putFailuresCount = records.length;
    return fail(errorMessage(error));
  }
  // AppFlow counts the records it read; it does not know a retried page landed twice.
  execution.recordsProcessed = records.length;
  execution.bytesWritten = Buffer.byteLength(JSON.stringify(rows));
  execution.finishedAt = clock.now();
  return execution;
}

/** Source field → destination column (lower case, as Redshift folds names), in task order. */
function columnMapping(
  plan: FlowPlan,
  org: SourceOrg,
  readableFields: Set<string> | undefined,
): { sourceField: string; column: string; sourceType: SourceFieldType }[] {
  const types = new Map(org.fields(plan.sourceObject).map((field) => [field.name, field.type]));
  const typeOf = (field: string): SourceFieldType => types.get(field) ?? 'string';
  const mapping: { sourceField: string; column: string; sourceType: SourceFieldType }[] = [];
  for (const task of plan.tasks) {
    if (task.kind === 'map') {
      mapping.push({
        sourceField: task.sourceField,
        column: task.destinationField.toLowerCase(),
        sourceType: typeOf(task.sourceField),
      });
    } else if (task.kind === 'mapAll') {
      for (const field of org.fields(plan.sourceObject)) {
        if (readableFields === undefined || readableFields.has(field.name)) {
          mapping.push({ sourceField: field.name, column: field.name.toLowerCase(), sourceType: field.type });
        }
      }
    }
  }
  return mapping;
}
