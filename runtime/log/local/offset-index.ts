// The sparse offset index of one segment: every indexIntervalBytes of log, an entry maps a batch's
// base offset to its file position, so a read seeks close to its offset instead of scanning the
// segment. Each entry also carries the largest record timestamp so far in the segment, which
// gives a sealed segment's age for retention without reading it.
//
// Entry (16 bytes, little-endian): relativeOffset u32 · position u32 · maxTimestampSoFar f64.
// The index lives in memory (16 bytes per 4 KiB of log: 0.4 % of the data) and is written to
// its file when the segment is sealed (roll, close). It is never needed for correctness:
// recovery rebuilds it from the log whenever the log was scanned.

export const INDEX_ENTRY_BYTES = 16;

export interface IndexEntry {
  offset: number;
  position: number;
  maxTimestamp: number;
}

export class OffsetIndex {
  private entries: Buffer;
  private count = 0;
  /** Entries already written to the index file. */
  private flushed = 0;

  constructor(
    readonly baseOffset: number,
    capacity = 64,
  ) {
    this.entries = Buffer.alloc(capacity * INDEX_ENTRY_BYTES);
  }

  /**
   * An index read back from its file, or undefined when it is not plausible for a log of
   * logSize bytes whose offsets stay below endOffset (then the caller rebuilds it by scanning).
   */
  static fromFile(
    baseOffset: number,
    data: Buffer,
    logSize: number,
    endOffset: number,
  ): OffsetIndex | undefined {
    if (data.length % INDEX_ENTRY_BYTES !== 0) return undefined;
    const index = new OffsetIndex(baseOffset, Math.max(64, data.length / INDEX_ENTRY_BYTES));
    let lastOffset = -1;
    let lastPosition = -1;
    for (let at = 0; at < data.length; at += INDEX_ENTRY_BYTES) {
      const relative = data.readUInt32LE(at);
      const position = data.readUInt32LE(at + 4);
      if (relative <= lastOffset || position <= lastPosition || position >= logSize) {
        return undefined;
      }
      if (baseOffset + relative >= endOffset) return undefined;
      lastOffset = relative;
      lastPosition = position;
    }
    data.copy(index.entries);
    index.count = data.length / INDEX_ENTRY_BYTES;
    index.flushed = index.count;
    return index;
  }

  get length(): number {
    return this.count;
  }

  append(offset: number, position: number, maxTimestampSoFar: number): void {
    if (this.count * INDEX_ENTRY_BYTES === this.entries.length) {
      const grown = Buffer.alloc(this.entries.length * 2);
      this.entries.copy(grown);
      this.entries = grown;
    }
    const at = this.count * INDEX_ENTRY_BYTES;
    this.entries.writeUInt32LE(offset - this.baseOffset, at);
    this.entries.writeUInt32LE(position, at + 4);
    this.entries.writeDoubleLE(maxTimestampSoFar, at + 8);
    this.count++;
  }

  entry(i: number): IndexEntry {
    const at = i * INDEX_ENTRY_BYTES;
    return {
      offset: this.baseOffset + this.entries.readUInt32LE(at),
      position: this.entries.readUInt32LE(at + 4),
      maxTimestamp: this.entries.readDoubleLE(at + 8),
    };
  }

  last(): IndexEntry | undefined {
    return this.count === 0 ? undefined : this.entry(this.count - 1);
  }

  /** File position of the last indexed batch starting at or before offset (0 when none). */
  lookup(offset: number): number {
    const relative = offset - this.baseOffset;
    let low = 0;
    let high = this.count - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.entries.readUInt32LE(middle * INDEX_ENTRY_BYTES) <= relative) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found < 0 ? 0 : this.entries.readUInt32LE(found * INDEX_ENTRY_BYTES + 4);
  }

  /**
   * Entries not yet in the file whose batches start below writtenSize (an entry must never point
   * past the log bytes already written), with where they go in the file; marks them flushed.
   */
  takeUnflushed(writtenSize: number): { data: Buffer; filePosition: number } | undefined {
    let end = this.flushed;
    while (
      end < this.count &&
      this.entries.readUInt32LE(end * INDEX_ENTRY_BYTES + 4) < writtenSize
    ) {
      end++;
    }
    if (end === this.flushed) return undefined;
    const data = Buffer.from(
      this.entries.subarray(this.flushed * INDEX_ENTRY_BYTES, end * INDEX_ENTRY_BYTES),
    );
    const filePosition = this.flushed * INDEX_ENTRY_BYTES;
    this.flushed = end;
    return { data, filePosition };
  }

  toBuffer(): Buffer {
    return this.entries.subarray(0, this.count * INDEX_ENTRY_BYTES);
  }

  /** Marks every entry as present in the file (after the whole index was written out). */
  markAllFlushed(): void {
    this.flushed = this.count;
  }
}
