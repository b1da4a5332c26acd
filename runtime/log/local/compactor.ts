// Log compaction of one partition of a compact-policy topic: keeps only the latest record per
// key in the sealed segments, preserving offsets (compaction leaves gaps, never renumbers).
//
// As in Kafka, the sealed part is split into a clean section (compacted before, below the
// cleaner checkpoint) and a dirty section. A pass runs when dirty bytes / sealed bytes reaches
// minCleanableDirtyRatio (or a kept tombstone has expired). It maps each key of the dirty section
// to its latest offset (memory: one entry per distinct key in the dirty section), then rewrites
// all sealed segments, merged into groups of at most segmentBytes, dropping every record that a
// later one supersedes. A tombstone survives its first cleaning with a delete horizon of
// now + deleteRetentionMs stamped on its batch, and is dropped by the first pass after that.
//
// Crash safety: a group is written to `.cleaned` files and fsynced; renaming them to `.swap` is
// the commit point; only then are the old segments deleted and the swap renamed into place.
// Recovery deletes `.cleaned` leftovers and completes `.swap` files, so a crash at any step
// leaves either the old segments or the new one, never a mix and never a loss.

import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { LogStorageError } from '../errors.ts';
import { scanBatches } from './batch-scanner.ts';
import type { BatchVisitor } from './batch-scanner.ts';
import { CleanedSegmentWriter } from './cleaned-segment-writer.ts';
import { fsyncDir, segmentFileName, unlinkIfExists } from './fs-util.ts';
import type { PartitionLog } from './partition-log.ts';
import { BATCH_HEADER_BYTES, NO_DELETE_HORIZON, RecordCursor } from './record-batch.ts';
import type { BatchHeader } from './record-batch.ts';
import { CLEANED_SUFFIX, INDEX_SWAP_SUFFIX, SWAP_SUFFIX } from './recovery.ts';
import { INDEX_SUFFIX, LOG_SUFFIX, Segment } from './segment.ts';

const MAX_RELATIVE_OFFSET = 0xffff_fffe;

export interface CompactionResult {
  segmentsBefore: number;
  segmentsAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
}

export interface CompactionSettings {
  now: number;
  indexIntervalBytes: number;
  /** Checked between groups: stop early (the log is closing). */
  shouldStop: () => boolean;
}

/** Whether a pass is due: enough dirty bytes, or a kept tombstone whose horizon has passed. */
export function compactionDue(log: PartitionLog, sealed: readonly Segment[], now: number): boolean {
  let total = 0;
  let dirty = 0;
  for (const segment of sealed) {
    total += segment.size;
    if (segment.baseOffset >= log.cleanerCheckpoint) dirty += segment.size;
  }
  if (dirty > 0 && dirty / total >= log.config.minCleanableDirtyRatio) return true;
  return log.tombstoneHorizon !== undefined && now >= log.tombstoneHorizon && total > 0;
}

/** Runs one compaction pass over the partition if one is due; undefined when none was. */
export async function compactPartition(
  log: PartitionLog,
  settings: CompactionSettings,
): Promise<CompactionResult | undefined> {
  if (log.config.cleanupPolicy !== 'compact' || log.isClosed) return undefined;
  const sealed = log.sealedSegments();
  if (sealed.length === 0 || !compactionDue(log, sealed, settings.now)) return undefined;
  for (const segment of sealed) segment.retain();
  try {
    const latest = await latestOffsets(sealed.filter((s) => s.baseOffset >= log.cleanerCheckpoint));
    const result: CompactionResult = {
      segmentsBefore: sealed.length,
      segmentsAfter: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      recordsRemoved: 0,
    };
    let horizon: number | undefined;
    for (const group of groupSegments(sealed, log.config.segmentBytes)) {
      if (settings.shouldStop() || log.isClosed) return undefined;
      const cleaned = await cleanGroup(log, group, latest, settings, result);
      if (cleaned === undefined) return undefined;
      if (cleaned.tombstoneHorizon !== undefined) {
        horizon = Math.min(horizon ?? Infinity, cleaned.tombstoneHorizon);
      }
      result.segmentsAfter++;
    }
    log.tombstoneHorizon = horizon;
    await log.saveCleanerCheckpoint(sealed[sealed.length - 1]!.nextOffset);
    return result;
  } finally {
    for (const segment of sealed) segment.release();
  }
}

function scanProblem(segment: Segment, end: number, problem: string): LogStorageError {
  return new LogStorageError(`cleaner: ${segment.logPath} is damaged at byte ${end}: ${problem}`);
}

/** Key → offset of its latest record in the dirty section. */
async function latestOffsets(dirty: readonly Segment[]): Promise<Map<string, number>> {
  const latest = new Map<string, number>();
  const cursor = new RecordCursor();
  const visit: BatchVisitor = (chunk, at, header) => {
    let p = at + BATCH_HEADER_BYTES;
    for (let i = 0; i < header.recordCount; i++) {
      p = cursor.load(chunk, p, header.baseOffset);
      if (!cursor.keyIsNull) latest.set(cursor.keyString(), cursor.offset);
    }
    return undefined;
  };
  for (const segment of dirty) {
    const outcome = await scanBatches(segment.fileHandle, 0, segment.size, visit);
    if (outcome.problem !== undefined) throw scanProblem(segment, outcome.end, outcome.problem);
  }
  return latest;
}

