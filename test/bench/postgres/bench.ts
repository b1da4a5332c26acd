// `npm run bench:postgres` (issue 5, "Performance"): Kafki's PostgreSQL source into the local log
// next to pg_recvlogical and Debezium, from one run on this machine.
//
//   npm run bench:postgres -- [--inserts 1000000] [--updates 500000] [--batch 1000]
//       [--repeat 1] [--transports tcp,unix] [--no-debezium] [--no-snapshot] [--kafki-only] [--socket-dir /var/run/postgresql]
//       [--jvm-opts=-Xmx1g] [--debezium-prop key=value]… [--worker-prop key=value]…
//       [--connector-prop key=value]… [--node-opts="--cpu-prof --cpu-prof-dir=/tmp/prof"]
//
// Steps: a fresh 10-column table, its publication and a base slot → one slot per streaming
// consumer (copies of the base slot, so all start at the same pre-load LSN) → the load (inserts,
// then updates, all written before any consumer runs; workload.ts) → the server's decode alone
// (also checks the change count and finds the last commit's exact LSN) → per transport, the pair
// pg_recvlogical then Kafki (back to back, so both see the same machine) → Debezium streaming →
// the snapshots: Debezium's, Kafki's, psql \copy → tables, then one JSON line (the last line of
// stdout; progress goes to stderr).
//
// Kafki (kafki.ts): a standalone worker in a child process with the local log (fsync always) and
// Debezium JSON (key/value JsonConverter, schemas.enable=true), timed from the connector's
// creation until the slot's confirmed_flush_lsn reaches the last commit (durable + acknowledged).
// With --repeat N the pairs run N rounds (each run on a fresh copy of the base slot; --transports
// sets the order within a round) and the median of each consumer per transport is reported.
//
// Cleanup (the table, the publication, every slot) runs at the end, on failure and on Ctrl-C;
// what a killed run left is dropped at the start of the next one.

import { parseArgs } from 'node:util';
import { measureDebezium } from '../debezium/debezium.ts';
import { measureKafki, unavailableMeasurement, type KafkiMeasurement } from './kafki.ts';
import { round, type Measurement } from './measurement.ts';
import { measurePgRecvlogical, measureServerDecode } from './pg-recvlogical.ts';
import { measureCopySnapshot, printResults } from './suite.ts';
import { dropStaleRuns, PostgresWorkload } from './workload.ts';
import { pairs } from '../bench-process.ts';

function positiveInteger(value: string, name: string, allowZero = false): number {
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(parsed) || parsed < (allowZero ? 0 : 1)) {
    throw new Error(`--${name} must be an integer ≥ ${allowZero ? 0 : 1}: ${value}`);
  }
  return parsed;
}

