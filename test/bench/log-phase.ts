// One benchmark phase in its own process (so its peak RSS is its own): append N records of a
// given size to a fresh topic with several appends in flight, then read them all back.
// Prints one JSON line with the figures, including the process's CPU time (all threads) in each
// half: on a shared machine wall-clock throughput drifts with the neighbours, CPU per byte much
// less. Driven by test/bench/log.ts.
//
// The phase itself stays off the measured path: payloads and record arrays are built before
// the clock starts (64 distinct payloads, so the bytes vary without a large working set), and
// the append and read loops do nothing but call the log.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { KafkiLog, LogRecord } from '../../runtime/log/log.ts';
import { KafkaLog } from '../../runtime/log/kafka/kafka-log.ts';
import { LocalLog } from '../../runtime/log/local/local-log.ts';
import { PeakRss } from './report.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string' },
    records: { type: 'string', default: '200000' },
    size: { type: 'string', default: '1024' },
    batch: { type: 'string', default: '1000' },
    inflight: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '20' },
    fsync: { type: 'string', default: 'always' },
    compression: { type: 'string', default: 'none' },
    brokers: { type: 'string', default: '127.0.0.1:9092' },
    dir: { type: 'string' },
  },
});
const records = Number(values.records);
const size = Number(values.size);
const batchSize = Number(values.batch);
const inFlight = Number(values.inflight);
/** Appends (of the timed shape) made and read back before the clock starts. */
const warmupAppends = Number(values.warmup);

/** Payload like kafka-producer-perf-test's: random upper-case letters (compressible as it is). */
function payload(bytes: number): Buffer {
  const buffer = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) buffer[i] = 65 + Math.floor(Math.random() * 26);
  return buffer;
}

async function openLog(): Promise<{ log: KafkiLog; cleanup: () => void }> {
  if (values.backend === 'local') {
    const dataDir = values.dir ?? mkdtempSync(join(tmpdir(), 'kafki-bench-log-'));
    const fsync = values.fsync === 'always' ? 'always' : { intervalMs: Number(values.fsync) };
    const log = await LocalLog.open({ dataDir, fsync, cleanerEnabled: false });
    return { log, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const log = await KafkaLog.open({
    brokers: values.brokers!.split(','),
    compression: values.compression as 'none' | 'gzip' | 'lz4',
  });
  return { log, cleanup: () => undefined };
}

async function main(): Promise<void> {
  const { log, cleanup } = await openLog();
  const topic = `bench-log-${Date.now().toString(36)}`;
  await log.createTopic({ name: topic, partitions: 1, cleanupPolicy: 'delete' });
  // A pool of distinct payloads so the same bytes are not appended over and over.
  const pool = Array.from({ length: 64 }, () => payload(size));
  const batches: LogRecord[][] = [];
  for (let start = 0; start < records; start += batchSize) {
    const count = Math.min(batchSize, records - start);
    batches.push(
      Array.from({ length: count }, (_, i) => ({
        key: null,
        value: pool[(start + i) % pool.length]!,
        partition: 0,
      })),
    );
  }

  const appendAll = async (to: string, appends: readonly LogRecord[][]): Promise<void> => {
    let next = 0;
    const appender = async () => {
      while (next < appends.length) await log.append(to, appends[next++]!);
    };
    await Promise.all(Array.from({ length: inFlight }, appender));
  };
  const readAll = async (from: string, count: number): Promise<number> => {
    let offset = 0;
    let bytes = 0;
    while (offset < count) {
      const batch = await log.read(from, 0, offset, { maxBytes: 4 * 1024 * 1024 });
      for (const record of batch) bytes += record.value?.length ?? 0;
      offset = batch[batch.length - 1]!.offset + 1;
    }
    return bytes;
  };

  // Warm-up, untimed, on a topic of its own: the timed run measures the steady state of a
  // long-running process, not V8 compiling the hot loops. Measured here with 1000-record
  // appends: the first 5 cost ~8 ms each and the next 5 ~4 ms, against ~1.3 ms once optimized;
  // over 50 appends that alone is about a third of the time, and dd has nothing of the kind.
  if (warmupAppends > 0) {
    const warmup = `${topic}-warmup`;
    await log.createTopic({ name: warmup, partitions: 1, cleanupPolicy: 'delete' });
    const appends = batches.slice(0, warmupAppends);
    await appendAll(warmup, appends);
    await readAll(
      warmup,
      appends.reduce((sum, batch) => sum + batch.length, 0),
    );
    await log.deleteTopic(warmup).catch(() => undefined);
  }

  const rss = new PeakRss();
  const appendCpu = process.cpuUsage();
  const appendStarted = process.hrtime.bigint();
  await appendAll(topic, batches);
  const appendSeconds = Number(process.hrtime.bigint() - appendStarted) / 1e9;
  const appendCpuUsed = process.cpuUsage(appendCpu);

  const readCpu = process.cpuUsage();
  const readStarted = process.hrtime.bigint();
  const readBytes = await readAll(topic, records);
  const readSeconds = Number(process.hrtime.bigint() - readStarted) / 1e9;
  const readCpuUsed = process.cpuUsage(readCpu);
  const peakRssMb = rss.stop();

  await log.deleteTopic(topic).catch(() => undefined);
  await log.close();
  cleanup();
  const megabytes = (records * size) / 1e6;
  console.log(
    JSON.stringify({
      append_records_per_s: Math.round(records / appendSeconds),
      append_mb_per_s: Math.round((megabytes / appendSeconds) * 10) / 10,
      read_records_per_s: Math.round(records / readSeconds),
      read_mb_per_s: Math.round((readBytes / 1e6 / readSeconds) * 10) / 10,
      peak_rss_mb: peakRssMb,
      append_cpu_ms: Math.round((appendCpuUsed.user + appendCpuUsed.system) / 1000),
      read_cpu_ms: Math.round((readCpuUsed.user + readCpuUsed.system) / 1000),
    }),
  );
}

await main();
