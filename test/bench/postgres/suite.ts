// The PostgreSQL benchmark's reference measurements and its output, as functions the runnable
// scripts compose (references.ts: the references alone; bench.ts, `npm run bench:postgres`: the
// references next to Kafki's source, kafki.ts):
//
//   const workload = new PostgresWorkload({ inserts, updates });
//   await workload.setup();                                   // table, publication, base slot
//   const slots = await createReferenceSlots(workload, options);
//   const kafkiSlot = await workload.createSlot('kafki');      // any consumer: its own slot
//   await workload.load();                                     // all changes written up front
//   const measurements = await measureReferences(workload, slots, options);
//   measurements.push(await measureKafki(workload, { mode: 'stream', transport: 'tcp', slot: kafkiSlot }));
//   await printResults(workload, measurements, { subjects: ['kafki', 'kafki_snapshot'], primary: 'kafki' });
//   await workload.cleanup();                                  // always (finally)
//
// (Any slot can be made after the load too: it is a copy of the base slot.)

import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { measureDebezium } from '../debezium/debezium.ts';
import { printJsonSummary, printTable, ratio, type Row } from '../report.ts';
import {
  measurementRow,
  measurementSummary,
  perSecond,
  round,
  type Measurement,
} from './measurement.ts';
import { measurePgRecvlogical, measureServerDecode } from './pg-recvlogical.ts';
import { runMeasured } from './process-stats.ts';
import type { PostgresWorkload } from './workload.ts';

export interface ReferenceOptions {
  /** Server-side decode through the SQL interface (also checks the change count). */
  serverDecode: boolean;
  /** pg_recvlogical over TCP loopback and over the Unix socket. */
  pgRecvlogical: boolean;
  /** Debezium embedded, streaming (snapshot.mode=no_data). */
  debeziumStream: boolean;
  /** Debezium embedded, snapshot of the loaded table (snapshot.mode=initial_only). */
  debeziumSnapshot: boolean;
  /** psql \copy of the loaded table to /dev/null over TCP (the snapshot's transport floor). */
  copySnapshot: boolean;
  /** JVM flags for Debezium (none: Java's defaults). */
  jvmOptions: string[];
  /** Extra or overriding Debezium properties (none: Debezium's defaults). */
  debeziumProperties: Record<string, string>;
  /** Progress lines (stderr by default). */
  log: (message: string) => void;
}

export const defaultReferenceOptions: ReferenceOptions = {
  serverDecode: true,
  pgRecvlogical: true,
  debeziumStream: true,
  debeziumSnapshot: true,
  copySnapshot: true,
  jvmOptions: [],
  debeziumProperties: {},
  log: (message) => console.error(message),
};

export interface ReferenceSlots {
  serverDecode?: string;
  pgRecvlogicalTcp?: string;
  pgRecvlogicalUnix?: string;
  debeziumStream?: string;
}

/** One slot per streaming reference; call between setup() and load(). */
export async function createReferenceSlots(
  workload: PostgresWorkload,
  options: ReferenceOptions = defaultReferenceOptions,
): Promise<ReferenceSlots> {
  const slots: ReferenceSlots = {};
  if (options.serverDecode) slots.serverDecode = await workload.createSlot('sql');
  if (options.pgRecvlogical) {
    slots.pgRecvlogicalTcp = await workload.createSlot('recv_tcp');
    slots.pgRecvlogicalUnix = await workload.createSlot('recv_unix');
  }
  if (options.debeziumStream) slots.debeziumStream = await workload.createSlot('dbz_stream');
  return slots;
}

