// The initial snapshot against the real server: each snapshot.mode, markers and versions, parallel
// primary-key ranges covering every row exactly once (integer, composite and text keys, keyless
// tables), values identical to streamed ones, progress in the status, consistency with changes
// running during the snapshot, and an interrupted snapshot restarted without losing a change.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import {
  SOURCE_VERSION_HEADER,
  type RawConfig,
  type SourceRecord,
} from '../../../runtime/api/index.ts';
import { keyText } from '../../../runtime/cdc/envelope.ts';
import {
  adminClient,
  baseConfig,
  dropReplicationObjects,
  OffsetStore,
  payload,
  startTask,
  uniqueName,
  waitFor,
  type RunningTask,
} from './harness.ts';
import { churn, rebuild, stateDifferences, tableState } from './replay.ts';
import { sourceVersion } from '../../../connectors/postgres/change-version.ts';

let admin: pg.Client;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  admin = await adminClient();
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await admin.end();
});

/** A unique name; its slot, publication and tables are removed after the test file. */
function scenario(prefix: string, tables: string[] = []): string {
  const name = uniqueName(prefix);
  cleanups.push(async () => {
    await dropReplicationObjects(admin, name);
    for (const table of tables.length > 0 ? tables : [name])
      await admin.query(`drop table if exists ${table.replace('$', name)}`);
  });
  return name;
}

function config(name: string, overrides: RawConfig = {}): RawConfig {
  return baseConfig(name, {
    'table.include.list': `public\\.${name}.*`,
    'snapshot.mode': 'initial',
    ...overrides,
  });
}

async function started(
  configuration: RawConfig,
  store?: OffsetStore,
  options?: { commit?: boolean },
): Promise<RunningTask> {
  const task = await startTask(configuration, store, options);
  cleanups.push(() => task.stop());
  return task;
}

const ops = (records: SourceRecord[]) =>
  records.map((record) => (record.value === null ? 'tombstone' : payload(record).op));
const reads = (records: SourceRecord[], topic?: string) =>
  records.filter(
    (record) =>
      record.value !== null &&
      payload(record).op === 'r' &&
      (topic === undefined || record.topic === topic),
  );

async function activeSlots(prefix: string): Promise<string[]> {
  const { rows } = await admin.query<{ slot_name: string }>(
    `select slot_name from pg_replication_slots where slot_name like $1`,
    [`${prefix}%`],
  );
  return rows.map((row) => row.slot_name);
}

test('initial: every row as a read with Debezium markers and the consistent point, then the stream', async () => {
  const name = scenario('snapi', ['$', '$_b']);
  await admin.query(`create table ${name} (id int primary key, v text not null)`);
  await admin.query(`create table ${name}_b (id int primary key, v text)`);
  await admin.query(`insert into ${name} select g, 'v' || g from generate_series(1, 5) g`);
  await admin.query(`insert into ${name}_b values (1, 'only')`);
  const task = await started(
    config(name, { 'snapshot.chunk.size': '2', 'snapshot.max.threads': '1' }),
  );
  await task.until('six reads', (records) => reads(records).length >= 6);
  await admin.query(`insert into ${name} values (6, 'streamed')`);
  await task.until('the streamed insert', (records) => records.length >= 7);

  const snapshot = task.records.slice(0, 6);
  assert.deepEqual(ops(snapshot), ['r', 'r', 'r', 'r', 'r', 'r']);
  // Tables in name order; per table first/last marks; the whole snapshot's first and last.
  assert.deepEqual(
    snapshot.map((record) => [record.topic.endsWith('_b'), payload(record).source.snapshot]),
    [
      [false, 'first'],
      [false, 'true'],
      [false, 'true'],
      [false, 'true'],
      [false, 'last_in_data_collection'],
      [true, 'last'],
    ],
  );
  const consistentPoint = payload(snapshot[0]!).source.lsn as number;
  assert.ok(consistentPoint > 0);
  for (const record of snapshot) {
    assert.equal(payload(record).source.lsn, consistentPoint);
    assert.equal(record.headers?.[SOURCE_VERSION_HEADER], sourceVersion(consistentPoint));
    assert.equal(payload(record).before, null);
  }
  assert.deepEqual(
    snapshot.slice(0, 5).map((record) => payload(record).after),
    [1, 2, 3, 4, 5].map((id) => ({ id, v: `v${id}` })),
  );
  assert.equal(snapshot[5]!.sourceOffset.snapshot_completed, true, 'the last record completes it');
  assert.equal(snapshot[4]!.sourceOffset.snapshot_completed, false);

  const streamed = task.records[6]!;
  assert.equal(payload(streamed).op, 'c');
  assert.equal(payload(streamed).source.snapshot, 'false');
  assert.ok(
    BigInt(streamed.headers![SOURCE_VERSION_HEADER]!) > BigInt(sourceVersion(consistentPoint)),
  );

  // Progress per table in the status, exact once done.
  await task.until('the final progress report', () =>
    task.progress.some((entry) => entry['snapshot.tables.done'] === 2),
  );
  const progress = task.progress.findLast((entry) => entry['snapshot.tables.done'] === 2)!;
  assert.equal(progress[`snapshot.table.public.${name}`], '5/5');
  assert.equal(progress[`snapshot.table.public.${name}_b`], '1/1');
  assert.equal(progress['snapshot.rows.done'], 6);
});

