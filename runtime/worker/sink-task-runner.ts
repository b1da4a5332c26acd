// The sink pump: read a batch from the log → convert → transform → put() → preCommit() → commit
// the positions the task confirmed. The next batch is read while the current one is being put
// (one batch ahead, each bounded by consumer.fetch.max.bytes), and put() is awaited before the
// next, so a slow sink slows reading and memory stays bounded. A position is committed only after
// preCommit() returned it: the records before it are written for good (or dead-lettered).
//
// preCommit() runs on a timer, not only after a batch: every offset.flush.interval.ms (at least
// every idleCommitFloorMs) even when nothing new arrives, so writes a sink confirms after the last
// batch are committed without waiting for more data, and an asynchronous failure the sink found
// since (thrown by preCommit) fails the task instead of leaving an idle task RUNNING.
//
// Which failures are about records: converter and transform errors (per record by nature), a
// RecordRejectedError from put() (naming the records) and reportErrant() (a record the sink
// rejected, possibly long after put() returned). errors.tolerance applies to those only; any
// other put() failure (the destination is down, out of retries…) fails the task, so healthy
// records never go to the dead-letter topic.

import type { ParsedConfig, RawConfig } from '../api/config.ts';
import { isRetriable, RecordRejectedError } from '../api/errors.ts';
import type {
  RecordHeaders,
  SinkRecord,
  TopicPartition,
  TopicPartitionOffset,
} from '../api/record.ts';
import { originalPosition } from '../api/record.ts';
import type { SinkTask, SinkTaskContext } from '../api/sink-task.ts';
import type { FrameworkConfig } from '../config/connector-config.ts';
import type { Converter } from '../converters/converter.ts';
import { PartitionNotAssignedError, TopicNotFoundError } from '../log/errors.ts';
import type { GroupConsumer, KafkiLog, LogHeaders, StoredRecord } from '../log/log.ts';
import { retryRetriable, sleep } from './backoff.ts';
import type { DeadLetterQueue } from './dead-letter-queue.ts';
import { asError, ErrorHandler, ToleranceExceededError } from './errors.ts';
import type { RecordFailure } from './errors.ts';
import { positionKey, readBack } from './errant-originals.ts';
import { TaskRunner } from './task-runner.ts';
import type { TaskRunnerBase } from './task-runner.ts';
import type { TransformChain } from './transform-chain.ts';

export interface SinkTaskRunnerOptions extends TaskRunnerBase {
  task: SinkTask;
  taskConfig: RawConfig;
  parsedTaskConfig: ParsedConfig;
  framework: FrameworkConfig;
  converters: { key: Converter; value: Converter; keyClass: string; valueClass: string };
  transforms: TransformChain;
  log: KafkiLog;
  deadLetterQueue: DeadLetterQueue | undefined;
  /** Topics never consumed through topics.regex (internal topics, the dead-letter topic). */
  excludedTopics: ReadonlySet<string>;
  onTopic: (topic: string) => void;
  maxPollRecords: number;
  fetchMaxBytes: number;
  offsetFlushIntervalMs: number;
  /** How often topics.regex is matched again against the log's topics. */
  topicsRefreshMs?: number;
  /** How often topics named in `topics` that do not exist yet are looked for again. */
  missingTopicsRefreshMs?: number;
}

const pollWaitMs = 500;
/**
 * preCommit() runs at least this often while a task has consumed something, whatever
 * offset.flush.interval.ms says (0 means "after every batch", which alone would never commit an
 * idle task). Also the longest an asynchronous sink failure waits to be noticed with that default.
 */
export const idleCommitFloorMs = 200;
/** Shortest poll wait: keeps an idle loop from spinning when a commit is overdue. */
const minPollWaitMs = 10;
const tpKey = (topic: string, partition: number) => `${partition}:${topic}`;
const recordKey = (record: SinkRecord) => positionKey(originalPosition(record));

