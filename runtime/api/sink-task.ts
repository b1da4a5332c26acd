// A sink task writes records read from the Kafki log to the outside world.
//
// Delivery contract: the runtime commits a log position only after preCommit() says the records
// before it are written for good. A sink that buffers or keeps requests in flight returns from
// preCommit() only what it has confirmed; the default (flush, then everything) is the simplest.
// The runtime calls preCommit() on a timer (offset.flush.interval.ms) even when no new records
// arrive, so confirmations that complete later are committed, and a preCommit() that throws fails
// the task promptly. Positions are the records' original log coordinates (SinkRecord.original*),
// which transforms never change.
//
// Failures: a put() that throws RecordRejectedError names the records the destination refused;
// only those go through errors.tolerance (dead-letter topic or task failure) and the rest of the
// batch is put again. Any other non-retriable error fails the task under every tolerance: an
// outage must never turn healthy records into dead letters.

import type { ParsedConfig, RawConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { SinkRecord, TopicPartition, TopicPartitionOffset } from './record.ts';

export interface SinkTaskContext {
  readonly connectorName: string;
  readonly taskId: number;
  readonly logger: Logger;
  readonly config: ParsedConfig;
  /**
   * Report a record the destination rejected (e.g. a mapping conflict). The runtime applies
   * errors.tolerance: with `all` it goes to the dead-letter topic with the error in headers and
   * processing continues; with `none` the task fails. Resolves once the report is durable.
   * Reports made without awaiting each other (e.g. every rejection of one bulk response) are
   * written together, in call order: one append instead of one per record.
   */
  reportErrant(record: SinkRecord, error: Error): Promise<void>;
  reportProgress(progress: Record<string, string | number | boolean>): void;
}

export interface SinkTask {
  start(config: RawConfig, context: SinkTaskContext): Promise<void>;
  /** Partitions now assigned to this task (after a rebalance). */
  open(partitions: readonly TopicPartition[]): Promise<void>;
  /** Partitions taken away: drop their buffered state; they will be re-read from the last commit. */
  close(partitions: readonly TopicPartition[]): Promise<void>;
  /** Write or buffer a batch. Throw a RetriableError to have the same batch retried with backoff. */
  put(records: readonly SinkRecord[]): Promise<void>;
  /**
   * Given the positions consumed so far, return the positions that are safe to commit
   * (everything before them is confirmed by the destination).
   */
  preCommit(consumed: readonly TopicPartitionOffset[]): Promise<TopicPartitionOffset[]>;
  stop(): Promise<void>;
}
