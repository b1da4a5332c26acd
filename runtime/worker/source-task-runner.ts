// The source pump: poll → transform → convert → append to the log → (durable) → store offsets →
// task.commit(). Polling runs ahead of appending (batch N+1 is polled and converted while batch N
// is being written), bounded by producer.buffer.memory bytes converted and not yet durable.
//
// Appends (group commit at the pump): converted batches wait in a queue and are appended as
// groups. The local log places an append's records when append() is called, acknowledges appends
// in call order and never needs one re-sent, so with it the pump may keep several appends in
// flight: waiting batches are merged into appends of up to about 4 MiB, a larger batch is cut
// into equal pieces of at most that size (never between two records a source joined,
// SourceRecord.joinsNext), and at most `orderedAppendsInFlight` appends are in
// flight — one by default: measured with 4 KiB records in 4 MiB appends, fsync always
// (`npm run bench:log`), the local log made 1,295 MB/s durable with one append at a time (each is
// written through O_DSYNC on an idle partition) and 606 MB/s with four (plain writes landing
// while a round fdatasyncs, for 3.5× the CPU); the PostgreSQL benchmark's worker showed the same
// rate with less CPU and memory. Elsewhere (Kafka: a failed send may be retried by the pump after
// a later one went through; errors.tolerance=all: a refused append is re-sent record by record)
// one group is in flight at a time, and everything that waited for it goes to the log as the
// next group, one append per topic, so one durable write covers all the polls made meanwhile.
// Either way appends are issued in poll order, so a partition keeps its order.
//
// Appends complete in issue order: a batch's offsets reach the offset store only after the log
// acknowledged it — and every batch before it — as durable, once per append (the latest offset
// of each source partition), and the task hears commit() only after the offset store did. After
// a failed append nothing more is issued and no later offset is stored (appends already in flight
// may land in the log; their records are delivered again after a restart, like a crash's).
//
// Records are converted into per-batch arenas of reused slabs (converters/byte-arena.ts) where
// the converter supports it; an arena is released once its append is durable — with the local
// log, as soon as its group's appends are issued (the log copies the records within append()).

import type { ParsedConfig, RawConfig } from '../api/config.ts';
import type { FrameworkConfig } from '../config/connector-config.ts';
import { isRetriable } from '../api/errors.ts';
import type { SourceRecord } from '../api/record.ts';
import type { DurableOffset, SourceTask, SourceTaskContext } from '../api/source-task.ts';
import { SLAB_BYTES, SlabPool, type BatchArena } from '../converters/byte-arena.ts';
import type { Converter } from '../converters/converter.ts';
import type { KafkiLog, LogHeaders, LogRecord } from '../log/log.ts';
import { offsetKey } from '../storage/offset-store.ts';
import type { OffsetStore } from '../storage/offset-store.ts';
import { backoffDelay, retryRetriable, sleep } from './backoff.ts';
import { ByteBudget } from './byte-budget.ts';
import { asError, ErrorHandler } from './errors.ts';
import type { RecordFailure } from './errors.ts';
import { TaskRunner } from './task-runner.ts';
import type { TaskRunnerBase } from './task-runner.ts';
import type { TopicCreator } from './topic-creator.ts';
import type { TransformChain } from './transform-chain.ts';

export interface SourceTaskRunnerOptions extends TaskRunnerBase {
  task: SourceTask;
  /** Resolved (config provider references replaced). */
  taskConfig: RawConfig;
  parsedTaskConfig: ParsedConfig;
  framework: FrameworkConfig;
  converters: { key: Converter; value: Converter; keyClass: string; valueClass: string };
  transforms: TransformChain;
  log: KafkiLog;
  offsetStore: OffsetStore;
  topics: TopicCreator;
  /** Called once per topic the task writes to (active topic tracking). */
  onTopic: (topic: string) => void;
  bufferMemoryBytes: number;
  offsetFlushIntervalMs: number;
  /** With an ordered (local) log: appends in flight at most (default 1, see the header). */
  orderedAppendsInFlight?: number;
}

interface PreparedBatch {
  byTopic: Map<string, LogRecord[]>;
  count: number;
  bytes: number;
  /** Latest offset per source partition over the whole polled batch, skipped records included. */
  offsets: Map<string, DurableOffset>;
  /** Where the batch's keys and values live; released once the batch is durable. */
  arena: BatchArena;
}