/** Kafka Connect's sink consumer group: connect-<connector name>. */
export const sinkGroupId = (connector: string) => `connect-${connector}`;

export class SinkTaskRunner extends TaskRunner {
  private readonly errors: ErrorHandler;
  private consumer: GroupConsumer | undefined;
  private topics: string[] = [];
  private readonly open = new Map<string, TopicPartition>();
  /** Next offset to read per partition, for everything put (or dead-lettered). */
  private readonly consumed = new Map<string, TopicPartitionOffset>();
  private readonly committed = new Map<string, number>();
  private dirty = false;
  private lastCommitAt = 0;
  private lastTopicsRefresh = 0;
  private lastLagUpdate = 0;
  /**
   * The stored record each SinkRecord handed to the task came from, for dead letters. Weak: an
   * entry lives as long as the task (or anything) keeps the SinkRecord, so a sink that reports a
   * record errant long after put() (asynchronous writes) still gets the original key, value and
   * headers dead-lettered, and memory follows what the sink holds.
   */
  private readonly originals = new WeakMap<SinkRecord, StoredRecord>();
  /** Errant reports not sent yet (see reportErrant). */
  private errantGroup: { reports: Array<[SinkRecord, Error]>; sent: Promise<void> } | undefined;
  /** The last group sent or being sent: the next one goes after it. */
  private errantTail: Promise<void> = Promise.resolve();
  private readonly seenTopics = new Set<string>();
  /** The topics last logged as waited for (logged again only when that changes). */
  private reportedWaiting = '';

  constructor(private readonly options: SinkTaskRunnerOptions) {
    super(options);
    this.errors = new ErrorHandler({
      tolerance: options.framework.errors.tolerance,
      logEnable: options.framework.errors.logEnable,
      logger: options.logger,
      metrics: options.metrics,
      ...(options.deadLetterQueue ? { deadLetterQueue: options.deadLetterQueue } : {}),
    });
  }

  protected async run(): Promise<void> {
    const { task, logger } = this.options;
    let failure: Error | undefined;
    let started = false;
    try {
      await task.start(this.options.taskConfig, this.context());
      started = true;
      await this.subscribe();
      this.report(this.paused ? 'PAUSED' : 'RUNNING');
      await this.pump();
    } catch (error) {
      failure = asError(error);
    }
    if (started) {
      // Positions only ever cover batches put successfully, so committing them is safe even when
      // the task is failing; a failing commit does not hide the original failure.
      try {
        await this.commit();
        await this.syncAssignment([]);
      } catch (error) {
        if (!failure && !this.fatal) failure = asError(error);
      }
    }
    await this.consumer
      ?.close()
      .catch((error: unknown) => logger.warn({ err: error }, 'closing the consumer failed'));
    try {
      await task.stop();
    } catch (error) {
      logger.warn({ err: error }, 'sink task stop() failed');
    }
    failure ??= this.fatal;
    if (failure) this.report('FAILED', failure);
    else this.report('UNASSIGNED');
  }

  private context(): SinkTaskContext {
    const { id, logger, parsedTaskConfig } = this.options;
    return {
      connectorName: id.connector,
      taskId: id.task,
      logger,
      config: parsedTaskConfig,
      reportErrant: (record, error) => this.reportErrant(record, error),
      reportProgress: (progress) => this.setProgress(progress),
    };
  }

  /**
   * Reports join the group that waits for the dead-letter topic, in call order; a group goes out
   * as one append once the one before it is durable. A sink that reports a bulk response's
   * rejected documents together (without awaiting each) so costs one append and one fsync, not
   * one per record, and the dead letters keep the order of the reports.
   */
  private reportErrant(record: SinkRecord, error: Error): Promise<void> {
    let group = this.errantGroup;
    if (group === undefined) {
      const reports: Array<[SinkRecord, Error]> = [];
      const sent = this.errantTail.then(() => this.sendErrants(reports));
      group = this.errantGroup = { reports, sent };
      this.errantTail = sent.catch(() => {});
    }
    group.reports.push([record, error]);
    return group.sent;
  }

