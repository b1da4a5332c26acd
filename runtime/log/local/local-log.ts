// The `local` backend of the Kafki log: embedded, one machine, no broker. This class wires the
// parts together and implements KafkiLog; each concern lives in its own module:
//   record-batch (codec) · segment + offset-index (files) · partition-log (write pipeline,
//   reads, roll, retention) · durability (fsync policy, group commit) · recovery (open-time
//   validation) · compactor + cleaner (compaction) · topic-store (metadata) · group-* (consumer
//   groups and their committed offsets) · lock (one process per data directory).
//
// On disk:
//   <dataDir>/.lock                                  pid of the process that has the log open
//   <dataDir>/.groups/<group>.json                   committed offsets of a consumer group
//   <dataDir>/<topic>/topic.json                     the TopicSpec
//   <dataDir>/<topic>/<partition>/<base>.log         record batches (see record-batch.ts)
//   <dataDir>/<topic>/<partition>/<base>.index       sparse offset index (see offset-index.ts)
//   <dataDir>/<topic>/<partition>/recovery-point     offset below which segments are sealed
//   <dataDir>/<topic>/<partition>/cleaner-checkpoint where the dirty section starts (compact)

import { mkdir } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { RecordTooLargeError, TopicNotFoundError } from '../errors.ts';
import type {
  AppendedRecord,
  GroupConsumer,
  GroupConsumerOptions,
  KafkiLog,
  LogHeaders,
  LogRecord,
  PartitionOffset,
  PartitionRange,
  ReadOptions,
  StoredRecord,
  TopicDescription,
  TopicSpec,
} from '../log.ts';
import { Partitioner } from '../partitioner.ts';
import { LogCleaner } from './cleaner.ts';
import type { CompactionResult } from './compactor.ts';
import { DurabilityScheduler } from './durability.ts';
import { InvalidInputError } from '../../api/errors.ts';
import { InvalidRecordError, LogClosedError, PartitionNotFoundError } from './errors.ts';
import { DEFAULT_READ_BYTES, LocalGroupConsumer } from './group-consumer.ts';
import { GroupCoordinator } from './group-coordinator.ts';
import { GroupOffsetStore } from './group-offsets.ts';
import { DataDirLock } from './lock.ts';
import { resolveOptions } from './options.ts';
import type { LocalLogOptions, ResolvedLocalLogOptions } from './options.ts';
import { PartitionLog } from './partition-log.ts';
import type { PartitionState } from './partition-log.ts';
import { headersSize, recordSizeWith } from './record-batch.ts';
import { recoverPartition } from './recovery.ts';
import type { RecoveryEvent } from './recovery.ts';
import { effectiveTopicConfig, validateTopicSpec } from './topic-config.ts';
import type { TopicConfig } from './topic-config.ts';
import { TopicStore } from './topic-store.ts';
import { WriteBufferPool } from './write-buffers.ts';

interface TopicState {
  spec: TopicSpec;
  config: TopicConfig;
  partitions: PartitionLog[];
}

/** Partitions recovered in parallel on open (I/O bound; a few keep the disk busy). */
const RECOVERY_CONCURRENCY = 4;

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Only the fields of a TopicSpec are stored, whatever else the caller's object carries. */
function normalizeSpec(spec: TopicSpec): TopicSpec {
  const keys = [
    'name',
    'partitions',
    'cleanupPolicy',
    'replicationFactor',
    'retentionMs',
    'retentionBytes',
    'deleteRetentionMs',
    'segmentBytes',
    'segmentMs',
    'minCleanableDirtyRatio',
  ] as const;
  const out: Record<string, unknown> = {};
  for (const key of keys) if (spec[key] !== undefined) out[key] = spec[key];
  return out as unknown as TopicSpec;
}

