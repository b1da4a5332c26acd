// Kafki's own figures in the PostgreSQL benchmark: a standalone worker with the PostgreSQL source
// writing Debezium JSON (key and value JsonConverter, schemas.enable=true) into the local log with
// fsync 'always', run as a child process (kafki-worker.ts) so its peak RSS is its own.
//
//   stream:   snapshot.mode=no_data on a slot the workload made before the load (a copy of the
//             base slot, like every reference's), the workload's publication; timed from the
//             connector's creation until the slot's confirmed_flush_lsn reaches the load's last
//             commit. The source acknowledges only positions whose records (and offsets) are
//             durable, so that moment is "every change durable in the log and acknowledged".
//             Over TCP (database.hostname = the server's host) or the Unix socket
//             (database.hostname = the socket directory).
//   snapshot: snapshot.mode=initial_only on a new slot the connector creates (its exported
//             snapshot is what the snapshot reads); timed from the connector's creation until
//             every row of the table is in the log. While the connector cannot snapshot yet the
//             task fails with POSTGRES_SNAPSHOT_MODE_UNSUPPORTED and the figure is unavailable.
//
// The worker runs with the defaults a user gets (producer.buffer.memory, max.batch.size, queue
// sizes), only the log directory, fsync and converters are set.

import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RawConfig } from '../../../runtime/api/config.ts';
import type { KafkiWorkerArgs, KafkiWorkerMessage, ParentMessage } from './kafki-worker.ts';
import { perSecond, round, type Measurement } from './measurement.ts';
import { ProcessSampler, sampleProcess, type ProcSample } from './process-stats.ts';
import type { PostgresWorkload } from './workload.ts';

const here = dirname(fileURLToPath(import.meta.url));
const workerScript = join(here, 'kafki-worker.ts');
const repoRoot = join(here, '..', '..', '..');

export const kafkiTopicPrefix = 'kbench';

export interface KafkiRunOptions {
  mode: 'stream' | 'snapshot';
  /** stream: a slot the workload made before the load; snapshot: a new name (registered with
   *  workload.slotName so cleanup drops it). */
  slot: string;
  transport: 'tcp' | 'unix';
  /** Extra worker config keys. */
  worker?: Record<string, unknown>;
  /** Extra or overriding connector keys. */
  connector?: RawConfig;
  /** Extra node flags for the child (e.g. --cpu-prof). */
  nodeOptions?: string[];
  timeoutMs?: number;
  log?: (message: string) => void;
}

/** The measurement, or a placeholder (per second '-') when the run could not be made. */
export type KafkiMeasurement = Measurement & {
  memory?: Extract<KafkiWorkerMessage, { type: 'result' }>['memory'];
};

export function kafkiConnectorConfig(
  workload: PostgresWorkload,
  options: Pick<KafkiRunOptions, 'mode' | 'slot' | 'transport' | 'connector'>,
): RawConfig {
  const connection = workload.connection();
  return {
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max': '1',
    'database.hostname': options.transport === 'unix' ? connection.socketDir : connection.host,
    'database.port': String(connection.port),
    'database.user': connection.user,
    ...(connection.password === '' ? {} : { 'database.password': connection.password }),
    'database.dbname': connection.database,
    'topic.prefix': kafkiTopicPrefix,
    'slot.name': options.slot,
    'publication.name': workload.publication,
    'publication.autocreate.mode': 'disabled',
    'table.include.list': workload.qualifiedTable.replace('.', '\\.'),
    'snapshot.mode': options.mode === 'snapshot' ? 'initial_only' : 'no_data',
    ...options.connector,
  };
}

function label(options: KafkiRunOptions): { key: string; name: string } {
  if (options.mode === 'snapshot') {
    return { key: 'kafki_snapshot', name: 'Kafki → local log, initial_only' };
  }
  return {
    key: options.transport === 'tcp' ? 'kafki' : 'kafki_unix',
    name: `Kafki → local log (${options.transport === 'tcp' ? 'TCP loopback' : 'Unix socket'})`,
  };
}

/** A row that says why there is no figure (printed as '-'). */
export function unavailableMeasurement(
  options: Pick<KafkiRunOptions, 'mode' | 'transport'> & Partial<KafkiRunOptions>,
  count: number,
  note: string,
): KafkiMeasurement {
  const { key, name } = label(options as KafkiRunOptions);
  return {
    key,
    name,
    kind: options.mode,
    transport: options.transport,
    count,
    seconds: 0,
    perSecond: 0,
    unavailable: true,
    timed: 'not measured',
    peakRssMb: null,
    cpuSeconds: null,
    serverCpuSeconds: null,
    startupSeconds: null,
    note,
  };
}