  private async sendErrants(reports: ReadonlyArray<[SinkRecord, Error]>): Promise<void> {
    this.errantGroup = undefined; // later reports form the next group
    const failures = await this.putFailures(reports);
    try {
      await this.errors.handle(failures);
    } catch (tolerance) {
      // errors.tolerance=none: the task fails, whatever the sink does with the rejection.
      this.fail(asError(tolerance));
      throw tolerance;
    }
  }

  /**
   * Each rejected record with the record as stored in the log: normally from the weak map; for a
   * record the sink copied (not the object it was handed), read back from the log at its
   * original coordinates (errant-originals.ts); if the log no longer has it (retention), the
   * record's current key and value serialized again, the best left to dead-letter (never null in
   * place of data that exists).
   */
  private async putFailures(
    rejected: Iterable<readonly [SinkRecord, Error]>,
  ): Promise<RecordFailure[]> {
    const reports = [...rejected];
    const copies = reports
      .filter(([record]) => !this.originals.has(record))
      .map(([record]) => originalPosition(record));
    const readBackRecords =
      copies.length > 0
        ? await readBack(this.options.log, copies, this.options.logger)
        : new Map<string, StoredRecord>();
    return reports.map(([record, error]) => {
      const at = originalPosition(record);
      return {
        stage: 'TASK_PUT',
        className: this.options.id.connector,
        error,
        original:
          this.originals.get(record) ??
          readBackRecords.get(positionKey(at)) ??
          this.convertedForm(record),
        where: `${at.topic}/${at.partition}@${at.offset}`,
      };
    });
  }

  /** An errant record the log no longer has, as its converters write it now. */
  private convertedForm(record: SinkRecord): StoredRecord {
    const at = originalPosition(record);
    this.options.logger.warn(
      { record: `${at.topic}/${at.partition}@${at.offset}` },
      'the original of an errant record is no longer in the log; dead-lettering its converted form',
    );
    const { converters } = this.options;
    const headers: LogHeaders = {};
    for (const name in record.headers) headers[name] = Buffer.from(record.headers[name]!, 'utf8');
    const serialize = (convert: () => Buffer | null) => {
      try {
        return convert();
      } catch {
        return null;
      }
    };
    return {
      ...at,
      key: serialize(() => converters.key.fromConnect(record.topic, record.keySchema, record.key)),
      value: serialize(() =>
        converters.value.fromConnect(record.topic, record.valueSchema, record.value),
      ),
      headers,
      timestamp: record.timestamp ?? Date.now(),
    };
  }

  /**
   * The subscribed topics that exist now: those matching topics.regex, or those of `topics` the
   * log has. A sink task is subscribed only to existing topics and keeps looking for the others
   * (see refreshTopics), so it can be registered before its source created them, as in Kafka
   * Connect. The waiting is done here, not in the log: KafkiLog.consumer() refuses a missing topic
   * with TopicNotFoundError on Kafka (a clear error for direct users, where a missing topic is a
   * mistake, instead of a failure inside kafkajs's background join) and a group cannot subscribe
   * to nothing; topics.regex is resolved here already, and this way both backends behave alike.
   */
  private async resolveTopics(): Promise<string[]> {
    const { framework, log, excludedTopics } = this.options;
    const existing = await log.listTopics();
    if (!framework.topicsRegex) {
      const present = new Set(existing);
      return [...new Set(framework.topics)].filter((topic) => present.has(topic)).sort();
    }
    const pattern = new RegExp(`^(?:${framework.topicsRegex})$`);
    return existing.filter((topic) => pattern.test(topic) && !excludedTopics.has(topic)).sort();
  }

