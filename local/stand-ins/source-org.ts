import type { SimulatedClock } from './simulated-clock';

/**
 * The field types AppFlow reports for Salesforce (`supportedFieldTypeDetails.v1.fieldType`),
 * which are Salesforce's describe types. `address`, `location`, `base64` and `anyType` exist
 * so a scenario can declare them; the pipeline skips them (AppFlow cannot write them to Redshift).
 */
export const SALESFORCE_FIELD_TYPES = [
  'id',
  'reference',
  'string',
  'textarea',
  'picklist',
  'multipicklist',
  'combobox',
  'phone',
  'email',
  'url',
  'encryptedstring',
  'boolean',
  'int',
  'long',
  'double',
  'currency',
  'percent',
  'date',
  'datetime',
  'time',
  'base64',
  'address',
  'location',
  'anyType',
] as const;

/**
 * The types a custom connector reports (`supportedFieldTypeDetails.v1.fieldType`): the AppFlow
 * Custom Connector SDK's FieldDataType names in lower case and the SQL-style labels database
 * connectors (TiDB, MySQL) give them (`bigint`, `string`, `timestamp`, `decimal`, `boolean`, …).
 */
export const CUSTOM_CONNECTOR_FIELD_TYPES = [
  'string',
  'varchar',
  'text',
  'boolean',
  'int',
  'integer',
  'short',
  'smallint',
  'long',
  'bigint',
  'biginteger',
  'double',
  'float',
  'decimal',
  'bigdecimal',
  'numeric',
  'date',
  'datetime',
  'timestamp',
  'time',
] as const;

/** Every type a scenario may declare; which ones an entity accepts depends on its connector. */
export const SOURCE_FIELD_TYPES = [
  ...new Set([...SALESFORCE_FIELD_TYPES, ...CUSTOM_CONNECTOR_FIELD_TYPES]),
] as [SourceFieldType, ...SourceFieldType[]];

export type SourceFieldType =
  | (typeof SALESFORCE_FIELD_TYPES)[number]
  | (typeof CUSTOM_CONNECTOR_FIELD_TYPES)[number];

/**
 * A field as Salesforce describes it: `length` (characters) for text types, `precision`
 * (total digits) and `scale` (digits after the point) for numbers.
 */
export interface SourceField {
  name: string;
  type: SourceFieldType;
  length?: number;
  precision?: number;
  scale?: number;
  /**
   * A formula or roll-up summary (Salesforce describe `calculated: true`): read-only, its value
   * changes without moving SystemModstamp (`recompute`).
   */
  formula?: boolean;
}

/** A field's new declaration in `alterFields`: its type and describe values from now on. */
export type FieldAlteration = Omit<SourceField, 'formula'>;

/** What a scenario's `sourceObjects.<entity>` may say besides its fields. */
export interface SourceObjectOptions {
  /** Connector profile whose simulated source holds the entity; absent: the Salesforce org. */
  profile?: string;
  /**
   * The connector type of that profile (the runner looks it up). Anything but Salesforce is a
   * custom connector's source: key `id`, cursor `updated_at`, no system fields, no soft deletes.
   */
  connectorType?: string;
  /** @default 'Id' (custom connectors: 'id') */
  primaryKey?: string;
  /** @default 'SystemModstamp' (custom connectors: 'updated_at') */
  cursorField?: string;
}

/** True when the entity lives in a custom connector's source rather than the Salesforce org. */
export function isCustomConnectorEntity(options: SourceObjectOptions): boolean {
  return options.connectorType !== undefined && options.connectorType !== 'Salesforce';
}

/** The entity's key and cursor fields, with each kind of source's defaults. */
export function keyFieldsOf(options: SourceObjectOptions): { primaryKey: string; cursorField: string } {
  const custom = isCustomConnectorEntity(options);
  return {
    primaryKey: options.primaryKey ?? (custom ? 'id' : 'Id'),
    cursorField: options.cursorField ?? (custom ? 'updated_at' : 'SystemModstamp'),
  };
}

export interface ApiQuota {
  remaining: number;
  max: number;
}

type SourceRecord = Record<string, unknown>;
type FieldMetadata = Omit<SourceField, 'name'>;

