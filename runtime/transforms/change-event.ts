// Reading Debezium change events (runtime/cdc/envelope.ts writes them): whether a record is one,
// its operation, and which table it came from. Shared by the unwrap transform and the
// operation/table filters so they agree on what a change event is.

import type { ConnectRecord, ConnectSchema, RecordObject } from '../api/record.ts';
import type { JavaRegex } from './java-regex.ts';
import { findField, isStruct } from './record-parts.ts';

export const OPERATIONS = ['c', 'u', 'd', 'r', 't', 'm'] as const;
export type OperationCode = (typeof OPERATIONS)[number];

/**
 * A change-event envelope: a struct with `op` and both row images (either may be null). With a
 * schema, the schema must declare them too. Heartbeats, schema-change events, transaction
 * metadata and logical-decoding messages are not envelopes (no before/after).
 */
export function envelopeValue(record: ConnectRecord): RecordObject | undefined {
  const value = record.value;
  if (!isStruct(value) || typeof value.op !== 'string') return undefined;
  if (!('after' in value) || !('before' in value)) return undefined;
  const schema = record.valueSchema;
  if (schema !== undefined && !isEnvelopeSchema(schema)) return undefined;
  return value;
}

// Sources reuse one schema object per table, so the field scan runs once per schema.
const envelopeSchemas = new WeakMap<ConnectSchema, boolean>();

export function isEnvelopeSchema(schema: ConnectSchema): boolean {
  let known = envelopeSchemas.get(schema);
  if (known === undefined) {
    known =
      schema.type === 'struct' &&
      findField(schema, 'after') !== undefined &&
      findField(schema, 'before') !== undefined &&
      findField(schema, 'op') !== undefined;
    envelopeSchemas.set(schema, known);
  }
  return known;
}

/**
 * The names a table filter is matched against, most specific first: `<schema>.<table>`
 * (PostgreSQL) or `<database>.<table>` (MySQL/MariaDB), then the bare table name — the same
 * identifiers Debezium's table.include.list uses.
 */
export function tableNamesOfEvent(value: RecordObject): string[] {
  const source = value.source;
  if (!isStruct(source) || typeof source.table !== 'string') return [];
  const names: string[] = [];
  if (typeof source.schema === 'string' && source.schema !== '') {
    names.push(`${source.schema}.${source.table}`);
  }
  if (typeof source.db === 'string' && source.db !== '') names.push(`${source.db}.${source.table}`);
  names.push(source.table);
  return names;
}

/**
 * A tombstone carries no source block; its topic names the table under Debezium's default
 * naming (`<prefix>.<schema|database>.<table>`), so the last two segments and the last one stand
 * in for the table names.
 */
export function tableNamesOfTopic(topic: string): string[] {
  const segments = topic.split('.');
  const names: string[] = [];
  if (segments.length >= 2) names.push(segments.slice(-2).join('.'));
  names.push(segments[segments.length - 1]!);
  return names;
}

export function anyMatches(patterns: readonly JavaRegex[], names: readonly string[]): boolean {
  for (const pattern of patterns) {
    for (const name of names) if (pattern.regex.test(name)) return true;
  }
  return false;
}

/** What a change-event matcher (FilterByOperation, ChangeEventMatches) is configured with. */
export interface ChangeEventCriteria {
  readonly operations: ReadonlySet<string>;
  /** Empty: every table. */
  readonly tables: readonly JavaRegex[];
  /** How tombstones are judged: with the deletes they follow, or always kept / dropped. */
  readonly tombstones: 'follow-deletes' | 'keep' | 'drop';
}

/**
 * true / false for change events and tombstones; undefined for records that are neither, which
 * each caller treats its own way.
 */
export function matchesChangeEvent(
  record: ConnectRecord,
  criteria: ChangeEventCriteria,
): boolean | undefined {
  if (record.value === null) {
    if (criteria.tombstones !== 'follow-deletes') return criteria.tombstones === 'keep';
    if (!criteria.operations.has('d')) return false;
    return (
      criteria.tables.length === 0 || anyMatches(criteria.tables, tableNamesOfTopic(record.topic))
    );
  }
  const value = envelopeValue(record);
  if (value === undefined) return undefined;
  if (!criteria.operations.has(value.op as string)) return false;
  return criteria.tables.length === 0 || anyMatches(criteria.tables, tableNamesOfEvent(value));
}
