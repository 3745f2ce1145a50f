import type { JsonObject, StandInCall } from '../stand-ins/service-call';
import { type ApiModel, type ApiShape, type AwsServiceName, loadApiModel, type ShapeRef } from './api-model';
import { compileJavaPattern } from './api-model-patterns';

/**
 * Validates a request body against the operation's input shape in AWS's model, as the
 * service's front end does before any business logic: types, required and unknown
 * members, enums, lengths, value ranges and patterns.
 */

/** What the service answers; the HTTP layer turns it into the wire format's error. */
export interface ApiModelRefusal {
  readonly code: 'ValidationException' | 'SerializationException' | 'UnknownOperationException';
  readonly message: string;
  readonly statusCode: number;
}

type CompiledPatterns = ReadonlyMap<string, RegExp>;

const compiledByModel = new WeakMap<ApiModel, CompiledPatterns>();

/**
 * Every shape's pattern compiled to a JavaScript RegExp. Throws (naming the shape) for a
 * pattern that cannot be converted faithfully: a model never loads with a check skipped.
 */
export function compileApiModelPatterns(model: ApiModel): CompiledPatterns {
  let compiled = compiledByModel.get(model);
  if (!compiled) {
    const patterns = new Map<string, RegExp>();
    for (const [name, shape] of Object.entries(model.shapes)) {
      if (shape.pattern === undefined) continue;
      try {
        patterns.set(name, compileJavaPattern(shape.pattern));
      } catch (error) {
        throw new Error(`${model.metadata.serviceId} model, shape ${name}: ${(error as Error).message}`);
      }
    }
    compiled = patterns;
    compiledByModel.set(model, compiled);
  }
  return compiled;
}

/** A member name as AWS's validation messages spell it: first letter lower case. */
function pathName(member: string): string {
  return member.charAt(0).toLowerCase() + member.slice(1);
}