  /** Joins the group for the existing subscribed topics; none yet: no consumer, looked for again. */
  private async subscribe(topics?: string[]): Promise<void> {
    const { id, log, logger } = this.options;
    topics ??= await this.resolveTopics();
    this.lastTopicsRefresh = Date.now();
    this.topics = [];
    this.consumer = undefined;
    if (topics.length > 0) {
      try {
        this.consumer = await log.consumer({
          groupId: sinkGroupId(id.connector),
          topics,
          startFrom: 'earliest',
        });
        this.topics = topics;
      } catch (error) {
        // Listed but not usable yet (no leader yet, or deleted meanwhile): tried again later.
        if (!(error instanceof TopicNotFoundError) && !isRetriable(error)) throw error;
        logger.info({ err: error, topics }, 'subscribed topics are not ready; trying again later');
      }
    }
    const waiting = this.waitingFor();
    if (waiting.length > 0 && waiting.join('\n') !== this.reportedWaiting) {
      logger.info(
        { topics: waiting },
        'waiting for subscribed topics to be created; they are consumed once they exist',
      );
    }
    this.reportedWaiting = waiting.join('\n');
    for (const topic of this.topics) {
      if (!this.seenTopics.has(topic)) {
        this.seenTopics.add(topic);
        this.options.onTopic(topic);
      }
    }
  }

  /** What is waited for: the named topics not subscribed yet, or the pattern matching nothing. */
  private waitingFor(): string[] {
    const { framework } = this.options;
    if (framework.topicsRegex) return this.consumer ? [] : [`/${framework.topicsRegex}/`];
    const subscribed = new Set(this.topics);
    return framework.topics.filter((topic) => !subscribed.has(topic));
  }

  /** Until the next look at the log's topics: topics.regex and missing topics only. */
  private topicsRefreshDueInMs(): number {
    const { framework, topicsRefreshMs, missingTopicsRefreshMs } = this.options;
    const missing = !this.consumer || this.topics.length < new Set(framework.topics).size;
    let interval = Number.POSITIVE_INFINITY;
    if (framework.topicsRegex) interval = topicsRefreshMs ?? 5_000;
    if (missing) interval = Math.min(interval, missingTopicsRefreshMs ?? 1_000);
    return this.lastTopicsRefresh + interval - Date.now();
  }

  /**
   * topics.regex, or named topics that did not exist: a new topic means a new subscription
   * (commit first, then rejoin).
   */
  private async refreshTopics(): Promise<void> {
    if (this.topicsRefreshDueInMs() > 0) return;
    this.lastTopicsRefresh = Date.now();
    const topics = await this.resolveTopics();
    if (topics.join('\n') === this.topics.join('\n')) return;
    if (this.consumer) {
      await this.commit();
      await this.syncAssignment([]);
      await this.consumer.close();
    }
    this.consumed.clear();
    await this.subscribe(topics);
  }

  private poll(): Promise<StoredRecord[]> {
    return this.consumer!.poll({
      maxRecords: this.options.maxPollRecords,
      maxBytes: this.options.fetchMaxBytes,
      // Back in time for the next preCommit when nothing arrives.
      maxWaitMs: Math.max(minPollWaitMs, Math.min(pollWaitMs, this.commitDueInMs())),
    });
  }

  private async pump(): Promise<void> {
    let ahead: Promise<StoredRecord[]> | undefined;
    while (!this.stopping) {
      if (this.paused) {
        // Nothing more is read while paused (a batch already read ahead waits for the resume:
        // the consumer's position is past it); what was put keeps being committed.
        await this.maybeCommit();
        await this.waitWhilePaused(pollWaitMs);
        continue;
      }
      await this.refreshTopics();
      if (!this.consumer) {
        // Nothing to read until a subscribed topic exists.
        await ahead?.catch(() => []);
        ahead = undefined;
        await sleep(Math.max(minPollWaitMs, this.topicsRefreshDueInMs()), this.interrupt.signal);
        continue;
      }
      const batch = await (ahead ?? this.poll());
      ahead = undefined;
      if (this.paused) {
        // Paused while the batch was being read: it is held, not put, until the resume.
        ahead = Promise.resolve(batch);
        continue;
      }
      await this.syncAssignment(this.consumer!.assignment());
      // Only records of partitions still assigned: a revoked partition is re-read by its new owner.
      const records = batch.filter((record) =>
        this.open.has(tpKey(record.topic, record.partition)),
      );
      if (records.length === 0) {
        // Idle: writes confirmed since the last batch are committed on the timer, and a failure
        // the sink found meanwhile surfaces through preCommit().
        await this.maybeCommit();
        // Let the lag gauge catch up with the last commits.
        await this.maybeUpdateLag();
        continue;
      }
      if (!this.stopping) ahead = this.poll();
      await this.deliver(records);
      await this.maybeCommit();
    }
    if (ahead) await ahead.catch(() => []);
    if (this.fatal) throw this.fatal;
  }