/** psql \copy of the table (text format) to /dev/null over TCP: the snapshot transport floor. */
export async function measureCopySnapshot(workload: PostgresWorkload): Promise<Measurement> {
  const connection = workload.connection();
  const rows = await workload.rowCount();
  const run = await runMeasured(
    'psql',
    [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      connection.host,
      '-p',
      String(connection.port),
      '-U',
      connection.user,
      '-d',
      connection.database,
      '-c',
      `\\copy ${workload.qualifiedTable} to '/dev/null'`,
    ],
    { env: { ...process.env, PGPASSWORD: connection.password } },
  );
  if (run.exitCode !== 0) throw new Error(`psql \\copy failed: ${run.stderr.slice(-2000)}`);
  const seconds = run.wallMs / 1000;
  return {
    key: 'psql_copy',
    name: 'psql \\copy to /dev/null',
    kind: 'snapshot',
    transport: 'tcp',
    count: rows,
    seconds,
    perSecond: perSecond(rows, seconds),
    timed: 'process start → exit',
    peakRssMb: run.peakRssMb,
    cpuSeconds: run.cpuSeconds,
    serverCpuSeconds: null,
    startupSeconds: null,
    note: 'COPY text format, one connection, nothing parsed',
  };
}

/** Runs the references in a fixed order, each on its own slot; call after load(). */
export async function measureReferences(
  workload: PostgresWorkload,
  slots: ReferenceSlots,
  options: ReferenceOptions = defaultReferenceOptions,
): Promise<Measurement[]> {
  const results: Measurement[] = [];
  const done = (measurement: Measurement): void => {
    results.push(measurement);
    options.log(
      `  ${measurement.name}: ${measurement.perSecond.toLocaleString('en-US')}/s (${round(measurement.seconds)} s${
        measurement.peakRssMb === null ? '' : `, peak RSS ${measurement.peakRssMb} MB`
      })`,
    );
  };
  if (slots.serverDecode !== undefined) {
    options.log('server-side decode (pg_logical_slot_get_binary_changes)…');
    done(await measureServerDecode(workload, slots.serverDecode));
  }
  if (slots.pgRecvlogicalTcp !== undefined) {
    options.log('pg_recvlogical over TCP…');
    done(await measurePgRecvlogical(workload, slots.pgRecvlogicalTcp, 'tcp'));
  }
  if (slots.pgRecvlogicalUnix !== undefined) {
    options.log('pg_recvlogical over the Unix socket…');
    done(await measurePgRecvlogical(workload, slots.pgRecvlogicalUnix, 'unix'));
  }
  if (slots.debeziumStream !== undefined) {
    options.log('Debezium streaming (fetches the jars from Maven Central the first time)…');
    done(
      await measureDebezium(workload, {
        mode: 'stream',
        slot: slots.debeziumStream,
        jvmOptions: options.jvmOptions,
        properties: options.debeziumProperties,
      }),
    );
  }
  if (options.debeziumSnapshot) {
    options.log('Debezium snapshot (initial_only)…');
    done(
      await measureDebezium(workload, {
        mode: 'snapshot',
        slot: workload.slotName('dbz_snap'),
        jvmOptions: options.jvmOptions,
        properties: options.debeziumProperties,
      }),
    );
  }
  if (options.copySnapshot) {
    options.log('psql \\copy of the table…');
    done(await measureCopySnapshot(workload));
  }
  return results;
}

/**
 * Ratios of `subject` to the references of its kind: a stream to pg_recvlogical over the same
 * transport, to Debezium streaming and to the server's decode rate; a snapshot to Debezium's
 * snapshot and to psql \copy. Named ratio_vs_<reference key> (with `prefix` before it); null when
 * either side has no figure.
 */
export function ratiosFor(
  subject: Measurement,
  measurements: readonly Measurement[],
  prefix = '',
): Record<string, number | null> {
  const references =
    subject.kind === 'stream'
      ? [`pg_recvlogical_${subject.transport}`, 'debezium_stream', 'server_decode']
      : ['debezium_snapshot', 'psql_copy'];
  const ratios: Record<string, number | null> = {};
  for (const key of references) {
    const reference = measurements.find((measurement) => measurement.key === key);
    if (reference === undefined || reference === subject) continue;
    ratios[`${prefix}ratio_vs_${key}`] =
      subject.unavailable === true || reference.unavailable === true
        ? null
        : ratio(subject.perSecond, reference.perSecond);
  }
  return ratios;
}

function commandOutput(command: string, args: string[]): string | null {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')[0]!;
  } catch {
    return null;
  }
}

