// Helpers every transform shares: the $Key / $Value side a transform operates on, Connect schema
// copies (SchemaUtil.copySchemaBasics), struct checks with Kafka Connect's messages, and a
// per-transform cache of derived schemas keyed by the input schema object.

import type {
  ConnectField,
  ConnectRecord,
  ConnectSchema,
  RecordData,
  RecordObject,
} from '../api/record.ts';
import { TransformDataError } from './errors.ts';

export interface RecordSide {
  readonly name: 'key' | 'value';
  data(record: ConnectRecord): RecordData;
  schema(record: ConnectRecord): ConnectSchema | undefined;
  /** A shallow copy with this side replaced; no schema property when `schema` is undefined. */
  with<R extends ConnectRecord>(record: R, data: RecordData, schema: ConnectSchema | undefined): R;
}

/**
 * A shallow copy, key by key. Object spread is the fast way to copy an object while overwriting
 * keys it has, but V8 makes it several times slower than this loop when the copy then gains a
 * key the source lacks; copy with this whenever new keys follow.
 */
export function shallowCopy<T extends object>(source: T): T {
  const copy = {} as Record<string, unknown>;
  for (const key in source) copy[key] = source[key];
  return copy as T;
}

export const valueSide: RecordSide = {
  name: 'value',
  data: (record) => record.value,
  schema: (record) => record.valueSchema,
  with<R extends ConnectRecord>(record: R, data: RecordData, schema: ConnectSchema | undefined): R {
    if (schema !== undefined) {
      if ('valueSchema' in record) return { ...record, value: data, valueSchema: schema };
      const copy = shallowCopy(record);
      copy.value = data;
      copy.valueSchema = schema;
      return copy;
    }
    if (record.valueSchema === undefined) return { ...record, value: data };
    const { valueSchema: _dropped, ...rest } = record;
    return { ...rest, value: data } as R;
  },
};

export const keySide: RecordSide = {
  name: 'key',
  data: (record) => record.key,
  schema: (record) => record.keySchema,
  with<R extends ConnectRecord>(record: R, data: RecordData, schema: ConnectSchema | undefined): R {
    if (schema !== undefined) {
      if ('keySchema' in record) return { ...record, key: data, keySchema: schema };
      const copy = shallowCopy(record);
      copy.key = data;
      copy.keySchema = schema;
      return copy;
    }
    if (record.keySchema === undefined) return { ...record, key: data };
    const { keySchema: _dropped, ...rest } = record;
    return { ...rest, key: data } as R;
  },
};

/** A struct value (or schemaless map): a plain object, not an array, not bytes. */
export function isStruct(data: RecordData | undefined): data is RecordObject {
  return (
    typeof data === 'object' && data !== null && !Array.isArray(data) && !Buffer.isBuffer(data)
  );
}

export function describeData(data: RecordData | undefined): string {
  if (data === null || data === undefined) return 'null';
  if (Buffer.isBuffer(data)) return 'bytes';
  if (Array.isArray(data)) return 'array';
  return typeof data;
}

/** Requirements.requireStruct / requireMap: the operating value must be an object. */
export function requireStruct(
  data: RecordData,
  purpose: string,
  withSchema: boolean,
): RecordObject {
  if (!isStruct(data)) {
    throw new TransformDataError(
      `Only ${withSchema ? 'Struct' : 'Map'} objects supported ${
        withSchema ? '' : 'in absence of schema '
      }for [${purpose}], found: ${describeData(data)}`,
    );
  }
  return data;
}

export function requireStructSchema(schema: ConnectSchema, purpose: string): ConnectField[] {
  if (schema.type !== 'struct') {
    throw new TransformDataError(
      `Only Struct objects supported for [${purpose}], found a schema of type ${schema.type}`,
    );
  }
  return schema.fields ?? [];
}

/** SchemaUtil.copySchemaBasics into a struct: name, version, doc, parameters (not optional). */
export function structSchemaBasics(schema: ConnectSchema, fields: ConnectField[]): ConnectSchema {
  const copy: ConnectSchema = { type: 'struct', fields, optional: false };
  if (schema.name !== undefined) copy.name = schema.name;
  if (schema.version !== undefined) copy.version = schema.version;
  if (schema.doc !== undefined) copy.doc = schema.doc;
  if (schema.parameters !== undefined) copy.parameters = schema.parameters;
  return copy;
}

/** A struct member's schema on its own (a field is a schema plus its name). */
export function fieldSchema(field: ConnectField): ConnectSchema {
  const { field: _name, ...schema } = field;
  return schema;
}

export function namedField(name: string, schema: ConnectSchema): ConnectField {
  if ('field' in schema) {
    const { field: _name, ...rest } = schema as ConnectField;
    return { ...rest, field: name };
  }
  return { ...schema, field: name };
}

export function findField(
  schema: ConnectSchema | undefined,
  name: string,
): ConnectField | undefined {
  return schema?.fields?.find((field) => field.field === name);
}

/**
 * Derived schemas by input schema object. Sources build a table's schema once and reuse it, so
 * the derivation runs once per table, not per record; the WeakMap lets old schemas go.
 */
export class SchemaCache<T> {
  private readonly cache = new WeakMap<ConnectSchema, T>();

  get(schema: ConnectSchema, derive: (schema: ConnectSchema) => T): T {
    let derived = this.cache.get(schema);
    if (derived === undefined) {
      derived = derive(schema);
      this.cache.set(schema, derived);
    }
    return derived;
  }
}

export const TIMESTAMP_SCHEMA_NAME = 'org.apache.kafka.connect.data.Timestamp';
export const DATE_SCHEMA_NAME = 'org.apache.kafka.connect.data.Date';
export const TIME_SCHEMA_NAME = 'org.apache.kafka.connect.data.Time';
export const DECIMAL_SCHEMA_NAME = 'org.apache.kafka.connect.data.Decimal';

/** Kafka Connect's schema for a SinkRecord (has partition and offset) vs a SourceRecord. */
export function isSinkRecord(
  record: ConnectRecord,
): record is ConnectRecord & { partition: number; offset: number } {
  const candidate = record as ConnectRecord & { partition?: unknown; offset?: unknown };
  return typeof candidate.offset === 'number' && typeof candidate.partition === 'number';
}
