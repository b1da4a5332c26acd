// Quick local measurement (not a pass/fail test) of the whole standalone pipeline: the PostgreSQL
// source in a worker, Debezium JSON (schemas on) into the local log with fsync, offsets committed
// and the slot acknowledged. N inserts wait in the slot; the clock runs from the connector's
// creation until the slot's confirmed_flush_lsn reaches the last commit (acknowledged = durable).
//
//   node --import tsx test/integration/postgres/measure-worker.ts [rows] [tcp|unix]

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseLsn } from '../../../connectors/postgres/pgoutput-decoder.ts';
import { startRuntime, tempDir } from '../runtime/harness.ts';
import {
  adminClient,
  baseConfig,
  dropReplicationObjects,
  pgTarget,
  uniqueName,
} from './harness.ts';

const rows = Number(process.argv[2] ?? 200_000);
const transport = process.argv[3] ?? 'tcp';
const admin = await adminClient();
const table = uniqueName('pgwbench');
await admin.query(
  `create table ${table} (id bigint primary key, a int, b text, c text, d numeric(12,2), e timestamptz,
   f boolean, g double precision, h varchar(40), i date)`,
);
await admin.query(`create publication ${table} for table ${table}`);
await admin.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [table]);
for (let start = 1; start <= rows; start += 1000) {
  await admin.query(
    `insert into ${table} select g, g, 'text ' || g, md5(g::text), g * 1.5, now(), g % 2 = 0, g / 3.0, 'v' || g, current_date
       from generate_series(${start}, ${Math.min(rows, start + 999)}) g`,
  );
}
const endLsn = parseLsn(
  (await admin.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0]!.lsn,
);
const dir = tempDir('pg-worker-bench');
const runtime = await startRuntime(join(dir, 'data'), { worker: { 'log.fsync': 'always' } });
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
try {
  const started = performance.now();
  await runtime.herder.createConnector(table, {
    'connector.class': 'PostgresConnector',
    ...baseConfig(table, {
      'database.hostname': transport === 'unix' ? '/var/run/postgresql' : pgTarget().host,
      'publication.autocreate.mode': 'disabled',
      'topic.prefix': 'wbench',
    }),
  });
  for (;;) {
    const { rows: slot } = await admin.query<{ lsn: string }>(
      'select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1',
      [table],
    );
    if (parseLsn(slot[0]!.lsn) >= endLsn) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${transport}: ${rows} changes durable in the local log and acknowledged in ${seconds.toFixed(2)} s = ${Math.round(rows / seconds)} changes/s; peak RSS ${Math.round(peakRss / 1e6)} MB`,
  );
} finally {
  clearInterval(sampler);
  await runtime.herder.deleteConnector(table).catch(() => undefined);
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
  await dropReplicationObjects(admin, table);
  await admin.query(`drop table if exists ${table}`);
  await admin.end();
}