/** Batches appended together: their records in one or more log.append calls per topic. */
interface AppendGroup {
  batches: PreparedBatch[];
  /** The appends (topic, records) still to issue, in order. */
  pieces: Array<[string, LogRecord[]]>;
  /** Pieces issued and not yet settled, plus those not issued yet. */
  unsettled: number;
  state: 'in-flight' | 'durable' | 'failed';
}

/**
 * With an ordered log (the local one): batches waiting are merged into one group up to this many
 * bytes, and a larger group is appended in pieces of about this size. The log encodes each
 * append into a buffer of its own until the kernel has the bytes, and buffers of a few MiB are
 * what its pool reuses (a fresh large buffer costs a page fault on every page written into it).
 */
const maxAppendBytes = 4 * 1024 * 1024;
/** Default of `orderedAppendsInFlight` (see the header). */
const defaultOrderedAppendsInFlight = 1;
/**
 * Converted and not yet durable, at most, with an ordered log: a few appends' worth ahead of
 * the ones being written (rides out a slow fsync; further ahead only holds memory).
 */
const orderedAheadAppends = 4;

/** Rough per-record overhead (headers map, offsets) on top of key and value bytes. */
const recordOverheadBytes = 64;

export class SourceTaskRunner extends TaskRunner {
  private readonly budget: ByteBudget;
  private readonly errors: ErrorHandler;
  private readonly slabs: SlabPool;
  /** Converted, waiting for an append slot (in poll order). */
  private readonly waiting: PreparedBatch[] = [];
  /** Groups being appended, in issue order; completed from the head. */
  private readonly inFlight: AppendGroup[] = [];
  /** The group whose pieces are being issued (the last of inFlight). */
  private issuingGroup: AppendGroup | undefined;
  /** log.append calls not settled yet. */
  private appendsInFlight = 0;
  /** Set while issuing awaits topic creation (appends must be issued in order). */
  private creatingTopics = false;
  /** An append failed: no offset of it or of anything issued after it is stored. */
  private appendFailed = false;
  /** The log keeps the order of concurrent appends and no append is ever re-sent (see header). */
  private readonly ordered: boolean;
  private readonly orderedAppendsInFlight: number;
  private settledWaiters: Array<() => void> = [];
  private readonly pendingOffsets = new Map<string, DurableOffset>();
  private commitRunning: Promise<void> | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private lastCommitAt = 0;
  private commitAttempt = 0;
  /** Topics known to exist (created, or appended to). */
  private readonly seenTopics = new Set<string>();
  /** Topics reported through onTopic (once a durable append went to them). */
  private readonly activeTopics = new Set<string>();

  constructor(private readonly options: SourceTaskRunnerOptions) {
    super(options);
    this.errors = new ErrorHandler({
      tolerance: options.framework.errors.tolerance,
      logEnable: options.framework.errors.logEnable,
      logger: options.logger,
      metrics: options.metrics,
    });
    this.ordered = options.log.backend === 'local' && !this.errors.tolerant;
    // With an ordered log, converting more than a few appends ahead of the ones in flight cannot
    // make the log go faster: only memory would grow. producer.buffer.memory stays the bound.
    this.orderedAppendsInFlight = options.orderedAppendsInFlight ?? defaultOrderedAppendsInFlight;
    const limit = this.ordered
      ? Math.min(
          options.bufferMemoryBytes,
          (this.orderedAppendsInFlight + orderedAheadAppends) * maxAppendBytes,
        )
      : options.bufferMemoryBytes;
    this.budget = new ByteBudget(limit);
    // Slabs in use never exceed the budget (plus the one being filled), so keeping that many
    // idle costs no more memory than the peak, and spares fresh allocations (page faults).
    this.slabs = new SlabPool(SLAB_BYTES, limit);
  }

  protected async run(): Promise<void> {
    const { task, logger } = this.options;
    let failure: Error | undefined;
    try {
      await task.start(this.options.taskConfig, this.context());
      this.report(this.paused ? 'PAUSED' : 'RUNNING');
      await this.pump();
    } catch (error) {
      failure = asError(error);
    }
    try {
      await this.drain();
    } catch (error) {
      failure ??= asError(error);
    }
    try {
      await task.stop();
    } catch (error) {
      logger.warn({ err: error }, 'source task stop() failed');
    }
    failure ??= this.fatal;
    if (failure) this.report('FAILED', failure);
    else this.report('UNASSIGNED');
  }

