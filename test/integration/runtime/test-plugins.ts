// Connectors for herder-level tests: a generator source and a collecting sink whose behaviour a
// test steers through a shared probe (failures to inject, what was received). Test-only code.

import type {
  ConfigSchema,
  Connector,
  DurableOffset,
  Logger,
  ParsedConfig,
  RawConfig,
  SinkConnectorPlugin,
  SinkRecord,
  SinkTaskContext,
  SourceConnectorPlugin,
  SourceRecord,
  SourceTaskContext,
} from '../../../runtime/api/index.ts';
import {
  InvalidInputError,
  originalPosition,
  RecordRejectedError,
  RetriableError,
} from '../../../runtime/api/index.ts';

export interface Probe {
  /** Source: total records to emit (offsets 0..count-1). */
  count: number;
  batchSize: number;
  /** Source: the record with this number gets a value too large for the log (2 MiB). */
  hugeAt?: number;
  emitted: number;
  committed: DurableOffset[];
  sourceConfig?: ParsedConfig;
  /** Sink: everything put, in order. */
  received: SinkRecord[];
  sinkConfig?: ParsedConfig;
  putCalls: number;
  /** Records per put() call. */
  putSizes: number[];
  /** Throw a RetriableError from the next N put() calls. */
  retriablePutFailures: number;
  /**
   * put() throws a plain non-retriable error (one that names no record: the destination is
   * broken) when a batch holds a matching record.
   */
  rejectWhen?: (record: SinkRecord) => boolean;
  /**
   * put() throws a RecordRejectedError naming the matching records of the batch (and writes
   * nothing of it), the way a sink says "these records can never be written".
   */
  rejectRecordWhen?: (record: SinkRecord) => boolean;
  /**
   * put() reports matching records through reportErrant and keeps the others (the async
   * collector: when it confirms them, after put() returned).
   */
  errantWhen?: (record: SinkRecord) => boolean;
  slowPutMs: number;
  opened: string[];
  /** Async collector: records put and not yet confirmed, in put order. */
  held: SinkRecord[];
  /** Async collector: confirm the records held now (errant ones reported, the others kept). */
  confirm?: () => Promise<void>;
  /**
   * Async collector: confirm every record held now at once, reporting the errant ones without
   * awaiting each (as a sink does with the rejections of one bulk response); every other one is
   * reported as a copy, which the runtime has to read back from the log.
   */
  confirmTogether?: () => Promise<void>;
  /** Async collector: preCommit() throws this (a write failure found after put() returned). */
  asyncFailure?: Error;
  preCommitCalls: number;
  /** Async collector: preCommit() waits for this (counted first) before it answers. */
  preCommitGate?: Promise<void>;
  /** Sink: partitions close() was called for, as topic/partition. */
  closed: string[];
}

const probes = new Map<string, Probe>();

export function probe(connector: string): Probe {
  let found = probes.get(connector);
  if (!found) {
    found = {
      count: 0,
      batchSize: 100,
      emitted: 0,
      committed: [],
      received: [],
      putCalls: 0,
      putSizes: [],
      retriablePutFailures: 0,
      slowPutMs: 0,
      opened: [],
      held: [],
      preCommitCalls: 0,
      closed: [],
    };
    probes.set(connector, found);
  }
  return found;
}

class PlanOneTask implements Connector {
  private config: ParsedConfig = {};
  async start(config: ParsedConfig): Promise<void> {
    if (config['fail.start'] === true)
      throw new InvalidInputError('TEST_START', 'the connector refused to start');
    this.config = config;
  }
  async taskConfigs(maxTasks: number): Promise<RawConfig[]> {
    const task: RawConfig = {};
    for (const [key, value] of Object.entries(this.config)) {
      if (value !== undefined && !key.startsWith('tasks.') && key !== 'connector.class') {
        task[key] = Array.isArray(value) ? value.join(',') : String(value);
      }
    }
    return Array.from(
      { length: Math.min(maxTasks, Number(this.config['test.tasks'] ?? 1)) },
      (_, i) => ({
        ...task,
        'task.index': String(i),
      }),
    );
  }
  async stop(): Promise<void> {}
}

