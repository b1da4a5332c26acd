// Quick local measurement (not a pass/fail test): N inserts into a 10-column table, streamed from a
// slot backlog by the PostgreSQL source task (poll → drop, offsets committed per batch, no log),
// timed from the first to the last change record polled; next to it pg_recvlogical streaming the
// same changes from its own slot over the same transport.
//
//   node --import tsx test/integration/postgres/measure-throughput.ts [rows] [tcp|unix|both] [kafki-only]

import { spawnSync } from 'node:child_process';
import {
  adminClient,
  baseConfig,
  dropReplicationObjects,
  pgTarget,
  startTask,
  uniqueName,
} from './harness.ts';

const rows = Number(process.argv[2] ?? 200_000);
const transports = (process.argv[3] ?? 'both') === 'both' ? ['tcp', 'unix'] : [process.argv[3]!];
const withRecvlogical = process.argv[4] !== 'kafki-only';
const rowsPerTransaction = 1000;

const admin = await adminClient();
const table = uniqueName('pgbench');
await admin.query(
  `create table ${table} (id bigint primary key, a int, b text, c text, d numeric(12,2), e timestamptz,
   f boolean, g double precision, h varchar(40), i date)`,
);
await admin.query(`create publication ${table} for table ${table}`);
const slots: string[] = [];
for (const transport of transports) {
  for (const kind of ['kafki', 'recv']) {
    const slot = `${table}_${transport}_${kind}`;
    await admin.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    slots.push(slot);
  }
}
for (let start = 1; start <= rows; start += rowsPerTransaction) {
  const end = Math.min(rows, start + rowsPerTransaction - 1);
  await admin.query(
    `insert into ${table} select g, g, 'text ' || g, md5(g::text), g * 1.5, now(), g % 2 = 0, g / 3.0, 'v' || g, current_date
       from generate_series(${start}, ${end}) g`,
  );
}
const endLsn = (await admin.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn'))
  .rows[0]!.lsn;
console.log(`loaded ${rows} rows in ${rows / rowsPerTransaction} transactions; WAL end ${endLsn}`);

const target = pgTarget();
for (const transport of transports) {
  const host = transport === 'unix' ? '/var/run/postgresql' : target.host;
  // pg_recvlogical: the physical limit over this transport.
  const recvSlot = `${table}_${transport}_recv`;
  const started = performance.now();
  const result = !withRecvlogical
    ? { status: 0, stderr: Buffer.alloc(0) }
    : spawnSync(
        'pg_recvlogical',
        [
          '-h',
          host,
          '-p',
          String(target.port),
          '-U',
          target.user,
          '-d',
          target.database,
          '--slot',
          recvSlot,
          '--start',
          '-o',
          'proto_version=1',
          '-o',
          `publication_names=${table}`,
          '-E',
          endLsn,
          '--no-loop',
          '-f',
          '/dev/null',
        ],
        { stdio: 'pipe' },
      );
  const recvSeconds = (performance.now() - started) / 1000;
  if (result.status !== 0) console.log(`pg_recvlogical failed: ${result.stderr.toString()}`);

  // Kafki's task.
  const slot = `${table}_${transport}_kafki`;
  const running = await startTask(
    baseConfig(slot, {
      'database.hostname': host,
      'slot.name': slot,
      'publication.name': table,
      'publication.autocreate.mode': 'disabled',
      'topic.prefix': 'bench',
      'max.batch.size': '2048',
    }),
  );
  let first = 0;
  let last: number;
  let cpuAtFirst = process.cpuUsage();
  let count = 0;
  let peakRss = process.memoryUsage().rss;
  for (;;) {
    const batch = await running.step();
    const now = performance.now();
    const changes = batch.filter((record) => record.topic !== 'bench.transaction').length;
    if (changes > 0 && first === 0) {
      first = now;
      cpuAtFirst = process.cpuUsage();
    }
    count += changes;
    running.records.length = 0;
    if (count % 20_000 < changes) peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (count >= rows) {
      last = now;
      break;
    }
  }
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const cpu = process.cpuUsage(cpuAtFirst);
  await running.stop();
  const seconds = (last - first) / 1000;
  console.log(
    `${transport}: kafki ${Math.round(count / seconds)} changes/s (${count} in ${seconds.toFixed(2)} s, peak RSS ${Math.round(peakRss / 1e6)} MB); ` +
      `CPU ${Math.round(((cpu.user + cpu.system) / 1e6 / ((last - first) / 1000)) * 100)}% of the wall time; pg_recvlogical ${Math.round(rows / recvSeconds)} changes/s (${recvSeconds.toFixed(2)} s incl. connect); ratio ${(count / seconds / (rows / recvSeconds)).toFixed(2)}`,
  );
}

for (const slot of slots) await dropReplicationObjects(admin, slot);
await admin.query(`drop publication if exists ${table}`);
await admin.query(`drop table ${table}`);
await admin.end();