  private context(): SourceTaskContext {
    const { id, logger, offsetStore, parsedTaskConfig } = this.options;
    return {
      connectorName: id.connector,
      taskId: id.task,
      logger,
      config: parsedTaskConfig,
      offset: async (partition) => offsetStore.get(id.connector, partition),
      reportProgress: (progress) => this.setProgress(progress),
    };
  }

  private async pump(): Promise<void> {
    const { task, metrics, framework, logger } = this.options;
    let pollAttempt = 0;
    while (!this.stopping) {
      if (this.paused) {
        await this.waitWhilePaused();
        continue;
      }
      let records: SourceRecord[];
      try {
        records = await task.poll(this.interrupt.signal);
        pollAttempt = 0;
      } catch (error) {
        if (this.stopping) break;
        if (!isRetriable(error)) throw error;
        metrics.retries(1);
        const delay = backoffDelay(pollAttempt++, framework.errors.retryDelayMaxMs);
        logger.warn(
          { err: error, delayMs: delay },
          'poll() failed with a retriable error; retrying',
        );
        await sleep(delay, this.interrupt.signal);
        continue;
      }
      if (records.length === 0) continue;
      metrics.recordsIn(records.length);
      const { batch, failures } = this.prepare(records);
      // Source errors are never dead-lettered (Kafka Connect's rule): tolerance skips or fails.
      await this.errors.handle(failures);
      await this.budget.acquire(batch.bytes, this.hardStop.signal);
      this.waiting.push(batch);
      this.issue();
    }
    if (this.fatal) throw this.fatal;
  }

  /** Transform and convert synchronously: one serialization per record, no promise per record. */
  private prepare(records: readonly SourceRecord[]): {
    batch: PreparedBatch;
    failures: RecordFailure[];
  } {
    const { transforms, converters } = this.options;
    const keyConverter = converters.key;
    const valueConverter = converters.value;
    const keyInto = keyConverter.fromConnectTo !== undefined;
    const valueInto = valueConverter.fromConnectTo !== undefined;
    const arena = this.slabs.arena();
    const byTopic = new Map<string, LogRecord[]>();
    const offsets = new Map<string, DurableOffset>();
    const failures: RecordFailure[] = [];
    let bytes = 0;
    let count = 0;
    // Offsets: the last record of each run of one source partition (partition objects are
    // usually shared by the records of a batch, so they are keyed once per run).
    let partition: SourceRecord['sourcePartition'] | undefined;
    let partitionKey = '';
    let offset: SourceRecord['sourceOffset'] | undefined;
    let lastTopic: string | undefined;
    let lastList: LogRecord[] = [];
    let lastHeaders: SourceRecord['headers'];
    let lastLogHeaders: LogHeaders = {};
    for (let i = 0; i < records.length; i++) {
      const original = records[i]!;
      if (original.sourcePartition !== partition) {
        if (partition !== undefined) {
          offsets.set(partitionKey, { sourcePartition: partition, sourceOffset: offset! });
        }
        partition = original.sourcePartition;
        partitionKey = offsetKey('', partition);
      }
      offset = original.sourceOffset;

      let record: SourceRecord | null = original;
      if (!transforms.identity) {
        try {
          record = transforms.apply(original);
        } catch (error) {
          failures.push({
            stage: 'TRANSFORMATION',
            className: 'transforms',
            error: asError(error),
            where: original.topic,
          });
          continue;
        }
        if (record === null) continue;
      }
      const topic = record.topic;
      let key: Buffer | null;
      let value: Buffer | null;
      try {
        key = keyInto
          ? keyConverter.fromConnectTo!(topic, record.keySchema, record.key, arena)
          : keyConverter.fromConnect(topic, record.keySchema, record.key);
      } catch (error) {
        failures.push({
          stage: 'KEY_CONVERTER',
          className: converters.keyClass,
          error: asError(error),
          where: topic,
        });
        continue;
      }
      try {
        value = valueInto
          ? valueConverter.fromConnectTo!(topic, record.valueSchema, record.value, arena)
          : valueConverter.fromConnect(topic, record.valueSchema, record.value);
      } catch (error) {
        failures.push({
          stage: 'VALUE_CONVERTER',
          className: converters.valueClass,
          error: asError(error),
          where: topic,
        });
        continue;
      }
      const logRecord: LogRecord = { key, value };
      if (record.headers) {
        // Connectors share one headers object between the records of a transaction (the
        // source version header): encoded once, the same (never mutated) bytes for all of them.
        if (record.headers !== lastHeaders) {
          lastHeaders = record.headers;
          lastLogHeaders = {};
          for (const name in lastHeaders) lastLogHeaders[name] = Buffer.from(lastHeaders[name]!);
        }
        logRecord.headers = lastLogHeaders;
      }
      if (record.timestamp !== undefined) logRecord.timestamp = record.timestamp;
      if (record.partition !== undefined) logRecord.partition = record.partition;
      if (topic !== lastTopic) {
        let list = byTopic.get(topic);
        if (!list) {
          list = [];
          byTopic.set(topic, list);
        }
        lastTopic = topic;
        lastList = list;
      }
      lastList.push(logRecord);
      if (original.joinsNext === true) logRecord.joinsNext = true;
      count++;
      bytes += (key === null ? 0 : key.length) + (value === null ? 0 : value.length);
    }
    if (partition !== undefined) {
      offsets.set(partitionKey, { sourcePartition: partition, sourceOffset: offset! });
    }
    bytes += count * recordOverheadBytes;
    return { batch: { byTopic, count, bytes, offsets, arena }, failures };
  }