test('parallel ranges read every row exactly once: integer, composite, text keys and a keyless table', async () => {
  const name = scenario('snapp', ['$_int', '$_pair', '$_text', '$_nokey']);
  await admin.query(`create table ${name}_int (id bigint primary key, v int)`);
  await admin.query(`create table ${name}_pair (a int, b text, v int, primary key (a, b))`);
  await admin.query(`create table ${name}_text (k text primary key, v int)`);
  await admin.query(`create table ${name}_nokey (v int)`);
  await admin.query(`insert into ${name}_int select g, g from generate_series(1, 3000) g`);
  await admin.query(
    `insert into ${name}_pair select g % 37, 'k' || g || E'\\t"''\\\\', g from generate_series(1, 2000) g`,
  );
  await admin.query(
    `insert into ${name}_text select md5(g::text) || ' ü ' || g, g from generate_series(1, 1500) g`,
  );
  await admin.query(`insert into ${name}_nokey select g from generate_series(1, 700) g`);
  const task = await started(
    config(name, { 'snapshot.chunk.size': '97', 'snapshot.max.threads': '4' }),
  );
  await task.until('every row', (records) => reads(records).length >= 7200, 60_000);
  const expected: Record<string, number> = { int: 3000, pair: 2000, text: 1500, nokey: 700 };
  for (const [suffix, count] of Object.entries(expected)) {
    const topic = `${name}.public.${name}_${suffix}`;
    const rows = reads(task.records, topic);
    assert.equal(rows.length, count, `${suffix}: every row`);
    if (suffix === 'nokey') {
      assert.equal(rows[0]!.key, null);
      const values = new Set(rows.map((record) => payload(record).after!.v));
      assert.equal(values.size, count, 'keyless: each row once');
    } else {
      const keys = new Set(rows.map((record) => keyText(record.key)));
      assert.equal(keys.size, count, `${suffix}: no key twice`);
    }
    const markers = rows.map((record) => payload(record).source.snapshot);
    assert.equal(markers.filter((marker) => marker !== 'true').length, 2, suffix);
  }
  const table = await tableState(admin, `${name}_pair`, ['a', 'b']);
  const rebuilt = rebuild(task.records, `${name}.public.${name}_pair`);
  assert.deepEqual(stateDifferences(table, rebuilt.rows), [], 'escapes survive COPY');
});

test('snapshot values are identical to streamed values, type by type', async () => {
  const name = scenario('snapt');
  const columns = `
    n numeric(12,3), nv numeric, r real, d double precision, b bool, by bytea, dt date,
    tm time(3), tz timestamptz, ts timestamp, iv interval, u uuid, j jsonb, js json, a int[],
    ta text[], ip inet, m money, bt bit(4), pt point, tx text, ch char(5)`;
  await admin.query(`create table ${name} (id int primary key, ${columns})`);
  const values = `1234.5, 1.500, 1.25, -0.1, true, '\\x00ff5c', '2024-02-29', '13:45:06.789',
    '2024-02-29 11:45:06.123456+01', '2024-02-29 11:45:06.5', '1 year 2 mons 3 days 04:05:06.789',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, "x\\ty"]}', '{"b": 2}', '{1,NULL,3}',
    '{"x y","a\\\\b",NULL}', '10.0.0.1/8', '$1,234.56', B'1010', '(1.5,-2)', E'tab\\tnl\\nbs\\\\',
    'ab'`;
  await admin.query(`insert into ${name} values (1, ${values})`);
  await admin.query(`insert into ${name} (id) values (2)`);
  const task = await started(config(name));
  await task.until('the snapshot', (records) => reads(records).length >= 2);
  await admin.query(`insert into ${name} values (3, ${values})`);
  await admin.query(`insert into ${name} (id) values (4)`);
  await task.until('the streamed rows', (records) => records.length >= 4);
  const after = (record: SourceRecord) => {
    const { id: _id, ...rest } = payload(record).after!;
    return JSON.stringify(rest);
  };
  assert.equal(after(task.records[0]!), after(task.records[2]!));
  assert.equal(after(task.records[1]!), after(task.records[3]!));
  assert.deepEqual(task.records[0]!.valueSchema, task.records[2]!.valueSchema);
});

