// The source pump against a log whose appends the test resolves by hand: appends are issued in
// poll order (with an ordered log one at a time by default or several when configured, one group
// at a time otherwise, with what
// waited coalesced into it), offsets reach the store and the task only after every append up to
// them is durable, a large batch is cut into appends of a few MiB, and nothing after a failed
// append is stored.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger, LogFn } from '../../../runtime/api/logger.ts';
import type { SourceRecord } from '../../../runtime/api/record.ts';
import type { DurableOffset, SourceTask } from '../../../runtime/api/source-task.ts';
import type { FrameworkConfig } from '../../../runtime/config/connector-config.ts';
import { JsonConverter } from '../../../runtime/converters/json-converter.ts';
import type { AppendedRecord, KafkiLog, LogRecord } from '../../../runtime/log/log.ts';
import type { TaskMetrics } from '../../../runtime/metrics/worker-metrics.ts';
import { createMemoryOffsetStore } from '../../../runtime/storage/offset-store.ts';
import { SourceTaskRunner } from '../../../runtime/worker/source-task-runner.ts';
import { TopicCreator } from '../../../runtime/worker/topic-creator.ts';
import { identityChain } from '../../../runtime/worker/transform-chain.ts';
import { waitFor } from '../../helpers/wait.ts';

const noop: LogFn = (() => {}) as LogFn;
const logger: Logger = { error: noop, warn: noop, info: noop, debug: noop, child: () => logger };
const metrics: TaskMetrics = {
  recordsIn: () => {},
  recordsOut: () => {},
  batch: () => {},
  errors: () => {},
  skipped: () => {},
  retries: () => {},
  deadLettered: () => {},
  offsetCommit: () => {},
  offsetLag: () => {},
};

function framework(tolerance: 'none' | 'all' = 'none'): FrameworkConfig {
  return {
    name: 'pump',
    connectorClass: 'test',
    tasksMax: 1,
    keyConverter: undefined,
    valueConverter: undefined,
    keySchemasEnable: undefined,
    valueSchemasEnable: undefined,
    transforms: [],
    errors: {
      tolerance,
      retryTimeoutMs: 0,
      retryDelayMaxMs: 10,
      logEnable: false,
      deadLetterTopic: undefined,
      deadLetterContextHeaders: false,
      deadLetterReplicationFactor: 1,
    },
    topics: [],
    topicsRegex: undefined,
    topicCreationPartitions: undefined,
  };
}

interface PendingAppend {
  topic: string;
  /** The record numbers (value n), copied at append() time. */
  numbers: number[];
  bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A log whose appends wait until the test settles them. */
class ManualLog {
  readonly pending: PendingAppend[] = [];
  readonly calls: PendingAppend[] = [];

  constructor(readonly backend: 'local' | 'kafka') {}

  asLog(): KafkiLog {
    return {
      backend: this.backend,
      createTopic: async () => 'created' as const,
      append: (topic: string, records: readonly LogRecord[]) => this.append(topic, records),
    } as unknown as KafkiLog;
  }

  private append(topic: string, records: readonly LogRecord[]): Promise<AppendedRecord[]> {
    return new Promise((resolve, reject) => {
      const entry: PendingAppend = {
        topic,
        numbers: records.map((record) => (JSON.parse(record.value!.toString()) as { n: number }).n),
        bytes: records.reduce((sum, record) => sum + (record.value?.length ?? 0), 0),
        resolve: () => resolve(records.map((_, offset) => ({ partition: 0, offset }))),
        reject,
      };
      this.pending.push(entry);
      this.calls.push(entry);
    });
  }