function median<T extends Measurement>(runs: readonly T[]): T {
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond);
  const chosen = sorted[Math.floor((sorted.length - 1) / 2)]!;
  if (runs.length === 1) return chosen;
  return {
    ...chosen,
    note: `${chosen.note}; median of ${runs.length} runs (${runs
      .map((run) => run.perSecond.toLocaleString('en-US'))
      .join(', ')}/s)`,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      inserts: { type: 'string', default: '1000000' },
      updates: { type: 'string', default: '500000' },
      batch: { type: 'string', default: '1000' },
      repeat: { type: 'string', default: '1' },
      transports: { type: 'string', default: 'tcp,unix' },
      'jvm-opts': { type: 'string', default: '' },
      'debezium-prop': { type: 'string', multiple: true, default: [] },
      'worker-prop': { type: 'string', multiple: true, default: [] },
      'connector-prop': { type: 'string', multiple: true, default: [] },
      'node-opts': { type: 'string', default: '' },
      'socket-dir': { type: 'string', default: '/var/run/postgresql' },
      'no-debezium': { type: 'boolean', default: false },
      'no-snapshot': { type: 'boolean', default: false },
      'kafki-only': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const workload = new PostgresWorkload({
    inserts: positiveInteger(values.inserts, 'inserts'),
    updates: positiveInteger(values.updates, 'updates', true),
    batchRows: positiveInteger(values.batch, 'batch'),
    socketDir: values['socket-dir'],
  });
  const repeat = positiveInteger(values.repeat, 'repeat');
  const transports = values.transports.split(',').map((transport) => {
    if (transport !== 'tcp' && transport !== 'unix') {
      throw new Error(`--transports lists tcp and/or unix: ${values.transports}`);
    }
    return transport;
  });
  const kafkiOnly = values['kafki-only'];
  const debezium = !values['no-debezium'] && !kafkiOnly;
  const snapshots = !values['no-snapshot'];
  const jvmOptions = values['jvm-opts'].split(/\s+/).filter((flag) => flag !== '');
  const debeziumProperties = pairs(values['debezium-prop'], 'debezium-prop');
  const workerProperties = pairs(values['worker-prop'], 'worker-prop');
  const connectorProperties = pairs(values['connector-prop'], 'connector-prop');
  const nodeOptions = values['node-opts'].split(/\s+/).filter((flag) => flag !== '');
  const log = (message: string) => console.error(message);

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

  const measurements: Measurement[] = [];
  const done = <T extends Measurement>(measurement: T): T => {
    log(
      `  ${measurement.name}: ${
        measurement.unavailable ? '-' : `${measurement.perSecond.toLocaleString('en-US')}/s`
      } (${round(measurement.seconds)} s${
        measurement.peakRssMb === null ? '' : `, peak RSS ${measurement.peakRssMb} MB`
      })`,
    );
    return measurement;
  };
  const kafkiRun = async (
    mode: 'stream' | 'snapshot',
    transport: 'tcp' | 'unix',
    slot: string,
  ): Promise<KafkiMeasurement> =>
    done(
      await measureKafki(workload, {
        mode,
        transport,
        slot,
        worker: workerProperties,
        connector: connectorProperties,
        nodeOptions,
        log,
      }),
    );

  try {
    const stale = await dropStaleRuns(workload.url);
    if (stale.length > 0) log(`dropped what dead runs left: ${stale.join(', ')}`);
    log(`setup: table ${workload.qualifiedTable}, publication ${workload.publication}`);
    await workload.setup();
    const decodeSlot = await workload.createSlot('sql');
    log(
      `load: ${workload.inserts.toLocaleString('en-US')} inserts + ${workload.updates.toLocaleString('en-US')} updates, ${workload.batchRows} rows per transaction…`,
    );
    let reported = 0;
    const load = await workload.load((count, total) => {
      if (count - reported >= total / 10 || count === total) {
        reported = count;
        log(`  ${Math.round((count / total) * 100)}%`);
      }
    });
    log(
      `  loaded in ${(load.loadMs / 1000).toFixed(1)} s (+ ${(load.settleMs / 1000).toFixed(1)} s vacuum + checkpoint), ${load.startLsn} → ${load.endLsn}`,
    );
    log('server-side decode (pg_logical_slot_get_binary_changes)…');
    measurements.push(done(await measureServerDecode(workload, decodeSlot)));

    const recv = new Map<string, Measurement[]>();
    const kafki = new Map<string, KafkiMeasurement[]>();
    let runs = 0;
    for (let round = 1; round <= repeat; round++) {
      for (const transport of transports) {
        runs++;
        const over = transport === 'tcp' ? 'TCP' : 'the Unix socket';
        if (!kafkiOnly) {
          log(`pg_recvlogical over ${over}…`);
          const slot = await workload.createSlot(`recv_${transport}_${runs}`);
          const run = done(await measurePgRecvlogical(workload, slot, transport));
          recv.set(transport, [...(recv.get(transport) ?? []), run]);
        }
        log(`Kafki over ${over}…`);
        const slot = await workload.createSlot(`kafki_${transport}_${runs}`);
        const run = await kafkiRun('stream', transport, slot);
        kafki.set(transport, [...(kafki.get(transport) ?? []), run]);
      }
    }
    for (const transport of new Set(transports)) {
      const references = recv.get(transport);
      if (references !== undefined) measurements.push(median(references));
      measurements.push(median(kafki.get(transport)!));
    }

    if (debezium) {
      log('Debezium streaming (fetches the jars from Maven Central the first time)…');
      const slot = await workload.createSlot('dbz_stream');
      measurements.push(
        done(
          await measureDebezium(workload, {
            mode: 'stream',
            slot,
            jvmOptions,
            properties: debeziumProperties,
          }),
        ),
      );
    }
    if (snapshots) {
      if (debezium) {
        log('Debezium snapshot (initial_only)…');
        measurements.push(
          done(
            await measureDebezium(workload, {
              mode: 'snapshot',
              slot: workload.slotName('dbz_snap'),
              jvmOptions,
              properties: debeziumProperties,
            }),
          ),
        );
      }
      log('Kafki snapshot (initial_only)…');
      try {
        measurements.push(await kafkiRun('snapshot', 'tcp', workload.slotName('kafki_snap')));
      } catch (error) {
        log(`  Kafki snapshot failed: ${(error as Error).message}`);
        measurements.push(
          unavailableMeasurement(
            { mode: 'snapshot', transport: 'tcp' },
            workload.inserts,
            `not available: ${(error as Error).message.split('\n')[0]}`,
          ),
        );
      }
      if (!kafkiOnly) {
        log('psql \\copy of the table…');
        measurements.push(done(await measureCopySnapshot(workload)));
      }
    }
    await cleanup();
    const kafkiRss = measurements
      .filter((measurement) => measurement.key === 'kafki' || measurement.key === 'kafki_unix')
      .map((measurement) => measurement.peakRssMb ?? Infinity);
    await printResults(workload, measurements, {
      subjects: ['kafki', 'kafki_unix', 'kafki_snapshot'],
      primary: ['kafki', 'kafki_unix'],
      extra: (ratios) => {
        const atLeast = (value: number | null | undefined, target: number) =>
          value === null || value === undefined ? null : value >= target;
        return {
          targets: {
            ratio_vs_pg_recvlogical_tcp_at_least_1: atLeast(ratios.ratio_vs_pg_recvlogical_tcp, 1),
            ratio_vs_pg_recvlogical_unix_at_least_1: atLeast(
              ratios.ratio_vs_pg_recvlogical_unix,
              1,
            ),
            ratio_vs_debezium_stream_at_least_1_5: atLeast(ratios.ratio_vs_debezium_stream, 1.5),
            kafki_stream_peak_rss_mb: kafkiRss.length === 0 ? null : Math.max(...kafkiRss),
            peak_rss_under_250_mb: kafkiRss.length === 0 ? null : Math.max(...kafkiRss) < 250,
          },
        };
      },
    });
  } finally {
    await cleanup();
  }
}

await main();
