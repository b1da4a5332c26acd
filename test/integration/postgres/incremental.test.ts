// Incremental snapshots against the real server, while inserts, updates and deletes run: started
// through the signal table and through the task's signal() (what POST /connectors/{name}/signals
// calls), resumed after a restart from the last completed chunk, stopped with stop-snapshot.
// Each checks the table state rebuilt from the events against the table itself.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import {
  InvalidInputError,
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
let loader: pg.Client;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  admin = await adminClient();
  loader = await adminClient();
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await loader.end();
  await admin.end();
});

const rows = 3000;

/** A data table of `rows` rows and a signal table, both removed afterwards. */
async function scenario(prefix: string): Promise<{ name: string; topic: string; signals: string }> {
  const name = uniqueName(prefix);
  const signals = `${name}_signal`;
  cleanups.push(async () => {
    await dropReplicationObjects(admin, name);
    await admin.query(`drop table if exists ${name}, ${signals}`);
  });
  await admin.query(`create table ${name} (id int primary key, v int not null, t text)`);
  await admin.query(`insert into ${name} select g, 0, 'init' from generate_series(1, ${rows}) g`);
  await admin.query(
    `create table ${signals} (id varchar(64) primary key, type varchar(32) not null, data text)`,
  );
  return { name, topic: `${name}.public.${name}`, signals };
}

function config(name: string, overrides: RawConfig = {}): RawConfig {
  return baseConfig(name, {
    // The signal table is not captured: it is added to the publication, read, never emitted.
    'table.include.list': `public\\.${name}`,
    'signal.data.collection': `public.${name}_signal`,
    'snapshot.mode': 'no_data',
    'incremental.snapshot.chunk.size': '100',
    ...overrides,
  });
}

async function started(configuration: RawConfig, store?: OffsetStore): Promise<RunningTask> {
  const task = await startTask(configuration, store);
  cleanups.push(() => task.stop());
  return task;
}

const incrementalReads = (records: readonly SourceRecord[]) =>
  records.filter(
    (record) => record.value !== null && payload(record).source.snapshot === 'incremental',
  );

function lastProgress(task: RunningTask): Record<string, string | number | boolean> | undefined {
  return task.progress.findLast((entry) => 'incremental.snapshot.chunks' in entry);
}

async function untilDone(task: RunningTask): Promise<void> {
  await task.until(
    'the incremental snapshot to complete',
    () => {
      const progress = lastProgress(task);
      return (
        progress !== undefined &&
        Number(progress['incremental.snapshot.chunks']) > 0 &&
        progress['incremental.snapshot.tables.remaining'] === 0
      );
    },
    120_000,
  );
}

async function sentinel(task: RunningTask, name: string, id: number): Promise<void> {
  await admin.query(`insert into ${name} values ($1, 0, 'sentinel')`, [id]);
  await task.until(`sentinel ${id}`, (records) =>
    records.some((record) => (record.key as { id: number } | null)?.id === id),
  );
}

/** The rebuilt state equals the table; no deleted row came back; versions grow per key. */
async function assertConsistent(
  records: readonly SourceRecord[],
  name: string,
  topic: string,
  rereads = 0,
) {
  const rebuilt = rebuild(records, topic);
  assert.deepEqual(stateDifferences(await tableState(admin, name, ['id']), rebuilt.rows), []);
  assert.deepEqual(rebuilt.resurrected, [], 'a deleted row never reappears');
  const twice = [...rebuilt.reads.values()].filter((count) => count > 1).length;
  assert.ok(twice <= rereads, `${twice} rows read more than once (at most ${rereads})`);
  assert.ok([...rebuilt.reads.values()].every((count) => count <= 2));
  const versions = new Map<string, bigint>();
  for (const record of records) {
    if (record.topic !== topic) continue;
    const key = keyText(record.key);
    const version = BigInt(record.headers![SOURCE_VERSION_HEADER]!);
    assert.ok(version >= (versions.get(key) ?? 0n), `versions of ${key} grow in log order`);
    versions.set(key, version);
  }
}