  /** Settles the pending append at `index` (0: the oldest). */
  settle(index = 0, error?: Error): PendingAppend {
    const [entry] = this.pending.splice(index, 1);
    if (!entry) throw new Error('no pending append');
    if (error) entry.reject(error);
    else entry.resolve();
    return entry;
  }
}

/**
 * A task that emits the given batches (records numbered from 0) and records its commits;
 * `joinsNext(n)` marks record n as belonging with record n + 1.
 */
function scriptedTask(batchSizes: number[], padding = 0, joinsNext?: (n: number) => boolean) {
  const commits: number[] = [];
  const partition = { source: 'p' };
  let next = 0;
  let batch = 0;
  const task: SourceTask = {
    start: async () => {},
    poll: async () => {
      if (batch >= batchSizes.length) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        return [];
      }
      const records: SourceRecord[] = [];
      for (let i = 0; i < batchSizes[batch]!; i++, next++) {
        records.push({
          topic: 'out',
          key: null,
          value: padding > 0 ? { n: next, pad: 'x'.repeat(padding) } : { n: next },
          sourcePartition: partition,
          sourceOffset: { next: next + 1 },
          ...(joinsNext?.(next) ? { joinsNext: true } : {}),
        });
      }
      batch++;
      return records;
    },
    commit: async (offsets: readonly DurableOffset[]) => {
      for (const offset of offsets) commits.push(offset.sourceOffset.next as number);
    },
    stop: async () => {},
  };
  return { task, commits, polled: () => batch };
}

function runner(
  log: ManualLog,
  task: SourceTask,
  options: {
    tolerance?: 'none' | 'all';
    bufferMemoryBytes?: number;
    orderedAppendsInFlight?: number;
  } = {},
) {
  const states: string[] = [];
  const offsetStore = createMemoryOffsetStore();
  const converter = new JsonConverter(false);
  const instance = new SourceTaskRunner({
    id: { connector: 'pump', task: 0 },
    logger,
    metrics,
    onState: (_id, state) => states.push(state),
    paused: false,
    shutdownTimeoutMs: 5_000,
    task,
    taskConfig: {},
    parsedTaskConfig: {},
    framework: framework(options.tolerance),
    converters: { key: converter, value: converter, keyClass: 'json', valueClass: 'json' },
    transforms: identityChain,
    log: log.asLog(),
    offsetStore,
    topics: new TopicCreator(log.asLog(), { partitions: 1, replicationFactor: 1 }),
    onTopic: () => {},
    bufferMemoryBytes: options.bufferMemoryBytes ?? 32 * 1024 * 1024,
    offsetFlushIntervalMs: 0,
    ...(options.orderedAppendsInFlight === undefined
      ? {}
      : { orderedAppendsInFlight: options.orderedAppendsInFlight }),
  });
  const stored = () =>
    (offsetStore.get('pump', { source: 'p' }) as { next?: number } | null)?.next ?? 0;
  return { instance, states, stored };
}

const settleAll = async (log: ManualLog, until: () => boolean) => {
  await waitFor(
    'the pump to finish',
    async () => {
      while (log.pending.length > 0) log.settle();
      return until();
    },
    { intervalMs: 2, timeoutMs: 10_000 },
  );
};

