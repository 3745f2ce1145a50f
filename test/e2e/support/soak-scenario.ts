import type { ScenarioInput } from '../../../local/runner/scenario';
import { SeededRandom } from './seeded-random';

type DayInput = ScenarioInput['days'][number];
type FaultInput = NonNullable<DayInput['faults']>[number];
type SourceRecord = Record<string, unknown>;

interface Changes {
  upsert: SourceRecord[];
  delete: string[];
  purge: string[];
}

/** One object of the soak: its control row, and the values its records get. */
interface SoakObject {
  row: Record<string, unknown>;
  idPrefix: string;
  values: (random: SeededRandom, serial: number) => SourceRecord;
}

const INDUSTRIES = ['Banking', 'Energy', 'Media', 'Retail', 'Shipping'];
const STAGES = ['Prospecting', 'Qualification', 'Negotiation', 'Closed Won', 'Closed Lost'];

/**
 * Three objects with different delete modes and a periodic reconciling full sync, so that deletes,
 * undeletes and purges meet each of them.
 */
const SOAK_OBJECTS: SoakObject[] = [
  {
    row: { objectName: 'Account' },
    idPrefix: '001',
    values: (random, serial) => ({
      Name: `Account ${serial}`,
      Industry: random.pick(INDUSTRIES),
      NumberOfEmployees: random.int(1, 5000),
    }),
  },
  {
    row: { objectName: 'Contact', deleteMode: 'soft' },
    idPrefix: '003',
    values: (random, serial) => ({
      Name: `Contact ${serial}`,
      Email: `contact${serial}.${random.int(1, 99)}@example.com`,
    }),
  },
  {
    row: { objectName: 'Opportunity', fullSyncEveryDays: 5 },
    idPrefix: '006',
    values: (random, serial) => ({
      Name: `Opportunity ${serial}`,
      StageName: random.pick(STAGES),
      Amount: random.int(0, 5_000_000) / 100,
    }),
  },
];

/**
 * Redshift's own words for a statement that lost a race with a concurrent transaction: error 1023
 * (serializable isolation), a DDL/DML conflict, and a catalog row updated at the same moment.
 */
export const CONFLICT_ERRORS = [
  'ERROR: 1023 DETAIL: Serializable isolation violation on table - 156112, transactions forming the cycle are: 11390, 11393 (pid:19340)',
  'ERROR: could not complete because of conflict with concurrent transaction',
  'ERROR: tuple concurrently updated',
];

/** Data API capacity errors (its quotas on statements, sessions and queued requests): throttling. */
const CAPACITY_ERRORS = ['ActiveStatementsExceededException', 'ActiveSessionsExceededException'];

/** One execution the soak plays: which scenario day, what it runs and what goes wrong in it. */
export interface SoakExecution {
  index: number;
  date: string;
  kind: 'day' | 'rerun' | 'full sync';
  /** The objects the execution runs. */
  objects: string[];
  faults: FaultInput[];
  statementSeconds?: number;
  /** What the execution plays, in words (SOAK_HAZARDS): changes, reruns, slow statements, faults. */
  hazards: string[];
}

export interface Soak {
  seed: number;
  scenario: ScenarioInput;
  executions: SoakExecution[];
}

export interface SoakOptions {
  seed: number;
  /** Simulated dates; same-day reruns and the final full sync come on top. */
  days: number;
}

/** What the generator knows of an object's records: live, in the recycle bin, or gone. */
interface ObjectRecords {
  live: string[];
  deleted: string[];
  serial: number;
}

/** Every hazard the generator plays; the suite's seed plays each at least once. */
export const SOAK_HAZARDS = [
  'insert',
  'update',
  'delete',
  'undelete',
  'purge of a deleted record',
  'purge of a live record',
  'rerun of every object',
  'rerun of some objects',
  'slow statements',
  'lost statement events',
  'ExecuteStatement capacity error',
  'BatchExecuteStatement capacity error',
  'conflict in the precheck',
  'conflict in an object',
  ...CONFLICT_ERRORS.map((error) => `conflict: ${error.slice(0, 40)}`),
  'DeleteFlow throttled',
  'UpdateItem throttled',
  'DuplicateWrite',
] as const;

/** The hazards a fault plays. */
function faultHazards(fault: FaultInput): string[] {
  switch (fault.operation) {
    case 'ExecuteStatement':
    case 'BatchExecuteStatement':
      return [`${fault.operation} capacity error`];
    case 'Statement':
      return [
        fault.object ? 'conflict in an object' : 'conflict in the precheck',
        `conflict: ${(fault.error ?? '').slice(0, 40)}`,
      ];
    case 'DeleteFlow':
    case 'UpdateItem':
      return [`${fault.operation} throttled`];
    default:
      return [fault.operation];
  }
}