interface SourceObject {
  name: string;
  /** Field name → metadata, in definition order (Map keeps insertion order). */
  fields: Map<string, FieldMetadata>;
  /** Id → record, in creation order. */
  records: Map<string, SourceRecord>;
  options: SourceObjectOptions;
}

type TypeFamily = 'text' | 'integer' | 'decimal' | 'boolean' | 'date' | 'datetime' | 'time' | 'opaque';

/**
 * Per type: the family that decides how values are checked and stored, and the describe
 * values a field gets when its declaration gives none (Salesforce's defaults for standard
 * fields: Ids 18, Text 255, Text Area 255, Phone 40, Email 80, Currency(18,2), …).
 */
const TYPE_CATALOGUE: Record<SourceFieldType, { family: TypeFamily; defaults: Omit<FieldMetadata, 'type'> }> =
  {
    id: { family: 'text', defaults: { length: 18 } },
    reference: { family: 'text', defaults: { length: 18 } },
    string: { family: 'text', defaults: { length: 255 } },
    textarea: { family: 'text', defaults: { length: 255 } },
    picklist: { family: 'text', defaults: { length: 255 } },
    multipicklist: { family: 'text', defaults: { length: 4099 } },
    combobox: { family: 'text', defaults: { length: 255 } },
    phone: { family: 'text', defaults: { length: 40 } },
    email: { family: 'text', defaults: { length: 80 } },
    url: { family: 'text', defaults: { length: 255 } },
    encryptedstring: { family: 'text', defaults: { length: 175 } },
    boolean: { family: 'boolean', defaults: {} },
    int: { family: 'integer', defaults: { precision: 9, scale: 0 } },
    long: { family: 'integer', defaults: { precision: 18, scale: 0 } },
    double: { family: 'decimal', defaults: { precision: 18, scale: 0 } },
    currency: { family: 'decimal', defaults: { precision: 18, scale: 2 } },
    percent: { family: 'decimal', defaults: { precision: 5, scale: 2 } },
    date: { family: 'date', defaults: {} },
    datetime: { family: 'datetime', defaults: {} },
    time: { family: 'time', defaults: {} },
    base64: { family: 'opaque', defaults: {} },
    address: { family: 'opaque', defaults: {} },
    location: { family: 'opaque', defaults: {} },
    anyType: { family: 'opaque', defaults: {} },
    // Custom connectors (values as a database returns them; no Salesforce describe defaults).
    varchar: { family: 'text', defaults: {} },
    text: { family: 'text', defaults: {} },
    integer: { family: 'integer', defaults: {} },
    short: { family: 'integer', defaults: {} },
    smallint: { family: 'integer', defaults: {} },
    bigint: { family: 'integer', defaults: {} },
    biginteger: { family: 'integer', defaults: {} },
    float: { family: 'decimal', defaults: { scale: 9 } },
    decimal: { family: 'decimal', defaults: { precision: 18, scale: 2 } },
    bigdecimal: { family: 'decimal', defaults: { precision: 38, scale: 9 } },
    numeric: { family: 'decimal', defaults: { precision: 18, scale: 2 } },
    timestamp: { family: 'datetime', defaults: {} },
  };

/** Salesforce's largest Long Text Area. */
export const LONG_TEXT_AREA_MAX_LENGTH = 131_072;