  /**
   * Issues appends while the window allows: the pieces of the current group, then a new group of
   * what is waiting. Appends are issued strictly in order (a topic that does not exist yet is
   * created first, and nothing behind it is issued meanwhile).
   */
  private issue(): void {
    while (!this.creatingTopics) {
      if (this.fatal) {
        // After a failed append nothing behind it may be appended: its offsets would be
        // committed past the records that failed.
        this.discardUnissued();
        break;
      }
      const group = this.issuingGroup;
      if (group === undefined) {
        if (this.waiting.length === 0 || (!this.ordered && this.inFlight.length > 0)) break;
        // A group is made when it can be issued, so it takes everything that waited until then.
        if (this.ordered && this.appendsInFlight >= this.orderedAppendsInFlight) break;
        if (!this.openGroup()) return;
        continue;
      }
      if (group.pieces.length === 0) {
        this.issuingGroup = undefined;
        continue;
      }
      if (this.ordered && this.appendsInFlight >= this.orderedAppendsInFlight) break;
      const [topic, records] = group.pieces.shift()!;
      this.appendsInFlight++;
      // appendTopic calls log.append synchronously, so the appends reach the log in this order.
      this.appendTopic(topic, records).then(
        () => this.settle(group, undefined),
        (error: unknown) => this.settle(group, asError(error)),
      );
      // The local log has copied the records by the time append() returns, and an ordered log's
      // appends are never re-sent: once the group's last piece is issued, its conversion slabs
      // can take the next batches (the records wait for durability in the log's buffer only).
      if (this.ordered && group.pieces.length === 0) {
        for (const batch of group.batches) batch.arena.release();
      }
    }
    this.checkSettled();
  }