const common: ConfigSchema['properties'] = {
  'secret.token': { type: 'string', 'x-secret': true, 'x-group': 'Test' },
  'fail.start': { type: 'boolean', default: false, 'x-group': 'Test' },
  'test.tasks': { type: 'integer', default: 1, 'x-group': 'Test' },
  'task.index': { type: 'integer', 'x-group': 'Test' },
};

export const generatorSource: SourceConnectorPlugin = {
  kind: 'source',
  className: 'test.GeneratorSourceConnector',
  aliases: ['generator'],
  version: '0.0.1',
  description: 'emits numbered records',
  configSchema: {
    type: 'object',
    properties: { ...common, topic: { type: 'string', 'x-group': 'Test' } },
    required: ['topic'],
  },
  createConnector: () => new PlanOneTask(),
  createTask: () => {
    let next = 0;
    let context: SourceTaskContext;
    let p: Probe;
    const partition = { generator: 'g' };
    return {
      async start(_config: RawConfig, ctx: SourceTaskContext) {
        context = ctx;
        p = probe(ctx.connectorName);
        p.sourceConfig = ctx.config;
        const stored = await ctx.offset(partition);
        next = typeof stored?.next === 'number' ? stored.next : 0;
      },
      async poll(signal: AbortSignal): Promise<SourceRecord[]> {
        if (next >= p.count) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              signal.removeEventListener('abort', done);
              resolve();
            };
            const timer = setTimeout(done, 20);
            signal.addEventListener('abort', done, { once: true });
          });
          return [];
        }
        const records: SourceRecord[] = [];
        const end = Math.min(p.count, next + p.batchSize);
        for (; next < end; next++) {
          records.push({
            topic: String(context.config.topic),
            key: `k${next % 7}`,
            value:
              next === p.hugeAt
                ? { n: next, pad: 'x'.repeat(2 * 1024 * 1024) }
                : { n: next, big: 9007199254740993n + BigInt(next) },
            headers: { origin: 'generator' },
            sourcePartition: partition,
            sourceOffset: { next: next + 1 },
          });
        }
        p.emitted += records.length;
        return records;
      },
      async commit(offsets: readonly DurableOffset[]) {
        p.committed.push(...offsets);
      },
      async stop() {},
    };
  },
};

export const collectorSink: SinkConnectorPlugin = {
  kind: 'sink',
  className: 'test.CollectorSinkConnector',
  aliases: ['collector'],
  version: '0.0.1',
  description: 'keeps what it receives',
  configSchema: { type: 'object', properties: { ...common } },
  createConnector: () => new PlanOneTask(),
  createTask: () => {
    let context: SinkTaskContext;
    let p: Probe;
    return {
      async start(_config: RawConfig, ctx: SinkTaskContext) {
        context = ctx;
        p = probe(ctx.connectorName);
        p.sinkConfig = ctx.config;
      },
      async open(partitions) {
        p.opened.push(...partitions.map((tp) => `${tp.topic}/${tp.partition}`));
      },
      async close() {},
      async put(records: readonly SinkRecord[]) {
        p.putCalls++;
        p.putSizes.push(records.length);
        if (p.slowPutMs > 0) await new Promise((resolve) => setTimeout(resolve, p.slowPutMs));
        if (p.retriablePutFailures > 0) {
          p.retriablePutFailures--;
          throw new RetriableError('TEST_BUSY', 'the destination is busy');
        }
        if (p.rejectWhen && records.some(p.rejectWhen)) {
          throw new InvalidInputError('TEST_REJECTED', 'the destination rejected a record');
        }
        const rejected = p.rejectRecordWhen ? records.filter(p.rejectRecordWhen) : [];
        if (rejected.length > 0) {
          throw new RecordRejectedError(
            rejected.map((record) => ({
              record,
              reason: new InvalidInputError('TEST_REJECTED', 'the destination rejected a record'),
            })),
          );
        }
        for (const record of records) {
          if (p.errantWhen?.(record))
            await context.reportErrant(
              record,
              new InvalidInputError('TEST_ERRANT', 'mapping conflict'),
            );
          else p.received.push(record);
        }
      },
      async preCommit(consumed) {
        return [...consumed];
      },
      async stop() {},
    };
  },
};

