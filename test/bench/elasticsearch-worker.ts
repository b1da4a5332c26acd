// Child process of `npm run bench:es` (elasticsearch.ts starts it): one standalone Kafki worker —
// local log in a temporary directory (fsync always), Debezium JSON with schemas (the worker's
// default converters) — running the PostgreSQL source and the Elasticsearch sink, so the RSS the
// parent samples is the worker's own.
//
// Protocol over the IPC channel:
//   child → ready       the runtime is open; no connector yet
//   parent → start      the child creates the source, then the sink (the clock starts)
//   child → caught-up   every record of the topic (at least `expected`) is committed by the sink,
//                       i.e. written to Elasticsearch and acknowledged; with the child's own
//                       milliseconds from 'start' to that moment
//   child → failed      a task failed, with its trace
//   parent → stop       the child stops the worker gracefully and answers with `result`, then exits

import type { RawConfig } from '../../runtime/api/config.ts';
import { benchRuntime, mb, sendToParent, stderrLogger } from './bench-process.ts';
import type { KafkiLog } from '../../runtime/log/log.ts';
import type { Herder } from '../../runtime/herder/herder.ts';
import { parseWorkerConfig } from '../../runtime/worker-runtime.ts';

export interface EsWorkerArgs {
  source: RawConfig;
  sink: RawConfig;
  /** The topic the table's records go to. */
  topic: string;
  /** Records to wait for before 'caught-up'. */
  expected: number;
  /** Extra worker keys. */
  worker: Record<string, unknown>;
  /** Directory of the local log (the parent makes it, and removes it even after a kill). */
  logDir: string;
}

export type EsWorkerMessage =
  | { type: 'ready'; rssMb: number }
  | { type: 'caught-up'; ms: number; records: number }
  | { type: 'failed'; trace: string }
  | {
      type: 'result';
      records: number;
      committed: number;
      cpu: { user: number; system: number };
      maxRssMb: number;
      /** Peaks of process.memoryUsage() fields sampled every 50 ms, MB. */
      peakHeapUsedMb: number;
      peakHeapTotalMb: number;
      peakExternalMb: number;
      warnings: string[];
    };

export type EsParentMessage = { type: 'start' } | { type: 'stop' };

export const sourceName = 'bench-pg';
export const sinkName = 'bench-es';

const send = (message: EsWorkerMessage): Promise<void> => sendToParent(message);

async function topicEnd(log: KafkiLog, topic: string): Promise<number> {
  const ranges = await log.offsets(topic).catch(() => []);
  return ranges.reduce((sum, range) => sum + range.end, 0);
}

async function committed(herder: Herder, topic: string): Promise<number> {
  const { offsets } = await herder.connectorOffsets(sinkName).catch(() => ({ offsets: [] }));
  let total = 0;
  for (const entry of offsets) {
    const partition = entry.partition as { kafka_topic?: string };
    const offset = entry.offset as { kafka_offset?: number } | null;
    if (partition.kafka_topic === topic) total += offset?.kafka_offset ?? 0;
  }
  return total;
}

function nextMessage(): Promise<EsParentMessage> {
  return new Promise((resolve) => process.once('message', (message) => resolve(message as never)));
}

async function main(): Promise<void> {
  if (process.send === undefined)
    throw new Error('elasticsearch-worker.ts runs as a child with IPC');
  const args = JSON.parse(process.argv[2] ?? '') as EsWorkerArgs;
  const peaks = { heapUsed: 0, heapTotal: 0, external: 0 };
  const sampleMemory = (): void => {
    const usage = process.memoryUsage();
    peaks.heapUsed = Math.max(peaks.heapUsed, usage.heapUsed);
    peaks.heapTotal = Math.max(peaks.heapTotal, usage.heapTotal);
    peaks.external = Math.max(peaks.external, usage.external);
  };
  const memorySampler = setInterval(sampleMemory, 50);
  memorySampler.unref();
  const warnings: string[] = [];
  const logger = stderrLogger(warnings);
  const workerConfig = await parseWorkerConfig({
    'worker.id': 'kafki-bench-es:8083',
    'log.backend': 'local',
    'log.dir': args.logDir,
    'log.fsync': 'always',
    ...args.worker,
  });
  const { log, runtime } = await benchRuntime(workerConfig, logger);
  try {
    await send({ type: 'ready', rssMb: mb(process.memoryUsage.rss()) });
    const start = await nextMessage();
    if (start.type !== 'start') throw new Error(`expected start, got ${start.type}`);
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    await runtime.herder.createConnector(sourceName, args.source);
    await runtime.herder.createConnector(sinkName, args.sink);

    let stopped = false;
    const stop = nextMessage().then(() => {
      stopped = true;
    });
    let reportedDone = false;
    let reportedFailure = false;
    while (!stopped) {
      for (const name of [sourceName, sinkName]) {
        const status = await runtime.herder.connectorStatus(name).catch(() => undefined);
        const failed = status?.tasks.find((task) => task.state === 'FAILED');
        if (failed && !reportedFailure) {
          reportedFailure = true;
          await send({ type: 'failed', trace: `${name}: ${failed.trace ?? ''}` });
        }
      }
      if (!reportedDone) {
        const end = await topicEnd(log, args.topic);
        if (end >= args.expected && (await committed(runtime.herder, args.topic)) >= end) {
          reportedDone = true;
          await send({ type: 'caught-up', ms: performance.now() - started, records: end });
        }
      }
      await Promise.race([stop, new Promise((resolve) => setTimeout(resolve, 20))]);
    }
    const cpu = process.cpuUsage(cpuAtStart);
    const records = await topicEnd(log, args.topic);
    const done = await committed(runtime.herder, args.topic);
    await runtime.close();
    await log.close();
    await send({
      type: 'result',
      records,
      committed: done,
      cpu: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
      maxRssMb: mb(process.resourceUsage().maxRSS * 1024),
      peakHeapUsedMb: mb(peaks.heapUsed),
      peakHeapTotalMb: mb(peaks.heapTotal),
      peakExternalMb: mb(peaks.external),
      warnings,
    });
  } finally {
    clearInterval(memorySampler);
    await runtime.close().catch(() => undefined);
    await log.close().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `elasticsearch-worker failed: ${(error as Error).stack ?? String(error)}\n`,
    );
    process.exit(1);
  },
);
