// One partition: its segments, the ordered write pipeline, reads, rolling and retention, plus the
// hooks the cleaner uses to swap compacted segments in.
//
// Appends are placed synchronously (offsets and file positions are assigned in call order, and
// records are encoded into one pooled buffer), then written by a single pipeline that coalesces
// queued buffers into one writev. A write is acknowledged only once it is durable — written
// through O_DSYNC, or fsynced by a DurabilityScheduler round — and only after every write before
// it, and readers see data only from then on (the visible end is the durable end): a consumer
// never reads a record that a crash could take back and hand out again under the same offset.

import { join } from 'node:path';
import { LogStorageError, OffsetOutOfRangeError } from '../errors.ts';
import type { LogRecord } from '../log.ts';
import type { DurabilityScheduler, Syncable } from './durability.ts';
import { writeFileDurably } from './fs-util.ts';
import type { LocalLogLogger } from './options.ts';
import { encodeBatches } from './record-batch.ts';
import { segmentsToDelete } from './retention.ts';
import { Segment } from './segment.ts';
import { readSegment } from './segment-reader.ts';
import type { ReadLimits, ReadState } from './segment-reader.ts';
import { ChangeSignal, waitForAny } from './signal.ts';
import type { TopicConfig } from './topic-config.ts';
import type { StoredRecord } from '../log.ts';
import type { WriteBufferPool } from './write-buffers.ts';

export const RECOVERY_POINT_FILE = 'recovery-point';
export const CLEANER_CHECKPOINT_FILE = 'cleaner-checkpoint';

/** Offsets inside a segment are stored relative to its base as 32-bit values. */
const MAX_RELATIVE_OFFSET = 0xffff_fffe;
/** Buffers per writev call (the kernel's IOV_MAX is 1024). */
const MAX_BUFFERS_PER_WRITE = 512;

export interface PartitionSettings {
  topic: string;
  partition: number;
  dir: string;
  config: TopicConfig;
  indexIntervalBytes: number;
  maxBatchBytes: number;
  durability: DurabilityScheduler;
  /** Where appends are encoded; a buffer goes back once its write completed. */
  writeBuffers: WriteBufferPool;
  logger: LocalLogLogger;
  /** After a roll, once every segment before the active one is durable and sealed. */
  onSealed: (partition: PartitionLog) => void;
}

export interface PartitionState {
  segments: Segment[];
  cleanerCheckpoint: number;
  tombstoneHorizon: number | undefined;
}

export interface ReadResult {
  records: StoredRecord[];
  /** Encoded size of the records (what maxBytes counts). */
  bytes: number;
  /** Where the next read continues (past compaction gaps). */
  nextOffset: number;
}

interface QueuedWrite {
  segment: Segment;
  data: Buffer;
  position: number;
  endOffset: number;
  /** Only the last write of an append settles its promise. */
  settle?: { resolve: () => void; reject: (error: unknown) => void };
  /** Only the last write of an append: its encode buffer, reusable once the write completed. */
  release?: Buffer;
}

export class PartitionLog implements Syncable {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly config: TopicConfig;
  readonly dataSignal = new ChangeSignal();
  /** Offset where the cleaner's dirty section starts (all before it is compacted once). */
  cleanerCheckpoint: number;
  /** Earliest time a kept tombstone may be removed, if the cleaner knows of one. */
  tombstoneHorizon: number | undefined;
  private segments: Segment[];
  private assignedEnd: number;
  private visibleEnd: number;
  private readonly queue: QueuedWrite[] = [];
  private pumping = false;
  private readonly dirty = new Set<Segment>();
  private readonly toSeal = new Set<Segment>();
  private failure: LogStorageError | undefined;
  private closing: Promise<void> | undefined;
  private lastAppend: Promise<void> = Promise.resolve();
  private sealedThrough: number;
  private stateWrites: Promise<void> = Promise.resolve();

  constructor(
    private readonly settings: PartitionSettings,
    state: PartitionState,
  ) {
    this.topic = settings.topic;
    this.partition = settings.partition;
    this.dir = settings.dir;
    this.config = settings.config;
    this.segments = state.segments.length > 0 ? state.segments : [Segment.fresh(this.dir, 0)];
    this.assignedEnd = this.active.nextOffset;
    this.visibleEnd = this.assignedEnd;
    this.sealedThrough = this.active.baseOffset;
    this.cleanerCheckpoint = Math.max(state.cleanerCheckpoint, this.segments[0]!.baseOffset);
    this.tombstoneHorizon = state.tombstoneHorizon;
  }