  /** Open newly assigned partitions, close revoked ones (their positions are the new owner's). */
  private async syncAssignment(assignment: readonly TopicPartition[]): Promise<void> {
    const now = new Map(assignment.map((tp) => [tpKey(tp.topic, tp.partition), tp]));
    const revoked = [...this.open].filter(([key]) => !now.has(key)).map(([, tp]) => tp);
    const assigned = [...now].filter(([key]) => !this.open.has(key)).map(([, tp]) => tp);
    if (revoked.length > 0) {
      for (const tp of revoked) {
        const key = tpKey(tp.topic, tp.partition);
        this.open.delete(key);
        this.consumed.delete(key);
        this.committed.delete(key);
      }
      await this.options.task.close(revoked);
    }
    if (assigned.length > 0) {
      for (const tp of assigned) this.open.set(tpKey(tp.topic, tp.partition), tp);
      await this.options.task.open(assigned);
    }
  }

  private async deliver(batch: readonly StoredRecord[]): Promise<void> {
    const { metrics } = this.options;
    metrics.recordsIn(batch.length);
    const { records, failures } = this.convert(batch);
    // Dead letters are durable before any position past them can be committed.
    await this.errors.handle(failures);
    if (records.length > 0) await this.put(records);
    for (const stored of batch) {
      const key = tpKey(stored.topic, stored.partition);
      this.consumed.set(key, {
        topic: stored.topic,
        partition: stored.partition,
        offset: stored.offset + 1,
      });
    }
    this.dirty = true;
    metrics.batch();
  }

  private convert(batch: readonly StoredRecord[]): {
    records: SinkRecord[];
    failures: RecordFailure[];
  } {
    const { converters, transforms } = this.options;
    const records: SinkRecord[] = [];
    const failures: RecordFailure[] = [];
    for (const stored of batch) {
      const where = `${stored.topic}/${stored.partition}@${stored.offset}`;
      let key;
      let value;
      try {
        key = converters.key.toConnect(stored.topic, stored.key);
      } catch (error) {
        failures.push({
          stage: 'KEY_CONVERTER',
          className: converters.keyClass,
          error: asError(error),
          original: stored,
          where,
        });
        continue;
      }
      try {
        value = converters.value.toConnect(stored.topic, stored.value);
      } catch (error) {
        failures.push({
          stage: 'VALUE_CONVERTER',
          className: converters.valueClass,
          error: asError(error),
          original: stored,
          where,
        });
        continue;
      }
      let headers: RecordHeaders | undefined;
      for (const name in stored.headers) {
        headers ??= {};
        headers[name] = stored.headers[name]!.toString('utf8');
      }
      let record: SinkRecord | null = {
        topic: stored.topic,
        partition: stored.partition,
        offset: stored.offset,
        originalTopic: stored.topic,
        originalPartition: stored.partition,
        originalOffset: stored.offset,
        key: key.value,
        value: value.value,
        timestamp: stored.timestamp,
        ...(key.schema ? { keySchema: key.schema } : {}),
        ...(value.schema ? { valueSchema: value.schema } : {}),
        ...(headers ? { headers } : {}),
      };
      if (!transforms.identity) {
        try {
          record = transforms.apply(record);
        } catch (error) {
          failures.push({
            stage: 'TRANSFORMATION',
            className: 'transforms',
            error: asError(error),
            original: stored,
            where,
          });
          continue;
        }
        if (record === null) continue;
        // Whatever a transform did, the original coordinates are where the record was read.
        if (
          record.originalTopic !== stored.topic ||
          record.originalPartition !== stored.partition ||
          record.originalOffset !== stored.offset
        ) {
          record = {
            ...record,
            originalTopic: stored.topic,
            originalPartition: stored.partition,
            originalOffset: stored.offset,
          };
        }
      }
      this.originals.set(record, stored);
      records.push(record);
    }
    return { records, failures };
  }

