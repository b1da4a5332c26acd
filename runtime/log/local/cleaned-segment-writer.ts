// Writes the compacted copy of a group of segments to `<base>.log.cleaned` (and its index to
// `<base>.index.cleaned`): batches are re-framed around the records the cleaner keeps, buffered
// and written in large sequential writes, then fsynced before the swap makes them the real ones.

import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { writeFileDurably, writeFully } from './fs-util.ts';
import { OffsetIndex } from './offset-index.ts';
import { BATCH_HEADER_BYTES, sealBatch, writeBatchHeader } from './record-batch.ts';
import type { BatchHeader } from './record-batch.ts';
import type { LoadedSegmentState } from './segment.ts';

const FLUSH_BYTES = 1024 * 1024;

export class CleanedSegmentWriter {
  private buffer = Buffer.allocUnsafe(FLUSH_BYTES * 2);
  private buffered = 0;
  private written = 0;
  private readonly index: OffsetIndex;
  private sinceIndexEntry = 0;
  private nextOffset: number;
  private maxTimestamp = -Infinity;
  /** Earliest deleteHorizonMs among the batches written that still hold tombstones. */
  tombstoneHorizon: number | undefined;

  private constructor(
    private readonly handle: FileHandle,
    readonly baseOffset: number,
    private readonly indexIntervalBytes: number,
  ) {
    this.index = new OffsetIndex(baseOffset);
    this.nextOffset = baseOffset;
  }

  static async create(
    path: string,
    baseOffset: number,
    indexIntervalBytes: number,
  ): Promise<CleanedSegmentWriter> {
    return new CleanedSegmentWriter(await open(path, 'w+'), baseOffset, indexIntervalBytes);
  }

  /**
   * Appends a batch made of the given records of `source` (pairs of position and size in
   * `records`), keeping the original batch's offsets, timestamps and offset range. Copies
   * synchronously: source may be reused right after.
   */
  addBatch(
    source: Buffer,
    records: readonly number[],
    original: BatchHeader,
    deleteHorizonMs: number,
    tombstones: number,
  ): void {
    let length = BATCH_HEADER_BYTES;
    for (let i = 1; i < records.length; i += 2) length += records[i]!;
    this.reserve(length);
    const at = this.buffered;
    writeBatchHeader(this.buffer, at, {
      ...original,
      length,
      recordCount: records.length / 2,
      deleteHorizonMs,
    });
    let p = at + BATCH_HEADER_BYTES;
    for (let i = 0; i < records.length; i += 2) {
      const position = records[i]!;
      const size = records[i + 1]!;
      source.copy(this.buffer, p, position, position + size);
      p += size;
    }
    sealBatch(this.buffer, at);
    if (original.maxTimestamp > this.maxTimestamp) this.maxTimestamp = original.maxTimestamp;
    if (this.sinceIndexEntry >= this.indexIntervalBytes) {
      this.index.append(original.baseOffset, this.written + at, this.maxTimestamp);
      this.sinceIndexEntry = 0;
    }
    this.sinceIndexEntry += length;
    this.buffered += length;
    this.nextOffset = original.baseOffset + original.lastOffsetDelta + 1;
    if (tombstones > 0 && deleteHorizonMs >= 0) {
      this.tombstoneHorizon = Math.min(this.tombstoneHorizon ?? Infinity, deleteHorizonMs);
    }
  }

  private reserve(length: number): void {
    if (this.buffered + length <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.buffered + length));
    this.buffer.copy(grown, 0, 0, this.buffered);
    this.buffer = grown;
  }

  /** Writes the buffer out once it holds enough for one large write. */
  async flushIfFull(): Promise<void> {
    if (this.buffered >= FLUSH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0) return;
    await writeFully(this.handle, [this.buffer.subarray(0, this.buffered)], this.written);
    this.written += this.buffered;
    this.buffered = 0;
  }

  /** Flushes and fsyncs the log and writes the index durably; returns the segment's state. */
  async finish(indexPath: string): Promise<LoadedSegmentState> {
    await this.flush();
    await this.handle.datasync();
    await writeFileDurably(indexPath, this.index.toBuffer());
    this.index.markAllFlushed();
    return {
      handle: this.handle,
      size: this.written,
      index: this.index,
      nextOffset: this.nextOffset,
      maxTimestamp: this.maxTimestamp,
    };
  }

  async abort(): Promise<void> {
    await this.handle.close();
  }
}
