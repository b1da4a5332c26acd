// The record model shared by sources, sinks, transforms and converters.
//
// Keys and values are plain JSON-like data (objects, arrays, strings, numbers, booleans, null),
// plus bigint for 64-bit integers beyond 2^53 and Buffer for raw bytes. An optional Connect-style
// schema travels with them so the JSON converter can emit Kafka Connect's `{schema, payload}`
// form (what Debezium consumers expect with schemas enabled).

export type RecordData =
  | null
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | RecordData[]
  | { [field: string]: RecordData };

export type RecordObject = { [field: string]: RecordData };

export type SchemaType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float32'
  | 'float64'
  | 'boolean'
  | 'string'
  | 'bytes'
  | 'array'
  | 'map'
  | 'struct';

/** Kafka Connect's schema, in the JSON form JsonConverter writes (`field` names struct members). */
export interface ConnectSchema {
  type: SchemaType;
  optional?: boolean;
  name?: string;
  version?: number;
  doc?: string;
  default?: RecordData;
  parameters?: Record<string, string>;
  fields?: ConnectField[];
  items?: ConnectSchema;
  keys?: ConnectSchema;
  values?: ConnectSchema;
}

export interface ConnectField extends ConnectSchema {
  field: string;
}

export type RecordHeaders = Record<string, string>;

export interface ConnectRecord {
  topic: string;
  key: RecordData;
  keySchema?: ConnectSchema;
  /** null is a tombstone (delete marker for compacted topics and sinks). */
  value: RecordData;
  valueSchema?: ConnectSchema;
  /** May be one object shared by many records (never changed once a record carries it). */
  headers?: RecordHeaders;
  /** Milliseconds since the epoch. */
  timestamp?: number;
}

/**
 * Where a source reads from (e.g. `{server: "dbserver1"}`) and how far it got
 * (e.g. `{lsn: 123, txId: 7}`). Both are connector-defined JSON, versioned by the connector.
 */
export type SourcePartition = Record<string, string | number | boolean | null>;
export type SourceOffset = Record<string, string | number | boolean | null>;

export interface SourceRecord extends ConnectRecord {
  sourcePartition: SourcePartition;
  sourceOffset: SourceOffset;
  /** Explicit log partition; otherwise the key decides. */
  partition?: number;
  /**
   * The next record the task returns belongs with this one (a primary-key update's delete,
   * tombstone and create): the task's poll() never returns the two in different batches, and the
   * pump never writes them in different appends, so a crash cannot leave the log ending between
   * them.
   */
  joinsNext?: boolean;
}

export interface SinkRecord extends ConnectRecord {
  /**
   * Log partition and offset the record was read from. Transforms copy them as they are; a
   * transform that renames the topic (RegexRouter, ExtractNewRecordState route.by.field) leaves
   * `topic` naming a topic the record was not read from: use the original* members below for
   * anything about log positions.
   */
  partition: number;
  offset: number;
  /**
   * Where the record was read from in the log (Kafka Connect's KIP-793 originalTopic(),
   * originalKafkaPartition(), originalKafkaOffset()). The sink runtime always sets all three,
   * before any transform, and they mean the same whatever a transform did to the record, so a
   * sink tracks what it confirmed (what preCommit() returns, what close() drops) by these: they
   * are exactly the positions the runtime consumes and commits. Optional only so that records
   * built by hand (tests, transforms run outside the runtime) stay valid; a sink falls back to
   * topic/partition/offset when they are missing.
   */
  originalTopic?: string;
  originalPartition?: number;
  originalOffset?: number;
}

/** The log coordinates a sink record was read from (the original* members, else its own). */
export function originalPosition(record: SinkRecord): {
  topic: string;
  partition: number;
  offset: number;
} {
  return {
    topic: record.originalTopic ?? record.topic,
    partition: record.originalPartition ?? record.partition,
    offset: record.originalOffset ?? record.offset,
  };
}

/**
 * Header a source sets on every change event with the event's version: the decimal text of a
 * non-negative integer (at most 2^63-1) that, per source (one database server, one connector),
 * grows in commit order. It is what orders the writes to one row downstream; sinks that version
 * their writes (the Elasticsearch sink's external versions) use it before anything they could
 * derive from the event itself.
 *
 * Contract:
 *   - a change event's version is ordered first by the COMMIT of its transaction, not by the
 *     change itself (PostgreSQL: the commit LSN, not the change's own LSN; a transaction open
 *     while the slot or snapshot was created and committed after it has changes whose LSNs sit
 *     below the snapshot's, but its commit sits above it);
 *   - the events of one transaction are delivered in log order, and their versions never
 *     decrease in that order; a source may rank them so that they grow (PostgreSQL: commit LSN
 *     × 2^10 + the change's rank, connectors/postgres/change-version.ts), else they share one
 *     version and a sink applies same-version writes in order (Elasticsearch's external_gte). A
 *     ranked version keeps a replayed change from undoing a later change of its transaction;
 *   - a snapshot read carries the snapshot's consistent point (PostgreSQL: the slot's consistent
 *     point LSN), which sorts before (or equal to, never after) every change committed after the
 *     snapshot, and at or after every change the snapshot contains;
 *   - tombstones that follow a delete carry the delete's version when the source sets headers
 *     on them.
 * Values from different sources are not comparable.
 */
export const SOURCE_VERSION_HEADER = 'kafki.source.version';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A sink position: the offset of the next record to consume. */
export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}