test('changes during the snapshot: each row once in its final state across snapshot and stream', async () => {
  const name = scenario('snapc');
  const rows = 20_000;
  await admin.query(`create table ${name} (id int primary key, v int not null, t text)`);
  await admin.query(`insert into ${name} select g, 0, 'init' from generate_series(1, ${rows}) g`);
  const loader = await adminClient();
  cleanups.push(() => loader.end());
  // A small queue: while the test does not poll, the snapshot waits for room mid-way, so the
  // changes below run during it, whatever the speeds.
  const task = await started(
    config(name, {
      'snapshot.chunk.size': '500',
      'snapshot.max.threads': '3',
      'max.queue.size': '200',
      'max.batch.size': '100',
    }),
  );
  await task.until('the snapshot to start', (records) => records.length > 0);
  const load = churn(loader, name, rows + 1, rows);
  await waitFor('300 changes', async () => load.changes >= 300);
  assert.ok(reads(task.records).length < rows, 'the snapshot is still running');
  await task.until('the snapshot to end', (records) =>
    records.some((record) => record.value !== null && payload(record).source.snapshot === 'last'),
  );
  await load.stop();
  await admin.query(`insert into ${name} values (-1, 0, 'sentinel')`);
  await task.until('the sentinel', (records) =>
    records.some((record) => (record.key as { id: number } | null)?.id === -1),
  );
  const topic = `${name}.public.${name}`;
  const rebuilt = rebuild(task.records, topic);
  const table = await tableState(admin, name, ['id']);
  assert.deepEqual(stateDifferences(table, rebuilt.rows), []);
  assert.ok(
    [...rebuilt.reads.values()].every((count) => count === 1),
    'no row read twice',
  );
  const streamed = task.records.filter((record) => payload(record)?.op === 'c').length;
  assert.ok(streamed > 0, 'some changes came from the stream');
});

test('initial_only: reads, then stops without streaming or leaving a slot', async () => {
  const name = scenario('snapo');
  await admin.query(`create table ${name} (id int primary key)`);
  await admin.query(`insert into ${name} values (1), (2)`);
  const store = new OffsetStore();
  const task = await started(config(name, { 'snapshot.mode': 'initial_only' }), store);
  await task.until('the reads', (records) => records.length >= 2);
  await admin.query(`insert into ${name} values (3)`);
  await task.until('the phase to say so', () =>
    task.progress.some((entry) => String(entry.phase).includes('not streaming')),
  );
  // Not a timing check: nothing streams at all, so the insert can never show up.
  assert.deepEqual(ops(task.records), ['r', 'r']);
  await waitFor('no slot to retain WAL for it', async () => (await activeSlots(name)).length === 0);
  await assert.rejects(
    task.task.signal({ type: 'log', data: { message: 'x' } }),
    /does not stream/,
  );
  await task.stop();
  // Completed: a restart reads nothing again.
  const again = await started(config(name, { 'snapshot.mode': 'initial_only' }), store);
  await again.until('the phase', () =>
    again.progress.some((entry) => String(entry.phase).includes('not streaming')),
  );
  assert.deepEqual(again.records, []);
});

