// Captured pgoutput traffic → Debezium records: operations, keys, tombstones, primary-key changes,
// truncate, transaction metadata, offsets, resuming mid-transaction and heartbeats.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SOURCE_VERSION_HEADER,
  type RawConfig,
  type RecordObject,
  type SourceRecord,
} from '../../../runtime/api/index.ts';
import { CaptureFilter, KeyColumnOverrides } from '../../../runtime/cdc/filters.ts';
import {
  ChangeEventBuilder,
  heartbeatMessagePrefix,
} from '../../../connectors/postgres/change-events.ts';
import { rankBits } from '../../../connectors/postgres/change-version.ts';
import { postgresConfig } from '../../../connectors/postgres/config.ts';
import type { TableCatalog } from '../../../connectors/postgres/connection.ts';
import {
  AckTracker,
  ResumeFilter,
  type PostgresOffset,
} from '../../../connectors/postgres/offset.ts';
import type { PgoutputMessage } from '../../../connectors/postgres/pgoutput-decoder.ts';
import { TableSchema } from '../../../connectors/postgres/table-schema.ts';
import { TypeRegistry } from '../../../connectors/postgres/type-registry.ts';
import { fixture, type CapturedMessage } from './fixtures.ts';

const nowUs = 1_700_000_000_123_456;

const catalogs: Record<string, Omit<TableCatalog, 'oid'>> = {
  fx_crud: {
    schema: 'public',
    table: 'fx_crud',
    notNull: new Set(['id', 'name']),
    primaryKey: ['id'],
  },
  fx_full: { schema: 'public', table: 'fx_full', notNull: new Set(['id']), primaryKey: ['id'] },
  fx_copy: { schema: 'public', table: 'fx_copy', notNull: new Set(['id']), primaryKey: ['id'] },
};

function run(
  messages: CapturedMessage[],
  overrides: RawConfig = {},
  resume: Pick<PostgresOffset, 'lsn' | 'tx_commit_lsn' | 'tx_event'> | null = null,
): { records: SourceRecord[]; ack: AckTracker; builder: ChangeEventBuilder } {
  const config = postgresConfig({
    'database.hostname': 'db',
    'database.user': 'u',
    'database.dbname': 'inventory',
    'topic.prefix': 'srv',
    ...overrides,
  });
  const records: SourceRecord[] = [];
  const ack = new AckTracker(0);
  const builder = new ChangeEventBuilder({
    config,
    identity: { serverName: 'srv', database: 'inventory' },
    partition: { server: 'srv' },
    ack,
    resume: new ResumeFilter(resume),
    sink: { emit: (record) => records.push(record) },
    snapshotCompleted: true,
    startLsn: 0,
    clock: () => nowUs,
  });
  const filter = new CaptureFilter({
    tableExclude: config.tableExcludeList,
    columnExclude: config.columnExcludeList,
  });
  for (const { header, message } of messages) {
    if (message.tag === 'relation') {
      const catalog = catalogs[message.name];
      builder.setTable(
        message.relationId,
        filter.includesTable(message.schema, message.name)
          ? new TableSchema(
              message,
              catalog && { ...catalog, oid: message.relationId },
              new TypeRegistry(),
              {
                topicPrefix: config.topicPrefix,
                filter,
                keyOverrides: new KeyColumnOverrides(config.messageKeyColumns),
                typeModes: config.typeModes,
              },
            )
          : null,
      );
    } else builder.handle(message, header.walStart);
  }
  return { records, ack, builder };
}

function value(record: SourceRecord): RecordObject {
  return record.value as RecordObject;
}

function summary(record: SourceRecord): unknown[] {
  if (record.value === null) return ['tombstone', record.key];
  const envelope = value(record);
  return [envelope.op, record.key, envelope.before, envelope.after];
}

function commits(messages: CapturedMessage[]): Array<Extract<PgoutputMessage, { tag: 'commit' }>> {
  return messages
    .map((entry) => entry.message)
    .filter(
      (message): message is Extract<PgoutputMessage, { tag: 'commit' }> => message.tag === 'commit',
    );
}

