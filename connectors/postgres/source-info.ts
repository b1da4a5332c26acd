// The `source` block of PostgreSQL change events: Debezium's io.debezium.connector.postgresql.Source
// (common fields, then schema, table, txId, lsn, xmin), built as one object literal per event.

import type { ConnectSchema, RecordObject } from '../../runtime/api/index.ts';
import {
  commonSourceFields,
  field,
  optionalInt64Schema,
  stringSchema,
} from '../../runtime/cdc/envelope.ts';

/** The connector name Debezium puts in source.connector. */
export const connectorName = 'postgresql';
/** Kafki's version of this connector, reported in source.version. */
export const connectorVersion = '0.1.0';

export const postgresSourceSchema: ConnectSchema = {
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

export type SnapshotMarker =
  | 'true'
  | 'first'
  | 'first_in_data_collection'
  | 'last_in_data_collection'
  | 'last'
  | 'false'
  | 'incremental';

/** What stays the same for every event of one connector. */
export interface SourceIdentity {
  serverName: string;
  database: string;
}

/** Debezium's `sequence`: the JSON array text [last commit LSN, event LSN], as strings. */
export function sequenceText(lastCommitLsn: number | null, lsn: number): string {
  return `${sequencePrefix(lastCommitLsn)}${lsn}"]`;
}

/** The part of `sequence` before the event LSN (the same for a whole transaction). */
export function sequencePrefix(lastCommitLsn: number | null): string {
  return lastCommitLsn === null ? '[null,"' : `["${lastCommitLsn}","`;
}

export function sourceBlock(
  identity: SourceIdentity,
  snapshot: SnapshotMarker,
  commitTimeUs: number,
  schema: string,
  table: string,
  txId: number | null,
  lsn: number | null,
  sequence: string | null,
): RecordObject {
  return {
    version: connectorVersion,
    connector: connectorName,
    name: identity.serverName,
    ts_ms: Math.floor(commitTimeUs / 1000),
    snapshot,
    db: identity.database,
    sequence,
    ts_us: commitTimeUs,
    ts_ns: null,
    schema,
    table,
    txId,
    lsn,
    xmin: null,
  };
}