  private readonly allocate = (size: number): Buffer => this.settings.writeBuffers.acquire(size);

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** First offset still stored. */
  get startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  /** Offset the next durable record will get as seen by readers (the high watermark). */
  get endOffset(): number {
    return this.visibleEnd;
  }

  get sizeInBytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.size;
    return total;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Places records (all, or those at the indexes in pick) at the end of the partition. The
   * offsets are final when this returns; `durable` resolves once they are fsynced.
   */
  /** Throws if append() would: lets a multi-partition append fail before placing anything. */
  assertWritable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closing !== undefined) {
      throw new LogStorageError(`${this.topic}/${this.partition} is closed`);
    }
  }

  append(
    records: readonly LogRecord[],
    pick: readonly number[] | null,
    sizes: ArrayLike<number>,
    now: number,
  ): { baseOffset: number; durable: Promise<void> } {
    this.assertWritable();
    let active = this.active;
    // segmentMs is checked when an append arrives, as Kafka does: an idle segment is not rolled.
    if (
      active.size > 0 &&
      active.firstAppendAt !== undefined &&
      now - active.firstAppendAt >= this.config.segmentMs
    ) {
      active = this.roll(this.assignedEnd);
    }
    const baseOffset = this.assignedEnd;
    const encoded = encodeBatches(
      records,
      pick,
      sizes,
      baseOffset,
      now,
      this.settings.maxBatchBytes,
      this.allocate,
    );
    const runs: Array<QueuedWrite & { start: number; end: number }> = [];
    for (let b = 0; b < encoded.baseOffsets.length; b++) {
      const start = encoded.bounds[b]!;
      const end = encoded.bounds[b + 1]!;
      const lastOffset = encoded.lastOffsets[b]!;
      if (
        active.size > 0 &&
        (active.size + (end - start) > this.config.segmentBytes ||
          lastOffset - active.baseOffset > MAX_RELATIVE_OFFSET)
      ) {
        active = this.roll(encoded.baseOffsets[b]!);
      }
      const position = active.reserve(
        encoded.baseOffsets[b]!,
        lastOffset,
        encoded.maxTimestamps[b]!,
        end - start,
        now,
        this.settings.indexIntervalBytes,
      );
      const run = runs[runs.length - 1];
      if (run !== undefined && run.segment === active) {
        run.end = end;
        run.endOffset = lastOffset + 1;
      } else {
        const data = encoded.buffer;
        runs.push({ segment: active, data, start, end, position, endOffset: lastOffset + 1 });
      }
    }
    this.assignedEnd = runs[runs.length - 1]!.endOffset;
    const lastRun = runs[runs.length - 1]!;
    const durable = new Promise<void>((resolve, reject) => {
      lastRun.settle = { resolve, reject };
    });
    lastRun.release = encoded.buffer;
    for (const run of runs) {
      this.queue.push({
        segment: run.segment,
        data: run.data.subarray(run.start, run.end),
        position: run.position,
        endOffset: run.endOffset,
        settle: run.settle,
        release: run.release,
      });
    }
    this.lastAppend = durable.catch(() => {});
    void this.pump();
    return { baseOffset, durable };
  }

  private roll(baseOffset: number): Segment {
    const previous = this.active;
    const next = Segment.fresh(this.dir, baseOffset);
    this.toSeal.add(previous);
    this.segments.push(next);
    return next;
  }

  /** The single writer: one write (writev) per run of queued appends to the same segment. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.failure === undefined) {
        const first = this.queue[0]!;
        let count = 1;
        while (
          count < this.queue.length &&
          count < MAX_BUFFERS_PER_WRITE &&
          this.queue[count]!.segment === first.segment
        ) {
          count++;
        }
        const run = this.queue.splice(0, count);
        const segment = first.segment;
        const last = run[run.length - 1]!;
        const writtenEnd = last.position + last.data.length;
        let durable: boolean;
        try {
          const durability = this.settings.durability;
          // No await unless there is work: the write is then issued within the append() call
          // that queued it, before the appends that follow it in the same tick are encoded, so
          // their encoding overlaps this write instead of delaying it.
          if (!segment.hasFiles(durability.writeThrough)) {
            await segment.ensureFiles(durability.writeThrough);
          }
          // Write through (O_DSYNC: durable on return, one syscall) when nothing is being
          // fsynced or waiting for it and the policy would flush this write at once anyway,
          // e.g. a producer with one append in flight: that saves the separate fdatasync and
          // its trip through the thread pool. While a round is running, a plain write lets the
          // next round cover it along with whatever else lands meanwhile.
          durable = await segment.write(
            run.map((write) => write.data),
            first.position,
            durability.writeThroughNow(this, writtenEnd - first.position),
          );
        } catch (error) {
          this.fail(error, run);
          return;
        }
        segment.writtenSize = writtenEnd;
        // The kernel has the bytes: the encode buffers can take the next appends. (Runs are
        // written in order, so an append's earlier runs, in other segments, are written too.)
        for (const write of run) {
          if (write.release !== undefined) this.settings.writeBuffers.release(write.release);
        }
        // A write-through is durable already, but its waiter still goes through a round: the
        // round orders acknowledgements and makes sure whatever was written before is durable.
        if (!durable) this.dirty.add(segment);
        this.settings.durability.whenDurable(this, writtenEnd - first.position).then(
          () => {
            this.makeVisible(segment, writtenEnd, last.endOffset);
            for (const write of run) write.settle?.resolve();
          },
          (error: unknown) => this.fail(error, run),
        );
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Syncable: fsyncs the segments written since the last round and seals rolled-over ones. */
  async sync(): Promise<void> {
    const segments = [...this.dirty];
    this.dirty.clear();
    await Promise.all(segments.map((segment) => segment.syncData()));
    for (const segment of this.toSeal) {
      if (segment !== this.active && segment.writtenSize === segment.size) {
        await segment.seal();
        this.toSeal.delete(segment);
      }
    }
  }

  private makeVisible(segment: Segment, writtenEnd: number, endOffset: number): void {
    if (segment.visibleSize < writtenEnd) segment.visibleSize = writtenEnd;
    if (endOffset > this.visibleEnd) {
      this.visibleEnd = endOffset;
      this.dataSignal.notify();
    }
    const active = this.active;
    if (
      this.sealedThrough < active.baseOffset &&
      this.visibleEnd >= active.baseOffset &&
      this.toSeal.size === 0
    ) {
      this.sealedThrough = active.baseOffset;
      this.settings.onSealed(this);
    }
  }

  /**
   * A failed write or fsync leaves the file in an unknown state (and a failed fsync cannot be
   * retried: the kernel may have dropped the dirty pages). The partition refuses further appends
   * until the log is reopened and recovery cuts the tail back to the last valid batch.
   */
  private fail(error: unknown, run: QueuedWrite[]): void {
    const failure =
      error instanceof LogStorageError
        ? error
        : new LogStorageError(
            `writing ${this.topic}/${this.partition} failed (${String(error)}); ` +
              'the partition takes no appends until the log is reopened',
            error,
          );
    this.failure ??= failure;
    for (const write of run) write.settle?.reject(failure);
    for (const write of this.queue.splice(0)) write.settle?.reject(failure);
  }

  checkRange(offset: number): void {
    const start = this.startOffset;
    const end = this.visibleEnd;
    if (!Number.isSafeInteger(offset) || offset < start || offset > end) {
      throw new OffsetOutOfRangeError(this.topic, this.partition, offset, { start, end });
    }
  }

  /** Index of the segment holding offset (the last one starting at or before it), or -1. */
  private segmentIndexFor(offset: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.segments[middle]!.baseOffset <= offset) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  /** Records from offset on, in order; an offset outside [start, end] fails with OffsetOutOfRangeError. */
  async read(offset: number, limits: ReadLimits): Promise<ReadResult> {
    this.checkRange(offset);
    const state: ReadState = {
      topic: this.topic,
      partition: this.partition,
      records: [],
      bytes: 0,
      nextOffset: offset,
      full: false,
    };
    while (!state.full && state.nextOffset < this.visibleEnd) {
      const index = this.segmentIndexFor(state.nextOffset);
      if (index < 0) break; // retention removed what we were about to read
      const segment = this.segments[index]!;
      const before = state.nextOffset;
      segment.retain();
      try {
        await readSegment(segment, limits, state);
      } finally {
        segment.release();
      }
      if (state.full) break;
      // The segment is read to its visible end: continue in the one after it (the list may have
      // changed while reading, so look it up by offset).
      const following = this.segments.find((s) => s.baseOffset > segment.baseOffset);
      if (following === undefined) {
        if (state.nextOffset === before) break;
        continue;
      }
      if (following.baseOffset > state.nextOffset) state.nextOffset = following.baseOffset;
    }
    return { records: state.records, bytes: state.bytes, nextOffset: state.nextOffset };
  }

  /** Waits until data beyond offset is visible, the partition closes, or timeoutMs passes. */
  async waitForData(offset: number, timeoutMs: number): Promise<void> {
    if (this.visibleEnd > offset || this.closing !== undefined || timeoutMs <= 0) return;
    await waitForAny([this.dataSignal], timeoutMs);
  }

  /** Sealed segments, oldest first: the ones retention and the cleaner may touch. */
  sealedSegments(): Segment[] {
    const sealed: Segment[] = [];
    for (const segment of this.segments) {
      if (segment === this.active || !segment.sealed || segment.nextOffset > this.visibleEnd) break;
      sealed.push(segment);
    }
    return sealed;
  }

  /** Delete policy: removes the oldest sealed segments that retention no longer covers. */
  async applyRetention(now: number): Promise<number> {
    if (this.config.cleanupPolicy !== 'delete' || this.closing !== undefined) return 0;
    const sealed = this.sealedSegments();
    const count = segmentsToDelete(sealed, this.sizeInBytes, this.config, now);
    if (count === 0) return 0;
    const removed = this.segments.splice(0, count);
    if (this.cleanerCheckpoint < this.startOffset) this.cleanerCheckpoint = this.startOffset;
    // Oldest first: a crash in between leaves a shorter prefix removed, never a hole.
    for (const segment of removed) await segment.retire(true);
    return count;
  }

  /**
   * Replaces a run of consecutive segments by their compacted copy. False when the run is no
   * longer there as it was (the partition closed or changed meanwhile).
   */
  replaceSegments(old: readonly Segment[], replacement: Segment): boolean {
    if (this.closing !== undefined || old.length === 0) return false;
    const at = this.segments.indexOf(old[0]!);
    if (at < 0 || old.some((segment, i) => this.segments[at + i] !== segment)) return false;
    this.segments.splice(at, old.length, replacement);
    return true;
  }

  /** Records the recovery point: every segment wholly below it is fsynced and sealed. */
  saveRecoveryPoint(offset = this.sealedThrough): Promise<void> {
    return this.saveState(RECOVERY_POINT_FILE, offset);
  }

  saveCleanerCheckpoint(offset: number): Promise<void> {
    this.cleanerCheckpoint = offset;
    return this.saveState(CLEANER_CHECKPOINT_FILE, offset);
  }

  private saveState(file: string, offset: number): Promise<void> {
    const write = this.stateWrites.then(() =>
      writeFileDurably(join(this.dir, file), `${JSON.stringify({ offset })}\n`),
    );
    this.stateWrites = write.catch((error: unknown) => {
      this.settings.logger.warn(
        { topic: this.topic, partition: this.partition, file, error: String(error) },
        'could not save partition state',
      );
    });
    return this.stateWrites;
  }

  /** Waits for pending appends, fsyncs, records the recovery point, closes the files. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.dataSignal.notify();
      // Pending appends are flushed now, not after their fsync interval.
      this.settings.durability.expedite(this);
      await this.lastAppend;
      if (this.failure === undefined) {
        try {
          await this.settings.durability.syncNow(this);
          await this.active.seal();
          await this.saveState(RECOVERY_POINT_FILE, this.visibleEnd);
        } catch (error) {
          this.settings.logger.warn(
            { topic: this.topic, partition: this.partition, error: String(error) },
            'could not flush the partition on close; the next open recovers it',
          );
        }
      }
      await this.stateWrites;
      for (const segment of this.segments) await segment.closeFiles();
      this.dataSignal.notify();
    })();
    return this.closing;
  }
}