const FIRST_DATE = Date.parse('2026-03-02T00:00:00.000Z');
const dateOf = (offset: number) => new Date(FIRST_DATE + offset * 86_400_000).toISOString().slice(0, 10);

/**
 * A soak scenario from a seed: `days` dates of random inserts, updates, deletes, undeletes and
 * purges, some dates run again the same day (all objects or a few), under random transient faults
 * (Data API capacity errors, serialization conflicts narrowed to an object or not, DeleteFlow and
 * DynamoDB throttling, AppFlow's duplicate writes) and, some days, slow statements; then a final
 * full sync. Every fault is one the pipeline must survive: no execution may fail.
 */
export function soakScenario(options: SoakOptions): Soak {
  const random = new SeededRandom(options.seed);
  const names = SOAK_OBJECTS.map((object) => String(object.row.objectName));
  const records = new Map<string, ObjectRecords>(
    names.map((name) => [name, { live: [], deleted: [], serial: 0 }]),
  );
  const days: DayInput[] = [];
  const executions: SoakExecution[] = [];

  const play = (date: string, kind: SoakExecution['kind'], input: Record<string, unknown>) => {
    const objects = Array.isArray(input.objects) ? (input.objects as string[]) : names;
    const hazards = new Set<string>();
    if (kind === 'rerun') hazards.add(objects === names ? 'rerun of every object' : 'rerun of some objects');
    const changes = Object.fromEntries(
      SOAK_OBJECTS.map((object) => [
        String(object.row.objectName),
        changesFor(random, object, records, days.length === 0 ? 'first' : kind, hazards),
      ]),
    );
    // A duplicated page needs a flow run with records: an object whose changes today it will read.
    const changed = objects.filter((name) => {
      const change = changes[name];
      return change.upsert.length > 0 || change.delete.length > 0;
    });
    const faults = faultsFor(random, objects, changed, kind === 'day' ? random.int(0, 3) : random.int(0, 2));
    const slow = random.chance(0.15);
    const statementSeconds = slow ? random.pick([75, 240, 600]) : undefined;
    // Lost end events matter when statements outlive every step's timeout (120 s): all are handed over.
    const dropStatementEvents =
      statementSeconds && statementSeconds > 120 && random.chance(0.5) ? [random.pick(objects)] : undefined;
    if (statementSeconds) hazards.add('slow statements');
    if (dropStatementEvents) hazards.add('lost statement events');
    for (const fault of faults) for (const hazard of faultHazards(fault)) hazards.add(hazard);
    executions.push({
      index: days.length,
      date,
      kind,
      objects,
      faults,
      ...(statementSeconds ? { statementSeconds } : {}),
      hazards: SOAK_HAZARDS.filter((hazard) => hazards.has(hazard)),
    });
    days.push({
      date,
      changes,
      input,
      faults,
      ...(statementSeconds ? { statementSeconds } : {}),
      ...(dropStatementEvents ? { dropStatementEvents } : {}),
    });
  };

  for (let offset = 0; offset < options.days; offset++) {
    play(dateOf(offset), 'day', {});
    if (offset > 0 && random.chance(0.2)) {
      const narrowed = random.chance(0.5);
      play(dateOf(offset), 'rerun', narrowed ? { objects: random.sample(names, random.int(1, 2)) } : {});
    }
  }
  play(dateOf(options.days), 'full sync', { syncMode: 'full' });
  return {
    seed: options.seed,
    scenario: { objects: SOAK_OBJECTS.map((object) => object.row), days },
    executions,
  };
}

/**
 * One object's changes of the day, disjoint (a record gets one kind of change a day), applied to
 * what the generator knows. An undelete is what Salesforce's is: the record comes back from the
 * recycle bin with its values, IsDeleted false and a new SystemModstamp (the org's upsert of the
 * Id alone does exactly that). Purges empty the recycle bin, or (rarely) hard-delete a live record.
 */