test('source versions: the commit LSN × 2^10 plus the rank in the transaction, growing in log order', () => {
  const messages = fixture('crud');
  const { records } = run(messages);
  const scale = 2n ** BigInt(rankBits);
  const commitLsns = commits(messages).map((commit) => BigInt(commit.commitLsn));
  let previous: bigint | undefined;
  for (const record of records) {
    const version = BigInt(record.headers![SOURCE_VERSION_HEADER]!);
    // The commit's LSN (not the change's own) in the high bits.
    assert.equal(version / scale, BigInt(record.sourceOffset.tx_commit_lsn as number));
    assert.ok(commitLsns.includes(version / scale));
    if (previous !== undefined) {
      // A tombstone deletes the same document as its delete: same version. Every other event is
      // newer than the one before it.
      if (record.value === null) assert.equal(version, previous);
      else assert.ok(version > previous, `${version} after ${previous}`);
    }
    previous = version;
  }
});

test('every operation in Debezium form (truncate skipped by default, as Debezium)', () => {
  const { records } = run(fixture('crud'));
  assert.deepEqual(records.map(summary), [
    ['c', { id: 1 }, null, { id: 1, name: 'one', note: 'n1' }],
    ['c', { id: 2 }, null, { id: 2, name: 'two', note: null }],
    // REPLICA IDENTITY DEFAULT: no before image for an update that keeps the key
    ['u', { id: 1 }, null, { id: 1, name: 'uno', note: 'n1' }],
    // a primary-key change: delete of the old key (before = the old key columns), tombstone, create
    ['d', { id: 2 }, { id: 2, name: null, note: null }, null],
    ['tombstone', { id: 2 }],
    ['c', { id: 10 }, null, { id: 10, name: 'two', note: null }],
    ['d', { id: 1 }, { id: 1, name: null, note: null }, null],
    ['tombstone', { id: 1 }],
    // REPLICA IDENTITY FULL: complete before images
    ['c', { id: 1 }, null, { id: 1, name: 'a' }],
    ['u', { id: 1 }, { id: 1, name: 'a' }, { id: 1, name: 'b' }],
    ['d', { id: 1 }, { id: 1, name: 'b' }, null],
    ['tombstone', { id: 1 }],
    ['c', { id: 3 }, null, { id: 3, name: 'three', note: null }],
    // the column added by ALTER TABLE shows up in the next event
    ['c', { id: 4 }, null, { id: 4, name: 'four', note: null, extra: 44 }],
  ]);
  // The records of one pgoutput message stay together in a poll batch and in an append.
  assert.deepEqual(
    records.map((record) => record.joinsNext === true),
    [false, false, false, true, true, false, true, false, false, false, true, false, false, false],
  );
  const pkDelete = records[3]!;
  const pkCreate = records[5]!;
  // The create of the new key is one rank after the delete of the old one.
  const version = BigInt(pkDelete.headers![SOURCE_VERSION_HEADER]!);
  assert.deepEqual(pkDelete.headers, {
    [SOURCE_VERSION_HEADER]: String(version),
    '__debezium.newkey': '{"id":10}',
  });
  assert.deepEqual(pkCreate.headers, {
    [SOURCE_VERSION_HEADER]: String(version + 1n),
    '__debezium.oldkey': '{"id":2}',
  });
  const last = records.at(-1)!;
  assert.deepEqual(
    (last.valueSchema?.fields?.find((field) => field.field === 'after')?.fields ?? []).map(
      (field) => field.field,
    ),
    ['id', 'name', 'note', 'extra'],
  );
});

test('topics, schemas and the source block', () => {
  const captured = fixture('crud');
  const { records } = run(captured);
  const first = records[0]!;
  assert.equal(first.topic, 'srv.public.fx_crud');
  assert.equal(first.keySchema?.name, 'srv.public.fx_crud.Key');
  assert.equal(first.valueSchema?.name, 'srv.public.fx_crud.Envelope');
  assert.equal(first.valueSchema?.version, 2);
  assert.deepEqual(
    first.valueSchema?.fields?.map((field) => [field.field, field.name ?? field.type]),
    [
      ['before', 'srv.public.fx_crud.Value'],
      ['after', 'srv.public.fx_crud.Value'],
      ['source', 'io.debezium.connector.postgresql.Source'],
      ['transaction', 'event.block'],
      ['op', 'string'],
      ['ts_ms', 'int64'],
      ['ts_us', 'int64'],
      ['ts_ns', 'int64'],
    ],
  );
  const begin = captured.find((entry) => entry.message.tag === 'begin')!.message as Extract<
    PgoutputMessage,
    { tag: 'begin' }
  >;
  const insert = captured.find((entry) => entry.message.tag === 'insert')!;
  const envelope = value(first);
  assert.deepEqual(envelope.source, {
    version: '0.1.0',
    connector: 'postgresql',
    name: 'srv',
    ts_ms: Math.floor(begin.commitTimeUs / 1000),
    snapshot: 'false',
    db: 'inventory',
    sequence: `[null,"${insert.header.walStart}"]`,
    ts_us: begin.commitTimeUs,
    ts_ns: null,
    schema: 'public',
    table: 'fx_crud',
    txId: begin.xid,
    lsn: insert.header.walStart,
    xmin: null,
  });
  assert.equal(envelope.ts_ms, Math.floor(nowUs / 1000));
  assert.equal(envelope.ts_us, nowUs);
  // The next transaction's events carry the previous commit's end LSN in `sequence`.
  const firstCommit = commits(captured)[0]!;
  assert.match(
    String((value(records[2]!).source as RecordObject).sequence),
    new RegExp(`^\\["${firstCommit.endLsn}","\\d+"\\]$`),
  );
  assert.deepEqual(first.sourcePartition, { server: 'srv' });
});