test('through the signal table, while rows are inserted, updated and deleted', async () => {
  const { name, topic, signals } = await scenario('inct');
  // A small queue: while the test does not poll, the stream (and the snapshot) waits.
  const task = await started(config(name, { 'max.queue.size': '50', 'max.batch.size': '50' }));
  const load = churn(loader, name, rows + 1, rows);
  cleanups.push(() => load.stop().then(() => undefined));
  await waitFor('changes before the signal', async () => load.changes >= 50);
  await admin.query(`insert into ${signals} values ('ad-hoc-1', 'execute-snapshot', $1)`, [
    JSON.stringify({ 'data-collections': [`public.${name}`], type: 'incremental' }),
  ]);
  await task.until('the first chunk', (records) => incrementalReads(records).length > 0);
  const during = load.changes;
  await waitFor('changes during the snapshot', async () => load.changes >= during + 200);
  assert.ok(incrementalReads(task.records).length < rows, 'the snapshot is still running');
  await untilDone(task);
  await load.stop();
  await sentinel(task, name, -1);

  const reads = incrementalReads(task.records);
  for (const record of reads) {
    assert.equal(payload(record).op, 'r');
    assert.equal(
      record.headers?.[SOURCE_VERSION_HEADER],
      sourceVersion(payload(record).source.lsn as number),
    );
  }
  assert.ok(
    task.records.every((record) => record.topic === topic),
    'signal table rows are not emitted (not captured)',
  );
  await assertConsistent(task.records, name, topic);
});

test("through the task's signal() (the REST path), with the same guarantees", async () => {
  const { name, topic } = await scenario('incr');
  const task = await started(config(name));
  await assert.rejects(
    task.task.signal({ type: 'execute-snapshot', data: { 'data-collections': [] } }),
    (error: unknown) =>
      error instanceof InvalidInputError && /data-collections/.test(error.message),
  );
  await assert.rejects(
    task.task.signal({ type: 'blow-up' }),
    (error: unknown) => error instanceof InvalidInputError,
  );
  const load = churn(loader, name, rows + 1, rows);
  cleanups.push(() => load.stop().then(() => undefined));
  await task.task.signal({
    type: 'execute-snapshot',
    data: { 'data-collections': [`public\\.${name.slice(0, 6)}.*`], type: 'incremental' },
  });
  await untilDone(task);
  await load.stop();
  await sentinel(task, name, -1);
  assert.ok(incrementalReads(task.records).length > rows / 2);
  await assertConsistent(task.records, name, topic);
});

test('resumes from the last completed chunk after a restart', async () => {
  const { name, topic } = await scenario('incx');
  const store = new OffsetStore();
  // A small queue: the stream (and so the snapshot) stalls while nobody polls.
  const small = { 'max.queue.size': '50', 'max.batch.size': '50' };
  const first = await started(config(name, small), store);
  await first.task.signal({
    type: 'execute-snapshot',
    data: { 'data-collections': [`public.${name}`] },
  });
  await first.until('a few chunks', (records) => incrementalReads(records).length >= 450);
  await first.stop();
  const firstReads = incrementalReads(first.records).length;
  assert.ok(firstReads < rows, 'stopped mid-snapshot');
  const stored = store.get({ server: name })!;
  assert.equal(typeof stored.incremental, 'string', 'the progress is in the offset');

  await admin.query(`delete from ${name} where id <= 10`);
  await admin.query(`update ${name} set v = 5 where id between 2000 and 2010`);
  const second = await started(config(name, small), store);
  await untilDone(second);
  await sentinel(second, name, -1);
  const secondReads = incrementalReads(second.records);
  // Whole chunks are re-read at most: what the first run completed is not read again.
  assert.ok(secondReads.length <= rows - firstReads + 100, `${secondReads.length} read again`);
  const firstKey = Math.min(...secondReads.map((record) => (record.key as { id: number }).id));
  assert.ok(firstKey > 400, `the second run starts at id ${firstKey}, past the completed chunks`);
  // The chunk in flight at the stop is read again (its rows were not all durable).
  await assertConsistent([...first.records, ...second.records], name, topic, 100);
});

test('stop-snapshot ends it; the stream goes on', async () => {
  const { name, signals } = await scenario('incs');
  const task = await started(config(name, { 'max.queue.size': '50', 'max.batch.size': '50' }));
  await admin.query(`insert into ${signals} values ('go', 'execute-snapshot', $1)`, [
    JSON.stringify({ 'data-collections': [`public.${name}`] }),
  ]);
  await task.until('the first chunk', (records) => incrementalReads(records).length > 0);
  // Not polling now: the stream stalls behind the full queue, the snapshot with it.
  await admin.query(`insert into ${signals} values ('halt', 'stop-snapshot', $1)`, [
    JSON.stringify({ 'data-collections': [`public.${name}`], type: 'incremental' }),
  ]);
  await sentinel(task, name, -1);
  const readsAtStop = incrementalReads(task.records).length;
  assert.ok(readsAtStop < rows, `${readsAtStop} rows read before the stop`);
  await sentinel(task, name, -2);
  assert.equal(incrementalReads(task.records).length, readsAtStop, 'no chunk after the stop');
  await task.until('the status to show it', () => {
    const progress = lastProgress(task);
    return progress?.['incremental.snapshot.tables.remaining'] === 0;
  });
  assert.equal(lastProgress(task)?.['incremental.snapshot.running'], false);
});