test('no_data streams only; always re-reads at every start; when_needed when the offset is unusable', async () => {
  const name = scenario('snapm');
  await admin.query(`create table ${name} (id int primary key)`);
  await admin.query(`insert into ${name} values (1), (2)`);

  const noData = await started(config(name, { 'snapshot.mode': 'no_data' }));
  await admin.query(`insert into ${name} values (3)`);
  await noData.until('the insert', (records) => records.length >= 1);
  assert.deepEqual(ops(noData.records), ['c']);
  await noData.stop();
  await dropReplicationObjects(admin, name);

  const store = new OffsetStore();
  const always = await started(config(name, { 'snapshot.mode': 'always' }), store);
  await always.until('three reads', (records) => records.length >= 3);
  await always.stop();
  await admin.query(`insert into ${name} values (4)`);
  const again = await started(config(name, { 'snapshot.mode': 'always' }), store);
  await again.until('four reads and the insert', (records) => records.length >= 5);
  assert.deepEqual(ops(again.records), ['r', 'r', 'r', 'r', 'c']);
  assert.equal((again.records[4]!.key as { id: number }).id, 4);
  await again.stop();

  // when_needed with a usable offset: no snapshot.
  await admin.query(`insert into ${name} values (5)`);
  const needed = await started(config(name, { 'snapshot.mode': 'when_needed' }), store);
  await needed.until('the insert', (records) => records.length >= 1);
  assert.deepEqual(ops(needed.records), ['c']);
  await needed.stop();
  // …and once the slot is gone (the offset points nowhere): a snapshot.
  await dropReplicationObjects(admin, name);
  const lost = await started(config(name, { 'snapshot.mode': 'when_needed' }), store);
  await lost.until('five reads', (records) => records.length >= 5);
  assert.deepEqual(ops(lost.records), ['r', 'r', 'r', 'r', 'r']);
});

test('an interrupted snapshot restarts from scratch; changes meanwhile, deletes included, are not lost', async () => {
  const name = scenario('snapx');
  const rows = 3000;
  await admin.query(`create table ${name} (id int primary key, v int not null, t text)`);
  await admin.query(`insert into ${name} select g, 0, 'init' from generate_series(1, ${rows}) g`);
  const store = new OffsetStore();
  const records: SourceRecord[] = [];
  const first = await started(
    config(name, { 'snapshot.chunk.size': '100', 'max.queue.size': '50', 'max.batch.size': '50' }),
    store,
  );
  await first.until('part of the snapshot', (polled) => polled.length >= 500);
  await first.stop();
  records.push(...first.records);
  assert.ok(reads(records).length < rows, 'stopped mid-snapshot');
  const lastRead = reads(records).at(-1)!;
  // Rows the interrupted snapshot emitted change or disappear before the restart.
  const emittedIds = reads(records).map((record) => (record.key as { id: number }).id);
  await admin.query(`delete from ${name} where id = any($1::int[])`, [emittedIds.slice(0, 20)]);
  await admin.query(`update ${name} set v = 7 where id = any($1::int[])`, [
    emittedIds.slice(20, 40),
  ]);
  await admin.query(`insert into ${name} values (${rows + 1}, 1, 'new')`);

  const second = await started(config(name, { 'snapshot.chunk.size': '100' }), store);
  await second.until('the second snapshot', (polled) =>
    polled.some((record) => record.value !== null && payload(record).source.snapshot === 'last'),
  );
  await admin.query(`insert into ${name} values (-1, 0, 'sentinel')`);
  await second.until('the sentinel', (polled) =>
    polled.some((record) => (record.key as { id: number } | null)?.id === -1),
  );
  records.push(...second.records);
  const rebuilt = rebuild(records, `${name}.public.${name}`);
  assert.deepEqual(stateDifferences(await tableState(admin, name, ['id']), rebuilt.rows), []);
  // The second snapshot reads at a later point than the slot: the deletes come from the stream,
  // after it; its rows carry its own (later) consistent point as version.
  const secondReads = reads(second.records);
  assert.equal(secondReads.length, rows + 1 - 20);
  const laterPoint = Number(secondReads[0]!.headers?.[SOURCE_VERSION_HEADER]);
  assert.ok(laterPoint > Number(lastRead.headers?.[SOURCE_VERSION_HEADER]));
  const deletes = second.records.filter(
    (record) => record.value !== null && payload(record).op === 'd',
  );
  assert.equal(deletes.length, 20, 'the deletes made while it was down are streamed');
  await waitFor('the temporary slot of the second snapshot to be gone', async () => {
    const slots = await activeSlots(name);
    return slots.length === 1 && slots[0] === name;
  });
});
