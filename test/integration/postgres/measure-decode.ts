// CPU cost per change of the connector's own hot path, without network or server: synthetic
// XLogData messages for the 10-column benchmark table go through our pgoutput decoder (as the
// replication stream calls it on each CopyData chunk), the change-event builder (type mapping, envelope, offsets) and the bounded
// queue, as poll() would take them. Prints ns per change and the implied ceiling in changes/s.
//
//   node --import tsx test/integration/postgres/measure-decode.ts [changes]

import type { SourceRecord } from '../../../runtime/api/index.ts';
import { BoundedChangeQueue } from '../../../runtime/cdc/change-queue.ts';
import { CaptureFilter, KeyColumnOverrides } from '../../../runtime/cdc/filters.ts';
import { ChangeEventBuilder } from '../../../connectors/postgres/change-events.ts';
import { postgresConfig } from '../../../connectors/postgres/config.ts';
import { AckTracker, ResumeFilter } from '../../../connectors/postgres/offset.ts';
import {
  decodePgoutput,
  readLsn,
  type RelationMessage,
} from '../../../connectors/postgres/pgoutput-decoder.ts';
import { TableSchema } from '../../../connectors/postgres/table-schema.ts';
import { TypeRegistry } from '../../../connectors/postgres/type-registry.ts';

const changes = Number(process.argv[2] ?? 1_000_000);
const relationId = 16400;

function cstring(text: string): Buffer {
  return Buffer.concat([Buffer.from(text), Buffer.from([0])]);
}

function relationMessage(): Buffer {
  const columns: Array<[string, number, number]> = [
    ['id', 20, -1],
    ['a', 23, -1],
    ['b', 25, -1],
    ['c', 25, -1],
    ['d', 1700, ((12 << 16) | 2) + 4],
    ['e', 1184, -1],
    ['f', 16, -1],
    ['g', 701, -1],
    ['h', 1043, 44],
    ['i', 1082, -1],
  ];
  const parts = [
    Buffer.from('R'),
    Buffer.alloc(4),
    cstring('public'),
    cstring('bench'),
    Buffer.from('d'),
    Buffer.alloc(2),
  ];
  parts[1]!.writeUInt32BE(relationId);
  parts[5]!.writeInt16BE(columns.length);
  for (const [name, oid, typmod] of columns) {
    const meta = Buffer.alloc(8);
    meta.writeUInt32BE(oid);
    meta.writeInt32BE(typmod, 4);
    parts.push(Buffer.from([name === 'id' ? 1 : 0]), cstring(name), meta);
  }
  return Buffer.concat(parts);
}

function insertMessage(id: number): Buffer {
  const values = [
    String(id),
    String(id),
    `text ${id}`,
    'c4ca4238a0b923820dcc509a6f75849b',
    `${id * 1.5}`.includes('.') ? `${(id * 1.5).toFixed(2)}` : `${id * 1.5}.00`,
    '2026-11-26 23:40:15.970571+00',
    id % 2 === 0 ? 't' : 'f',
    String(id / 3),
    `v${id}`,
    '2026-11-26',
  ];
  const parts = [Buffer.from('I'), Buffer.alloc(4), Buffer.from('N'), Buffer.alloc(2)];
  parts[1]!.writeUInt32BE(relationId);
  parts[3]!.writeInt16BE(values.length);
  for (const value of values) {
    const bytes = Buffer.from(value);
    const length = Buffer.alloc(4);
    length.writeInt32BE(bytes.length);
    parts.push(Buffer.from('t'), length, bytes);
  }
  return Buffer.concat(parts);
}

/** Messages laid out like the driver's read buffer: a 25-byte XLogData header before each payload. */
function stream(count: number): Array<{ chunk: Buffer; start: number; end: number }> {
  const framed: Array<{ chunk: Buffer; start: number; end: number }> = [];
  let lsn = 0x5000000;
  for (let id = 1; id <= count; id++) {
    const payload = insertMessage(id);
    const header = Buffer.alloc(25);
    header[0] = 0x77;
    header.writeUInt32BE(0, 1);
    header.writeUInt32BE(lsn, 5);
    const chunk = Buffer.concat([header, payload]);
    framed.push({ chunk, start: 25, end: chunk.length });
    lsn += 200;
  }
  return framed;
}

const config = postgresConfig({
  'database.hostname': 'h',
  'database.user': 'u',
  'database.dbname': 'bench',
  'topic.prefix': 'bench',
});
const queue = new BoundedChangeQueue<SourceRecord>({
  maxBytes: 1 << 30,
  maxItems: 1 << 30,
  pause() {},
  resume() {},
});
const builder = new ChangeEventBuilder({
  config,
  identity: { serverName: 'bench', database: 'bench' },
  partition: { server: 'bench' },
  ack: new AckTracker(0),
  resume: new ResumeFilter(null),
  sink: { emit: (record, bytes) => queue.push(record, bytes, record.joinsNext === true) },
  snapshotCompleted: true,
  startLsn: 0,
});
const relation = decodePgoutput(relationMessage()) as RelationMessage;
builder.setTable(
  relationId,
  new TableSchema(
    relation,
    {
      oid: relationId,
      schema: 'public',
      table: 'bench',
      notNull: new Set(['id']),
      primaryKey: ['id'],
    },
    new TypeRegistry(),
    {
      topicPrefix: 'bench',
      filter: new CaptureFilter({}),
      keyOverrides: new KeyColumnOverrides(undefined),
      typeModes: config.typeModes,
    },
  ),
);
const messages = stream(4096);
const transactionSize = 1000;

function run(count: number): number {
  const started = process.hrtime.bigint();
  let lsn = 0x1000000;
  for (let i = 0; i < count; i++) {
    if (i % transactionSize === 0) {
      builder.handle(
        { tag: 'begin', finalLsn: lsn + 1_000_000, commitTimeUs: 1_795_000_000_000_000, xid: i },
        lsn,
      );
    }
    const { chunk, start, end } = messages[i % messages.length]!;
    // What the replication stream does with each CopyData chunk.
    builder.handle(decodePgoutput(chunk, start), readLsn(chunk, 1));
    void end;
    if (i % transactionSize === transactionSize - 1) {
      builder.handle(
        {
          tag: 'commit',
          flags: 0,
          commitLsn: lsn + 1_000_000,
          endLsn: lsn + 1_000_100,
          commitTimeUs: 1_795_000_000_000_000,
        },
        lsn,
      );
      lsn += 2_000_000;
    }
    if (queue.length >= 2048) queue.take(2048);
  }
  queue.take(queue.length);
  return Number(process.hrtime.bigint() - started);
}

run(100_000); // warm-up
const elapsed = run(changes);
const perChange = elapsed / changes;
console.log(
  `${changes} changes: ${perChange.toFixed(0)} ns per change on the decode→record path (ceiling ${Math.round(1e9 / perChange)} changes/s on one core); RSS ${Math.round(process.memoryUsage().rss / 1e6)} MB`,
);
