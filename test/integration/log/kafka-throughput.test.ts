// Throughput of the kafka backend: append (acks=all, batches of 1000 × 1 KB records, a few appends
// in flight) then read everything back, per compression codec. The default size is small enough
// for CI and only checks the records came back in order; the numbers are reported as diagnostics.
//
// Full measurement against Kafka's own producer benchmark at the same acks and compression:
//   KAFKI_KAFKA_BENCH_RECORDS=200000 KAFKI_KAFKA_BENCH_COMPARE=1 \
//     node --import tsx --test test/integration/log/kafka-throughput.test.ts
// runs org.apache.kafka.tools.ProducerPerformance from the harness's jars (.services/kafka/lib)
// right before each of our runs, on a fresh topic each, and reports the ratio.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { KafkaLog } from '../../../runtime/log/kafka/index.ts';
import type { KafkaCompression } from '../../../runtime/log/kafka/index.ts';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName } from '../../helpers/wait.ts';

const brokers = serviceAddresses().kafkaBrokers;
const total = Number(process.env.KAFKI_KAFKA_BENCH_RECORDS ?? 20_000);
const compare = process.env.KAFKI_KAFKA_BENCH_COMPARE === '1';
const batchSize = 1000;
const inFlight = 4;
const recordSize = 1024;
const lib = join(resolve(import.meta.dirname, '../../..'), '.services', 'kafka', 'lib');

/** Records per second of Kafka's ProducerPerformance with the same record size, acks and codec. */
async function producerPerformance(compression: KafkaCompression): Promise<number> {
  const { stdout } = await promisify(execFile)(
    'java',
    [
      '-Xmx512m',
      '-cp',
      `${lib}/*`,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      uniqueName('perf_reference'),
      '--num-records',
      String(total),
      '--record-size',
      String(recordSize),
      '--throughput',
      '-1',
      '--command-property',
      `bootstrap.servers=${brokers.join(',')}`,
      'acks=all',
      `compression.type=${compression}`,
    ],
    { timeout: 300_000, maxBuffer: 1 << 24 },
  );
  const summary = stdout.trim().split('\n').pop() ?? '';
  const match = /([\d.]+) records\/sec/.exec(summary);
  if (!match) throw new Error(`no summary in ProducerPerformance output: ${summary}`);
  return Number(match[1]);
}

describe('kafka log: throughput', () => {
  for (const compression of ['none', 'gzip', 'lz4'] as const) {
    it(`appends and reads ${total} × 1 KB records (${compression})`, async (t) => {
      const reference =
        compare && existsSync(lib) ? await producerPerformance(compression) : undefined;
      const log = await KafkaLog.open({ brokers, clientId: 'kafki-bench', compression });
      try {
        const topic = uniqueName(`kafka_bench_${compression}`);
        await log.createTopic({ name: topic, partitions: 1, cleanupPolicy: 'delete' });
        // Like ProducerPerformance: one random payload of upper-case letters, no key.
        const payload = Buffer.alloc(recordSize);
        for (let i = 0; i < recordSize; i++) payload[i] = 65 + Math.floor(Math.random() * 26);
        const batch = Array.from({ length: batchSize }, () => ({ key: null, value: payload }));

        let started = performance.now();
        const pending = new Set<Promise<unknown>>();
        for (let sent = 0; sent < total; sent += batchSize) {
          const append = log.append(topic, batch).finally(() => pending.delete(append));
          pending.add(append);
          if (pending.size >= inFlight) await Promise.race(pending);
        }
        await Promise.all(pending);
        const appendSeconds = (performance.now() - started) / 1000;

        started = performance.now();
        let next = 0;
        while (next < total) {
          const records = await log.read(topic, 0, next, { maxRecords: 5000 });
          assert.ok(records.length > 0);
          assert.equal(records[0]!.offset, next);
          assert.equal(records[records.length - 1]!.offset, next + records.length - 1);
          next += records.length;
        }
        const readSeconds = (performance.now() - started) / 1000;
        assert.equal(next, total);
        assert.deepEqual(await log.offsets(topic), [{ partition: 0, start: 0, end: total }]);

        const rate = (seconds: number) => Math.round(total / seconds);
        const appendRate = rate(appendSeconds);
        t.diagnostic(
          `${compression}: append ${appendRate} records/s (${((appendRate * recordSize) / 2 ** 20).toFixed(1)} MiB/s), ` +
            `read ${rate(readSeconds)} records/s, append+read ${rate(appendSeconds + readSeconds)} records/s` +
            (reference === undefined
              ? ''
              : `; ProducerPerformance ${Math.round(reference)} records/s → append at ${Math.round((100 * appendRate) / reference)}%`),
        );
        await log.deleteTopic(topic);
      } finally {
        await log.close();
      }
    });
  }
});