test('offsets: lsn_proc is the end of the last transaction received before the record', () => {
  const captured = fixture('crud');
  const { records } = run(captured);
  const [firstCommit, secondCommit] = commits(captured);
  assert.equal(records[0]!.sourceOffset.lsn_proc, 0);
  assert.equal(records[1]!.sourceOffset.lsn_proc, 0);
  assert.equal(records[2]!.sourceOffset.lsn_proc, firstCommit!.endLsn);
  assert.equal(records[2]!.sourceOffset.lsn_commit, firstCommit!.endLsn);
  assert.equal(records[3]!.sourceOffset.lsn_proc, secondCommit!.endLsn);
  assert.equal(records[0]!.sourceOffset.tx_commit_lsn, firstCommit!.commitLsn);
  // delete + tombstone + create of one message: only the last carries the message's position
  assert.deepEqual(
    records.slice(3, 6).map((record) => record.sourceOffset.tx_event),
    [-1, -1, 0],
  );
  assert.ok(records.every((record) => record.sourceOffset.snapshot_completed === true));
});

test('truncate events when not skipped; tombstones can be turned off', () => {
  const { records } = run(fixture('crud'), {
    'skipped.operations': 'none',
    'tombstones.on.delete': 'false',
  });
  assert.equal(records.filter((record) => record.value === null).length, 0);
  const truncates = records.filter((record) => value(record).op === 't');
  assert.deepEqual(
    truncates.map((record) => [
      record.topic,
      record.key,
      value(record).before,
      value(record).after,
    ]),
    [
      ['srv.public.fx_crud', null, null, null],
      ['srv.public.fx_full', null, null, null],
    ],
  );
  assert.deepEqual(
    truncates.map((record) => record.sourceOffset.tx_event),
    [-1, 0],
  );
  const skipped = run(fixture('crud'), { 'skipped.operations': 'c,u' }).records;
  assert.deepEqual(
    [...new Set(skipped.map((record) => (record.value === null ? 'tombstone' : value(record).op)))],
    ['d', 'tombstone', 't'],
  );
});

test('transaction metadata: BEGIN before the first event, END with counts, a block in each event', () => {
  const captured = fixture('crud');
  const { records } = run(captured, { 'provide.transaction.metadata': 'true' });
  const transactionRecords = records.filter((record) => record.topic === 'srv.transaction');
  const begins = transactionRecords.filter((record) => value(record).status === 'BEGIN');
  const ends = transactionRecords.filter((record) => value(record).status === 'END');
  assert.equal(begins.length, 9);
  assert.equal(ends.length, 9);
  // the first transaction: two inserts
  const firstBegin = records.indexOf(begins[0]!);
  assert.equal(firstBegin, 0);
  const firstEnd = value(ends[0]!);
  assert.equal(firstEnd.event_count, 2);
  assert.deepEqual(firstEnd.data_collections, [
    { data_collection: 'public.fx_crud', event_count: 2 },
  ]);
  assert.equal(firstEnd.id, value(begins[0]!).id);
  assert.match(String(firstEnd.id), /^\d+:\d+$/);
  const blocks = records.slice(1, 3).map((record) => value(record).transaction);
  assert.deepEqual(blocks, [
    { id: firstEnd.id, total_order: 1, data_collection_order: 1 },
    { id: firstEnd.id, total_order: 2, data_collection_order: 2 },
  ]);
  // END carries the commit end as the position to acknowledge
  const [firstCommit] = commits(captured);
  assert.equal(ends[0]!.sourceOffset.lsn_proc, firstCommit!.endLsn);
  // the primary-key change counts two events (delete, create), the tombstone none
  const pkEnd = value(ends[2]!);
  assert.equal(pkEnd.event_count, 2);
});

