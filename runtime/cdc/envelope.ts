// Debezium's change-event envelope, shared by the CDC connectors: the Connect schemas (same
// names, field order and optionality as Debezium 2.x/3.x, so JsonConverter output matches byte
// for byte in shape) and the value objects, built as object literals with a fixed key order so
// every event of a table shares one hidden class and serializes in Debezium's field order.
//
// Envelope value: before, after, source, transaction, op, ts_ms, ts_us, ts_ns.
// `ts_ns` is declared but always null: nanoseconds since the epoch do not fit a JS number exactly,
// and a bigint per event would push every record off the JSON fast path. Use ts_us.

import type { ConnectField, ConnectSchema, RecordData, RecordObject } from '../api/record.ts';

/** c create, u update, d delete, r read (snapshot), t truncate, m logical-decoding message. */
export type Operation = 'c' | 'u' | 'd' | 'r' | 't' | 'm';

export function field(name: string, schema: ConnectSchema): ConnectField {
  return { ...schema, field: name };
}

export const int64Schema: ConnectSchema = { type: 'int64', optional: false };
export const optionalInt64Schema: ConnectSchema = { type: 'int64', optional: true };
export const stringSchema: ConnectSchema = { type: 'string', optional: false };
export const optionalStringSchema: ConnectSchema = { type: 'string', optional: true };

/** Debezium's per-event `transaction` block (schema name `event.block`). */
export const transactionBlockSchema: ConnectSchema = {
  type: 'struct',
  fields: [
    field('id', stringSchema),
    field('total_order', int64Schema),
    field('data_collection_order', int64Schema),
  ],
  optional: true,
  name: 'event.block',
  version: 1,
};

/** `snapshot` in every source block: an io.debezium.data.Enum string. */
export const snapshotFieldSchema: ConnectSchema = {
  type: 'string',
  optional: true,
  name: 'io.debezium.data.Enum',
  version: 1,
  parameters: {
    allowed: 'true,first,first_in_data_collection,last_in_data_collection,last,false,incremental',
  },
  default: 'false',
};

/** The fields every connector's source block starts with (Debezium's common source info). */
export function commonSourceFields(): ConnectField[] {
  return [
    field('version', stringSchema),
    field('connector', stringSchema),
    field('name', stringSchema),
    field('ts_ms', int64Schema),
    field('snapshot', snapshotFieldSchema),
    field('db', stringSchema),
    field('sequence', optionalStringSchema),
    field('ts_us', optionalInt64Schema),
    field('ts_ns', optionalInt64Schema),
  ];
}

/** `<name>.Key`: one field per key column, never optional. */
export function keySchema(name: string, fields: ConnectField[]): ConnectSchema {
  return { type: 'struct', fields, optional: false, name: `${name}.Key` };
}

/** `<name>.Value`: the row image used for before and after. */
export function rowSchema(name: string, fields: ConnectField[]): ConnectSchema {
  return { type: 'struct', fields, optional: true, name: `${name}.Value` };
}

/** `<name>.Envelope` (version 2, as Debezium since 2.x). */
export function envelopeSchema(
  name: string,
  row: ConnectSchema,
  source: ConnectSchema,
): ConnectSchema {
  return {
    type: 'struct',
    fields: [
      field('before', row),
      field('after', row),
      field('source', source),
      field('transaction', transactionBlockSchema),
      field('op', stringSchema),
      field('ts_ms', optionalInt64Schema),
      field('ts_us', optionalInt64Schema),
      field('ts_ns', optionalInt64Schema),
    ],
    optional: false,
    name: `${name}.Envelope`,
    version: 2,
  };
}

export interface TransactionBlock extends RecordObject {
  id: string;
  total_order: number;
  data_collection_order: number;
}

/** An envelope value. `nowUs` is the connector's clock in microseconds since the epoch. */
export function envelope(
  op: Operation,
  before: RecordObject | null,
  after: RecordObject | null,
  source: RecordObject,
  transaction: TransactionBlock | null,
  nowUs: number,
): RecordObject {
  return {
    before,
    after,
    source,
    transaction,
    op,
    ts_ms: Math.floor(nowUs / 1000),
    ts_us: nowUs,
    ts_ns: null,
  };
}

/** Microseconds since the epoch from the wall clock (millisecond resolution plus a monotonic part). */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Stable text of a key, for comparisons and headers (bytes as base64 like the JSON converter). */
export function keyText(key: RecordData): string {
  return JSON.stringify(key, (_name, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (
      value !== null &&
      typeof value === 'object' &&
      (value as { type?: unknown }).type === 'Buffer' &&
      Array.isArray((value as { data?: unknown }).data)
    ) {
      return Buffer.from((value as { data: number[] }).data).toString('base64');
    }
    return value;
  });
}

/** Deep equality for record data (keys of two row images). */
export function sameData(a: RecordData, b: RecordData): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a !== 'object' || typeof b !== 'object') {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) {
    return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i]!, b[i]!)) return false;
    return true;
  }
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  for (const key of aKeys) {
    if (!(key in b) || !sameData(a[key]!, b[key]!)) return false;
  }
  return true;
}
