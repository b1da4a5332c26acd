// Heartbeats keep the slot moving while the captured tables are quiet and the rest of the server
// is busy; the bounded queue pauses the replication socket so a slow consumer does not grow the
// heap, and nothing is lost once it drains.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { parseLsn } from '../../../connectors/postgres/pgoutput-decoder.ts';
import {
  adminClient,
  baseConfig,
  dropReplicationObjects,
  payload,
  startTask,
  uniqueName,
  waitFor,
} from './harness.ts';

let admin: pg.Client;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  admin = await adminClient();
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await admin.end();
});

async function currentLsn(): Promise<number> {
  const { rows } = await admin.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
  return parseLsn(rows[0]!.lsn);
}

async function confirmedFlush(slot: string): Promise<number> {
  const { rows } = await admin.query<{ lsn: string }>(
    'select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1',
    [slot],
  );
  return parseLsn(rows[0]!.lsn);
}

test('heartbeats: records on the heartbeat topic, the action query runs, the slot passes busy uncaptured tables', async () => {
  const name = uniqueName('pghb');
  const busy = `${name}_busy`;
  const beat = `${name}_beat`;
  await admin.query(`create table ${name} (id int primary key)`);
  await admin.query(`create table ${busy} (id serial primary key, filler text)`);
  await admin.query(`create table ${beat} (at timestamptz)`);
  const running = await startTask(
    baseConfig(name, {
      'table.include.list': `public\\.${name}`,
      'heartbeat.interval.ms': '100',
      'heartbeat.action.query': `insert into ${beat} values (now())`,
      'status.update.interval.ms': '100',
    }),
  );
  cleanups.push(async () => {
    await running.stop();
    await dropReplicationObjects(admin, name);
    await admin.query(`drop table if exists ${name}, ${busy}, ${beat}`);
  });
  // The rest of the server is busy; the captured table is quiet.
  await admin.query(
    `insert into ${busy} (filler) select repeat('x', 200) from generate_series(1, 5000)`,
  );
  const busyEnd = await currentLsn();
  await running.until('a heartbeat after the busy writes', (records) =>
    records.some(
      (record) =>
        record.topic === `__debezium-heartbeat.${name}` &&
        (record.sourceOffset.lsn as number) >= busyEnd,
    ),
  );
  const heartbeat = running.records.find(
    (record) => record.topic === `__debezium-heartbeat.${name}`,
  )!;
  assert.deepEqual(heartbeat.key, { serverName: name });
  assert.equal(heartbeat.keySchema?.name, 'io.debezium.connector.common.ServerNameKey');
  assert.equal(heartbeat.valueSchema?.name, 'io.debezium.connector.common.Heartbeat');
  assert.equal(typeof (heartbeat.value as { ts_ms: unknown }).ts_ms, 'number');
  assert.ok(
    running.records.every((record) => record.topic === `__debezium-heartbeat.${name}`),
    'no data events',
  );
  // Committed heartbeat offsets move the slot past WAL that holds no captured change.
  await waitFor(
    'the slot to pass the busy writes',
    async () => (await confirmedFlush(name)) >= busyEnd,
  );
  const { rows } = await admin.query<{ beats: number }>(
    `select count(*)::int as beats from ${beat}`,
  );
  assert.ok(rows[0]!.beats > 0, 'heartbeat.action.query ran');
});

test('backpressure: a full queue pauses the socket; the backlog arrives complete once drained', async () => {
  const name = uniqueName('pgbp');
  await admin.query(`create table ${name} (id int primary key, filler text)`);
  const limit = 256 * 1024;
  const running = await startTask(
    baseConfig(name, {
      'table.include.list': `public\\.${name}`,
      'max.queue.size.in.bytes': String(limit),
      'max.queue.size': '100000',
      'max.batch.size': '500',
    }),
  );
  cleanups.push(async () => {
    await running.stop();
    await dropReplicationObjects(admin, name);
    await admin.query(`drop table if exists ${name}`);
  });
  const rows = 20_000; // ~20 MB of estimated record memory if nothing held the stream back
  await admin.query(
    `insert into ${name} select g, repeat('y', 400) from generate_series(1, ${rows}) g`,
  );
  // Nobody polls: the queue fills, the task pauses the socket, the walsender blocks on the write.
  await waitFor('the queue to pause the stream', async () => running.task.queueState.paused);
  await waitFor('the walsender to block on the paused socket', async () => {
    const { rows: senders } = await admin.query<{ wait_event: string | null }>(
      `select a.wait_event from pg_stat_activity a join pg_replication_slots s on s.active_pid = a.pid where s.slot_name = $1`,
      [name],
    );
    return senders[0]?.wait_event === 'WalSenderWriteData';
  });
  const held = running.task.queueState;
  // Soft bound: the messages already read from the socket when it paused still get queued.
  assert.ok(
    held.bytes < limit + 1024 * 1024,
    `${held.bytes} bytes queued with a ${limit}-byte limit`,
  );
  assert.ok(held.records < rows / 4, `${held.records} records queued`);
  await running.until('every row', (records) => records.length >= rows, 120_000);
  const ids = running.records.map((record) => payload(record).after!.id as number);
  assert.deepEqual(
    ids,
    Array.from({ length: rows }, (_, i) => i + 1),
  );
});
