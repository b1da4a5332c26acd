// Debezium's embedded PostgreSQL connector (3.6.1.Final from Maven Central) as a reference
// consumer: fetches the jars of pom.xml once (test/services/maven.ts, into .services/debezium/lib),
// runs DebeziumBench.java from source on them, and turns its JSON line into a Measurement.
//
//   stream:   snapshot.mode=no_data on a slot made before the load (workload.createSlot), so
//             Debezium streams exactly the load's changes; stops at inserts + updates records.
//   snapshot: snapshot.mode=initial_only on a new slot name (Debezium creates the slot and drops
//             it on stop); stops at the table's row count.
//
// Both: pgoutput, the bench publication with publication.autocreate.mode=disabled, offsets in
// memory (MemoryOffsetBackingStore), JSON via DebeziumEngine.create(Json.class) (JsonConverter,
// schemas enabled — Debezium's default JSON), a no-op batch consumer that only counts, otherwise
// Debezium's defaults (max.batch.size 2048, max.queue.size 8192, the async engine's defaults).
// The JVM runs with Java's default heap (a quarter of RAM) unless jvmOptions say otherwise.
// Debezium connects over TCP (pgjdbc has no Unix-socket support without an extra socket factory).

import { createWriteStream, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceDir } from '../../services/daemon.ts';
import { classPath, resolveJars } from '../../services/maven.ts';
import { perSecond, type Measurement } from '../postgres/measurement.ts';
import { runMeasured } from '../postgres/process-stats.ts';
import type { PostgresWorkload } from '../postgres/workload.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const debeziumVersion = '3.6.1.Final';
export const debeziumPom = join(here, 'pom.xml');
export const debeziumBenchSource = join(here, 'DebeziumBench.java');

export interface DebeziumRunOptions {
  mode: 'stream' | 'snapshot';
  /** stream: a slot made before the load; snapshot: a new name Debezium creates and drops. */
  slot: string;
  /** Records to wait for (default: the workload's changes, or its row count for a snapshot). */
  expected?: number;
  /** JVM flags, e.g. ['-Xmx512m']; none by default. */
  jvmOptions?: string[];
  /** Extra or overriding engine/connector properties. */
  properties?: Record<string, string>;
  timeoutMs?: number;
}

/** What DebeziumBench.java prints. */
export interface DebeziumOutput {
  records: number;
  otherRecords: number;
  seconds: number;
  recordsPerSecond: number;
  startupSeconds: number;
  engineStartupSeconds: number;
  avgValueChars: number;
  peakRssMb: number;
  rssAtMainMb: number;
  cpuSeconds: number;
  heapUsedAtEndMb: number;
  maxHeapMb: number;
  jvmArgs: string;
  engine: string;
  javaVersion: string;
  error?: string;
}

export type DebeziumMeasurement = Measurement & { debezium: DebeziumOutput; logFile: string };

/** The topic prefix the benchmark gives Debezium; records go to <prefix>.<schema>.<table>. */
export const debeziumTopicPrefix = 'kbench';

export function debeziumProperties(
  workload: PostgresWorkload,
  options: DebeziumRunOptions,
): Record<string, string> {
  const connection = workload.connection();
  return {
    name: `kafki-bench-debezium-${options.mode}`,
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'offset.storage': 'org.apache.kafka.connect.storage.MemoryOffsetBackingStore',
    'database.hostname': connection.host,
    'database.port': String(connection.port),
    'database.user': connection.user,
    ...(connection.password === '' ? {} : { 'database.password': connection.password }),
    'database.dbname': connection.database,
    'topic.prefix': debeziumTopicPrefix,
    'plugin.name': 'pgoutput',
    'slot.name': options.slot,
    'slot.drop.on.stop': options.mode === 'snapshot' ? 'true' : 'false',
    'publication.name': workload.publication,
    'publication.autocreate.mode': 'disabled',
    'table.include.list': workload.qualifiedTable,
    'snapshot.mode': options.mode === 'snapshot' ? 'initial_only' : 'no_data',
    ...options.properties,
  };
}

/** Fetches the jars (once; Maven Central) and returns the class path. */
export function debeziumClassPath(): string {
  return classPath(resolveJars('debezium', debeziumPom));
}

function parseOutput(stdout: string): DebeziumOutput | undefined {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((text) => text.startsWith('{'));
  if (line === undefined) return undefined;
  try {
    return JSON.parse(line) as DebeziumOutput;
  } catch {
    return undefined;
  }
}

export async function measureDebezium(
  workload: PostgresWorkload,
  options: DebeziumRunOptions,
): Promise<DebeziumMeasurement> {
  const cp = debeziumClassPath();
  if (!existsSync(debeziumBenchSource)) throw new Error(`missing ${debeziumBenchSource}`);
  const expected =
    options.expected ??
    (options.mode === 'stream' ? workload.expectedChanges : await workload.rowCount());
  const topic = `${debeziumTopicPrefix}.${workload.qualifiedTable}`;
  const properties = debeziumProperties(workload, options);
  const args = [
    ...(options.jvmOptions ?? []),
    '-cp',
    cp,
    debeziumBenchSource,
    `--expect=${expected}`,
    `--topic=${topic}`,
    `--timeout-seconds=${Math.round((options.timeoutMs ?? 30 * 60_000) / 1000)}`,
    ...Object.entries(properties).map(([key, value]) => `${key}=${value}`),
  ];
  const logFile = join(serviceDir('debezium'), `bench-${options.mode}.log`);
  const log = createWriteStream(logFile);
  log.write(`--- ${new Date().toISOString()} java ${args.join(' ')}\n`);
  const walsender =
    options.mode === 'stream' ? await workload.watchWalsender(options.slot) : undefined;
  const run = await runMeasured('java', args, {
    timeoutMs: (options.timeoutMs ?? 30 * 60_000) + 60_000,
    onStderr: (chunk) => log.write(chunk),
  });
  const server = await walsender?.stop();
  log.write(run.stdout);
  await new Promise<void>((resolve) => log.end(resolve));
  const output = parseOutput(run.stdout);
  if (run.exitCode !== 0 || output === undefined || output.error !== undefined) {
    throw new Error(
      `Debezium ${options.mode} run failed (exit ${run.exitCode ?? run.signal}): ${
        output?.error ?? 'no result line'
      }; log: ${logFile}\n${run.stderr.slice(-3000)}`,
    );
  }
  const stream = options.mode === 'stream';
  // the source launcher adds --add-modules=ALL-DEFAULT itself
  const jvmFlags = output.jvmArgs.replace('--add-modules=ALL-DEFAULT', '').trim();
  return {
    key: stream ? 'debezium_stream' : 'debezium_snapshot',
    name: stream
      ? `Debezium ${debeziumVersion} embedded, no_data`
      : `Debezium ${debeziumVersion} embedded, initial_only`,
    kind: options.mode,
    transport: 'tcp',
    count: output.records,
    seconds: output.seconds,
    perSecond: perSecond(output.records, output.seconds),
    timed: 'first → last record',
    peakRssMb: Math.max(output.peakRssMb, run.peakRssMb ?? 0),
    cpuSeconds: output.cpuSeconds,
    serverCpuSeconds: server?.cpuSeconds ?? null,
    startupSeconds: output.startupSeconds,
    note: `JSON (schemas on, ~${output.avgValueChars} chars/value), no-op batch consumer; max heap ${Math.round(output.maxHeapMb)} MB (${
      jvmFlags === '' ? 'JVM defaults' : jvmFlags
    }); RSS ${output.rssAtMainMb} MB at main() after the source launcher's compile`,
    debezium: output,
    logFile,
  };
}