describe('source pump', () => {
  it('with an ordered log: several appends in flight, in poll order; offsets only up to the oldest unsettled append', async () => {
    const log = new ManualLog('local');
    const { task, commits } = scriptedTask([10, 10, 10]);
    const { instance, stored } = runner(log, task, { orderedAppendsInFlight: 4 });
    instance.start();
    await waitFor('three appends in flight', async () => log.pending.length === 3, {
      intervalMs: 2,
    });
    assert.deepEqual(
      log.calls.flatMap((call) => call.numbers),
      Array.from({ length: 30 }, (_, n) => n),
    );
    // The second and third become durable first: nothing may be stored yet.
    log.settle(1);
    log.settle(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(stored(), 0);
    assert.deepEqual(commits, []);
    // The first one: now all three batches are durable, in one commit.
    log.settle(0);
    await waitFor('the offsets of all three', async () => stored() === 30, { intervalMs: 2 });
    await waitFor('the task commit', async () => commits.at(-1) === 30, { intervalMs: 2 });
    assert.ok(commits.every((next, i) => i === 0 || next >= commits[i - 1]!));
    await instance.stop();
  });

  it('with an ordered log: cuts a large batch into appends of a few MiB, at most four in flight', async () => {
    const log = new ManualLog('local');
    // 2,000 records of ~10 KiB: ~20 MiB in one poll.
    const { task } = scriptedTask([2000], 10_000);
    const { instance, stored } = runner(log, task, { orderedAppendsInFlight: 4 });
    instance.start();
    await waitFor('four appends in flight', async () => log.pending.length === 4, {
      intervalMs: 2,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(log.pending.length, 4, 'no more than four appends in flight');
    for (const call of log.calls) assert.ok(call.bytes <= 4.2 * 1024 * 1024, `${call.bytes} bytes`);
    await settleAll(log, () => stored() === 2000);
    assert.deepEqual(
      log.calls.flatMap((call) => call.numbers),
      Array.from({ length: 2000 }, (_, n) => n),
    );
    assert.ok(log.calls.length >= 5);
    await instance.stop();
  });

  it('with an ordered log: never cuts between records the source joined', async () => {
    const log = new ManualLog('local');
    // 2,000 records of ~10 KiB in groups of three (a key update's delete, tombstone, create).
    const { task } = scriptedTask([2000], 10_000, (n) => n % 3 !== 2);
    const { instance, stored } = runner(log, task);
    instance.start();
    await settleAll(log, () => stored() === 2000);
    assert.ok(log.calls.length >= 5, `${log.calls.length} appends`);
    for (const call of log.calls) {
      const last = call.numbers.at(-1)!;
      assert.ok(last % 3 === 2 || last === 1999, `an append ends with record ${last}`);
    }
    assert.deepEqual(
      log.calls.flatMap((call) => call.numbers),
      Array.from({ length: 2000 }, (_, n) => n),
    );
    await instance.stop();
  });

  for (const [backend, title] of [
    ['local', 'with an ordered log by default: one append in flight'],
    ['kafka', 'with another log: one group in flight'],
  ] as const) {
    it(`${title}; the batches polled meanwhile go in the next append together`, async () => {
      const log = new ManualLog(backend);
      const { task, polled } = scriptedTask([5, 5, 5, 5]);
      const { instance, stored } = runner(log, task);
      instance.start();
      await waitFor('all four batches polled', async () => polled() === 4, { intervalMs: 2 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(log.pending.length, 1, 'one append in flight');
      assert.deepEqual(log.pending[0]!.numbers, [0, 1, 2, 3, 4]);
      log.settle();
      await waitFor('the next append', async () => log.pending.length === 1, { intervalMs: 2 });
      assert.deepEqual(
        log.pending[0]!.numbers,
        Array.from({ length: 15 }, (_, n) => n + 5),
      );
      await waitFor('the first batch stored', async () => stored() === 5, { intervalMs: 2 });
      log.settle();
      await waitFor('everything stored', async () => stored() === 20, { intervalMs: 2 });
      assert.equal(log.calls.length, 2);
      await instance.stop();
    });
  }

  it('stores nothing at or after a failed append, and fails the task', async () => {
    const log = new ManualLog('local');
    const { task, commits } = scriptedTask([10, 10, 10]);
    const { instance, states, stored } = runner(log, task, { orderedAppendsInFlight: 4 });
    instance.start();
    await waitFor('three appends in flight', async () => log.pending.length === 3, {
      intervalMs: 2,
    });
    log.settle(0);
    log.settle(0, new Error('disk on fire'));
    log.settle(0);
    await instance.finished();
    assert.equal(states.at(-1), 'FAILED');
    assert.equal(stored(), 10);
    assert.deepEqual(commits, [10]);
  });

  it('drains on stop: what was polled is appended and its offsets stored', async () => {
    const log = new ManualLog('local');
    const { task, commits, polled } = scriptedTask([3, 3]);
    const { instance, states, stored } = runner(log, task);
    instance.start();
    await waitFor('both batches polled', async () => polled() === 2 && log.pending.length > 0, {
      intervalMs: 2,
    });
    const stopping = instance.stop();
    await settleAll(log, () => stored() === 6);
    await stopping;
    assert.equal(states.at(-1), 'UNASSIGNED');
    assert.equal(commits.at(-1), 6);
  });
});
