// Opening a partition directory after a clean close or a crash. Recovery makes the files agree
// with what was durable: it finishes or discards an interrupted compaction swap, validates batch
// framing and CRCs, cuts a damaged or torn tail at the last good batch, drops the segments after
// a damaged one (offsets must stay contiguous: nothing may follow a hole), and rebuilds indexes.
// Every change is reported through the logger with file names and byte counts.
//
// How much is read depends on VerifyOnOpen (see options.ts): 'all' scans every segment;
// 'unflushed' scans in full only the segments not wholly below the recovery point and gives the
// older ones a cheap check (index sanity plus the batches after the last index entry).

import { mkdir, open, readFile, readdir, rename, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { scanBatches } from './batch-scanner.ts';
import type { BatchVisitor } from './batch-scanner.ts';
import {
  fsyncDir,
  isErrno,
  parseSegmentFileName,
  segmentFileName,
  unlinkIfExists,
  writeFileDurably,
} from './fs-util.ts';
import { OffsetIndex } from './offset-index.ts';
import type { LocalLogLogger, VerifyOnOpen } from './options.ts';
import { CLEANER_CHECKPOINT_FILE, RECOVERY_POINT_FILE } from './partition-log.ts';
import type { PartitionState } from './partition-log.ts';
import { INDEX_SUFFIX, LOG_SUFFIX, Segment } from './segment.ts';

export const SWAP_SUFFIX = '.log.swap';
export const INDEX_SWAP_SUFFIX = '.index.swap';
export const CLEANED_SUFFIX = '.cleaned';

const MAX_RELATIVE_OFFSET = 0xffff_fffe;

export type RecoveryEvent =
  | { kind: 'truncated'; file: string; keptBytes: number; cutBytes: number; reason: string }
  | { kind: 'dropped'; file: string; bytes: number; reason: string }
  | { kind: 'swap-completed'; file: string; replaced: string[] }
  | { kind: 'swap-discarded'; file: string; reason: string }
  | { kind: 'leftover-removed'; file: string };

export interface RecoveryOptions {
  dir: string;
  topic: string;
  partition: number;
  /** Delete policy: batches follow each other without gaps (only the cleaner makes gaps). */
  contiguous: boolean;
  verify: VerifyOnOpen;
  indexIntervalBytes: number;
  logger: LocalLogLogger;
  /** Receives every event also logged (the LocalLog keeps them as its recovery report). */
  report: (event: RecoveryEvent) => void;
}

interface ScannedSegment {
  end: number;
  problem: string | undefined;
  index: OffsetIndex;
  nextOffset: number;
  maxTimestamp: number;
  tombstoneHorizon: number | undefined;
}

export async function recoverPartition(options: RecoveryOptions): Promise<PartitionState> {
  return new PartitionRecovery(options).run();
}

async function readStateOffset(path: string): Promise<number | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { offset?: unknown };
    return Number.isSafeInteger(parsed.offset) ? (parsed.offset as number) : undefined;
  } catch {
    return undefined;
  }
}

class PartitionRecovery {
  private readonly logs = new Set<number>();
  private readonly indexes = new Set<number>();
  private tombstoneHorizon: number | undefined;

  constructor(private readonly options: RecoveryOptions) {}

  private path(baseOffset: number, suffix: string): string {
    return join(this.options.dir, segmentFileName(baseOffset, suffix));
  }

  private emit(event: RecoveryEvent): void {
    const { topic, partition, logger } = this.options;
    this.options.report(event);
    const details = { topic, partition, ...event };
    switch (event.kind) {
      case 'truncated':
        logger.warn(
          details,
          `cut the damaged tail of ${event.file}: kept ${event.keptBytes} bytes, ` +
            `cut ${event.cutBytes} bytes (${event.reason})`,
        );
        break;
      case 'dropped':
        logger.warn(details, `dropped ${event.file} (${event.bytes} bytes): ${event.reason}`);
        break;
      case 'swap-discarded':
        logger.warn(details, `discarded compacted segment ${event.file}: ${event.reason}`);
        break;
      default:
        logger.info(details, `recovery: ${event.kind} ${event.file}`);
    }
  }