export class LocalLog implements KafkiLog {
  readonly backend = 'local' as const;
  /** Everything recovery changed when this log was opened (also reported through the logger). */
  readonly recoveryReport: RecoveryEvent[] = [];
  private readonly topics = new Map<string, TopicState>();
  private readonly partitioner = new Partitioner();
  private readonly durability: DurabilityScheduler;
  private readonly writeBuffers = new WriteBufferPool();
  private readonly store: TopicStore;
  private readonly groupOffsets: GroupOffsetStore;
  private readonly coordinator: GroupCoordinator;
  private readonly cleaner: LogCleaner;
  private readonly consumers = new Set<LocalGroupConsumer>();
  private readonly compactionListeners: Array<
    (topic: string, partition: number, result: CompactionResult) => void
  > = [];
  private adminQueue: Promise<unknown> = Promise.resolve();
  private retentionTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly options: ResolvedLocalLogOptions,
    private readonly lock: DataDirLock,
  ) {
    this.durability = new DurabilityScheduler(options.fsync);
    this.store = new TopicStore(options.dataDir, options.logger);
    this.groupOffsets = new GroupOffsetStore(options.dataDir);
    this.coordinator = new GroupCoordinator((topic) => this.topics.get(topic)?.partitions.length);
    this.cleaner = new LogCleaner({
      intervalMs: options.cleanerIntervalMs,
      indexIntervalBytes: options.indexIntervalBytes,
      now: options.now,
      logger: options.logger,
      partitions: () => this.allPartitions(),
      onCompacted: (log, result) => {
        for (const listener of this.compactionListeners) listener(log.topic, log.partition, result);
      },
    });
  }

  /** Opens (or creates) the log in options.dataDir: takes the lock, then recovers every partition. */
  static async open(options: LocalLogOptions): Promise<LocalLog> {
    const resolved = resolveOptions(options);
    await mkdir(resolved.dataDir, { recursive: true });
    const lock = await DataDirLock.acquire(resolved.dataDir, resolved.logger);
    const log = new LocalLog(resolved, lock);
    try {
      await log.load();
    } catch (error) {
      await Promise.allSettled([...log.allPartitions()].map((p) => p.close()));
      await lock.release();
      throw error;
    }
    if (resolved.cleanerEnabled) log.cleaner.start();
    log.retentionTimer = setInterval(
      () => void log.runRetention(),
      resolved.retentionCheckIntervalMs,
    );
    log.retentionTimer.unref();
    return log;
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  private async load(): Promise<void> {
    const specs = await this.store.load();
    const jobs: Array<{ state: TopicState; partition: number }> = [];
    for (const spec of specs) {
      const config = effectiveTopicConfig(spec, this.options.topicDefaults);
      const state: TopicState = {
        spec,
        config,
        partitions: new Array<PartitionLog>(spec.partitions),
      };
      this.topics.set(spec.name, state);
      for (let partition = 0; partition < spec.partitions; partition++) {
        jobs.push({ state, partition });
      }
    }
    await forEachLimited(jobs, RECOVERY_CONCURRENCY, async ({ state, partition }) => {
      const recovered = await recoverPartition({
        dir: this.store.partitionDir(state.spec.name, partition),
        topic: state.spec.name,
        partition,
        contiguous: state.config.cleanupPolicy === 'delete',
        verify: this.options.verifyOnOpen,
        indexIntervalBytes: this.options.indexIntervalBytes,
        logger: this.options.logger,
        report: (event) => this.recoveryReport.push(event),
      });
      state.partitions[partition] = this.partitionLog(state, partition, recovered);
    });
    await this.groupOffsets.load();
  }

  private partitionLog(
    state: TopicState,
    partition: number,
    recovered: PartitionState,
  ): PartitionLog {
    return new PartitionLog(
      {
        topic: state.spec.name,
        partition,
        dir: this.store.partitionDir(state.spec.name, partition),
        config: state.config,
        indexIntervalBytes: this.options.indexIntervalBytes,
        maxBatchBytes: this.options.maxBatchBytes,
        durability: this.durability,
        writeBuffers: this.writeBuffers,
        logger: this.options.logger,
        onSealed: (log) => this.onSealed(log),
      },
      recovered,
    );
  }

  private *allPartitions(): Iterable<PartitionLog> {
    for (const state of this.topics.values()) {
      for (const partition of state.partitions) if (partition !== undefined) yield partition;
    }
  }

  /** After a roll: record the recovery point, then compaction or retention may have work. */
  private onSealed(log: PartitionLog): void {
    void log.saveRecoveryPoint();
    if (log.config.cleanupPolicy === 'compact') {
      if (this.options.cleanerEnabled) this.cleaner.trigger(log);
    } else if (log.config.retentionBytes >= 0 || log.config.retentionMs >= 0) {
      void this.retain(log);
    }
  }

  private async retain(log: PartitionLog): Promise<void> {
    try {
      await log.applyRetention(this.options.now());
    } catch (error) {
      if (!log.isClosed) {
        this.options.logger.warn(
          { topic: log.topic, partition: log.partition, error: String(error) },
          'retention failed',
        );
      }
    }
  }

  /** Applies retention to every delete-policy partition now (also runs on a timer and after rolls). */
  async runRetention(): Promise<void> {
    if (this.closing !== undefined) return;
    for (const log of this.allPartitions()) {
      if (log.config.cleanupPolicy === 'delete') await this.retain(log);
    }
  }

  /** Runs a compaction pass now on the compact-policy partitions of topic (or of all topics). */
  async compactNow(topic?: string): Promise<void> {
    this.assertOpen();
    const logs =
      topic === undefined ? [...this.allPartitions()] : (this.topicState(topic).partitions ?? []);
    await this.cleaner.runNow(logs);
  }

  /** Observes completed compaction passes (tests, metrics). */
  onCompacted(
    listener: (topic: string, partition: number, result: CompactionResult) => void,
  ): void {
    this.compactionListeners.push(listener);
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new LogClosedError(this.options.dataDir);
  }

  private topicState(topic: string): TopicState {
    const state = this.topics.get(topic);
    if (state === undefined) throw new TopicNotFoundError(topic);
    return state;
  }

  private partitionOf(topic: string, partition: number): PartitionLog {
    const state = this.topicState(topic);
    const log = Number.isInteger(partition) ? state.partitions[partition] : undefined;
    if (log === undefined)
      throw new PartitionNotFoundError(topic, partition, state.partitions.length);
    return log;
  }

  /** Topic creation and deletion run one at a time. */
  private admin<T>(job: () => Promise<T>): Promise<T> {
    const result = this.adminQueue.then(job);
    this.adminQueue = result.catch(() => {});
    return result;
  }

  async createTopic(spec: TopicSpec): Promise<'created' | 'exists'> {
    this.assertOpen();
    validateTopicSpec(spec);
    return this.admin(async () => {
      if (this.topics.has(spec.name)) return 'exists';
      const stored = normalizeSpec(spec);
      await this.store.create(stored);
      const config = effectiveTopicConfig(stored, this.options.topicDefaults);
      const state: TopicState = { spec: stored, config, partitions: [] };
      for (let partition = 0; partition < stored.partitions; partition++) {
        state.partitions.push(
          this.partitionLog(state, partition, {
            segments: [],
            cleanerCheckpoint: 0,
            tombstoneHorizon: undefined,
          }),
        );
      }
      this.topics.set(spec.name, state);
      this.coordinator.topicsChanged();
      return 'created';
    });
  }

  async describeTopic(name: string): Promise<TopicDescription | undefined> {
    this.assertOpen();
    const state = this.topics.get(name);
    if (state === undefined) return undefined;
    return { name, partitions: state.spec.partitions, cleanupPolicy: state.spec.cleanupPolicy };
  }

  async listTopics(): Promise<string[]> {
    this.assertOpen();
    return [...this.topics.keys()].sort();
  }

  async deleteTopic(name: string): Promise<void> {
    this.assertOpen();
    await this.admin(async () => {
      const state = this.topicState(name);
      this.topics.delete(name);
      this.coordinator.topicsChanged();
      // Pending appends finish (and resolve) first; long polls on the topic return [].
      await Promise.all(state.partitions.map((log) => log.close()));
      await this.cleaner.forget(state.partitions);
      await this.store.remove(name);
      await this.groupOffsets.forgetTopic(name);
    });
  }

  /**
   * Places the records (offsets assigned in call order) and resolves once they are durable.
   * Every byte of them (keys, values, headers) is copied into the log's own buffer before this
   * returns its promise, and nothing reads them later: the caller may reuse their memory at once
   * (the source pump recycles its conversion buffers on that basis).
   */
  async append(topic: string, records: readonly LogRecord[]): Promise<AppendedRecord[]> {
    this.assertOpen();
    const state = this.topicState(topic);
    if (records.length === 0) return [];
    // Every record is checked before any is placed: a refused batch writes nothing.
    const sizes = new Float64Array(records.length);
    const limit = this.options.maxRecordBytes;
    const compacted = state.config.cleanupPolicy === 'compact';
    // Records usually share their headers object (a transaction's): sized once per run of it.
    let headers: LogHeaders | undefined;
    let headerBytes = 0;
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      if (record.headers !== headers) {
        headers = record.headers;
        headerBytes = headers === undefined ? 0 : headersSize(headers);
      }
      const size = recordSizeWith(record, headerBytes);
      if (size > limit) throw new RecordTooLargeError(topic, size, limit);
      if (compacted && record.key === null) {
        throw new InvalidRecordError(topic, 'a compacted topic needs a key on every record');
      }
      if (record.timestamp !== undefined && !Number.isFinite(record.timestamp)) {
        throw new InvalidRecordError(topic, `timestamp ${record.timestamp} is not a number of ms`);
      }
      sizes[i] = size;
    }
    const now = this.options.now();
    let partitions: number[];
    try {
      partitions = this.partitioner.partitionsFor(records, state.partitions.length);
    } catch (error) {
      throw new InvalidRecordError(topic, (error as Error).message);
    }
    const first = partitions[0]!;
    let single = true;
    for (let i = 1; i < partitions.length && single; i++) single = partitions[i] === first;
    if (single) {
      // The common case (one partition, a keyless batch, or one key): no per-partition picks.
      const placed = state.partitions[first]!.append(records, null, sizes, now);
      await placed.durable;
      return placedRecords(first, placed.baseOffset, records.length);
    }
    const picks = new Map<number, number[]>();
    for (let i = 0; i < partitions.length; i++) {
      const partition = partitions[i]!;
      let pick = picks.get(partition);
      if (pick === undefined) {
        pick = [];
        picks.set(partition, pick);
      }
      pick.push(i);
    }
    for (const partition of picks.keys()) state.partitions[partition]!.assertWritable();
    const appended = new Array<AppendedRecord>(records.length);
    const durable: Promise<void>[] = [];
    for (const [partition, pick] of picks) {
      const log = state.partitions[partition]!;
      const whole = pick.length === records.length;
      const placed = log.append(records, whole ? null : pick, sizes, now);
      for (let j = 0; j < pick.length; j++) {
        appended[pick[j]!] = { partition, offset: placed.baseOffset + j };
      }
      durable.push(placed.durable);
    }
    await Promise.all(durable);
    return appended;
  }

  async read(
    topic: string,
    partition: number,
    offset: number,
    options: ReadOptions = {},
  ): Promise<StoredRecord[]> {
    this.assertOpen();
    const log = this.partitionOf(topic, partition);
    const maxRecords = options.maxRecords ?? Infinity;
    const maxBytes = options.maxBytes ?? DEFAULT_READ_BYTES;
    if (!(maxRecords >= 1) || !(maxBytes >= 1)) {
      throw new InvalidInputError(
        'LOG_INVALID_READ',
        `read limits must be ≥ 1 (maxRecords ${maxRecords}, maxBytes ${maxBytes})`,
      );
    }
    log.checkRange(offset);
    if (offset === log.endOffset) {
      await log.waitForData(offset, options.maxWaitMs ?? 0);
      if (offset >= log.endOffset || log.isClosed) return [];
    }
    return (await log.read(offset, { maxRecords, maxBytes })).records;
  }

  async offsets(topic: string): Promise<PartitionRange[]> {
    this.assertOpen();
    return this.topicState(topic).partitions.map((log) => ({
      partition: log.partition,
      start: log.startOffset,
      end: log.endOffset,
    }));
  }

  async consumer(options: GroupConsumerOptions): Promise<GroupConsumer> {
    this.assertOpen();
    const invalid = (reason: string) =>
      new InvalidInputError(
        'LOG_INVALID_CONSUMER',
        `consumer of group "${options.groupId}": ${reason}`,
      );
    if (typeof options.groupId !== 'string' || options.groupId === '') {
      throw invalid('a groupId is required');
    }
    if (!Array.isArray(options.topics) || options.topics.length === 0) {
      throw invalid('topics are required');
    }
    if (options.startFrom !== 'earliest' && options.startFrom !== 'latest') {
      throw invalid(`startFrom must be 'earliest' or 'latest'`);
    }
    const member = new LocalGroupConsumer({
      memberId: randomUUID(),
      groupId: options.groupId,
      topics: options.topics,
      startFrom: options.startFrom,
      partition: (topic, partition) => this.topics.get(topic)?.partitions[partition],
      offsets: this.groupOffsets,
      leave: (consumer) => {
        this.consumers.delete(consumer);
        this.coordinator.leave(consumer.groupId, consumer);
      },
      logger: this.options.logger,
    });
    this.consumers.add(member);
    this.coordinator.join(options.groupId, member);
    return member;
  }

  async committedOffsets(groupId: string, topic: string): Promise<PartitionOffset[]> {
    this.assertOpen();
    return this.groupOffsets.list(groupId, topic);
  }

  /** Closes consumers, stops the cleaner, flushes and fsyncs every partition, releases the lock. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.retentionTimer);
      for (const consumer of [...this.consumers]) await consumer.close();
      await this.cleaner.close();
      await this.adminQueue;
      await Promise.all([...this.allPartitions()].map((log) => log.close()));
      this.durability.close();
      await this.groupOffsets.close();
      await this.lock.release();
    })();
    return this.closing;
  }
}

/** Where `count` records appended from baseOffset to one partition landed. */
function placedRecords(partition: number, baseOffset: number, count: number): AppendedRecord[] {
  const appended = new Array<AppendedRecord>(count);
  for (let j = 0; j < count; j++) appended[j] = { partition, offset: baseOffset + j };
  return appended;
}