  /**
   * put() with retries: a RetriableError puts the same batch again after a backoff, until it
   * works, the task stops, or errors.retry.timeout (when above 0) runs out and the task fails;
   * with 0, Kafka Connect's default, retriable puts are retried for as long as it takes.
   * A RecordRejectedError names the records that can never be written: errors.tolerance applies
   * to them (all: dead-lettered with their reasons; none: the task fails) and the rest of the
   * batch is put again. Any other error fails the task, under every tolerance: it says nothing
   * about which record is at fault (Elasticsearch down after its retries, say), and
   * dead-lettering healthy records would lose them from the destination.
   */
  private async put(records: SinkRecord[]): Promise<void> {
    const { task, metrics, framework } = this.options;
    const retry = {
      maxDelayMs: framework.errors.retryDelayMaxMs,
      timeoutMs: framework.errors.retryTimeoutMs > 0 ? framework.errors.retryTimeoutMs : -1,
      signal: this.hardStop.signal,
      onRetry: () => metrics.retries(1),
    };
    let pending = records;
    while (pending.length > 0) {
      try {
        const batch = pending;
        await retryRetriable(() => task.put(batch), retry);
        metrics.recordsOut(batch.length);
        return;
      } catch (error) {
        if (error instanceof ToleranceExceededError || this.fatal) throw this.fatal ?? error;
        if (!(error instanceof RecordRejectedError)) throw error;
        const rejected = this.rejectedOf(pending, error);
        // A rejection of records that are not in the batch says nothing usable: a task failure.
        if (rejected.size === 0) throw error;
        // Dead letters are durable (or the task fails, tolerance none) before the rest goes on.
        await this.errors.handle(await this.putFailures(rejected));
        pending = pending.filter((record) => !rejected.has(record));
      }
    }
  }

  /** The records of `batch` a RecordRejectedError names (by identity, else by coordinates). */
  private rejectedOf(batch: readonly SinkRecord[], error: RecordRejectedError) {
    const rejected = new Map<SinkRecord, Error>();
    const members = new Set(batch);
    let byKey: Map<string, SinkRecord> | undefined;
    for (const { record, reason } of error.rejections) {
      let member: SinkRecord | undefined = members.has(record) ? record : undefined;
      if (!member) {
        byKey ??= new Map(batch.map((candidate) => [recordKey(candidate), candidate]));
        member = byKey.get(recordKey(record));
      }
      if (member && !rejected.has(member)) rejected.set(member, reason);
    }
    return rejected;
  }

  /**
   * How long until preCommit() is due: offset.flush.interval.ms after the last one when batches
   * came since, and at least every idleCommitFloorMs in any case (even with nothing new).
   */
  private commitDueInMs(): number {
    const interval = this.options.offsetFlushIntervalMs;
    const wait = this.dirty ? interval : Math.max(interval, idleCommitFloorMs);
    return this.lastCommitAt + wait - Date.now();
  }

  private async maybeCommit(): Promise<void> {
    if (this.commitDueInMs() > 0) return;
    await this.commit();
  }

