// Realistic Debezium change events for the transform tests: a PostgreSQL `public.customers`
// table as the Kafki PostgreSQL source emits it (Connect schemas from runtime/cdc/envelope.ts,
// Debezium's PostgreSQL source block), in create/update/delete/read/truncate form, plus the
// delete tombstone, each with or without schemas. Records are deep-frozen so a transform that
// mutates its input throws.

import type {
  ConnectRecord,
  ConnectSchema,
  RecordData,
  RecordObject,
  SinkRecord,
  SourceRecord,
} from '../../../runtime/api/record.ts';
import {
  commonSourceFields,
  envelope,
  envelopeSchema,
  field,
  keySchema,
  optionalInt64Schema,
  optionalStringSchema,
  rowSchema,
  stringSchema,
} from '../../../runtime/cdc/envelope.ts';
import type { Operation, TransactionBlock } from '../../../runtime/cdc/envelope.ts';
import { buildTransformChain } from '../../../runtime/transforms/index.ts';
import type { TransformChain } from '../../../runtime/transforms/index.ts';

export const TOPIC = 'dbserver1.public.customers';
const TABLE_NAME = 'dbserver1.public.customers';
/** 2024-03-01T12:34:56.789Z */
export const COMMIT_US = 1_709_296_496_789_000;
export const NOW_US = COMMIT_US + 1_500;

export const pgSourceSchema: ConnectSchema = {
  type: 'struct',
  fields: [
    ...commonSourceFields(),
    field('schema', stringSchema),
    field('table', stringSchema),
    field('txId', optionalInt64Schema),
    field('lsn', optionalInt64Schema),
    field('xmin', optionalInt64Schema),
  ],
  optional: false,
  name: 'io.debezium.connector.postgresql.Source',
};

export const customerKeySchema = keySchema(TABLE_NAME, [
  field('id', { type: 'int32', optional: false }),
]);

export const customerRowSchema = rowSchema(TABLE_NAME, [
  field('id', { type: 'int32', optional: false }),
  field('name', stringSchema),
  field('email', optionalStringSchema),
  field('score', { type: 'float64', optional: true }),
  field('active', { type: 'boolean', optional: true }),
  field('updated_at', {
    type: 'int64',
    optional: true,
    name: 'org.apache.kafka.connect.data.Timestamp',
    version: 1,
  }),
]);

export const customerEnvelopeSchema = envelopeSchema(TABLE_NAME, customerRowSchema, pgSourceSchema);

export interface Customer extends RecordObject {
  id: number;
  name: string;
  email: string | null;
  score: number | null;
  active: boolean | null;
  updated_at: number | null;
}

export const alice: Customer = {
  id: 1,
  name: 'Alice',
  email: 'alice@example.com',
  score: 9.5,
  active: true,
  updated_at: 1_709_296_496_789,
};

export const alice2: Customer = { ...alice, email: 'alice@new.example.com', score: 7.25 };

export function source(snapshot: string, lsn: number | null, txId: number | null): RecordObject {
  return {
    version: '0.1.0',
    connector: 'postgresql',
    name: 'dbserver1',
    ts_ms: Math.floor(COMMIT_US / 1000),
    snapshot,
    db: 'inventory',
    sequence: lsn === null ? null : `["${lsn - 8}","${lsn}"]`,
    ts_us: COMMIT_US,
    ts_ns: null,
    schema: 'public',
    table: 'customers',
    txId,
    lsn,
    xmin: null,
  };
}

export interface EventOptions {
  schemas?: boolean;
  transaction?: TransactionBlock | null;
  topic?: string;
  headers?: Record<string, string>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

function record(
  op: Operation,
  before: Customer | null,
  after: Customer | null,
  options: EventOptions,
): SourceRecord {
  const snapshot = op === 'r' ? 'true' : 'false';
  const lsn = op === 'r' ? null : 24_023_128;
  const txId = op === 'r' ? null : 767;
  const row = after ?? before;
  const value = envelope(
    op,
    before,
    after,
    source(snapshot, lsn, txId),
    options.transaction ?? null,
    NOW_US,
  );
  const result: SourceRecord = {
    topic: options.topic ?? TOPIC,
    key: row === null ? null : { id: row.id },
    value,
    timestamp: Math.floor(NOW_US / 1000),
    sourcePartition: { server: 'dbserver1' },
    sourceOffset: lsn === null ? { snapshot: true } : { lsn, txId },
  };
  if (options.schemas !== false) {
    if (row !== null) result.keySchema = customerKeySchema;
    result.valueSchema = customerEnvelopeSchema;
  }
  if (options.headers) result.headers = options.headers;
  return deepFreeze(result);
}

export const createEvent = (row: Customer = alice, options: EventOptions = {}) =>
  record('c', null, row, options);
export const updateEvent = (
  before: Customer = alice,
  after: Customer = alice2,
  options: EventOptions = {},
) => record('u', before, after, options);
export const deleteEvent = (before: Customer = alice2, options: EventOptions = {}) =>
  record('d', before, null, options);
export const readEvent = (row: Customer = alice, options: EventOptions = {}) =>
  record('r', null, row, options);
export const truncateEvent = (options: EventOptions = {}) => record('t', null, null, options);

/** The tombstone that follows a delete: same key, null value, no value schema. */
export function tombstone(id = alice.id, options: EventOptions = {}): SourceRecord {
  const result: SourceRecord = {
    topic: options.topic ?? TOPIC,
    key: { id },
    value: null,
    timestamp: Math.floor(NOW_US / 1000),
    sourcePartition: { server: 'dbserver1' },
    sourceOffset: { lsn: 24_023_128, txId: 767 },
  };
  if (options.schemas !== false) result.keySchema = customerKeySchema;
  if (options.headers) result.headers = options.headers;
  return deepFreeze(result);
}

/** A Debezium heartbeat: not a change event. */
export function heartbeat(): SourceRecord {
  return deepFreeze({
    topic: '__debezium-heartbeat.dbserver1',
    key: { serverName: 'dbserver1' },
    value: { ts_ms: 1_709_296_496_789 },
    sourcePartition: { server: 'dbserver1' },
    sourceOffset: { lsn: 24_023_128 },
  });
}

/** A plain record of the given value (and schema), as a sink reads it. */
export function sinkRecord(
  value: RecordData,
  valueSchema?: ConnectSchema,
  extra: Partial<SinkRecord> = {},
): SinkRecord {
  const result: SinkRecord = {
    topic: 'orders',
    key: 'k1',
    value,
    partition: 3,
    offset: 42,
    timestamp: 1_709_296_496_789,
    ...extra,
  };
  if (valueSchema !== undefined) result.valueSchema = valueSchema;
  return deepFreeze(result);
}

/** A one-transform chain from `transforms.t.*` options. */
export function single(type: string, options: Record<string, string> = {}) {
  const config: Record<string, string> = { transforms: 't', 'transforms.t.type': type };
  for (const [name, value] of Object.entries(options)) config[`transforms.t.${name}`] = value;
  return buildTransformChain(config);
}

/** Apply a chain and insist the record survived. */
export function kept<R extends ConnectRecord>(chain: TransformChain, input: R): R {
  const output = chain.apply(input);
  if (output === null) throw new Error('expected the record to be kept, it was dropped');
  return output;
}

export function fieldNames(schema: ConnectSchema | undefined): string[] {
  return (schema?.fields ?? []).map((member) => member.field);
}
