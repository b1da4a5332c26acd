// The PostgreSQL source task against the real server: every operation, before-images per replica
// identity, TOAST placeholders, schema changes, keyless tables, filters, transaction metadata.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import {
  SOURCE_VERSION_HEADER,
  type RecordObject,
  type SourceRecord,
} from '../../../runtime/api/index.ts';
import {
  adminClient,
  baseConfig,
  dropReplicationObjects,
  payload,
  startTask,
  uniqueName,
} from './harness.ts';
import { jsonBytes } from '../../../runtime/cdc/json-bytes.ts';
import { rankBits } from '../../../connectors/postgres/change-version.ts';

let admin: pg.Client;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  admin = await adminClient();
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await admin.end();
});

async function scenario(columns: string, overrides: Record<string, string> = {}) {
  const name = uniqueName('pgs');
  await admin.query(`create table ${name} (${columns})`);
  const task = await startTask(
    baseConfig(name, { 'table.include.list': `public\\.${name}`, ...overrides }),
  );
  cleanups.push(async () => {
    await task.stop();
    await dropReplicationObjects(admin, name);
    await admin.query(`drop table if exists ${name}`);
  });
  return { name, task, topic: `${name}.public.${name}` };
}

function changes(records: SourceRecord[], topic: string): SourceRecord[] {
  return records.filter((record) => record.topic === topic);
}

function ops(records: SourceRecord[]): string[] {
  return records.map((record) => (record.value === null ? 'tombstone' : payload(record).op));
}

test('insert, update, delete, primary-key change and truncate, in commit order', async () => {
  const { name, task, topic } = await scenario('id int primary key, name text not null, qty int', {
    'skipped.operations': 'none',
  });
  await admin.query(`insert into ${name} values (1, 'a', 10), (2, 'b', 20)`);
  await admin.query(`update ${name} set qty = 11 where id = 1`);
  await admin.query(`update ${name} set id = 3 where id = 2`);
  await admin.query(`delete from ${name} where id = 1`);
  await admin.query(`truncate ${name}`);
  await task.until(
    'the events of five transactions',
    (records) => changes(records, topic).length >= 9,
  );
  const records = changes(task.records, topic);
  assert.deepEqual(ops(records), ['c', 'c', 'u', 'd', 'tombstone', 'c', 'd', 'tombstone', 't']);
  assert.deepEqual(
    records.map((record) => record.key),
    [{ id: 1 }, { id: 2 }, { id: 1 }, { id: 2 }, { id: 2 }, { id: 3 }, { id: 1 }, { id: 1 }, null],
  );
  assert.deepEqual(payload(records[2]!).after, { id: 1, name: 'a', qty: 11 });
  assert.equal(payload(records[2]!).before, null, 'REPLICA IDENTITY DEFAULT: no before image');
  assert.equal(records[3]!.headers?.['__debezium.newkey'], '{"id":3}');
  assert.equal(records[5]!.headers?.['__debezium.oldkey'], '{"id":2}');
  // Every event carries its transaction's commit LSN × 2^10 plus its rank in the transaction as
  // the source version (SOURCE_VERSION_HEADER): growing in log order.
  const versions = records.map((record) => BigInt(record.headers![SOURCE_VERSION_HEADER]!));
  assert.ok(
    versions.every((version, i) => version > 0n && (i === 0 || version >= versions[i - 1]!)),
  );
  const commitLsns = new Set(versions.map((version) => version >> BigInt(rankBits)));
  assert.equal(commitLsns.size, 5, 'five transactions, five commit LSNs');
  const source = payload(records[0]!).source;
  assert.equal(source.connector, 'postgresql');
  assert.equal(source.table, name);
  assert.equal(source.schema, 'public');
  assert.equal(source.snapshot, 'false');
  assert.equal(typeof source.txId, 'number');
  assert.equal(typeof source.lsn, 'number');
  // Commit order: txIds never decrease, LSNs grow across transactions.
  const txIds = records
    .filter((record) => record.value !== null)
    .map((record) => payload(record).source.txId as number);
  assert.deepEqual(
    [...txIds].sort((a, b) => a - b),
    txIds,
  );
});