  /**
   * preCommit() decides what is safe; only assigned partitions are committed. A preCommit() that
   * throws (a non-retriable error) fails the task: that is how a sink reports a failure of its
   * asynchronous writes when no put() is coming.
   */
  private async commit(): Promise<void> {
    const { task, metrics, framework } = this.options;
    if (!this.consumer || this.consumed.size === 0) {
      this.lastCommitAt = Date.now();
      return;
    }
    const consumed = [...this.consumed.values()];
    const safe = await retryRetriable(() => task.preCommit(consumed), {
      maxDelayMs: framework.errors.retryDelayMaxMs,
      timeoutMs: -1,
      signal: this.hardStop.signal,
      onRetry: () => metrics.retries(1),
    });
    const toCommit = safe.filter((position) => {
      const key = tpKey(position.topic, position.partition);
      return this.open.has(key) && (this.committed.get(key) ?? -1) < position.offset;
    });
    this.dirty = false;
    this.lastCommitAt = Date.now();
    const committed = await this.commitOwned(toCommit);
    if (committed.length === 0) return;
    for (const position of committed)
      this.committed.set(tpKey(position.topic, position.partition), position.offset);
    metrics.offsetCommit();
    await this.maybeUpdateLag();
  }

  /**
   * Commits the positions of the partitions this member still owns and returns them. A rebalance
   * can revoke a partition after the last poll (while put() or preCommit() ran, or while the
   * commit waited for the group to settle): the log then refuses its position with
   * PartitionNotAssignedError. As in Kafka Connect, that position is dropped, not an error: the
   * new owner reads again from the last committed offset (duplicates, never a loss). The task
   * hears of the revocation (close()) at once.
   */
  private async commitOwned(positions: TopicPartitionOffset[]): Promise<TopicPartitionOffset[]> {
    const { metrics, framework, logger } = this.options;
    let pending = positions;
    for (let refusals = 0; pending.length > 0;) {
      const batch = pending;
      try {
        await retryRetriable(() => this.consumer!.commit(batch), {
          maxDelayMs: framework.errors.retryDelayMaxMs,
          timeoutMs: -1,
          signal: this.hardStop.signal,
          onRetry: () => metrics.retries(1),
        });
        return batch;
      } catch (error) {
        if (!(error instanceof PartitionNotAssignedError)) throw error;
        const assignment = this.consumer!.assignment();
        const owned = new Set(assignment.map((tp) => tpKey(tp.topic, tp.partition)));
        pending = batch.filter((position) => owned.has(tpKey(position.topic, position.partition)));
        if (pending.length === batch.length) {
          // Every partition is ours (again, after a further rebalance): try again, but a refusal
          // that persists is a failure, not a revocation.
          if (++refusals >= 3) throw error;
          continue;
        }
        logger.info(
          {
            dropped: batch
              .filter((position) => !owned.has(tpKey(position.topic, position.partition)))
              .map((position) => `${position.topic}/${position.partition}@${position.offset}`),
          },
          'partitions were revoked before their positions were committed; their new owner reads them again from the last commit',
        );
        await this.syncAssignment(assignment);
      }
    }
    return [];
  }

  /** The lag needs the log's end offsets: asked at most once a second, not once per batch. */
  private async maybeUpdateLag(): Promise<void> {
    if (Date.now() - this.lastLagUpdate < 1_000) return;
    this.lastLagUpdate = Date.now();
    await this.updateLag(this.options.log);
  }

  private async updateLag(log: KafkiLog): Promise<void> {
    let lag = 0;
    const byTopic = new Map<string, number[]>();
    for (const tp of this.open.values()) {
      const list = byTopic.get(tp.topic) ?? [];
      list.push(tp.partition);
      byTopic.set(tp.topic, list);
    }
    for (const [topic, partitions] of byTopic) {
      for (const range of await log.offsets(topic)) {
        if (!partitions.includes(range.partition)) continue;
        const committed = this.committed.get(tpKey(topic, range.partition)) ?? range.start;
        lag += Math.max(0, range.end - committed);
      }
    }
    this.options.metrics.offsetLag(lag);
  }
}
