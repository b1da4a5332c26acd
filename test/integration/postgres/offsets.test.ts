// Offsets and acknowledgements against the real server: the slot moves only with durable
// positions, a restart resumes right after the last durable record (also inside a transaction and
// inside a COPY batch), and a dropped replication connection is resumed without gap or duplicate.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import type { SourceRecord } from '../../../runtime/api/index.ts';
import { parseLsn } from '../../../connectors/postgres/pgoutput-decoder.ts';
import {
  adminClient,
  baseConfig,
  dropReplicationObjects,
  OffsetStore,
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

async function table(columns = 'id int primary key, v text'): Promise<string> {
  const name = uniqueName('pgo');
  await admin.query(`create table ${name} (${columns})`);
  cleanups.push(async () => {
    await dropReplicationObjects(admin, name);
    await admin.query(`drop table if exists ${name}`);
  });
  return name;
}

function config(name: string, overrides: Record<string, string> = {}) {
  return baseConfig(name, {
    'table.include.list': `public\\.${name}`,
    'status.update.interval.ms': '100',
    ...overrides,
  });
}

async function confirmedFlush(slot: string): Promise<number> {
  const { rows } = await admin.query<{ lsn: string }>(
    'select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1',
    [slot],
  );
  return parseLsn(rows[0]!.lsn);
}

/** Wait until the server has received a status update from the task's walsender after `since`. */
async function statusReceivedAfter(slot: string, since: Date): Promise<void> {
  await waitFor('a status update from the task', async () => {
    const { rows } = await admin.query<{ reply_time: Date | null }>(
      `select r.reply_time from pg_stat_replication r join pg_replication_slots s on s.active_pid = r.pid
        where s.slot_name = $1`,
      [slot],
    );
    const replyTime = rows[0]?.reply_time;
    return replyTime !== undefined && replyTime !== null && replyTime > since;
  });
}

function ids(records: SourceRecord[]): number[] {
  return records
    .filter((record) => record.value !== null)
    .map((record) => payload(record).after!.id as number);
}

test('the slot moves only with durable positions: received is not acknowledged', async () => {
  const name = await table();
  const running = await startTask(config(name), new OffsetStore(), { commit: false });
  cleanups.push(() => running.stop());
  for (let i = 1; i <= 3; i++) await admin.query(`insert into ${name} values (${i}, 'x')`);
  await running.until('three received records', (records) => records.length >= 3);
  // The server hears from the task after it received everything. Confirming a position at or past
  // a transaction's commit LSN would make a restart skip it: with nothing durable, the slot must
  // stay at or before the first transaction's commit. (Before any record, positions the task saw
  // while idle may be confirmed: other databases write WAL too.)
  await statusReceivedAfter(name, new Date());
  const firstCommit = running.records[0]!.sourceOffset.tx_commit_lsn as number;
  assert.ok(
    (await confirmedFlush(name)) <= firstCommit,
    'nothing durable: the slot stays before the first transaction',
  );

  // Durable up to the second record: its lsn_proc (the end of the first transaction) is confirmed.
  await running.commitUpTo(running.records[1]!);
  const second = running.records[1]!.sourceOffset.lsn_proc as number;
  await waitFor(
    'the slot to reach the second record',
    async () => (await confirmedFlush(name)) >= second,
  );
  await statusReceivedAfter(name, new Date());
  assert.ok(
    (await confirmedFlush(name)) <= (running.records[2]!.sourceOffset.tx_commit_lsn as number),
    'the third record is not durable: the slot stays before its transaction',
  );

  // Everything durable: the last commit's end (and later keepalive positions) may be confirmed.
  await running.commitUpTo(running.records[2]!);
  const lastTransactionCommit = running.records[2]!.sourceOffset.tx_commit_lsn as number;
  await waitFor(
    'the slot to pass the last transaction',
    async () => (await confirmedFlush(name)) > lastTransactionCommit,
  );
});

test('restart after a clean stop: exactly the changes made while stopped', async () => {
  const name = await table();
  const store = new OffsetStore();
  const first = await startTask(config(name), store);
  for (let i = 1; i <= 3; i++) await admin.query(`insert into ${name} values (${i}, 'x')`);
  await first.until('three records', (records) => records.length >= 3);
  await first.stop();
  for (let i = 4; i <= 5; i++) await admin.query(`insert into ${name} values (${i}, 'y')`);
  const second = await startTask(config(name), store);
  cleanups.push(() => second.stop());
  await admin.query(`insert into ${name} values (6, 'z')`);
  await second.until('the records after the restart', (records) => ids(records).includes(6));
  assert.deepEqual(ids(second.records), [4, 5, 6]);
});

test('a crash between receipt and durability: the next run starts right after the last durable record', async () => {
  const name = await table();
  const store = new OffsetStore();
  const first = await startTask(config(name), store, { commit: false });
  await admin.query(`insert into ${name} values (1, 'a')`);
  await admin.query(
    `begin; insert into ${name} values (2, 'b'); insert into ${name} values (3, 'c'); insert into ${name} values (4, 'd'); commit`,
  );
  await admin.query(`insert into ${name} values (5, 'e')`);
  await first.until('five records', (records) => records.length >= 5);
  // Durable: the first transaction and the first row of the second; the rest was in flight.
  await first.commitUpTo(first.records[1]!);
  await first.stop(); // the records after it are lost with the process
  const second = await startTask(config(name), store);
  cleanups.push(() => second.stop());
  await second.until('the records in flight', (records) => ids(records).includes(5));
  assert.deepEqual(ids(second.records), [3, 4, 5]);
  // the same positions as the first delivery (lsn_proc may differ: it also follows keepalives)
  const position = (record: SourceRecord) => {
    const { lsn, txId, tx_commit_lsn, tx_event, lsn_commit } = record.sourceOffset;
    return { lsn, txId, tx_commit_lsn, tx_event, lsn_commit };
  };
  assert.deepEqual(second.records.map(position), first.records.slice(2).map(position));
});

test('a crash inside a COPY batch (many rows, one LSN) resumes after the durable row', async () => {
  const name = await table('id int primary key, v text');
  const store = new OffsetStore();
  const first = await startTask(config(name), store, { commit: false });
  await admin.query(`copy ${name} from program 'seq 1 6 | sed -e "s/$/\\tv/"'`);
  await first.until('six records', (records) => records.length >= 6);
  assert.equal(
    new Set(first.records.map((record) => record.sourceOffset.lsn)).size,
    1,
    'one WAL record',
  );
  await first.commitUpTo(first.records[3]!);
  await first.stop();
  const second = await startTask(config(name), store);
  cleanups.push(() => second.stop());
  await admin.query(`insert into ${name} values (100, 'after')`);
  await second.until('the rest of the batch', (records) => ids(records).includes(100));
  assert.deepEqual(ids(second.records), [5, 6, 100]);
});

test('a dropped replication connection is resumed without gap or duplicate', async () => {
  const name = await table();
  const running = await startTask(config(name, { 'retriable.restart.connector.wait.ms': '200' }));
  cleanups.push(() => running.stop());
  await admin.query(`insert into ${name} values (1, 'a')`);
  await running.until('the first record', (records) => records.length >= 1);
  // Records polled but not durable must not come back; records never polled must not be lost.
  await admin.query(
    `begin; insert into ${name} values (2, 'b'); insert into ${name} values (3, 'c'); commit`,
  );
  await admin.query(
    `select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active`,
    [name],
  );
  await admin.query(`insert into ${name} values (4, 'd')`);
  await running.until('the records after the reconnect', (records) => ids(records).includes(4));
  assert.deepEqual(ids(running.records), [1, 2, 3, 4]);
  assert.ok(running.logs.some((entry) => entry.message.includes('resumed')));
});