test('REPLICA IDENTITY FULL gives whole before images; unchanged TOAST values get the placeholder', async () => {
  const { name, task, topic } = await scenario(
    'id int primary key, counter int, big text, tags text[]',
    {
      'unavailable.value.placeholder': '__unavailable',
    },
  );
  await admin.query(
    `alter table ${name} alter column big set storage external, alter column tags set storage external`,
  );
  await admin.query(
    `insert into ${name} values (1, 0, repeat('x', 20000), array_fill('t'::text, array[3000]))`,
  );
  await admin.query(`update ${name} set counter = 1 where id = 1`);
  await admin.query(`alter table ${name} replica identity full`);
  await admin.query(`update ${name} set counter = 2 where id = 1`);
  await admin.query(`delete from ${name} where id = 1`);
  await task.until(
    'four events',
    (records) => changes(records, topic).filter((record) => record.value !== null).length >= 4,
  );
  const [insert, toastUpdate, fullUpdate, deletion] = changes(task.records, topic).filter(
    (record) => record.value !== null,
  );
  assert.equal((payload(insert!).after!.big as string).length, 20000);
  assert.deepEqual(payload(toastUpdate!).after, {
    id: 1,
    counter: 1,
    big: '__unavailable',
    tags: ['__unavailable'],
  });
  assert.equal(payload(fullUpdate!).before!.counter, 1);
  assert.equal(
    (payload(fullUpdate!).before!.big as string).length,
    20000,
    'FULL identity logs the old row whole',
  );
  assert.deepEqual(payload(deletion!).before!.id, 1);
  assert.equal(payload(deletion!).before!.counter, 2);
});

test('schema changes show in the next event: added, dropped and retyped columns', async () => {
  const { name, task, topic } = await scenario('id int primary key, a int, b text');
  await admin.query(`insert into ${name} values (1, 1, 'x')`);
  await admin.query(`alter table ${name} add column c numeric(5,2)`);
  await admin.query(`insert into ${name} values (2, 2, 'y', 1.25)`);
  await admin.query(`alter table ${name} drop column b`);
  await admin.query(`insert into ${name} values (3, 3, 2.5)`);
  await admin.query(`alter table ${name} alter column a type bigint`);
  await admin.query(`insert into ${name} values (4, 4, 3.75)`);
  await task.until('four inserts', (records) => changes(records, topic).length >= 4);
  const records = changes(task.records, topic);
  const fields = (record: SourceRecord) =>
    (record.valueSchema!.fields!.find((field) => field.field === 'after')!.fields ?? []).map(
      (field) => `${field.field}:${field.type}`,
    );
  assert.deepEqual(records.map(fields), [
    ['id:int32', 'a:int32', 'b:string'],
    ['id:int32', 'a:int32', 'b:string', 'c:bytes'],
    ['id:int32', 'a:int32', 'c:bytes'],
    ['id:int32', 'a:int64', 'c:bytes'],
  ]);
  assert.deepEqual(
    payload(records[1]!).after!.c,
    jsonBytes(Buffer.from([0x7d])),
    '1.25 at scale 2: unscaled 125',
  );
  assert.deepEqual(Object.keys(payload(records[3]!).after!), ['id', 'a', 'c']);
});

test('a table without a primary key: null keys; FULL identity makes updates and deletes possible', async () => {
  const { name, task, topic } = await scenario('a int, b text');
  await admin.query(`insert into ${name} values (1, 'x')`);
  await admin.query(`alter table ${name} replica identity full`);
  await admin.query(`update ${name} set b = 'y' where a = 1`);
  await admin.query(`delete from ${name} where a = 1`);
  await task.until('three events', (records) => changes(records, topic).length >= 3);
  const records = changes(task.records, topic);
  assert.deepEqual(ops(records), ['c', 'u', 'd'], 'no tombstone for a null key');
  assert.ok(records.every((record) => record.key === null && record.keySchema === undefined));
  assert.deepEqual(payload(records[1]!).before, { a: 1, b: 'x' });
});

test('filters: only included tables and columns, other tables in the same publication are ignored', async () => {
  const name = uniqueName('pgf');
  const other = `${name}_other`;
  await admin.query(`create table ${name} (id int primary key, secret text, visible text)`);
  await admin.query(`create table ${other} (id int primary key)`);
  await admin.query(`create publication ${name} for table ${name}, ${other}`);
  const task = await startTask(
    baseConfig(name, {
      'publication.autocreate.mode': 'disabled',
      'table.include.list': `public\\.${name}`,
      'column.exclude.list': `public\\.${name}\\.secret`,
    }),
  );
  cleanups.push(async () => {
    await task.stop();
    await dropReplicationObjects(admin, name);
    await admin.query(`drop table if exists ${name}, ${other}`);
  });
  await admin.query(`insert into ${other} values (1)`);
  await admin.query(`insert into ${name} values (1, 's', 'v')`);
  await task.until('the included insert', (records) => records.length >= 1);
  assert.deepEqual(
    task.records.map((record) => record.topic),
    [`${name}.public.${name}`],
  );
  assert.deepEqual(payload(task.records[0]!).after, { id: 1, visible: 'v' });
});