/** A value the way Java's toString renders it in AWS's messages. */
function render(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, entry]) => `${key}=${render(entry)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/** "Value 'x' at 'a.b'", or "Value at 'a.b'" for sensitive members (AWS never echoes those). */
function valueAt(value: unknown, path: string, sensitive: boolean): string {
  if (sensitive) return `Value at '${path}'`;
  if (value === null || value === undefined) return `Value null at '${path}'`;
  return `Value '${render(value)}' at '${path}'`;
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

class Validation {
  readonly constraintErrors: string[] = [];
  serializationError: string | undefined;

  constructor(
    private readonly model: ApiModel,
    private readonly patterns: CompiledPatterns,
  ) {}

  private shape(name: string): ApiShape {
    const shape = this.model.shapes[name];
    if (!shape) throw new Error(`${this.model.metadata.serviceId} model has no shape ${name}`);
    return shape;
  }

  private typeError(path: string, expected: string, value: unknown): void {
    const got = Array.isArray(value) ? 'list' : value === null ? 'null' : typeof value;
    this.serializationError ??= `Unexpected value type at '${path}': expected ${expected}, got ${got}`;
  }

  private constraint(value: unknown, path: string, sensitive: boolean, constraint: string): void {
    this.constraintErrors.push(
      `${valueAt(value, path, sensitive)} failed to satisfy constraint: Member ${constraint}`,
    );
  }

  /** Length in the unit AWS counts: code points for strings, bytes for blobs, entries otherwise. */
  private checkLength(
    shape: ApiShape,
    length: number,
    value: unknown,
    path: string,
    sensitive: boolean,
  ): void {
    if (shape.min !== undefined && length < shape.min) {
      this.constraint(value, path, sensitive, `must have length greater than or equal to ${shape.min}`);
    }
    if (shape.max !== undefined && length > shape.max) {
      this.constraint(value, path, sensitive, `must have length less than or equal to ${shape.max}`);
    }
  }

  private checkRange(shape: ApiShape, value: number, path: string): void {
    if (shape.min !== undefined && value < shape.min) {
      this.constraint(value, path, false, `must have value greater than or equal to ${shape.min}`);
    }
    if (shape.max !== undefined && value > shape.max) {
      this.constraint(value, path, false, `must have value less than or equal to ${shape.max}`);
    }
  }

  value(ref: ShapeRef, value: unknown, path: string): void {
    const shapeName = ref.shape;
    const shape = this.shape(shapeName);
    const sensitive = shape.sensitive === true || ref.sensitive === true;
    switch (shape.type) {
      case 'structure':
        this.structure(shapeName, shape, value, path);
        return;
      case 'list':
        if (!Array.isArray(value)) {
          this.typeError(path, 'list', value);
          return;
        }
        this.checkLength(shape, value.length, value, path, sensitive);
        value.forEach((item, index) => {
          const itemPath = `${path}.${index + 1}.member`;
          if (item === null) this.constraint(item, itemPath, sensitive, 'must not be null');
          else this.value(shape.member!, item, itemPath);
        });
        return;
      case 'map':
        this.map(shape, value, path, sensitive);
        return;
      case 'string':
        if (typeof value !== 'string') {
          this.typeError(path, 'string', value);
          return;
        }
        if (shape.enum && !shape.enum.includes(value)) {
          this.constraint(value, path, sensitive, `must satisfy enum value set: [${shape.enum.join(', ')}]`);
        }
        this.checkLength(shape, [...value].length, value, path, sensitive);
        if (shape.pattern !== undefined && !this.patterns.get(shapeName)!.test(value)) {
          this.constraint(
            value,
            path,
            sensitive,
            `must satisfy regular expression pattern: ${shape.pattern}`,
          );
        }
        return;
      case 'integer':
      case 'long':
        if (typeof value !== 'number' || !Number.isInteger(value)) {
          this.typeError(path, shape.type, value);
          return;
        }
        if (shape.type === 'integer' && (value < INT32.min || value > INT32.max)) {
          this.typeError(path, 'a 32-bit integer', value);
          return;
        }
        if (!Number.isSafeInteger(value)) {
          this.typeError(path, 'a 64-bit integer', value);
          return;
        }
        this.checkRange(shape, value, path);
        return;
      case 'double':
      case 'float':
        // JSON carries non-finite numbers as these strings.
        if (typeof value === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(value)) return;
        if (typeof value !== 'number') {
          this.typeError(path, shape.type, value);
          return;
        }
        this.checkRange(shape, value, path);
        return;
      case 'boolean':
        if (typeof value !== 'boolean') this.typeError(path, 'boolean', value);
        return;
      case 'timestamp':
        // Both JSON protocols send epoch seconds unless the member says otherwise.
        if (typeof value === 'number' && Number.isFinite(value)) return;
        if (typeof value === 'string' && (ref.timestampFormat ?? shape.timestampFormat) === 'iso8601') {
          if (!Number.isNaN(Date.parse(value))) return;
        }
        this.typeError(path, 'timestamp (epoch seconds)', value);
        return;
      case 'blob':
        if (typeof value !== 'string' || !BASE64.test(value)) {
          this.typeError(path, 'blob (base64 text)', value);
          return;
        }
        this.checkLength(shape, Buffer.from(value, 'base64').length, value, path, sensitive);
        return;
      default:
        throw new Error(`${this.model.metadata.serviceId} shape ${shapeName} has unknown type ${shape.type}`);
    }
  }

  private map(shape: ApiShape, value: unknown, path: string, sensitive: boolean): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.typeError(path, 'map', value);
      return;
    }
    const entries = Object.entries(value);
    this.checkLength(shape, entries.length, value, path, sensitive);
    for (const [key, entry] of entries) {
      // Key problems read "Map keys must satisfy constraint: [...]" in AWS's messages.
      const keyCheck = new Validation(this.model, this.patterns);
      keyCheck.value(shape.key!, key, path);
      if (keyCheck.constraintErrors.length > 0) {
        const reasons = keyCheck.constraintErrors.map((error) => error.replace(/^.* Member /, 'Member '));
        this.constraintErrors.push(
          `${valueAt(value, path, sensitive)} failed to satisfy constraint: Map keys must satisfy constraint: [${reasons.join(', ')}]`,
        );
      }
      if (entry === null) this.constraint(entry, `${path}.${key}`, sensitive, 'must not be null');
      else this.value(shape.value!, entry, `${path}.${key}`);
    }
  }

  structure(shapeName: string, shape: ApiShape, value: unknown, path: string): void {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.typeError(path || shapeName, 'structure', value);
      return;
    }
    const body = value as JsonObject;
    const members = shape.members ?? {};
    const prefix = path === '' ? '' : `${path}.`;
    for (const name of Object.keys(body)) {
      if (!(name in members)) {
        this.constraintErrors.push(
          `Value at '${prefix}${pathName(name)}' failed to satisfy constraint: Member is not defined by ${shapeName} (unknown member ${name})`,
        );
      }
    }
    for (const name of shape.required ?? []) {
      if (body[name] === undefined || body[name] === null) {
        this.constraint(null, `${prefix}${pathName(name)}`, false, 'must not be null');
      }
    }
    const set = Object.keys(members).filter((name) => body[name] !== undefined && body[name] !== null);
    if (shape.union && set.length !== 1) {
      this.constraintErrors.push(
        `Value '${render(body)}' at '${path || shapeName}' failed to satisfy constraint: Member must have exactly one member set (union ${shapeName}, got ${set.length})`,
      );
    }
    for (const name of set) {
      const ref = members[name];
      // restJson members bound to the URI, query string or headers are not in the body.
      if (ref.location !== undefined) continue;
      this.value(ref, body[name], `${prefix}${pathName(name)}`);
    }
  }
}

/** The refusal AWS would answer a request with, or undefined when the model accepts it. */
export function validateAgainstModel(
  model: ApiModel,
  operationName: string,
  body: JsonObject,
): ApiModelRefusal | undefined {
  const operation = model.operations[operationName];
  if (!operation) {
    return {
      code: 'UnknownOperationException',
      message: `${model.metadata.serviceId} has no operation '${operationName}' (API ${model.metadata.apiVersion})`,
      statusCode: model.metadata.protocol === 'rest-json' ? 404 : 400,
    };
  }
  if (!operation.input) {
    return Object.keys(body).length === 0
      ? undefined
      : { code: 'SerializationException', message: `${operationName} takes no input`, statusCode: 400 };
  }
  const validation = new Validation(model, compileApiModelPatterns(model));
  validation.structure(operation.input.shape, model.shapes[operation.input.shape], body, '');
  if (validation.serializationError !== undefined) {
    return { code: 'SerializationException', message: validation.serializationError, statusCode: 400 };
  }
  const errors = validation.constraintErrors;
  if (errors.length === 0) return undefined;
  const count = `${errors.length} validation error${errors.length === 1 ? '' : 's'} detected`;
  return { code: 'ValidationException', message: `${count}: ${errors.join('; ')}`, statusCode: 400 };
}

/** Validates a service's request against its committed model (loaded, patterns compiled, once). */
export function validateServiceRequest(
  service: AwsServiceName,
  operationName: string,
  body: JsonObject,
): ApiModelRefusal | undefined {
  return validateAgainstModel(loadApiModel(service), operationName, body);
}

/** The model check as a stand-in's RequestCheck result, for callers composing checks by hand. */
export function apiModelRefusalOf(call: StandInCall): ApiModelRefusal | undefined {
  // JSON protocols only: the S3 stand-in checks S3's constraints itself.
  if (call.service === 's3') return undefined;
  return validateServiceRequest(call.service, call.operation, call.request.body);
}