  /** The next group from the waiting batches; false while its topics are being created. */
  private openGroup(): boolean {
    // An ordered log takes the waiting batches up to about maxAppendBytes (at least one);
    // otherwise everything waiting goes in one append per topic.
    let take = 1;
    if (this.ordered) {
      let bytes = this.waiting[0]!.bytes;
      while (take < this.waiting.length && bytes + this.waiting[take]!.bytes <= maxAppendBytes) {
        bytes += this.waiting[take]!.bytes;
        take++;
      }
    } else take = this.waiting.length;
    const batches = this.waiting.splice(0, take);
    const byTopic = mergeTopics(batches);
    const pieces: Array<[string, LogRecord[]]> = [];
    for (const [topic, records] of byTopic) {
      if (!this.ordered) pieces.push([topic, records]);
      else for (const piece of slices(records)) pieces.push([topic, piece]);
    }
    const group: AppendGroup = { batches, pieces, unsettled: pieces.length, state: 'in-flight' };
    const open = (): void => {
      this.inFlight.push(group);
      this.issuingGroup = group;
      for (const topic of byTopic.keys()) this.seenTopics.add(topic);
      // A group with nothing to append (every record skipped) is durable at once, in its turn.
      if (group.unsettled === 0) {
        group.state = 'durable';
        queueMicrotask(() => this.complete());
      }
    };
    let missing = false;
    for (const topic of byTopic.keys()) if (!this.seenTopics.has(topic)) missing = true;
    if (!missing) {
      open();
      return true;
    }
    const { topics, framework } = this.options;
    this.creatingTopics = true;
    topics.ensure(byTopic.keys(), framework.topicCreationPartitions).then(
      () => {
        this.creatingTopics = false;
        open();
        this.issue();
      },
      (error: unknown) => {
        this.creatingTopics = false;
        this.fail(asError(error));
        for (const batch of batches) this.budget.release(batch.bytes);
        this.issue();
      },
    );
    return false;
  }

  private settle(group: AppendGroup, error: Error | undefined): void {
    this.appendsInFlight--;
    group.unsettled--;
    if (error !== undefined) {
      group.state = 'failed';
      this.fail(error);
    } else if (group.unsettled === 0 && group.pieces.length === 0 && group.state === 'in-flight') {
      group.state = 'durable';
    }
    this.complete();
  }

  /** After a failure: what was not issued yet is dropped (its budget released). */
  private discardUnissued(): void {
    for (const batch of this.waiting.splice(0)) this.budget.release(batch.bytes);
    const group = this.issuingGroup;
    if (group !== undefined) {
      group.unsettled -= group.pieces.length;
      group.pieces.length = 0;
      if (group.state === 'in-flight') group.state = 'failed';
      this.issuingGroup = undefined;
      if (group.unsettled === 0) queueMicrotask(() => this.complete());
    }
  }

  /** Completes the settled groups at the head of the in-flight list, in issue order. */
  private complete(): void {
    const { metrics } = this.options;
    while (this.inFlight.length > 0) {
      const group = this.inFlight[0]!;
      if (group.state === 'in-flight' || group.unsettled > 0) break;
      this.inFlight.shift();
      let count = 0;
      for (const batch of group.batches) {
        this.budget.release(batch.bytes);
        count += batch.count;
      }
      // A failed group, or any group behind one: its records may be in the log, but no offset
      // of it is stored. Its arenas are left to the garbage collector (a log might still hold
      // a failed append's buffers).
      if (group.state === 'failed') this.appendFailed = true;
      if (this.appendFailed) continue;
      for (const batch of group.batches) batch.arena.release();
      metrics.recordsOut(count);
      metrics.batch();
      // The records of these batches are durable in the log: only now may their offsets be stored.
      for (const batch of group.batches) {
        for (const [key, offset] of batch.offsets) this.pendingOffsets.set(key, offset);
        for (const topic of batch.byTopic.keys()) {
          if (!this.activeTopics.has(topic)) {
            this.activeTopics.add(topic);
            this.options.onTopic(topic);
          }
        }
      }
    }
    this.scheduleCommit();
    this.issue();
  }

  /** Nothing waiting or in flight. */
  private get settled(): boolean {
    return this.waiting.length === 0 && this.inFlight.length === 0 && !this.creatingTopics;
  }

  private checkSettled(): void {
    if (!this.settled) return;
    for (const resolve of this.settledWaiters.splice(0)) resolve();
  }