test('resuming inside a COPY batch (one LSN, several rows) emits exactly the rows after the durable one', () => {
  const captured = fixture('copy');
  const all = run(captured).records;
  assert.equal(all.length, 5);
  const durable = all[2]!.sourceOffset;
  assert.equal(durable.tx_event, 2);
  const resumed = run(
    captured,
    {},
    {
      lsn: durable.lsn as number,
      tx_commit_lsn: durable.tx_commit_lsn as number,
      tx_event: durable.tx_event as number,
    },
  ).records;
  assert.deepEqual(
    resumed.map((record) => record.key),
    [{ id: 4 }, { id: 5 }],
  );
  assert.deepEqual(
    resumed.map((record) => record.sourceOffset),
    all.slice(3).map((record) => record.sourceOffset),
  );
});

test('resuming with transaction metadata keeps the numbering of the first delivery', () => {
  const captured = fixture('copy');
  const all = run(captured, { 'provide.transaction.metadata': 'true' }).records;
  const thirdRow = all.find((record) => (record.key as RecordObject | null)?.id === 3)!;
  const resumed = run(
    captured,
    { 'provide.transaction.metadata': 'true' },
    {
      lsn: thirdRow.sourceOffset.lsn as number,
      tx_commit_lsn: thirdRow.sourceOffset.tx_commit_lsn as number,
      tx_event: thirdRow.sourceOffset.tx_event as number,
    },
  ).records;
  const rows = resumed.filter((record) => record.topic !== 'srv.transaction');
  assert.deepEqual(
    rows.map((record) => (value(record).transaction as RecordObject).total_order),
    [4, 5],
  );
  assert.equal(value(resumed.at(-1)!).status, 'END');
  assert.equal(value(resumed.at(-1)!).event_count, 5);
});

test('a heartbeat message becomes a heartbeat record whose offset may be acknowledged', () => {
  const messages: CapturedMessage[] = [
    {
      header: { walStart: 5000, walEnd: 5000, sendTimeUs: 0 },
      message: {
        tag: 'message',
        transactional: false,
        lsn: 5000,
        prefix: heartbeatMessagePrefix,
        content: Buffer.from('slot'),
      },
    },
    {
      header: { walStart: 6000, walEnd: 6000, sendTimeUs: 0 },
      message: {
        tag: 'message',
        transactional: false,
        lsn: 6000,
        prefix: 'someone-else',
        content: Buffer.alloc(0),
      },
    },
  ];
  const { records, ack, builder } = run(messages);
  assert.equal(records.length, 1);
  const [heartbeat] = records;
  assert.equal(heartbeat!.topic, '__debezium-heartbeat.srv');
  assert.deepEqual(heartbeat!.key, { serverName: 'srv' });
  assert.deepEqual(heartbeat!.value, { ts_ms: Math.floor(nowUs / 1000) });
  assert.equal(heartbeat!.sourceOffset.lsn_proc, 5000);
  assert.equal(
    ack.durable([{ sourcePartition: { server: 'srv' }, sourceOffset: heartbeat!.sourceOffset }], {
      server: 'srv',
    }),
    6000,
  );
  assert.equal(builder.restartLsn, 6000);
});

test('message.key.columns and column.exclude.list', () => {
  const { records } = run(fixture('crud'), {
    'message.key.columns': 'public.fx_crud:name',
    'column.exclude.list': 'public\\.fx_crud\\.note',
    'table.exclude.list': 'public.fx_full',
  });
  assert.deepEqual(records[0]!.key, { name: 'one' });
  assert.deepEqual(value(records[0]!).after, { id: 1, name: 'one' });
  assert.ok(records.every((record) => record.topic === 'srv.public.fx_crud'));
  // The replica identity (the primary key id) does not carry the override key column, so the old
  // key is unknown: updates stay updates, keyed by the new values.
  assert.deepEqual(
    records.slice(2, 4).map((record) => [value(record).op, record.key]),
    [
      ['u', { name: 'uno' }],
      ['u', { name: 'two' }],
    ],
  );
});
