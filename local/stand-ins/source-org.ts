import type { SimulatedClock } from './simulated-clock';

export type SourceFieldType =
  | 'id'
  | 'string'
  | 'datetime'
  | 'date'
  | 'boolean'
  | 'double'
  | 'int'
  | 'reference'
  | 'picklist';

export interface SourceField {
  name: string;
  type: SourceFieldType;
}

export interface ApiQuota {
  remaining: number;
  max: number;
}

type SourceRecord = Record<string, unknown>;

interface SourceObject {
  name: string;
  /** Field name → type, in definition order (Map keeps insertion order). */
  fields: Map<string, SourceFieldType>;
  /** Id → record, in creation order. */
  records: Map<string, SourceRecord>;
}

const ISO_DATETIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const DEFAULT_API_QUOTA: ApiQuota = { remaining: 15000, max: 15000 };

function inferFieldType(value: unknown): SourceFieldType {
  if (typeof value === 'boolean') {
    return 'boolean';
  }
  if (typeof value === 'number') {
    return 'double';
  }
  if (typeof value === 'string' && ISO_DATETIME_PATTERN.test(value) && !Number.isNaN(Date.parse(value))) {
    return 'datetime';
  }
  return 'string';
}

/**
 * The simulated Salesforce org behind the AppFlow stand-in: object metadata, records with
 * Salesforce's system fields, soft deletes (IsDeleted) and purges, and the daily API quota.
 * Object names are matched case-insensitively, as Salesforce API names are.
 */
export class SourceOrg {
  private readonly objects = new Map<string, SourceObject>();
  private quota: ApiQuota = { ...DEFAULT_API_QUOTA };
  private generatedIdCount = 0;

  constructor(private readonly clock: SimulatedClock) {}

  /**
   * Defines an object (or adds fields to an existing one). Id, SystemModstamp and IsDeleted
   * always exist, and Name unless the object defines it itself.
   */
  defineObject(name: string, fields: SourceField[]): void {
    const existing = this.objects.get(name.toLowerCase());
    const object: SourceObject = existing ?? {
      name,
      fields: new Map<string, SourceFieldType>([['Id', 'id']]),
      records: new Map<string, SourceRecord>(),
    };
    for (const field of fields) {
      if (field.name !== 'Id') {
        object.fields.set(field.name, field.type);
      }
    }
    for (const [systemField, type] of [
      ['Name', 'string'],
      ['SystemModstamp', 'datetime'],
      ['IsDeleted', 'boolean'],
    ] as const) {
      if (!object.fields.has(systemField)) {
        object.fields.set(systemField, type);
      }
    }
    this.objects.set(name.toLowerCase(), object);
  }

  objectNames(): string[] {
    return [...this.objects.values()].map((object) => object.name);
  }

  hasObject(objectName: string): boolean {
    return this.objects.has(objectName.toLowerCase());
  }

  /** The canonical (defined) spelling of an object name, e.g. 'account' → 'Account'. */
  canonicalName(objectName: string): string {
    return this.requireObject(objectName).name;
  }

  fields(objectName: string): SourceField[] {
    return [...this.requireObject(objectName).fields].map(([name, type]) => ({ name, type }));
  }

  /**
   * Creates or updates records by Id (a record without Id gets a generated one). Given
   * fields replace those fields; a field the object does not have yet is added to its
   * metadata with a type inferred from the value. SystemModstamp comes from the clock
   * unless the record gives one; an upsert always leaves the record not deleted.
   */
  upsert(objectName: string, records: SourceRecord[]): void {
    const object = this.requireObject(objectName);
    for (const given of records) {
      const id = typeof given.Id === 'string' && given.Id !== '' ? given.Id : this.generateId(object);
      const stored = object.records.get(id) ?? { Id: id };
      for (const [field, value] of Object.entries(given)) {
        if (field === 'Id') {
          continue;
        }
        if (!object.fields.has(field)) {
          object.fields.set(field, inferFieldType(value));
        }
        stored[field] = this.normalizeValue(object, field, value);
      }
      if (given.SystemModstamp === undefined || given.SystemModstamp === null) {
        stored.SystemModstamp = this.clock.tick().toISOString();
      }
      stored.IsDeleted = false;
      object.records.set(id, stored);
    }
  }