/**
 * A sink whose writes complete after put() returned, like the Elasticsearch sink's bulk requests:
 * put() only holds the records; the test confirms them with probe.confirm() (errant ones are
 * then reported, long after their put()), and preCommit() returns, per partition the records
 * were read from (their original coordinates), only positions before the first record still
 * held. probe.asyncFailure makes preCommit() throw, as a sink does with a failure of a write
 * that completed after the last put().
 */
export const asyncCollectorSink: SinkConnectorPlugin = {
  kind: 'sink',
  className: 'test.AsyncCollectorSinkConnector',
  aliases: ['async-collector'],
  version: '0.0.1',
  description: 'keeps what it receives, confirming it later',
  configSchema: { type: 'object', properties: { ...common } },
  createConnector: () => new PlanOneTask(),
  createTask: () => {
    let p: Probe;
    const sameTp = (record: SinkRecord, tp: { topic: string; partition: number }) => {
      const at = originalPosition(record);
      return at.topic === tp.topic && at.partition === tp.partition;
    };
    return {
      async start(_config: RawConfig, context: SinkTaskContext) {
        p = probe(context.connectorName);
        p.sinkConfig = context.config;
        p.confirm = async () => {
          // One record at a time, removed only once handled: a preCommit() meanwhile never
          // passes a record whose dead letter is not durable yet.
          for (let count = p.held.length; count > 0 && p.held.length > 0; count--) {
            const record = p.held[0]!;
            if (p.errantWhen?.(record))
              await context.reportErrant(
                record,
                new InvalidInputError('TEST_ERRANT', 'rejected after put() returned'),
              );
            else p.received.push(record);
            p.held.shift();
          }
        };
        p.confirmTogether = async () => {
          const batch = [...p.held];
          const errant = batch.filter((record) => p.errantWhen?.(record));
          await Promise.all(
            errant.map((record, i) =>
              context.reportErrant(
                i % 2 === 0 ? record : { ...record },
                new InvalidInputError('TEST_ERRANT', 'rejected in one response'),
              ),
            ),
          );
          p.received.push(...batch.filter((record) => !p.errantWhen?.(record)));
          p.held.splice(0, batch.length);
        };
      },
      async open(partitions) {
        p.opened.push(...partitions.map((tp) => `${tp.topic}/${tp.partition}`));
      },
      async close(partitions) {
        p.closed.push(...partitions.map((tp) => `${tp.topic}/${tp.partition}`));
        p.held = p.held.filter((record) => !partitions.some((tp) => sameTp(record, tp)));
      },
      async put(records: readonly SinkRecord[]) {
        p.putCalls++;
        p.putSizes.push(records.length);
        p.held.push(...records);
      },
      async preCommit(consumed) {
        p.preCommitCalls++;
        if (p.preCommitGate) await p.preCommitGate;
        if (p.asyncFailure) throw p.asyncFailure;
        return consumed.map((position) => {
          const first = p.held.find((record) => sameTp(record, position));
          if (!first) return { ...position };
          return { ...position, offset: Math.min(position.offset, originalPosition(first).offset) };
        });
      },
      async stop() {},
    };
  },
};

export interface CapturedLog {
  level: string;
  context: object | undefined;
  message: string | undefined;
}

/** A Logger that keeps every entry (tests assert on warnings and on what is never logged). */
export function capturingLogger(
  entries: CapturedLog[] = [],
  bindings: object = {},
): Logger & { entries: CapturedLog[] } {
  const make = (level: string) =>
    ((context: object | string, message?: string) => {
      if (typeof context === 'string') entries.push({ level, context: bindings, message: context });
      else entries.push({ level, context: { ...bindings, ...context }, message });
    }) as Logger['info'];
  return {
    entries,
    error: make('error'),
    warn: make('warn'),
    info: make('info'),
    debug: make('debug'),
    child: (more) => capturingLogger(entries, { ...bindings, ...more }),
  };
}