  private whenSettled(): Promise<void> {
    if (this.settled) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private async appendTopic(topic: string, records: LogRecord[]): Promise<void> {
    const { log, metrics, framework } = this.options;
    const retry = {
      maxDelayMs: framework.errors.retryDelayMaxMs,
      timeoutMs: -1,
      signal: this.hardStop.signal,
      onRetry: () => metrics.retries(1),
    };
    try {
      await retryRetriable(() => log.append(topic, records), retry);
    } catch (error) {
      if (!this.errors.tolerant || isRetriable(error)) throw error;
      // errors.tolerance=all: find the records the log refuses (e.g. too large) one by one and
      // skip them; the others go through in order.
      const failures: RecordFailure[] = [];
      for (const record of records) {
        try {
          await retryRetriable(() => log.append(topic, [record]), retry);
        } catch (single) {
          if (isRetriable(single)) throw single;
          failures.push({
            stage: 'KAFKA_PRODUCE',
            className: 'KafkiLog',
            error: asError(single),
            where: topic,
          });
        }
      }
      await this.errors.handle(failures);
    }
  }

  private scheduleCommit(): void {
    if (this.commitRunning || this.commitTimer || this.pendingOffsets.size === 0) return;
    const wait = this.lastCommitAt + this.options.offsetFlushIntervalMs - Date.now();
    if (wait > 0) {
      this.commitTimer = setTimeout(() => {
        this.commitTimer = undefined;
        this.scheduleCommit();
      }, wait);
      return;
    }
    this.commitRunning = this.commitOffsets().finally(() => {
      this.commitRunning = undefined;
      if (!this.hardStop.signal.aborted) this.scheduleCommit();
    });
  }

  private async commitOffsets(): Promise<void> {
    const { id, offsetStore, task, metrics, logger, framework } = this.options;
    if (this.pendingOffsets.size === 0) return;
    const entries = [...this.pendingOffsets];
    this.pendingOffsets.clear();
    try {
      await offsetStore.set(
        id.connector,
        entries.map(([, offset]) => ({
          partition: offset.sourcePartition,
          offset: offset.sourceOffset,
        })),
      );
      this.commitAttempt = 0;
    } catch (error) {
      for (const [key, offset] of entries)
        if (!this.pendingOffsets.has(key)) this.pendingOffsets.set(key, offset);
      if (!isRetriable(error)) {
        this.fail(asError(error));
        return;
      }
      metrics.retries(1);
      await sleep(
        backoffDelay(this.commitAttempt++, framework.errors.retryDelayMaxMs),
        this.hardStop.signal,
      );
      return;
    }
    this.lastCommitAt = Date.now();
    metrics.offsetCommit();
    // Records and offsets are both durable: the task may now acknowledge its upstream.
    try {
      await task.commit(entries.map(([, offset]) => offset));
    } catch (error) {
      logger.warn(
        { err: error },
        'source task commit() failed; the next commit carries the offsets again',
      );
    }
  }

  /** Let in-flight appends finish, then store the offsets of everything durable. */
  private async drain(): Promise<void> {
    await this.whenSettled();
    if (this.commitTimer) {
      clearTimeout(this.commitTimer);
      this.commitTimer = undefined;
    }
    await this.commitRunning;
    if (!this.hardStop.signal.aborted) await this.commitOffsets();
  }
}

/**
 * Consecutive slices of equal size, at most about maxAppendBytes (at least one record each):
 * batches of a steady stream then cut into appends of one size, which the log's buffer pool
 * reuses (a remainder of another size would push its buffers out). No slice ends with a record
 * that joins the next (LogRecord.joinsNext).
 */
function slices(records: LogRecord[]): LogRecord[][] {
  const sizes = new Float64Array(records.length);
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    sizes[i] =
      (record.key === null ? 0 : record.key.length) +
      (record.value === null ? 0 : record.value.length) +
      recordOverheadBytes;
    total += sizes[i]!;
  }
  if (total <= maxAppendBytes) return [records];
  const target = total / Math.ceil(total / maxAppendBytes);
  const out: LogRecord[][] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    bytes += sizes[i]!;
    if (bytes >= target && i + 1 < records.length && records[i]!.joinsNext !== true) {
      out.push(records.slice(start, i + 1));
      start = i + 1;
      bytes = 0;
    }
  }
  if (start < records.length) out.push(records.slice(start));
  return out;
}

/** The records of several batches per topic, in batch order (the batch's own map for one). */
function mergeTopics(batches: readonly PreparedBatch[]): Map<string, LogRecord[]> {
  if (batches.length === 1) return batches[0]!.byTopic;
  const merged = new Map<string, LogRecord[]>();
  for (const batch of batches) {
    for (const [topic, records] of batch.byTopic) {
      const list = merged.get(topic);
      if (list === undefined) merged.set(topic, records.slice());
      else for (let i = 0; i < records.length; i++) list.push(records[i]!);
    }
  }
  return merged;
}
