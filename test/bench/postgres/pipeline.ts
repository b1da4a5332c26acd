// The worker's side of the PostgreSQL benchmark without PostgreSQL: a standalone worker (local
// log, fsync always, Debezium JSON with schemas — the benchmark's settings) runs a source whose
// task builds the benchmark table's change records with the connector's own decoder and event
// builder from synthetic pgoutput messages (the 10 columns and values of workload.ts). What it
// times is therefore the source pump, the converters, the log and the offset commits, plus the
// connector's decode — every step of `bench:postgres`'s Kafki row but the network and the server.
// For iterating on the worker's hot path (a profile without a slot to refill); bench.ts is the
// reference.
//
//   node --import tsx [--cpu-prof …] test/bench/postgres/pipeline.ts [--changes 300000]
//       [--updates-every 3] [--worker-prop key=value]…
//
// PIPELINE_SNAPSHOT=/path.heapsnapshot writes a heap snapshot 1.5 s into the run (what is live
// mid-stream). Prints changes/s (from the connector's creation until the task heard commit() of the last
// record: durable, offsets stored), CPU user/system, GC time and peak RSS / heap / external.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { ConnectorPlugin } from '../../../runtime/api/connector.ts';
import type { Logger, LogFn } from '../../../runtime/api/logger.ts';
import type { SourceRecord } from '../../../runtime/api/record.ts';
import type { SourceTask } from '../../../runtime/api/source-task.ts';
import { CaptureFilter, KeyColumnOverrides } from '../../../runtime/cdc/filters.ts';
import { ChangeEventBuilder } from '../../../connectors/postgres/change-events.ts';
import { postgresConfig } from '../../../connectors/postgres/config.ts';
import { AckTracker, ResumeFilter } from '../../../connectors/postgres/offset.ts';
import {
  decodePgoutput,
  type RelationMessage,
} from '../../../connectors/postgres/pgoutput-decoder.ts';
import { TableSchema } from '../../../connectors/postgres/table-schema.ts';
import { TypeRegistry } from '../../../connectors/postgres/type-registry.ts';
import { createStandaloneRuntime, parseWorkerConfig } from '../../../runtime/worker-runtime.ts';

const { values: args } = parseArgs({
  options: {
    changes: { type: 'string', default: '300000' },
    'updates-every': { type: 'string', default: '3' },
    'worker-prop': { type: 'string', multiple: true, default: [] },
  },
});
const total = Number(args.changes);
const updatesEvery = Number(args['updates-every']);
const relationId = 16400;

function cstring(text: string): Buffer {
  return Buffer.concat([Buffer.from(text), Buffer.from([0])]);
}

/** The benchmark table (workload.ts): bigint key and nine more columns. */
function relationMessage(): Buffer {
  const columns: Array<[string, number, number]> = [
    ['id', 20, -1],
    ['customer_id', 23, -1],
    ['order_no', 20, -1],
    ['amount', 1700, ((12 << 16) | 2) + 4],
    ['description', 25, -1],
    ['status', 1043, 16 + 4],
    ['is_paid', 16, -1],
    ['created_at', 1184, -1],
    ['score', 701, -1],
    ['attrs', 3802, -1],
  ];
  const parts = [
    Buffer.from('R'),
    Buffer.alloc(4),
    cstring('public'),
    cstring('orders'),
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

const statuses = ['new', 'paid', 'shipped', 'delivered', 'cancelled'];

/** An insert ('I') or, with update, an update ('U' with the new tuple only) of row id. */
function changeMessage(id: number, update: boolean): Buffer {
  const created = new Date(Date.UTC(2024, 0, 1) + id * 1000).toISOString();
  const values = [
    String(id),
    String((id * 7919) % 100000),
    String(1e12 + id),
    (((id * 37) % 1000000) / 100).toFixed(2),
    `order ${id.toString(16).padStart(32, '0')}`,
    statuses[(id + (update ? 1 : 0)) % statuses.length]!,
    id % 3 === 0 ? 't' : 'f',
    `${created.slice(0, 10)} ${created.slice(11, 19)}+00`,
    String((id % 1000) / 7),
    `{"gift": ${id % 2 === 0}, "items": ${id % 10}, "channel": "${id % 2 === 0 ? 'web' : 'app'}"}`,
  ];
  const parts = [
    Buffer.from(update ? 'U' : 'I'),
    Buffer.alloc(4),
    Buffer.from('N'),
    Buffer.alloc(2),
  ];
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

const transactionSize = 1000;
const maxBatch = 2048;

/** The task: records built on poll, as the PostgreSQL task's queue hands them out. */
function replayTask(done: (atMs: number) => void): SourceTask {
  const config = postgresConfig({
    'database.hostname': 'h',
    'database.user': 'u',
    'database.dbname': 'bench',
    'topic.prefix': 'kbench',
  });
  let queue: SourceRecord[] = [];
  const builder = new ChangeEventBuilder({
    config,
    identity: { serverName: 'kbench', database: 'bench' },
    partition: { server: 'kbench' },
    ack: new AckTracker(0),
    resume: new ResumeFilter(null),
    sink: { emit: (record) => queue.push(record) },
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
        table: 'orders',
        notNull: new Set(['id']),
        primaryKey: ['id'],
      },
      new TypeRegistry(),
      {
        topicPrefix: 'kbench',
        filter: new CaptureFilter({}),
        keyOverrides: new KeyColumnOverrides(undefined),
        typeModes: config.typeModes,
      },
    ),
  );
  // A few thousand distinct messages, reused (decoding reads them, never keeps them).
  const messages = Array.from({ length: 4096 }, (_, i) =>
    changeMessage(i + 1, updatesEvery > 0 && i % updatesEvery === updatesEvery - 1),
  );
  let made = 0;
  let lsn = 0x1000000;
  const produce = (count: number): void => {
    for (let i = 0; i < count && made < total; i++, made++) {
      if (made % transactionSize === 0) {
        builder.handle(
          { tag: 'begin', finalLsn: lsn + 1_000_000, commitTimeUs: Date.now() * 1000, xid: made },
          lsn,
        );
      }
      lsn += 200;
      builder.handle(decodePgoutput(messages[made % messages.length]!, 0), lsn);
      if (made % transactionSize === transactionSize - 1 || made === total - 1) {
        builder.handle(
          {
            tag: 'commit',
            flags: 0,
            commitLsn: lsn + 1,
            endLsn: lsn + 2,
            commitTimeUs: Date.now() * 1000,
          },
          lsn,
        );
        lsn += 1000;
      }
    }
  };
  let committed = 0;
  let lastLsn = -1;
  return {
    start: async () => {},
    poll: async () => {
      if (made >= total) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return [];
      }
      produce(maxBatch);
      const batch = queue;
      queue = [];
      lastLsn = batch[batch.length - 1]!.sourceOffset.lsn as number;
      return batch;
    },
    commit: async (offsets) => {
      for (const offset of offsets) {
        if (offset.sourceOffset.lsn === lastLsn && made >= total && committed === 0) {
          committed = 1;
          done(performance.now());
        }
      }
    },
    stop: async () => {},
  };
}

const noop: LogFn = (() => {}) as LogFn;
const warn: LogFn = ((context: object | string, message?: string) =>
  process.stderr.write(
    `${typeof context === 'string' ? context : `${message ?? ''} ${JSON.stringify(context)}`}\n`,
  )) as LogFn;
const logger: Logger = { error: warn, warn, info: noop, debug: noop, child: () => logger };

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

const peaks = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0 };
const sampler = setInterval(() => {
  const usage = process.memoryUsage();
  peaks.rss = Math.max(peaks.rss, usage.rss);
  peaks.heapUsed = Math.max(peaks.heapUsed, usage.heapUsed);
  peaks.heapTotal = Math.max(peaks.heapTotal, usage.heapTotal);
  peaks.external = Math.max(peaks.external, usage.external);
}, 20);