/** Consecutive segments whose total size fits one segment (and whose offsets fit 32 bits). */
function groupSegments(sealed: readonly Segment[], segmentBytes: number): Segment[][] {
  const groups: Segment[][] = [];
  let group: Segment[] = [];
  let bytes = 0;
  for (const segment of sealed) {
    const first = group[0];
    if (
      first !== undefined &&
      (bytes + segment.size > segmentBytes ||
        segment.nextOffset - first.baseOffset > MAX_RELATIVE_OFFSET)
    ) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(segment);
    bytes += segment.size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

async function cleanGroup(
  log: PartitionLog,
  group: readonly Segment[],
  latest: ReadonlyMap<string, number>,
  settings: CompactionSettings,
  result: CompactionResult,
): Promise<{ tombstoneHorizon: number | undefined } | undefined> {
  const base = group[0]!.baseOffset;
  const path = (suffix: string) => join(log.dir, segmentFileName(base, suffix));
  const cleanedLog = path(LOG_SUFFIX + CLEANED_SUFFIX);
  const cleanedIndex = path(INDEX_SUFFIX + CLEANED_SUFFIX);
  const writer = await CleanedSegmentWriter.create(cleanedLog, base, settings.indexIntervalBytes);
  let committed = false;
  try {
    const cursor = new RecordCursor();
    const kept: number[] = [];
    const now = settings.now;
    const deleteRetentionMs = log.config.deleteRetentionMs;
    // The group's last batch is always written, even with no record left: it carries the
    // group's last offset, which recovery needs to know which old segments a swap replaces.
    let emptyTail: BatchHeader | undefined;
    const visit: BatchVisitor = (chunk, at, header) => {
      kept.length = 0;
      let tombstones = 0;
      let p = at + BATCH_HEADER_BYTES;
      for (let i = 0; i < header.recordCount; i++) {
        p = cursor.load(chunk, p, header.baseOffset);
        let keep = true;
        if (!cursor.keyIsNull) {
          const newest = latest.get(cursor.keyString());
          if (newest !== undefined && newest > cursor.offset) keep = false;
          else if (
            cursor.isTombstone &&
            header.deleteHorizonMs !== NO_DELETE_HORIZON &&
            now >= header.deleteHorizonMs
          ) {
            keep = false;
          }
        }
        if (keep) {
          kept.push(cursor.position, cursor.size);
          if (cursor.isTombstone) tombstones++;
        } else {
          result.recordsRemoved++;
        }
      }
      if (kept.length === 0) {
        emptyTail = header;
        return undefined;
      }
      emptyTail = undefined;
      const horizon =
        header.deleteHorizonMs !== NO_DELETE_HORIZON || tombstones === 0
          ? header.deleteHorizonMs
          : now + deleteRetentionMs;
      writer.addBatch(chunk, kept, header, horizon, tombstones);
      return undefined;
    };
    for (const segment of group) {
      result.bytesBefore += segment.size;
      const outcome = await scanBatches(segment.fileHandle, 0, segment.size, visit, () =>
        writer.flushIfFull(),
      );
      if (outcome.problem !== undefined) throw scanProblem(segment, outcome.end, outcome.problem);
    }
    if (emptyTail !== undefined) {
      writer.addBatch(Buffer.alloc(0), [], emptyTail, NO_DELETE_HORIZON, 0);
    }
    const state = await writer.finish(cleanedIndex);
    result.bytesAfter += state.size;
    if (settings.shouldStop() || log.isClosed) {
      await writer.abort();
      await unlinkIfExists(cleanedLog);
      await unlinkIfExists(cleanedIndex);
      return undefined;
    }

    // Commit point: the complete, fsynced copy becomes a `.swap` file.
    await rename(cleanedIndex, path(INDEX_SWAP_SUFFIX));
    await rename(cleanedLog, path(SWAP_SUFFIX));
    await fsyncDir(log.dir);
    committed = true;
    for (const old of group.slice(1)) {
      await unlinkIfExists(old.logPath);
      await unlinkIfExists(old.indexPath);
    }
    await rename(path(INDEX_SWAP_SUFFIX), path(INDEX_SUFFIX));
    await rename(path(SWAP_SUFFIX), path(LOG_SUFFIX));
    await fsyncDir(log.dir);

    const replacement = Segment.loaded(log.dir, base, state, true);
    if (!log.replaceSegments(group, replacement)) {
      await replacement.closeFiles();
      return undefined;
    }
    // Readers still holding an old segment keep reading it through its open file.
    for (const old of group) void old.retire(false);
    return { tombstoneHorizon: writer.tombstoneHorizon };
  } catch (error) {
    if (!committed) {
      await writer.abort().catch(() => {});
      await unlinkIfExists(cleanedLog).catch(() => {});
      await unlinkIfExists(cleanedIndex).catch(() => {});
    }
    throw error;
  }
}
