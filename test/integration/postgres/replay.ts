// Test helpers for snapshot consistency: the table state rebuilt from change events (as a
// consumer applying them in log order would), the table's own state, and a load generator that
// inserts, updates and deletes rows of a (id int primary key, v int, t text) table while a
// snapshot runs.

import type pg from 'pg';
import type { SourceRecord } from '../../../runtime/api/index.ts';
import { keyText } from '../../../runtime/cdc/envelope.ts';

export interface Row {
  [column: string]: unknown;
}

export interface Rebuilt {
  /** key text → the row's last image. */
  rows: Map<string, Row>;
  /** key text → how many snapshot reads ('r') it got. */
  reads: Map<string, number>;
  /** Keys that got a read after their delete event (a deleted row reappearing). */
  resurrected: string[];
}

/** Apply the events of `topic` in order: r/c/u set the row, d removes it, t empties the table. */
export function rebuild(records: readonly SourceRecord[], topic: string): Rebuilt {
  const rows = new Map<string, Row>();
  const reads = new Map<string, number>();
  const deleted = new Set<string>();
  const resurrected: string[] = [];
  for (const record of records) {
    if (record.topic !== topic || record.value === null) continue;
    const value = record.value as { op: string; after: Row | null };
    const key = keyText(record.key);
    switch (value.op) {
      case 'r':
        reads.set(key, (reads.get(key) ?? 0) + 1);
        if (deleted.has(key)) resurrected.push(key);
        rows.set(key, value.after!);
        break;
      case 'c':
      case 'u':
        deleted.delete(key);
        rows.set(key, value.after!);
        break;
      case 'd':
        deleted.add(key);
        rows.delete(key);
        break;
      case 't':
        rows.clear();
        break;
    }
  }
  return { rows, reads, resurrected };
}

/** The table's rows by key text (keys = the primary key columns, in order). */
export async function tableState(
  client: pg.Client,
  table: string,
  keyColumns: readonly string[],
): Promise<Map<string, Row>> {
  const { rows } = await client.query<Row>(`select * from ${table}`);
  return new Map(
    rows.map((row) => [
      keyText(Object.fromEntries(keyColumns.map((column) => [column, row[column]])) as never),
      row,
    ]),
  );
}

/** Differences between two states, for a readable assertion message (at most `limit`). */
export function stateDifferences(
  expected: Map<string, Row>,
  actual: Map<string, Row>,
  limit = 10,
): string[] {
  const differences: string[] = [];
  for (const [key, row] of expected) {
    const other = actual.get(key);
    if (!other) differences.push(`missing ${key}`);
    else if (JSON.stringify(other) !== JSON.stringify(row))
      differences.push(`${key}: expected ${JSON.stringify(row)}, got ${JSON.stringify(other)}`);
    if (differences.length >= limit) return differences;
  }
  for (const key of actual.keys()) {
    if (!expected.has(key)) differences.push(`unexpected ${key}`);
    if (differences.length >= limit) return differences;
  }
  return differences;
}

/** One committed change: its op, row id and (insert, update) the row's new v. */
export interface JournalEntry {
  op: 'c' | 'u' | 'd';
  id: number;
  v: number | null;
}

/**
 * Random single-row inserts, updates and deletes on `table` (id int primary key, v int, t text)
 * until stopped. `ids` is the id range used (inserts take new ids above it). Each committed
 * change is reported to `journal` (if given) once its commit returned.
 */
export function churn(
  client: pg.Client,
  table: string,
  firstNewId: number,
  maxId: number,
  journal?: (change: JournalEntry) => void,
): { stop(): Promise<number>; readonly changes: number } {
  let running = true;
  let nextId = firstNewId;
  let changes = 0;
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const done = (async () => {
    while (running) {
      const pick = random();
      const id = 1 + Math.floor(random() * maxId);
      if (pick < 0.4) {
        const result = await client.query<{ v: number }>(
          `update ${table} set v = v + 1, t = 'u' || (v + 1) where id = $1 returning v`,
          [id],
        );
        if (result.rowCount) journal?.({ op: 'u', id, v: result.rows[0]!.v });
      } else if (pick < 0.6) {
        const result = await client.query(`delete from ${table} where id = $1`, [id]);
        if (result.rowCount) journal?.({ op: 'd', id, v: null });
      } else {
        const newId = nextId++;
        await client.query(`insert into ${table} values ($1, 0, 'new')`, [newId]);
        journal?.({ op: 'c', id: newId, v: 0 });
      }
      changes++;
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return changes;
    },
    get changes() {
      return changes;
    },
  };
}
