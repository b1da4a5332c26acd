// Bounded memory: a source faster than the log stops polling once producer.buffer.memory bytes
// are waiting for the log; a sink reads at most consumer.max.poll.records per put, one batch
// ahead, whatever the backlog.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import type { KafkiLog, LogRecord } from '../../../runtime/log/log.ts';
import { waitFor } from '../../helpers/wait.ts';
import { startRuntime, tempDir } from './harness.ts';
import { probe } from './test-plugins.ts';

/** The local log with appends to one topic slowed down, counting the records it acknowledged. */
function slowLog(
  log: KafkiLog,
  topic: string,
  delayMs: number,
): KafkiLog & { appended: () => number } {
  let appended = 0;
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'appended') return () => appended;
      if (property === 'append') {
        return async (name: string, records: readonly LogRecord[]) => {
          if (name === topic) await new Promise((resolve) => setTimeout(resolve, delayMs));
          const result = await target.append(name, records);
          if (name === topic) appended += records.length;
          return result;
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  }) as KafkiLog & { appended: () => number };
}

describe('backpressure', () => {
  const dir = tempDir('backpressure');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stops polling a fast source while the log is slow, within producer.buffer.memory', async () => {
    const local = await LocalLog.open({
      dataDir: join(dir, 'data'),
      logger: { warn: () => {}, info: () => {} },
    });
    const log = slowLog(local, 'firehose', 100);
    const runtime = await startRuntime(join(dir, 'data'), {
      log,
      worker: { 'producer.buffer.memory': 64 * 1024, 'value.converter.schemas.enable': false },
    });
    try {
      const source = probe('firehose');
      source.count = 1_000_000;
      source.batchSize = 100;
      await runtime.herder.createConnector('firehose', {
        'connector.class': 'generator',
        topic: 'firehose',
      });
      // Each record is about 60 bytes of value + key + 64 bytes of bookkeeping: ~130 bytes, so a
      // 100-record batch is ~13 KB and 64 KB hold about five batches beyond the one being appended.
      let maxInFlight = 0;
      const started = Date.now();
      while (Date.now() - started < 2_000) {
        maxInFlight = Math.max(maxInFlight, source.emitted - log.appended());
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(log.appended() > 0, 'the pipeline moves');
      assert.ok(maxInFlight <= 800, `${maxInFlight} records were polled but not yet in the log`);
      // The pump gathers the polled batches into one append, so each 100 ms append may carry
      // several of them; whatever the rate, the source got no further ahead than the budget.
      assert.ok(
        source.emitted <= log.appended() + 800,
        `the source polled ${source.emitted} records in 2 s, the log acknowledged ${log.appended()}`,
      );
    } finally {
      await runtime.close();
      await local.close();
    }
  });

  it('puts at most consumer.max.poll.records per call into a slow sink while the backlog stays in the log', async () => {
    const runtime = await startRuntime(join(dir, 'data-sink'), {
      worker: { 'consumer.max.poll.records': 50 },
    });
    try {
      const source = probe('backlog-src');
      source.count = 3000;
      source.batchSize = 1000;
      const sink = probe('slow-sink');
      sink.slowPutMs = 40;
      await runtime.herder.createConnector('backlog-src', {
        'connector.class': 'generator',
        topic: 'backlog',
      });
      await runtime.herder.createConnector('slow-sink', {
        'connector.class': 'collector',
        topics: 'backlog',
      });
      await waitFor('the source to finish', async () => source.emitted === 3000);
      assert.ok(sink.received.length < 3000, 'the sink is behind: the backlog waits in the log');
      await waitFor('the sink to catch up', async () => sink.received.length === 3000, {
        timeoutMs: 60_000,
      });
      assert.ok(
        sink.putSizes.every((size) => size <= 50),
        `put sizes ${sink.putSizes.join(',')}`,
      );
      assert.deepEqual(
        sink.received.map((record) => record.offset),
        Array.from({ length: 3000 }, (_, i) => i),
      );
    } finally {
      await runtime.close();
    }
  });
});
