// Child process of the PostgreSQL benchmark (kafki.ts starts it): one standalone Kafki worker —
// local log on a temporary directory with fsync 'always', key and value JsonConverter with
// schemas.enable=true (the converter settings Debezium users run with by default) — running the
// PostgreSQL source, so the RSS the parent samples is the worker's own.
//
// Protocol over the IPC channel (messages are KafkiWorkerMessage / ParentMessage below):
//   child → ready      the runtime is open (log, stores, herder); no connector yet
//   parent → start     the clock starts; the child creates the connector
//   child → done       snapshot mode only: every row of the table is in the log (durable)
//   child → failed     the task failed (status FAILED), with its trace; e.g. a snapshot mode the
//                      connector does not implement yet
//   parent → stop      the child stops the worker gracefully (the task commits what is durable),
//                      counts the records in the topic, and answers with `result`, then exits
// Streaming is timed by the parent (the slot's confirmed_flush_lsn reaching the load's last
// commit: durable in the log and acknowledged); the child only reports its memory figures.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawConfig } from '../../../runtime/api/config.ts';
import { benchRuntime, mb, sendToParent, stderrLogger } from '../bench-process.ts';
import type { KafkiLog } from '../../../runtime/log/log.ts';
import { parseWorkerConfig } from '../../../runtime/worker-runtime.ts';

export interface KafkiWorkerArgs {
  mode: 'stream' | 'snapshot';
  connector: RawConfig;
  /** The topic the table's records go to (<topic.prefix>.<schema>.<table>). */
  topic: string;
  /** Snapshot mode: rows to wait for in the topic. */
  expected: number;
  /** Extra worker config keys (e.g. producer.buffer.memory). */
  worker: Record<string, unknown>;
  /** Where the log's temporary directory is made (default: the OS temp dir). */
  tempRoot?: string;
}

export interface MemoryFigures {
  /** process.resourceUsage().maxRSS in MB (the kernel's high-water mark, as VmHWM). */
  maxRssMb: number;
  /** Peaks of process.memoryUsage() fields sampled every 50 ms, MB. */
  peakHeapUsedMb: number;
  peakHeapTotalMb: number;
  peakExternalMb: number;
  peakArrayBuffersMb: number;
  /** RSS when the runtime was open, before the connector started, MB. */
  rssAtReadyMb: number;
}

export type KafkiWorkerMessage =
  | { type: 'ready'; openMs: number; rssMb: number }
  | { type: 'done'; atMs: number }
  | { type: 'failed'; state: string; trace: string }
  | {
      type: 'result';
      records: number;
      /** Mean key and value sizes over the topic's first records (bytes). */
      avgKeyBytes: number;
      avgValueBytes: number;
      memory: MemoryFigures;
      /** CPU seconds of this process from the connector's creation to the stop message. */
      cpu: { user: number; system: number };
      progress: Record<string, string | number | boolean> | null;
      warnings: string[];
    };

export type ParentMessage = { type: 'start' } | { type: 'stop' };

const send = (message: KafkiWorkerMessage): Promise<void> => sendToParent(message);

async function topicRecords(log: KafkiLog, topic: string): Promise<number> {
  const ranges = await log.offsets(topic).catch(() => []);
  return ranges.reduce((sum, range) => sum + (range.end - range.start), 0);
}

async function recordSizes(
  log: KafkiLog,
  topic: string,
): Promise<{ avgKeyBytes: number; avgValueBytes: number }> {
  const [range] = await log.offsets(topic).catch(() => []);
  if (range === undefined || range.end === range.start) return { avgKeyBytes: 0, avgValueBytes: 0 };
  const sample = await log.read(topic, range.partition, range.start, { maxRecords: 1000 });
  let keys = 0;
  let values = 0;
  for (const record of sample) {
    keys += record.key?.length ?? 0;
    values += record.value?.length ?? 0;
  }
  return {
    avgKeyBytes: Math.round(keys / sample.length),
    avgValueBytes: Math.round(values / sample.length),
  };
}

function nextMessage(): Promise<ParentMessage> {
  return new Promise((resolve) => process.once('message', (message) => resolve(message as never)));
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('kafki-worker.ts runs as a child with IPC');
  const args = JSON.parse(process.argv[2] ?? '') as KafkiWorkerArgs;
  const peaks = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const sampleMemory = (): void => {
    const usage = process.memoryUsage();
    peaks.heapUsed = Math.max(peaks.heapUsed, usage.heapUsed);
    peaks.heapTotal = Math.max(peaks.heapTotal, usage.heapTotal);
    peaks.external = Math.max(peaks.external, usage.external);
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, usage.arrayBuffers);
  };
  const sampler = setInterval(sampleMemory, 50);
  sampler.unref();

  const warnings: string[] = [];
  const logger = stderrLogger(warnings);
  const dir = mkdtempSync(join(args.tempRoot ?? tmpdir(), 'kafki-bench-pg-'));
  const opened = performance.now();
  const workerConfig = await parseWorkerConfig({
    'worker.id': 'kafki-bench:8083',
    'log.backend': 'local',
    'log.dir': join(dir, 'log'),
    'log.fsync': 'always',
    'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'key.converter.schemas.enable': true,
    'value.converter.schemas.enable': true,
    ...args.worker,
  });
  const { log, runtime } = await benchRuntime(workerConfig, logger);
  const name = 'kafki-bench';
  try {
    const rssAtReady = process.memoryUsage.rss();
    await send({ type: 'ready', openMs: performance.now() - opened, rssMb: mb(rssAtReady) });
    const start = await nextMessage();
    if (start.type !== 'start') throw new Error(`expected start, got ${start.type}`);
    const cpuAtStart = process.cpuUsage();
    await runtime.herder.createConnector(name, args.connector);

    // Until the parent says stop: report a failed task, and (snapshot) the moment all rows are in.
    let stopped = false;
    const stop = nextMessage().then(() => {
      stopped = true;
    });
    let reported = false;
    while (!stopped) {
      const status = await runtime.herder.connectorStatus(name).catch(() => undefined);
      const task = status?.tasks[0];
      if (!reported && task?.state === 'FAILED') {
        reported = true;
        await send({ type: 'failed', state: task.state, trace: task.trace ?? '' });
      }
      if (!reported && args.mode === 'snapshot') {
        if ((await topicRecords(log, args.topic)) >= args.expected) {
          reported = true;
          await send({ type: 'done', atMs: performance.now() });
        }
      }
      await Promise.race([stop, new Promise((resolve) => setTimeout(resolve, 10))]);
    }
    const cpu = process.cpuUsage(cpuAtStart);
    const status = await runtime.herder.connectorStatus(name).catch(() => undefined);
    const progress = status?.tasks[0]?.progress ?? null;
    sampleMemory();
    await runtime.close();
    const records = await topicRecords(log, args.topic);
    const sizes = await recordSizes(log, args.topic);
    await log.close();
    await send({
      type: 'result',
      records,
      ...sizes,
      memory: {
        maxRssMb: mb(process.resourceUsage().maxRSS * 1024),
        peakHeapUsedMb: mb(peaks.heapUsed),
        peakHeapTotalMb: mb(peaks.heapTotal),
        peakExternalMb: mb(peaks.external),
        peakArrayBuffersMb: mb(peaks.arrayBuffers),
        rssAtReadyMb: mb(rssAtReady),
      },
      cpu: { user: cpu.user / 1e6, system: cpu.system / 1e6 },
      progress,
      warnings,
    });
  } finally {
    clearInterval(sampler);
    await runtime.close().catch(() => undefined);
    await log.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`kafki-worker failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