export interface PrintOptions {
  /** Keys of the measurements whose ratios to the references are printed. */
  subjects: readonly string[];
  /**
   * The subjects whose ratios are named ratio_vs_<reference> in the JSON line, first come first
   * named (Kafki over TCP, then over the Unix socket: ratio_vs_pg_recvlogical_tcp from the first,
   * ratio_vs_pg_recvlogical_unix from the second); every subject's ratios are also named
   * <key>_ratio_vs_<reference>.
   */
  primary?: string | readonly string[];
  /**
   * Called with the ratios of the JSON line; returns more fields for it (e.g. whether targets
   * were met), printed after the ratios.
   */
  extra?: (ratios: Readonly<Record<string, number | null>>) => Record<string, unknown>;
}

/** The tables (load, streaming, snapshot, ratios, notes) and, last, the JSON line. */
export async function printResults(
  workload: PostgresWorkload,
  measurements: readonly Measurement[],
  { subjects, primary, extra }: PrintOptions,
): Promise<void> {
  const load = workload.loaded;
  const [server] = await workload.query<{ version: string }>(
    "select current_setting('server_version') as version",
  );
  const environment = {
    cpus: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    // other work on the machine skews every figure; the 5- and 15-minute load averages show it
    load_average: loadavg().map((value) => round(value)),
    postgres: server?.version ?? null,
    node: process.version,
    java: commandOutput('sh', ['-c', 'java -version 2>&1']),
  };
  printTable('Workload (written before any consumer runs)', [
    {
      table: workload.qualifiedTable,
      inserts: load.inserts,
      updates: load.updates,
      transactions: load.transactions,
      'WAL MB': round(load.walBytes / 2 ** 20, 1),
      'load s': round(load.loadMs / 1000),
      'load changes/s': perSecond(load.inserts + load.updates, load.loadMs / 1000),
      'vacuum+checkpoint s': round(load.settleMs / 1000),
    },
  ]);
  const stream = measurements.filter((measurement) => measurement.kind === 'stream');
  const snapshot = measurements.filter((measurement) => measurement.kind === 'snapshot');
  if (stream.length > 0) {
    printTable(
      `Streaming ${workload.expectedChanges.toLocaleString('en-US')} changes from the slot to the end LSN`,
      stream.map(measurementRow),
    );
  }
  if (snapshot.length > 0) {
    printTable(
      `Snapshot of the ${load.inserts.toLocaleString('en-US')}-row table`,
      snapshot.map(measurementRow),
    );
  }
  const primaries: readonly string[] =
    primary === undefined ? [] : typeof primary === 'string' ? [primary] : primary;
  const ratios: Record<string, number | null> = {};
  const ratioRows: Row[] = [];
  const ordered = [
    ...primaries.filter((key) => subjects.includes(key)),
    ...subjects.filter((key) => !primaries.includes(key)),
  ];
  ordered.forEach((key) => {
    const subject = measurements.find((measurement) => measurement.key === key);
    if (subject === undefined) return;
    const plain = ratiosFor(subject, measurements);
    if (primaries.includes(key)) {
      for (const [name, value] of Object.entries(plain))
        if (!(name in ratios)) ratios[name] = value;
    }
    Object.assign(ratios, ratiosFor(subject, measurements, `${key}_`));
    for (const [name, value] of Object.entries(plain)) {
      ratioRows.push({ consumer: subject.name, 'rate ratio': name.replace(/^ratio_/, ''), value });
    }
  });
  if (ratioRows.length > 0) printTable('Ratios (per-second rates)', ratioRows);
  console.log('\nTimed intervals and notes:');
  for (const measurement of measurements) {
    console.log(`  ${measurement.name}: ${measurement.timed}; ${measurement.note}`);
  }
  printJsonSummary({
    benchmark: 'postgres',
    inserts: load.inserts,
    updates: load.updates,
    changes: load.inserts + load.updates,
    batch_rows: workload.batchRows,
    transactions: load.transactions,
    wal_mb: round(load.walBytes / 2 ** 20, 1),
    load_s: round(load.loadMs / 1000),
    ...Object.assign({}, ...measurements.map(measurementSummary)),
    ...ratios,
    ...extra?.(ratios),
    environment,
  });
}