function changesFor(
  random: SeededRandom,
  object: SoakObject,
  known: Map<string, ObjectRecords>,
  kind: 'first' | SoakExecution['kind'],
  hazards: Set<string>,
): Changes {
  const state = known.get(String(object.row.objectName)) as ObjectRecords;
  const small = kind === 'rerun' || kind === 'full sync';
  if (small && random.chance(0.5)) return { upsert: [], delete: [], purge: [] };
  const newRecords = (count: number) =>
    Array.from({ length: count }, () => {
      state.serial += 1;
      const id = `${object.idPrefix}S${String(state.serial).padStart(6, '0')}`;
      return { Id: id, ...object.values(random, state.serial) };
    });
  if (kind === 'first') {
    const inserts = newRecords(random.int(8, 12));
    state.live.push(...inserts.map((record) => String(record.Id)));
    hazards.add('insert');
    return { upsert: inserts, delete: [], purge: [] };
  }
  const most = small ? 1 : 3;
  const inserts = newRecords(random.int(0, most));
  const updated = random.sample(state.live, random.int(0, most));
  const deleted = random.sample(
    state.live.filter((id) => !updated.includes(id)),
    random.int(0, small ? 1 : 2),
  );
  const undeleted = random.chance(0.3) ? random.sample(state.deleted, 1) : [];
  let purged: string[] = [];
  if (random.chance(0.25)) {
    const binned = state.deleted.filter((id) => !undeleted.includes(id));
    const untouched = state.live.filter((id) => !updated.includes(id) && !deleted.includes(id));
    const fromBin = binned.length > 0 && random.chance(0.7);
    purged = random.sample(fromBin ? binned : untouched, 1);
    if (purged.length > 0) hazards.add(fromBin ? 'purge of a deleted record' : 'purge of a live record');
  }
  const updates = updated.map((id) => {
    const values = object.values(random, random.int(1000, 9999));
    const fields = random.sample(Object.keys(values), random.int(1, Object.keys(values).length));
    return { Id: id, ...Object.fromEntries(fields.map((field) => [field, values[field]])) };
  });

  const kinds: [string, unknown[]][] = [
    ['insert', inserts],
    ['update', updates],
    ['delete', deleted],
    ['undelete', undeleted],
  ];
  for (const [hazard, items] of kinds) if (items.length > 0) hazards.add(hazard);
  state.live.push(...inserts.map((record) => String(record.Id)), ...undeleted);
  state.deleted = state.deleted.filter((id) => !undeleted.includes(id));
  state.live = state.live.filter((id) => !deleted.includes(id));
  state.deleted.push(...deleted);
  state.live = state.live.filter((id) => !purged.includes(id));
  state.deleted = state.deleted.filter((id) => !purged.includes(id));
  return {
    upsert: [...inserts, ...updates, ...undeleted.map((id) => ({ Id: id }))],
    delete: deleted,
    purge: purged,
  };
}

/**
 * Transient faults only, each one a call or statement of this execution meets: the objects it
 * names run today, a duplicated page needs records, and a statement is refused at most three
 * times by one fault (a step resubmits a conflicting statement up to six times).
 */
function faultsFor(random: SeededRandom, running: string[], changed: string[], count: number): FaultInput[] {
  const faults: FaultInput[] = [];
  // One conflict per statement (its six submissions), one duplicated page per flow run.
  const conflictTargets = new Set<string>();
  const duplicated = new Set<string>();
  const maybeObject = () => (random.chance(0.5) ? { object: random.pick(running) } : {});
  const kinds: (() => FaultInput | undefined)[] = [
    () => ({
      service: 'redshift-data',
      operation: 'ExecuteStatement',
      ...maybeObject(),
      times: random.int(1, 2),
      error: random.pick(CAPACITY_ERRORS),
    }),
    () => ({
      service: 'redshift-data',
      operation: 'BatchExecuteStatement',
      times: 1,
      error: random.pick(CAPACITY_ERRORS),
    }),
    () => {
      // Narrowed: the object's first statement (its catalog read); unnarrowed: the run's first
      // statement, the precheck's schema batch.
      const object = random.chance(0.6) ? random.pick(running) : undefined;
      const target = object ?? '(precheck)';
      if (conflictTargets.has(target)) return undefined;
      conflictTargets.add(target);
      return {
        service: 'redshift-data',
        operation: 'Statement',
        ...(object ? { object } : {}),
        times: random.int(1, 3),
        error: random.pick(CONFLICT_ERRORS),
      };
    },
    () => ({
      service: 'appflow',
      operation: 'DeleteFlow',
      ...maybeObject(),
      times: random.int(1, 3),
      error: 'ThrottlingException',
    }),
    () => ({
      service: 'dynamodb',
      operation: 'UpdateItem',
      ...maybeObject(),
      times: random.int(1, 4),
      error: 'ProvisionedThroughputExceededException',
    }),
    () => {
      const candidates = changed.filter((name) => !duplicated.has(name));
      if (candidates.length === 0) return undefined;
      const object = random.pick(candidates);
      duplicated.add(object);
      return { service: 'appflow', operation: 'DuplicateWrite', object, times: 1 };
    },
  ];
  for (let attempt = 0; attempt < count * 3 && faults.length < count; attempt++) {
    const fault = random.pick(kinds)();
    if (fault) faults.push(fault);
  }
  return faults;
}