export async function measureKafki(
  workload: PostgresWorkload,
  options: KafkiRunOptions,
): Promise<KafkiMeasurement> {
  const log = options.log ?? ((message: string) => console.error(message));
  const expected = options.mode === 'stream' ? workload.expectedChanges : await workload.rowCount();
  const topic = `${kafkiTopicPrefix}.${workload.qualifiedTable}`;
  const args: KafkiWorkerArgs = {
    mode: options.mode,
    connector: kafkiConnectorConfig(workload, options),
    topic,
    expected,
    worker: options.worker ?? {},
  };
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const child = fork(workerScript, [JSON.stringify(args)], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx', ...(options.nodeOptions ?? [])],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  const pid = child.pid;
  const sampler = new ProcessSampler(() => pid, 20);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-32 * 1024);
  });
  const messages: KafkiWorkerMessage[] = [];
  const waiters: Array<() => void> = [];
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.on('message', (message) => {
    messages.push(message as KafkiWorkerMessage);
    for (const wake of waiters.splice(0)) wake();
  });
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    for (const wake of waiters.splice(0)) wake();
  });
  const next = async <T extends KafkiWorkerMessage['type']>(
    ...types: T[]
  ): Promise<Extract<KafkiWorkerMessage, { type: T }>> => {
    for (;;) {
      const index = messages.findIndex((message) => (types as string[]).includes(message.type));
      if (index >= 0) {
        return messages.splice(index, 1)[0] as Extract<KafkiWorkerMessage, { type: T }>;
      }
      if (exited) {
        throw new Error(
          `the Kafki worker exited (${exited.code ?? exited.signal}) before '${types.join("' or '")}':\n${stderr.slice(-4000)}`,
        );
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const tell = (message: ParentMessage): void => {
    if (!exited) child.send(message);
  };
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 120_000);
  let walsender: { stop: () => Promise<ProcSample | undefined> } | undefined;
  let server: ProcSample | undefined;
  try {
    const ready = await next('ready');
    if (options.mode === 'stream') walsender = await workload.watchWalsender(options.slot);
    const cpuBefore = pid === undefined ? undefined : sampleProcess(pid)?.cpuSeconds;
    const started = performance.now();
    tell({ type: 'start' });
    const failure = next('failed');
    let finished: number;
    let failed: Extract<KafkiWorkerMessage, { type: 'failed' }> | undefined;
    if (options.mode === 'stream') {
      const outcome = await Promise.race([
        workload.waitForConfirmedFlush(options.slot, { timeoutMs, intervalMs: 10 }),
        failure,
      ]);
      if (typeof outcome === 'number') finished = outcome;
      else {
        failed = outcome;
        finished = performance.now();
      }
    } else {
      const outcome = await Promise.race([next('done'), failure]);
      finished = performance.now();
      if (outcome.type === 'failed') failed = outcome;
    }
    const cpuAfter = pid === undefined ? undefined : sampleProcess(pid)?.cpuSeconds;
    server = await walsender?.stop();
    walsender = undefined;
    tell({ type: 'stop' });
    const result = await next('result');
    await new Promise<void>((resolve) =>
      exited ? resolve() : child.once('exit', () => resolve()),
    );
    const sample = sampler.stop();
    const distinct = [...new Set(result.warnings.map((warning) => warning.slice(0, 240)))];
    for (const warning of distinct.slice(0, 5)) log(`    worker ${warning}`);
    if (distinct.length > 5) log(`    … ${distinct.length - 5} more distinct warnings`);
    if (failed) {
      const reason = failed.trace.split('\n')[0] ?? failed.state;
      log(`  Kafki ${options.mode} (${options.transport}): task failed: ${reason}`);
      return {
        ...unavailableMeasurement(options, expected, `not available: ${reason}`),
        memory: result.memory,
      };
    }
    if (result.records < expected) {
      throw new Error(
        `Kafki ${options.mode}: ${result.records} records in ${topic}, expected ${expected}`,
      );
    }
    const seconds = (finished - started) / 1000;
    const { key, name } = label(options);
    const memory = result.memory;
    return {
      key,
      name,
      kind: options.mode,
      transport: options.transport,
      count: expected,
      seconds,
      perSecond: perSecond(expected, seconds),
      timed:
        options.mode === 'stream'
          ? 'connector created → slot confirmed_flush_lsn at the last commit (durable + acknowledged)'
          : 'connector created → every row durable in the log',
      peakRssMb: Math.max(sample?.peakRssMb ?? 0, memory.maxRssMb),
      cpuSeconds:
        cpuBefore === undefined || cpuAfter === undefined ? null : round(cpuAfter - cpuBefore),
      serverCpuSeconds: server?.cpuSeconds ?? null,
      startupSeconds: round(ready.openMs / 1000),
      note:
        `Debezium JSON (JsonConverter, schemas on) into the local log, fsync always, worker defaults; ` +
        `CPU user ${round(result.cpu.user)} s, system ${round(result.cpu.system)} s; ` +
        `RSS ${ready.rssMb} MB with the runtime open before the connector; peaks: heap used ` +
        `${memory.peakHeapUsedMb} MB, heap total ${memory.peakHeapTotalMb} MB, external ` +
        `${memory.peakExternalMb} MB (array buffers ${memory.peakArrayBuffersMb} MB); ` +
        `${result.records.toLocaleString('en-US')} records in the topic, ~${result.avgKeyBytes} B keys, ` +
        `~${result.avgValueBytes} B values` +
        (result.warnings.length > 0 ? `; ${result.warnings.length} warnings logged` : ''),
      memory,
    };
  } finally {
    clearTimeout(timer);
    sampler.stop();
    await walsender?.stop().catch(() => undefined);
    if (!exited) child.kill('SIGKILL');
    if (stderr.trim() !== '' && process.env.KAFKI_BENCH_VERBOSE === '1') {
      process.stderr.write(stderr);
    }
  }
}
