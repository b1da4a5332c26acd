// The PostgreSQL CDC benchmark's references, runnable now (issue 5, "Performance"); Kafki's own
// source is added to the same run by `npm run bench:postgres` later (see suite.ts).
//
//   npx tsx test/bench/postgres/references.ts [--inserts 1000000] [--updates 500000]
//       [--batch 1000] [--jvm-opts=-Xmx1g] [--debezium-prop key=value]… [--no-debezium]
//       [--no-snapshot]
//
// Needs PostgreSQL with wal_level=logical at KAFKI_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test; `npm run services:up` configures the local one), its
// Unix socket in /var/run/postgresql (--socket-dir), pg_recvlogical and psql, Java 17 and Maven
// (the Debezium jars come from Maven Central into .services/debezium/lib the first time).
//
// Steps: a fresh table + publication + base slot → one slot per consumer → the load (inserts, then
// updates; see workload.ts) → each consumer drains its own slot from the pre-load position to the
// end LSN: the server's decode alone (SQL), pg_recvlogical over TCP and over the Unix socket,
// Debezium embedded streaming (no_data) → Debezium's snapshot of the table (initial_only) and
// psql \copy → the tables, then one JSON line (last line of stdout). Progress goes to stderr.
// The table, publication and every slot are dropped at the end, also on failure and Ctrl-C; what
// a killed run left (kbench_<dead pid>_*) is dropped at the start of the next one.
// The full run (1M + 500k) takes a few minutes, most of it the load and Debezium.

import { parseArgs } from 'node:util';
import {
  createReferenceSlots,
  defaultReferenceOptions,
  measureReferences,
  printResults,
  type ReferenceOptions,
} from './suite.ts';
import { dropStaleRuns, PostgresWorkload } from './workload.ts';

function positiveInteger(value: string, name: string, allowZero = false): number {
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(parsed) || parsed < (allowZero ? 0 : 1)) {
    throw new Error(`--${name} must be an integer ≥ ${allowZero ? 0 : 1}: ${value}`);
  }
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      inserts: { type: 'string', default: '1000000' },
      updates: { type: 'string', default: '500000' },
      batch: { type: 'string', default: '1000' },
      'jvm-opts': { type: 'string', default: '' },
      'debezium-prop': { type: 'string', multiple: true, default: [] },
      'socket-dir': { type: 'string', default: '/var/run/postgresql' },
      'no-debezium': { type: 'boolean', default: false },
      'no-snapshot': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const workload = new PostgresWorkload({
    inserts: positiveInteger(values.inserts, 'inserts'),
    updates: positiveInteger(values.updates, 'updates', true),
    batchRows: positiveInteger(values.batch, 'batch'),
    socketDir: values['socket-dir'],
  });
  const options: ReferenceOptions = {
    ...defaultReferenceOptions,
    debeziumStream: !values['no-debezium'],
    debeziumSnapshot: !values['no-debezium'] && !values['no-snapshot'],
    copySnapshot: !values['no-snapshot'],
    jvmOptions: values['jvm-opts'].split(/\s+/).filter((flag) => flag !== ''),
    debeziumProperties: Object.fromEntries(
      values['debezium-prop'].map((pair) => {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new Error(`--debezium-prop wants key=value: ${pair}`);
        return [pair.slice(0, eq), pair.slice(eq + 1)];
      }),
    ),
  };
  const log = options.log;

  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= workload.cleanup().catch((error: unknown) => {
      log(`cleanup failed — drop the slots named ${workload.prefix}_* by hand: ${String(error)}`);
    });
    return cleaning;
  };
  const interrupted = (signal: NodeJS.Signals): void => {
    log(`${signal}: dropping ${workload.prefix}_* slots, the publication and the table…`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    const stale = await dropStaleRuns(workload.url);
    if (stale.length > 0) log(`dropped what dead runs left: ${stale.join(', ')}`);
    log(`setup: table ${workload.qualifiedTable}, publication ${workload.publication}`);
    await workload.setup();
    const slots = await createReferenceSlots(workload, options);
    log(
      `load: ${workload.inserts.toLocaleString('en-US')} inserts + ${workload.updates.toLocaleString('en-US')} updates, ${workload.batchRows} rows per transaction…`,
    );
    let reported = 0;
    const load = await workload.load((done, total) => {
      if (done - reported >= total / 10 || done === total) {
        reported = done;
        log(`  ${Math.round((done / total) * 100)}%`);
      }
    });
    log(
      `  loaded in ${(load.loadMs / 1000).toFixed(1)} s (+ ${(load.settleMs / 1000).toFixed(1)} s vacuum + checkpoint), ${load.startLsn} → ${load.endLsn}`,
    );
    const measurements = await measureReferences(workload, slots, options);
    await cleanup();
    await printResults(workload, measurements, {
      subjects: ['debezium_stream', 'debezium_snapshot', 'pg_recvlogical_unix'],
    });
  } finally {
    await cleanup();
  }
}

await main();