  async run(): Promise<PartitionState> {
    const { dir } = this.options;
    await mkdir(dir, { recursive: true });
    const swaps: number[] = [];
    for (const name of await readdir(dir)) {
      if (name.endsWith(CLEANED_SUFFIX) || name.endsWith('.tmp')) {
        // A compaction or state write that never reached its commit point.
        await unlinkIfExists(join(dir, name));
        this.emit({ kind: 'leftover-removed', file: join(dir, name) });
        continue;
      }
      const parsed = parseSegmentFileName(name);
      if (parsed === undefined) continue;
      if (parsed.suffix === LOG_SUFFIX) this.logs.add(parsed.baseOffset);
      else if (parsed.suffix === INDEX_SUFFIX) this.indexes.add(parsed.baseOffset);
      else if (parsed.suffix === SWAP_SUFFIX) swaps.push(parsed.baseOffset);
      else if (parsed.suffix === INDEX_SWAP_SUFFIX) await unlinkIfExists(join(dir, name));
    }
    for (const base of swaps.sort((a, b) => a - b)) await this.completeSwap(base);

    const recoveryPoint =
      this.options.verify === 'unflushed'
        ? await readStateOffset(join(dir, RECOVERY_POINT_FILE))
        : undefined;
    const cleanerCheckpoint = (await readStateOffset(join(dir, CLEANER_CHECKPOINT_FILE))) ?? 0;

    const bases = [...this.logs].sort((a, b) => a - b);
    const segments: Segment[] = [];
    let expected: number | undefined;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      if (expected !== undefined && base !== expected) {
        await this.drop(bases.slice(i), `offsets jump from ${expected} to ${base}`);
        break;
      }
      const { segment, damaged } = await this.load(base, recoveryPoint);
      segments.push(segment);
      if (damaged) {
        await this.drop(bases.slice(i + 1), `it follows the damaged ${segment.logPath}`);
        break;
      }
      expected = segment.nextOffset;
    }
    const last = segments[segments.length - 1];
    if (last !== undefined) last.sealed = false;
    for (const base of this.indexes) {
      if (!segments.some((segment) => segment.baseOffset === base)) {
        await unlinkIfExists(this.path(base, INDEX_SUFFIX));
      }
    }
    return { segments, cleanerCheckpoint, tombstoneHorizon: this.tombstoneHorizon };
  }

  private async drop(bases: number[], reason: string): Promise<void> {
    for (const base of bases) {
      const file = this.path(base, LOG_SUFFIX);
      const bytes = (await stat(file)).size;
      await unlinkIfExists(file);
      await unlinkIfExists(this.path(base, INDEX_SUFFIX));
      this.logs.delete(base);
      this.emit({ kind: 'dropped', file, bytes, reason });
    }
    if (bases.length > 0) await fsyncDir(this.options.dir);
  }

  /**
   * A `.log.swap` file is a compacted copy of the segments from its base offset up to its last
   * batch, fsynced before it was renamed to this name: the cleaner's commit point. Finish the
   * swap: delete the segments it replaces and rename it into place.
   */
  private async completeSwap(base: number): Promise<void> {
    const swapPath = this.path(base, SWAP_SUFFIX);
    const handle = await open(swapPath, 'r');
    let scanned: ScannedSegment;
    try {
      scanned = await this.scan(handle, (await handle.stat()).size, {
        firstOffset: base,
        contiguous: false,
      });
    } finally {
      await handle.close();
    }
    if (scanned.problem !== undefined && this.logs.has(base)) {
      // The originals are still complete (they are removed only after the swap file is whole).
      await unlinkIfExists(swapPath);
      this.emit({ kind: 'swap-discarded', file: swapPath, reason: scanned.problem });
      return;
    }
    const replaced: string[] = [];
    for (const old of [...this.logs].sort((a, b) => a - b)) {
      if (old > base && old < scanned.nextOffset) {
        replaced.push(this.path(old, LOG_SUFFIX));
        await unlinkIfExists(this.path(old, LOG_SUFFIX));
        await unlinkIfExists(this.path(old, INDEX_SUFFIX));
        this.logs.delete(old);
      }
    }
    await unlinkIfExists(this.path(base, INDEX_SUFFIX));
    await rename(swapPath, this.path(base, LOG_SUFFIX));
    await fsyncDir(this.options.dir);
    this.logs.add(base);
    this.emit({ kind: 'swap-completed', file: swapPath, replaced });
  }

  /**
   * Validates the batches of a segment file from `from` on and rebuilds its index. The offset
   * chain starts at firstOffset: each batch must start exactly where the previous one ended
   * (contiguous) or at least there (compacted segments have gaps). With firstExact, the first
   * batch must start exactly at firstOffset (an index entry points at a batch start).
   */
  private async scan(
    handle: FileHandle,
    size: number,
    chain: { firstOffset: number; contiguous: boolean; firstExact?: boolean; from?: number },
    baseOffset = chain.firstOffset,
  ): Promise<ScannedSegment> {
    const index = new OffsetIndex(baseOffset);
    const interval = this.options.indexIntervalBytes;
    let next = chain.firstOffset;
    let exact = chain.contiguous || chain.firstExact === true;
    let maxTimestamp = -Infinity;
    let sinceIndexEntry = 0;
    let horizon: number | undefined;
    const visit: BatchVisitor = (_chunk, _at, header, filePosition) => {
      if (exact ? header.baseOffset !== next : header.baseOffset < next) {
        return `batch starts at offset ${header.baseOffset} where ${next} was expected`;
      }
      exact = chain.contiguous;
      if (header.recordCount > header.lastOffsetDelta + 1) {
        return `batch claims ${header.recordCount} records for ${header.lastOffsetDelta + 1} offsets`;
      }
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      if (lastOffset - baseOffset > MAX_RELATIVE_OFFSET)
        return 'offset too far from the segment base';
      if (header.maxTimestamp > maxTimestamp) maxTimestamp = header.maxTimestamp;
      if (sinceIndexEntry >= interval) {
        index.append(header.baseOffset, filePosition, maxTimestamp);
        sinceIndexEntry = 0;
      }
      sinceIndexEntry += header.length;
      if (header.deleteHorizonMs >= 0)
        horizon = Math.min(horizon ?? Infinity, header.deleteHorizonMs);
      next = lastOffset + 1;
      return undefined;
    };
    const outcome = await scanBatches(handle, chain.from ?? 0, size, visit);
    return {
      end: outcome.end,
      problem: outcome.problem,
      index,
      nextOffset: next,
      maxTimestamp,
      tombstoneHorizon: horizon,
    };
  }

  private async load(
    base: number,
    recoveryPoint: number | undefined,
  ): Promise<{ segment: Segment; damaged: boolean }> {
    const logPath = this.path(base, LOG_SUFFIX);
    const handle = await open(logPath, 'r+');
    try {
      const size = (await handle.stat()).size;
      if (recoveryPoint !== undefined && base < recoveryPoint) {
        const trusted = await this.checkTail(handle, base, size, recoveryPoint);
        if (trusted !== undefined) {
          const segment = Segment.loaded(
            this.options.dir,
            base,
            { handle, size, ...trusted },
            true,
          );
          return { segment, damaged: false };
        }
      }
      const scanned = await this.scan(handle, size, {
        firstOffset: base,
        contiguous: this.options.contiguous,
      });
      if (scanned.tombstoneHorizon !== undefined) {
        this.tombstoneHorizon = Math.min(
          this.tombstoneHorizon ?? Infinity,
          scanned.tombstoneHorizon,
        );
      }
      const damaged = scanned.problem !== undefined;
      if (damaged) {
        await handle.truncate(scanned.end);
        await handle.datasync();
        this.emit({
          kind: 'truncated',
          file: logPath,
          keptBytes: scanned.end,
          cutBytes: size - scanned.end,
          reason: scanned.problem!,
        });
      } else if (recoveryPoint === undefined || base >= recoveryPoint) {
        // Past the recovery point the file may hold batches that a killed process wrote but
        // never fsynced (they were never acknowledged, but they are complete and their CRCs
        // match). They become readable now, so they must be durable first: readers only ever
        // see data that a power cut cannot take back.
        await handle.datasync();
      }
      await this.writeIndexIfChanged(base, scanned.index);
      const segment = Segment.loaded(
        this.options.dir,
        base,
        {
          handle,
          size: scanned.end,
          index: scanned.index,
          nextOffset: scanned.nextOffset,
          maxTimestamp: scanned.maxTimestamp,
        },
        true,
      );
      return { segment, damaged };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * The cheap check of a segment below the recovery point: its index must be plausible, and the
   * batches after the last index entry valid and ending within the recovery point. Undefined
   * means "not trusted": the caller scans the segment in full.
   */
  private async checkTail(
    handle: FileHandle,
    base: number,
    size: number,
    recoveryPoint: number,
  ): Promise<{ index: OffsetIndex; nextOffset: number; maxTimestamp: number } | undefined> {
    let data: Buffer;
    try {
      data = await readFile(this.path(base, INDEX_SUFFIX));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
    const index = OffsetIndex.fromFile(base, data, size, recoveryPoint);
    if (index === undefined) return undefined;
    const last = index.last();
    const tail = await this.scan(
      handle,
      size,
      {
        firstOffset: last?.offset ?? base,
        contiguous: this.options.contiguous,
        firstExact: last !== undefined,
        from: last?.position ?? 0,
      },
      base,
    );
    if (tail.problem !== undefined || tail.end !== size || tail.nextOffset > recoveryPoint) {
      return undefined;
    }
    return {
      index,
      nextOffset: tail.nextOffset,
      maxTimestamp: Math.max(last?.maxTimestamp ?? -Infinity, tail.maxTimestamp),
    };
  }

  private async writeIndexIfChanged(base: number, index: OffsetIndex): Promise<void> {
    const path = this.path(base, INDEX_SUFFIX);
    const wanted = index.toBuffer();
    let current: Buffer | undefined;
    try {
      current = await readFile(path);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
    if (current === undefined || !current.equals(wanted)) {
      await writeFileDurably(path, wanted);
    }
    index.markAllFlushed();
  }
}