let finish: (atMs: number) => void = () => {};
const finished = new Promise<number>((resolve) => (finish = resolve));
const replayPlugin: ConnectorPlugin = {
  kind: 'source',
  className: 'kafki.bench.PostgresReplay',
  version: '1',
  description: 'synthetic PostgreSQL changes',
  configSchema: { type: 'object', properties: {} } as never,
  createConnector: () => ({
    start: async () => {},
    taskConfigs: async () => [{}],
    stop: async () => {},
  }),
  createTask: () => replayTask(finish),
};

const dir = mkdtempSync(join(tmpdir(), 'kafki-bench-pipeline-'));
const workerProps = Object.fromEntries(
  (args['worker-prop'] as string[]).map((pair) => [
    pair.slice(0, pair.indexOf('=')),
    pair.slice(pair.indexOf('=') + 1),
  ]),
);
const workerConfig = await parseWorkerConfig({
  'worker.id': 'kafki-pipeline:8083',
  'log.backend': 'local',
  'log.dir': join(dir, 'log'),
  'log.fsync': 'always',
  'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
  'key.converter.schemas.enable': true,
  'value.converter.schemas.enable': true,
  ...workerProps,
});
const runtime = await createStandaloneRuntime({
  workerConfig,
  logger,
  plugins: [replayPlugin],
  env: {},
});
try {
  const rssAtReady = process.memoryUsage.rss();
  const cpu = process.cpuUsage();
  const gcBefore = gcMs;
  const started = performance.now();
  await runtime.herder.createConnector('replay', {
    'connector.class': 'kafki.bench.PostgresReplay',
    'tasks.max': '1',
  });
  if (process.env.PIPELINE_SNAPSHOT) {
    setTimeout(() => {
      void import('node:v8').then((v8) => v8.writeHeapSnapshot(process.env.PIPELINE_SNAPSHOT));
    }, 1500);
  }
  const at = await finished;
  const used = process.cpuUsage(cpu);
  const seconds = (at - started) / 1000;
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  const rusage = process.resourceUsage();
  console.log(
    JSON.stringify({
      changes: total,
      seconds: Math.round(seconds * 100) / 100,
      per_second: Math.round(total / seconds),
      cpu_user_s: Math.round(used.user / 1e4) / 100,
      cpu_system_s: Math.round(used.system / 1e4) / 100,
      cpu_us_per_change: Math.round(((used.user + used.system) / total) * 100) / 100,
      gc_ms: Math.round(gcMs - gcBefore),
      rss_ready_mb: mb(rssAtReady),
      peak_rss_mb: Math.max(mb(peaks.rss), Math.round(rusage.maxRSS / 1024)),
      peak_heap_used_mb: mb(peaks.heapUsed),
      peak_heap_total_mb: mb(peaks.heapTotal),
      peak_external_mb: mb(peaks.external),
    }),
  );
} finally {
  clearInterval(sampler);
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