test('transaction metadata: BEGIN/END around the events of one transaction, blocks in the events', async () => {
  const { name, task, topic } = await scenario('id int primary key', {
    'provide.transaction.metadata': 'true',
  });
  await admin.query(
    `begin; insert into ${name} values (1); insert into ${name} values (2); commit`,
  );
  await task.until('BEGIN, two events, END', (records) => records.length >= 4);
  const [begin, first, second, end] = task.records;
  assert.equal(begin!.topic, `${name}.transaction`);
  assert.equal((begin!.value as RecordObject).status, 'BEGIN');
  assert.equal((end!.value as RecordObject).status, 'END');
  assert.equal((end!.value as RecordObject).event_count, 2);
  assert.deepEqual((end!.value as RecordObject).data_collections, [
    { data_collection: `public.${name}`, event_count: 2 },
  ]);
  const id = (begin!.value as RecordObject).id;
  assert.match(String(id), new RegExp(`^${payload(first!).source.txId}:\\d+$`));
  assert.deepEqual(payload(second!).transaction, { id, total_order: 2, data_collection_order: 2 });
  assert.equal(first!.topic, topic);
});

test('types over the wire: numeric, timestamps, json, arrays, enum', async () => {
  const mood = uniqueName('mood');
  await admin.query(`create type ${mood} as enum ('sad', 'happy')`);
  cleanups.push(async () => {
    await admin.query(`drop type if exists ${mood}`);
  });
  const { name, task, topic } = await scenario(
    `id int primary key, n numeric(8,3), v numeric, t timestamp, tz timestamptz, j jsonb, a int[], m ${mood}, d date, i interval, u uuid`,
  );
  await admin.query(
    `insert into ${name} values (1, 12.5, 0.000100, '2024-01-02 03:04:05.678', '2024-01-02 03:04:05+01', '{"k": [1]}', '{1,2}', 'happy', '2024-01-02', '1 day 2 hours', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`,
  );
  await task.until('the insert', (records) => changes(records, topic).length >= 1);
  const row = payload(changes(task.records, topic)[0]!).after!;
  assert.deepEqual(row, {
    id: 1,
    n: jsonBytes(Buffer.from([0x30, 0xd4])),
    v: { scale: 4, value: jsonBytes(Buffer.from([1])) },
    t: 1704164645678000,
    tz: '2024-01-02T02:04:05.000000Z',
    j: '{"k": [1]}',
    a: [1, 2],
    m: 'happy',
    d: 19724,
    i: 93_600_000_000,
    u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  });
});

test('a type created after the start: the stream waits for the catalog and keeps the order', async () => {
  const { name, task, topic } = await scenario('id int primary key');
  const mood = uniqueName('mood_late');
  cleanups.push(async () => {
    await admin.query(`drop type if exists ${mood} cascade`);
  });
  await admin.query(`insert into ${name} values (0)`);
  await task.until('the first insert', (records) => changes(records, topic).length >= 1);
  await admin.query(`create type ${mood} as enum ('meh', 'yay')`);
  await admin.query(`alter table ${name} add column m ${mood}, add column tags ${mood}[]`);
  await admin.query(
    `insert into ${name} select g, 'yay', '{meh,yay}' from generate_series(1, 2000) g`,
  );
  await task.until('every insert', (records) => changes(records, topic).length >= 2001);
  const records = changes(task.records, topic);
  assert.deepEqual(
    records.map((record) => payload(record).after!.id),
    Array.from({ length: 2001 }, (_, i) => i),
  );
  assert.deepEqual(payload(records[1]!).after, { id: 1, m: 'yay', tags: ['meh', 'yay'] });
  const field = records[1]!
    .valueSchema!.fields!.find((candidate) => candidate.field === 'after')!
    .fields!.find((candidate) => candidate.field === 'm');
  assert.deepEqual(field?.parameters, { allowed: 'meh,yay' });
});