  /**
   * Salesforce delete: the record moves to the recycle bin, so it stays visible to flows
   * that include deleted records, with IsDeleted true and a new SystemModstamp.
   */
  delete(objectName: string, ids: string[]): void {
    const object = this.requireObject(objectName);
    for (const id of ids) {
      const stored = this.requireRecord(object, id);
      if (stored.IsDeleted === true) {
        continue;
      }
      stored.IsDeleted = true;
      stored.SystemModstamp = this.clock.tick().toISOString();
    }
  }

  /** Removes records with no trace, as an emptied recycle bin does. */
  purge(objectName: string, ids: string[]): void {
    const object = this.requireObject(objectName);
    for (const id of ids) {
      this.requireRecord(object, id);
      object.records.delete(id);
    }
  }

  /** Copies of the records, every defined field present (null when never set). */
  query(objectName: string, opts: { includeDeleted: boolean }): SourceRecord[] {
    const object = this.requireObject(objectName);
    const fieldNames = [...object.fields.keys()];
    const result: SourceRecord[] = [];
    for (const stored of object.records.values()) {
      if (stored.IsDeleted === true && !opts.includeDeleted) {
        continue;
      }
      const copy: SourceRecord = {};
      for (const field of fieldNames) {
        copy[field] = stored[field] ?? null;
      }
      result.push(copy);
    }
    return result;
  }

  /** The current non-deleted records: what the warehouse's final table must equal. */
  truth(objectName: string): SourceRecord[] {
    return this.query(objectName, { includeDeleted: false });
  }

  get apiQuota(): ApiQuota {
    return { ...this.quota };
  }

  setApiQuota(quota: ApiQuota): void {
    if (!(quota.max >= 0) || !(quota.remaining >= 0)) {
      throw new Error(`SourceOrg: invalid API quota ${JSON.stringify(quota)}`);
    }
    this.quota = { remaining: quota.remaining, max: quota.max };
  }

  /** Uses `count` API requests; false (and nothing used) when fewer remain. */
  consumeApiRequests(count: number): boolean {
    if (count > this.quota.remaining) {
      return false;
    }
    this.quota.remaining -= count;
    return true;
  }

  private requireObject(objectName: string): SourceObject {
    const object = this.objects.get(objectName.toLowerCase());
    if (!object) {
      const known = this.objectNames().join(', ') || 'none';
      throw new Error(`SourceOrg: object '${objectName}' does not exist (defined objects: ${known})`);
    }
    return object;
  }

  private requireRecord(object: SourceObject, id: string): SourceRecord {
    const stored = object.records.get(id);
    if (!stored) {
      throw new Error(`SourceOrg: ${object.name} has no record with Id '${id}'`);
    }
    return stored;
  }

  /** Datetimes are kept as ISO strings with milliseconds so that comparisons and output are uniform. */
  private normalizeValue(object: SourceObject, field: string, value: unknown): unknown {
    if (object.fields.get(field) === 'datetime' && (typeof value === 'string' || value instanceof Date)) {
      const parsed = new Date(value);
      if (Number.isNaN(parsed.getTime())) {
        throw new Error(`SourceOrg: ${object.name}.${field} expects a datetime, got '${String(value)}'`);
      }
      return parsed.toISOString();
    }
    return value;
  }

  /** Salesforce-like 18-character Id: a key prefix from the object name plus a counter. */
  private generateId(object: SourceObject): string {
    this.generatedIdCount += 1;
    const prefix = object.name
      .replace(/[^A-Za-z0-9]/g, '')
      .slice(0, 3)
      .padEnd(3, 'X');
    let id = `${prefix}${String(this.generatedIdCount).padStart(15, '0')}`;
    while (object.records.has(id)) {
      this.generatedIdCount += 1;
      id = `${prefix}${String(this.generatedIdCount).padStart(15, '0')}`;
    }
    return id;
  }
}
