// Options of the local log backend and their defaults. Everything tunable lives here; the other
// modules receive the resolved values and never read the environment.

import { LocalLogOptionsError } from './errors.ts';
import { MAX_BATCH_BYTES, BATCH_HEADER_BYTES } from './record-batch.ts';

/**
 * When an append counts as durable. Under every policy append() resolves only once its records
 * are on stable storage (fdatasync, or a write through an O_DSYNC descriptor); the policies
 * differ in how those flushes are scheduled:
 * - `'always'`: each append is made durable before it resolves, as soon as possible. Appends that
 *   arrive while a flush is running share the next one (group commit), so concurrent producers
 *   do not pay one each.
 * - `{ intervalMs }`: small appends wait for company: a partition's pending writes are fsynced
 *   once the oldest has waited intervalMs, or as soon as about a megabyte is pending (then an
 *   fsync's fixed cost is amortized and waiting longer would only add latency). intervalMs is
 *   thus an upper bound on the added latency, not a fixed tick: fewer fsyncs for a trickle of
 *   small appends, the throughput of 'always' for bulk writes, the same guarantee once resolved.
 * There is deliberately no "never": a resolved append is what a source acknowledges its database
 * position on, so it must survive a power cut.
 */
export type FsyncPolicy = 'always' | { intervalMs: number };

/**
 * How much of the data is checked on open.
 * - `'all'` (default): every batch of every segment is read once and its CRC checked. Cost: one
 *   sequential read of the whole data directory (disk read speed; CRC32 is native and runs at
 *   several GB/s), memory bounded by one read chunk. Bit rot anywhere is found at start-up.
 * - `'unflushed'`: like Kafka, only what follows each partition's recovery point (written when a
 *   segment is sealed and on a clean close) is scanned in full; older segments get a cheap
 *   check (index sanity, the batches after the last index entry, the offset chain between
 *   segments), which finds truncation but not a flipped bit in the middle of an old segment —
 *   that one is reported by the read that reaches it. Cost: the unflushed tail only.
 */
export type VerifyOnOpen = 'all' | 'unflushed';

/** A structured logger: pino's `logger.warn(obj, msg)` shape, so a pino logger fits as it is. */
export interface LocalLogLogger {
  warn(details: Record<string, unknown>, message: string): void;
  info(details: Record<string, unknown>, message: string): void;
}

/** Per-topic settings used when a TopicSpec leaves them out (Kafka's broker defaults). */
export interface TopicDefaults {
  segmentBytes: number;
  segmentMs: number;
  retentionMs: number;
  retentionBytes: number;
  deleteRetentionMs: number;
  minCleanableDirtyRatio: number;
}

export interface LocalLogOptions {
  /** Directory holding the topics; created if missing; one process at a time (lock file). */
  dataDir: string;
  /** Default 'always'. See FsyncPolicy. */
  fsync?: FsyncPolicy;
  /** Largest encoded record (key + value + headers + 28 bytes framing). Default 1 MiB, like Kafka. */
  maxRecordBytes?: number;
  /** An append is cut into record batches of about this size (one record may exceed it). Default 1 MiB. */
  maxBatchBytes?: number;
  /** Default 'all'. See VerifyOnOpen. */
  verifyOnOpen?: VerifyOnOpen;
  topicDefaults?: Partial<TopicDefaults>;
  /**
   * Background compaction (Kafka's log.cleaner.enable). Default true. When false, compact-policy
   * topics are compacted only when compactNow() is called (benchmarks, maintenance windows).
   */
  cleanerEnabled?: boolean;
  /** How often the cleaner looks for compactable partitions (it also runs after each roll). Default 15 s. */
  cleanerIntervalMs?: number;
  /** How often delete-policy partitions are checked against retention (also after each roll). Default 5 min. */
  retentionCheckIntervalMs?: number;
  /** Bytes between offset index entries. Default 4096, like Kafka's index.interval.bytes. */
  indexIntervalBytes?: number;
  /** Recovery reports (cut tails, dropped segments) and cleaner failures. Default: warnings to stderr. */
  logger?: LocalLogLogger;
  /** Clock for default timestamps, segmentMs, retentionMs and tombstone expiry. Default Date.now. */
  now?: () => number;
}

export interface ResolvedLocalLogOptions {
  dataDir: string;
  fsync: FsyncPolicy;
  maxRecordBytes: number;
  maxBatchBytes: number;
  verifyOnOpen: VerifyOnOpen;
  topicDefaults: TopicDefaults;
  cleanerEnabled: boolean;
  cleanerIntervalMs: number;
  retentionCheckIntervalMs: number;
  indexIntervalBytes: number;
  logger: LocalLogLogger;
  now: () => number;
}

export const DEFAULT_TOPIC_SETTINGS: TopicDefaults = {
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  retentionMs: -1,
  retentionBytes: -1,
  deleteRetentionMs: 24 * 3600 * 1000,
  minCleanableDirtyRatio: 0.5,
};

const stderrLogger: LocalLogLogger = {
  warn(details, message) {
    process.stderr.write(`kafki local log: ${message} ${JSON.stringify(details)}\n`);
  },
  info() {},
};

function positiveInteger(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value <= 0 || value > max) {
    throw new LocalLogOptionsError(`${name} must be an integer between 1 and ${max}, got ${value}`);
  }
  return value;
}

export function resolveOptions(options: LocalLogOptions): ResolvedLocalLogOptions {
  if (typeof options.dataDir !== 'string' || options.dataDir === '') {
    throw new LocalLogOptionsError('dataDir is required');
  }
  const fsync = options.fsync ?? 'always';
  if (fsync !== 'always') {
    if (typeof fsync !== 'object' || fsync === null) {
      throw new LocalLogOptionsError(
        `fsync must be 'always' or { intervalMs }, got ${String(fsync)}`,
      );
    }
    positiveInteger('fsync.intervalMs', fsync.intervalMs, 60_000);
  }
  const maxBatchBytes = positiveInteger(
    'maxBatchBytes',
    options.maxBatchBytes ?? 1024 * 1024,
    MAX_BATCH_BYTES,
  );
  const maxRecordBytes = positiveInteger(
    'maxRecordBytes',
    options.maxRecordBytes ?? 1024 * 1024,
    MAX_BATCH_BYTES - BATCH_HEADER_BYTES,
  );
  const verifyOnOpen = options.verifyOnOpen ?? 'all';
  if (verifyOnOpen !== 'all' && verifyOnOpen !== 'unflushed') {
    throw new LocalLogOptionsError(`verifyOnOpen must be 'all' or 'unflushed'`);
  }
  return {
    dataDir: options.dataDir,
    fsync,
    maxRecordBytes,
    maxBatchBytes,
    verifyOnOpen,
    topicDefaults: { ...DEFAULT_TOPIC_SETTINGS, ...options.topicDefaults },
    cleanerEnabled: options.cleanerEnabled ?? true,
    cleanerIntervalMs: positiveInteger('cleanerIntervalMs', options.cleanerIntervalMs ?? 15_000),
    retentionCheckIntervalMs: positiveInteger(
      'retentionCheckIntervalMs',
      options.retentionCheckIntervalMs ?? 300_000,
    ),
    indexIntervalBytes: positiveInteger('indexIntervalBytes', options.indexIntervalBytes ?? 4096),
    logger: options.logger ?? stderrLogger,
    now: options.now ?? Date.now,
  };
}