const ISO_DATETIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const TIME_PATTERN = /^(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?Z?$/;
const DECIMAL_PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const DEFAULT_API_QUOTA: ApiQuota = { remaining: 15000, max: 15000 };
const SYSTEM_FIELDS: SourceField[] = [
  { name: 'Name', type: 'string', length: 255 },
  { name: 'SystemModstamp', type: 'datetime' },
  { name: 'IsDeleted', type: 'boolean' },
];

export function isSourceFieldType(type: string): type is SourceFieldType {
  return (SOURCE_FIELD_TYPES as readonly string[]).includes(type);
}

/** The types an entity of this kind of source may have. */
function typesFor(custom: boolean): readonly string[] {
  return custom ? CUSTOM_CONNECTOR_FIELD_TYPES : SALESFORCE_FIELD_TYPES;
}

/** The family of a type: text, integer, decimal, boolean, date, datetime, time or opaque. */
export function typeFamily(type: SourceFieldType): TypeFamily {
  return TYPE_CATALOGUE[type].family;
}

/** A declared field completed with its type's describe defaults (`length`, `precision`, `scale`). */
export function describeField(field: SourceField): SourceField {
  const { defaults } = TYPE_CATALOGUE[field.type];
  const described: SourceField = { name: field.name, type: field.type };
  const length = field.length ?? defaults.length;
  const precision = field.precision ?? defaults.precision;
  const scale = field.scale ?? defaults.scale;
  if (length !== undefined) described.length = length;
  if (precision !== undefined) described.precision = precision;
  if (scale !== undefined) described.scale = scale;
  if (field.formula) described.formula = true;
  return described;
}

/** Characters as Salesforce counts them: code points, so '𝄞' is one. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

function decimalsOf(value: number): number {
  const text = String(value);
  if (/e/i.test(text)) return 0;
  return text.split('.')[1]?.length ?? 0;
}

/** A new field's metadata from the first value it gets, as far as one value can tell. */
function inferField(value: unknown, custom = false): FieldMetadata {
  if (typeof value === 'boolean') {
    return { type: 'boolean' };
  }
  if (custom) {
    // A database column: numbers as decimals, instants as timestamps, everything else as text.
    if (typeof value === 'number')
      return { type: 'decimal', precision: 18, scale: Math.min(8, Math.max(2, decimalsOf(value))) };
    if (typeof value === 'string' && ISO_DATETIME_PATTERN.test(value) && !Number.isNaN(Date.parse(value))) {
      return { type: 'timestamp' };
    }
    return { type: 'string' };
  }
  if (typeof value === 'number') {
    // Salesforce rounds a Number field to its scale; keep at least cents so 12.5 stays 12.5.
    return { type: 'double', precision: 18, scale: Math.min(8, Math.max(2, decimalsOf(value))) };
  }
  if (typeof value === 'string' && ISO_DATETIME_PATTERN.test(value) && !Number.isNaN(Date.parse(value))) {
    return { type: 'datetime' };
  }
  if (typeof value === 'string' && characterCount(value) > 255) {
    return { type: 'textarea', length: LONG_TEXT_AREA_MAX_LENGTH };
  }
  return { type: 'string', length: 255 };
}

/**
 * Rounds a decimal text half away from zero to `scale` digits, exactly (no binary floating
 * point on the way), and returns it with exactly `scale` digits after the point.
 */
export function roundDecimal(text: string, scale: number): string | undefined {
  const match = DECIMAL_PATTERN.exec(text.trim());
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return undefined;
  const [, sign, integerDigits, fractionDigits = ''] = match;
  const padded = fractionDigits.padEnd(scale + 1, '0');
  let digits = `${integerDigits || '0'}${padded.slice(0, scale)}`;
  if (Number(padded[scale]) >= 5) {
    // Add one unit in the last place, carrying through the digit string.
    const carried = digits.split('').map(Number);
    let index = carried.length - 1;
    while (index >= 0) {
      carried[index] += 1;
      if (carried[index] < 10) break;
      carried[index] = 0;
      index -= 1;
    }
    digits = `${index < 0 ? '1' : ''}${carried.join('')}`;
  }
  const integerPart = digits.slice(0, digits.length - scale).replace(/^0+(?=\d)/, '') || '0';
  const fractionPart = digits.slice(digits.length - scale);
  const isZero = /^[0.]*$/.test(`${integerPart}${fractionPart}`);
  return `${sign === '-' && !isZero ? '-' : ''}${integerPart}${scale > 0 ? `.${fractionPart}` : ''}`;
}

/** A number as plain decimal text (no exponent), e.g. 1e-7 → '0.0000001'. */
function plainDecimal(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toFixed(20).replace(/\.?0+$/, '');
}

/**
 * The simulated Salesforce org behind the AppFlow stand-in: object metadata (every field
 * type AppFlow reports for Salesforce, with length, precision and scale), records with
 * Salesforce's system fields, soft deletes (IsDeleted) and purges, and the daily API quota.
 * Values are checked and stored as Salesforce does on save: text within its length,
 * numbers rounded to their scale (kept as exact decimal text), dates, datetimes and times
 * in Salesforce's formats. Object names are matched case-insensitively, as API names are.
 */
export class SourceOrg {
  private readonly objects = new Map<string, SourceObject>();
  private quota: ApiQuota = { ...DEFAULT_API_QUOTA };
  private generatedIdCount = 0;

  constructor(private readonly clock: SimulatedClock) {}

  /**
   * Defines an object (or adds and redefines fields of an existing one). Id, Name,
   * SystemModstamp and IsDeleted always exist unless the object defines them itself.
   * A field without length/precision/scale gets its type's describe defaults.
   */
  defineObject(name: string, fields: SourceField[], options: SourceObjectOptions = {}): void {
    const existing = this.objects.get(name.toLowerCase());
    const merged = { ...existing?.options, ...options };
    const custom = isCustomConnectorEntity(merged);
    const { primaryKey, cursorField } = keyFieldsOf(merged);
    const object: SourceObject = existing ?? {
      name,
      // A custom connector's entity has only the fields its table has; Salesforce always has Id.
      fields: new Map<string, FieldMetadata>(custom ? [] : [['Id', { type: 'id', length: 18 }]]),
      records: new Map<string, SourceRecord>(),
      options: {},
    };
    object.options = merged;
    const allowed = typesFor(custom);
    for (const field of fields) {
      if (!allowed.includes(field.type)) {
        const source = custom ? `a ${merged.connectorType} source (profile ${merged.profile})` : 'Salesforce';
        throw new Error(
          `SourceOrg: ${name}.${field.name} has unknown type '${field.type}' for ${source} (known: ${allowed.join(', ')})`,
        );
      }
      if (!custom && field.name === 'Id') {
        continue;
      }
      if (custom && field.formula) {
        throw new Error(
          `SourceOrg: ${name}.${field.name} is declared a formula, but a ${merged.connectorType} source (profile ${merged.profile}) has no formula fields`,
        );
      }
      const { name: _, ...metadata } = describeField(field);
      object.fields.set(field.name, metadata);
    }
    const systemFields: SourceField[] = custom
      ? [
          { name: primaryKey, type: 'string', length: 255 },
          { name: cursorField, type: 'timestamp' },
        ]
      : SYSTEM_FIELDS;
    for (const systemField of systemFields) {
      if (!object.fields.has(systemField.name)) {
        const { name: _, ...metadata } = systemField;
        object.fields.set(systemField.name, metadata);
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

  /** The options a scenario declared for the object (profile, primaryKey, cursorField). */
  objectOptions(objectName: string): SourceObjectOptions {
    return { ...this.requireObject(objectName).options };
  }

  /** Fields with their describe metadata, in definition order. */
  fields(objectName: string): SourceField[] {
    return [...this.requireObject(objectName).fields].map(([name, metadata]) => ({ name, ...metadata }));
  }

  /**
   * Creates or updates records by Id (a record without Id gets a generated one). Given
   * fields replace those fields; a field the object does not have yet is added to its
   * metadata with a type inferred from the value. SystemModstamp comes from the clock
   * unless the record gives one; an upsert always leaves the record not deleted.
   * A value Salesforce would refuse (too long, not a number, …) fails the whole call.
   */
  upsert(objectName: string, records: SourceRecord[]): void {
    const object = this.requireObject(objectName);
    const custom = isCustomConnectorEntity(object.options);
    const { primaryKey, cursorField } = keyFieldsOf(object.options);
    // Salesforce generates Ids; a custom source's key is a column like any other and must be given.
    const idField = custom ? primaryKey : 'Id';
    // New fields are typed from their first non-null value in the call, and only kept if the call succeeds.
    const newFields = new Map<string, { metadata: FieldMetadata; fromValue: boolean }>();
    for (const given of records) {
      for (const [field, value] of Object.entries(given)) {
        if ((!custom && field === 'Id') || object.fields.has(field)) continue;
        const hasValue = value !== null && value !== undefined;
        if (!newFields.has(field) || (hasValue && !newFields.get(field)?.fromValue)) {
          newFields.set(field, { metadata: inferField(value, custom), fromValue: hasValue });
        }
      }
    }
    const readOnly = [...new Set(records.flatMap((given) => Object.keys(given)))].filter(
      (field) => object.fields.get(field)?.formula,
    );
    if (readOnly.length > 0) {
      // Salesforce computes formulas itself and refuses a value for one (recompute sets them here).
      throw new Error(
        `SourceOrg: ${object.name}: Unable to create/update fields: ${readOnly.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set. (INVALID_FIELD_FOR_INSERT_UPDATE)`,
      );
    }
    const metadataOf = (field: string) =>
      (object.fields.get(field) ?? newFields.get(field)?.metadata) as FieldMetadata;
    const prepared = records.map((given) => {
      const values: [string, unknown][] = [];
      for (const [field, value] of Object.entries(given)) {
        if (!custom && field === 'Id') continue;
        values.push([field, this.normalizeValue(object.name, field, metadataOf(field), value)]);
      }
      const keyValue = custom ? values.find(([field]) => field === idField)?.[1] : given.Id;
      if (custom && (keyValue === null || keyValue === undefined || keyValue === '')) {
        throw new Error(
          `SourceOrg: ${object.name} record ${JSON.stringify(given)} has no ${idField} (its key)`,
        );
      }
      const id = typeof keyValue === 'string' || typeof keyValue === 'number' ? String(keyValue) : undefined;
      return { id: id === '' ? undefined : id, given, values };
    });
    for (const [field, { metadata }] of newFields) object.fields.set(field, metadata);
    for (const { id: givenId, given, values } of prepared) {
      const id = givenId ?? this.generateId(object);
      const stored = object.records.get(id) ?? (custom ? {} : { Id: id });
      for (const [field, value] of values) stored[field] = value;
      // The change's time, as the source stamps it, unless the change gives one.
      const stamp = custom ? cursorField : 'SystemModstamp';
      if (given[stamp] === undefined || given[stamp] === null) {
        stored[stamp] = this.clock.tick().toISOString();
      }
      if (!custom) stored.IsDeleted = false;
      object.records.set(id, stored);
    }
  }

  /**
   * Salesforce delete: the record moves to the recycle bin, so it stays visible to flows
   * that include deleted records, with IsDeleted true and a new SystemModstamp.
   */
  delete(objectName: string, ids: string[]): void {
    const object = this.requireObject(objectName);
    if (isCustomConnectorEntity(object.options)) {
      throw new Error(
        `SourceOrg: ${object.name} is held by connector profile ${object.options.profile} (${object.options.connectorType}), which has no soft delete (IsDeleted); use purge to remove records`,
      );
    }
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

  /**
   * Sets field values without moving the cursor, as a formula's recalculation does (a cross-object
   * formula, TODAY(), a roll-up): each change names the record by its primary key and gives the
   * new values. The fields must exist; the key and the cursor cannot be set this way. Values are
   * checked and stored as `upsert` stores them; a bad one fails the whole call.
   */
  recompute(objectName: string, changes: SourceRecord[]): void {
    const object = this.requireObject(objectName);
    const { primaryKey, cursorField } = keyFieldsOf(object.options);
    const prepared = changes.map((change) => {
      const key = change[primaryKey];
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw new Error(
          `SourceOrg: ${object.name} recompute ${JSON.stringify(change)} has no ${primaryKey} (its key)`,
        );
      }
      const stored = this.requireRecord(object, String(key));
      const values: [string, unknown][] = [];
      for (const [field, value] of Object.entries(change)) {
        if (field === primaryKey) continue;
        if (
          field === cursorField ||
          field === 'IsDeleted' ||
          (field === 'Id' && !isCustomConnectorEntity(object.options))
        ) {
          throw new Error(
            `SourceOrg: ${object.name}.${field} cannot be recomputed: a recalculation moves no cursor and deletes nothing`,
          );
        }
        const metadata = object.fields.get(field);
        if (!metadata) {
          throw new Error(
            `SourceOrg: ${object.name} has no field ${field} to recompute (fields: ${[...object.fields.keys()].join(', ')})`,
          );
        }
        values.push([field, this.normalizeValue(object.name, field, metadata, value)]);
      }
      return { stored, values };
    });
    for (const { stored, values } of prepared) {
      for (const [field, value] of values) stored[field] = value;
    }
  }

  /**
   * Changes fields' declared types (or adds fields) from now on, converting every record's value
   * as Salesforce does when a field's type changes: a number becomes its decimal text, a text a
   * number where it parses (else null), a shorter text keeps what fits its new length, a date a
   * datetime at midnight UTC and a datetime its date; what cannot convert (a checkbox to a
   * number, …) is lost (null). The key, the cursor and IsDeleted cannot change. A Salesforce object
   * changes and gains custom (`__c`) fields only, as Salesforce's Setup allows; a custom
   * connector's entity may change any other field.
   */
  alterFields(objectName: string, alterations: FieldAlteration[]): void {
    const object = this.requireObject(objectName);
    const custom = isCustomConnectorEntity(object.options);
    const { primaryKey, cursorField } = keyFieldsOf(object.options);
    const allowed = typesFor(custom);
    const planned = alterations.map((alteration) => {
      if (!allowed.includes(alteration.type)) {
        throw new Error(
          `SourceOrg: ${object.name}.${alteration.name} cannot become unknown type '${alteration.type}' (known: ${allowed.join(', ')})`,
        );
      }
      if ([primaryKey, cursorField, 'Id', 'SystemModstamp', 'IsDeleted'].includes(alteration.name)) {
        throw new Error(
          `SourceOrg: ${object.name}.${alteration.name} is a system field; its type cannot change`,
        );
      }
      if (!custom && !alteration.name.endsWith('__c')) {
        throw new Error(
          `SourceOrg: ${object.name}.${alteration.name} is a standard Salesforce field: Salesforce changes the type of custom fields (ending in __c) only, and adds only custom fields`,
        );
      }
      const before = object.fields.get(alteration.name);
      const { name: _, ...after } = describeField({
        ...alteration,
        ...(before?.formula ? { formula: true } : {}),
      });
      return { name: alteration.name, before, after };
    });
    for (const { name, before, after } of planned) {
      object.fields.set(name, after);
      if (!before) continue;
      for (const stored of object.records.values()) {
        if (stored[name] === undefined) continue;
        stored[name] = this.convertValue(object.name, name, stored[name], before, after);
      }
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
      const { primaryKey } = keyFieldsOf(object.options);
      throw new Error(`SourceOrg: ${object.name} has no record with ${primaryKey} '${id}'`);
    }
    return stored;
  }

  /**
   * A value as Salesforce stores it for the field's type, or an error naming object, field
   * and cause where Salesforce would refuse the save (STRING_TOO_LONG, bad number, …).
   */
  private normalizeValue(
    objectName: string,
    field: string,
    metadata: FieldMetadata,
    value: unknown,
  ): unknown {
    if (value === null || value === undefined) {
      return null;
    }
    const where = `SourceOrg: ${objectName}.${field} (${metadata.type})`;
    switch (typeFamily(metadata.type)) {
      case 'text': {
        // Salesforce's REST API turns a JSON number or boolean sent to a text field into its text.
        if (typeof value === 'number' || typeof value === 'boolean') {
          return this.normalizeValue(objectName, field, metadata, String(value));
        }
        if (typeof value !== 'string') {
          throw new Error(`${where} expects text, got ${JSON.stringify(value)}`);
        }
        const length = metadata.length ?? LONG_TEXT_AREA_MAX_LENGTH;
        const count = characterCount(value);
        if (count > length) {
          throw new Error(
            `${where} holds at most ${length} characters; the value has ${count} (STRING_TOO_LONG)`,
          );
        }
        return value;
      }
      case 'boolean':
        if (typeof value === 'boolean') return value;
        if (value === 'true' || value === 'false') return value === 'true';
        throw new Error(`${where} expects true or false, got ${JSON.stringify(value)}`);
      case 'integer': {
        const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
        if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
          throw new Error(`${where} expects a whole number, got ${JSON.stringify(value)}`);
        }
        this.checkPrecision(where, String(Math.abs(number)), metadata);
        return number;
      }
      case 'decimal': {
        const text = typeof value === 'number' && Number.isFinite(value) ? plainDecimal(value) : value;
        const rounded = typeof text === 'string' ? roundDecimal(text, metadata.scale ?? 0) : undefined;
        if (rounded === undefined) {
          throw new Error(`${where} expects a number, got ${JSON.stringify(value)}`);
        }
        this.checkPrecision(where, rounded.replace(/^-/, '').split('.')[0], metadata);
        return rounded;
      }
      case 'date': {
        const text = value instanceof Date ? value.toISOString().slice(0, 10) : value;
        if (typeof text !== 'string' || !DATE_PATTERN.test(text) || Number.isNaN(Date.parse(text))) {
          throw new Error(`${where} expects a date YYYY-MM-DD, got ${JSON.stringify(value)}`);
        }
        return text;
      }
      case 'datetime': {
        const parsed = typeof value === 'string' || value instanceof Date ? new Date(value) : undefined;
        if (!parsed || Number.isNaN(parsed.getTime())) {
          throw new Error(`${where} expects a datetime, got '${String(value)}'`);
        }
        // Kept as ISO strings with milliseconds so that comparisons and output are uniform.
        return parsed.toISOString();
      }
      case 'time': {
        const match = typeof value === 'string' ? TIME_PATTERN.exec(value) : null;
        if (!match || Number(match[1]) > 23 || Number(match[2]) > 59 || Number(match[3] ?? 0) > 59) {
          throw new Error(`${where} expects a time HH:MM[:SS[.mmm]][Z], got ${JSON.stringify(value)}`);
        }
        const millis = (match[4] ?? '.000').padEnd(4, '0');
        return `${match[1]}:${match[2]}:${match[3] ?? '00'}${millis}Z`;
      }
      default:
        return value;
    }
  }

  /** A stored value in a field's new type (see `alterFields`); null where Salesforce loses it. */
  private convertValue(
    objectName: string,
    field: string,
    value: unknown,
    from: FieldMetadata,
    to: FieldMetadata,
  ): unknown {
    if (value === null || value === undefined) return null;
    const fromFamily = typeFamily(from.type);
    const text =
      typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
    let candidate: unknown;
    switch (typeFamily(to.type)) {
      case 'text': {
        // What fits the new length is kept.
        const length = to.length ?? LONG_TEXT_AREA_MAX_LENGTH;
        candidate = characterCount(text) > length ? [...text].slice(0, length).join('') : text;
        break;
      }
      case 'integer':
      case 'decimal':
        candidate =
          fromFamily === 'text' || fromFamily === 'integer' || fromFamily === 'decimal' ? text.trim() : null;
        if (
          typeFamily(to.type) === 'integer' &&
          typeof candidate === 'string' &&
          DECIMAL_PATTERN.test(candidate)
        ) {
          candidate = roundDecimal(candidate, 0);
        }
        break;
      case 'boolean':
        candidate = fromFamily === 'boolean' || fromFamily === 'text' ? text : null;
        break;
      case 'date':
        candidate =
          fromFamily === 'datetime'
            ? new Date(text).toISOString().slice(0, 10)
            : fromFamily === 'date' || fromFamily === 'text'
              ? text
              : null;
        break;
      case 'datetime':
        candidate =
          fromFamily === 'date'
            ? `${text}T00:00:00.000Z`
            : fromFamily === 'datetime' || fromFamily === 'text'
              ? text
              : null;
        break;
      case 'time':
        candidate = fromFamily === 'time' || fromFamily === 'text' ? text : null;
        break;
      default:
        candidate = value;
    }
    try {
      return this.normalizeValue(objectName, field, to, candidate);
    } catch {
      return null;
    }
  }

  /** Digits before the point may not exceed precision − scale, as Salesforce refuses (NUMBER_OUTSIDE_VALID_RANGE). */
  private checkPrecision(where: string, integerDigits: string, metadata: FieldMetadata): void {
    if (metadata.precision === undefined) return;
    const allowed = metadata.precision - (metadata.scale ?? 0);
    const used = integerDigits.replace(/^0+/, '').length;
    if (used > allowed) {
      throw new Error(
        `${where} holds ${metadata.precision} digits with ${metadata.scale ?? 0} after the point; the value has ${used} before it (NUMBER_OUTSIDE_VALID_RANGE)`,
      );
    }
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
