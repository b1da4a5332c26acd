// Primary-key ranges: the SQL that splits a table into chunks and reads one chunk, shared by the
// initial snapshot (ranges read in parallel inside the exported snapshot) and incremental
// snapshots (one range per watermark window).
//
// A range is (lower, upper]: rows whose key, compared as a row value in the primary key's order,
// is after `lower` and at most `upper` (null: unbounded). Bounds are the key columns' text forms
// (`col::text`), turned back into typed literals (`'…'::type`), so any key type whose text form
// round-trips (integers, text, uuid, numeric, timestamps under the connector's session settings,
// floats with extra_float_digits=3) works, composite keys included. The row comparison
// `(a, b) > (x, y)` is what the primary key's btree index answers, in the same order and
// collation as ORDER BY a, b.

import pg from 'pg';
import { quoteIdent } from './connection.ts';

export interface KeyColumn {
  name: string;
  /** format_type() of the column, for the literal casts. */
  typeName: string;
}

/** A key value as the text of each key column. */
export type KeyBound = readonly string[];

export interface KeyRange {
  lower: KeyBound | null;
  upper: KeyBound | null;
}

export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

function keyRow(keys: readonly KeyColumn[]): string {
  const names = keys.map((key) => quoteIdent(key.name));
  return names.length === 1 ? names[0]! : `(${names.join(', ')})`;
}

function literalRow(keys: readonly KeyColumn[], bound: KeyBound): string {
  if (bound.length !== keys.length) {
    throw new Error(`a key bound has ${bound.length} values for ${keys.length} key columns`);
  }
  const literals = keys.map((key, i) => `${pg.escapeLiteral(bound[i]!).trim()}::${key.typeName}`);
  return literals.length === 1 ? literals[0]! : `(${literals.join(', ')})`;
}

/** `where …` for a range ('' when unbounded on both sides). */
export function rangeCondition(keys: readonly KeyColumn[], range: KeyRange): string {
  const parts: string[] = [];
  if (range.lower) parts.push(`${keyRow(keys)} > ${literalRow(keys, range.lower)}`);
  if (range.upper) parts.push(`${keyRow(keys)} <= ${literalRow(keys, range.upper)}`);
  return parts.length === 0 ? '' : ` where ${parts.join(' and ')}`;
}

function keyOrder(keys: readonly KeyColumn[], descending = false): string {
  return keys.map((key) => `${quoteIdent(key.name)}${descending ? ' desc' : ''}`).join(', ');
}

function keyTextArray(keys: readonly KeyColumn[]): string {
  return `array[${keys.map((key) => `${quoteIdent(key.name)}::text`).join(', ')}]`;
}

/**
 * The key `size` rows into the range (its last row if the chunk were `size` rows), or null when
 * fewer rows remain: then the range's own upper bound ends the chunk.
 */
export async function nextBoundary(
  client: pg.Client,
  table: string,
  keys: readonly KeyColumn[],
  range: KeyRange,
  size: number,
): Promise<KeyBound | null> {
  const { rows } = await client.query<{ key: string[] }>(
    `select ${keyTextArray(keys)} as key from ${table}${rangeCondition(keys, range)}
      order by ${keyOrder(keys)} offset ${Math.max(0, size - 1)} limit 1`,
  );
  return rows[0]?.key ?? null;
}

/** The highest key of the table, or null when it is empty. */
export async function maxKey(
  client: pg.Client,
  table: string,
  keys: readonly KeyColumn[],
): Promise<KeyBound | null> {
  const { rows } = await client.query<{ key: string[] }>(
    `select ${keyTextArray(keys)} as key from ${table} order by ${keyOrder(keys, true)} limit 1`,
  );
  return rows[0]?.key ?? null;
}

/**
 * The SELECT reading one range: the given columns, in key order (which also makes the planner
 * walk the primary key's index for the range instead of scanning the whole table). Without key
 * columns: the whole table, in no particular order.
 */
export function rangeSelect(
  table: string,
  columns: readonly string[],
  keys: readonly KeyColumn[],
  range: KeyRange,
): string {
  const list = columns.length > 0 ? columns.join(', ') : 'null';
  if (keys.length === 0) return `select ${list} from ${table}`;
  return `select ${list} from ${table}${rangeCondition(keys, range)} order by ${keyOrder(keys)}`;
}
