// The bounded buffer between kafkajs's push-based fetch loop and the pull-based poll() (pure).
// Batches are kept in arrival order, so each partition's records stay in offset order; those of a
// partition can be dropped at once (revoked, or sought elsewhere).

import type { StoredRecord } from '../log.ts';

interface Chunk {
  key: string;
  records: StoredRecord[];
  /** Next record of the chunk to hand out. */
  next: number;
  bytes: number;
}

export function recordBytes(record: StoredRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const name in record.headers) bytes += name.length + record.headers[name]!.length;
  return bytes;
}

export class RecordBuffer {
  private chunks: Chunk[] = [];
  private records = 0;
  private bytes = 0;

  constructor(
    private readonly maxRecords: number,
    private readonly maxBytes: number,
  ) {}

  /** Room for at least one more record. */
  hasRoom(): boolean {
    return this.records < this.maxRecords && this.bytes < this.maxBytes;
  }

  get size(): number {
    return this.records;
  }

  get byteSize(): number {
    return this.bytes;
  }

  /**
   * How many of these records (from the first) fit: at least one while there is room at all, so
   * the buffer exceeds its bounds by at most one record.
   */
  fits(records: readonly StoredRecord[]): number {
    if (!this.hasRoom()) return 0;
    let count = 0;
    let bytes = 0;
    for (const record of records) {
      if (
        count > 0 &&
        (this.records + count >= this.maxRecords || this.bytes + bytes >= this.maxBytes)
      )
        break;
      count++;
      bytes += recordBytes(record);
    }
    return count;
  }

  push(key: string, records: StoredRecord[]): void {
    if (records.length === 0) return;
    let bytes = 0;
    for (const record of records) bytes += recordBytes(record);
    this.chunks.push({ key, records, next: 0, bytes });
    this.records += records.length;
    this.bytes += bytes;
  }

  /** Oldest records first, up to maxRecords and about maxBytes (at least one record). */
  take(maxRecords: number, maxBytes: number): StoredRecord[] {
    const out: StoredRecord[] = [];
    let bytes = 0;
    while (this.chunks.length > 0 && out.length < maxRecords) {
      const chunk = this.chunks[0]!;
      while (chunk.next < chunk.records.length && out.length < maxRecords) {
        const record = chunk.records[chunk.next]!;
        const size = recordBytes(record);
        if (out.length > 0 && bytes + size > maxBytes) return out;
        out.push(record);
        bytes += size;
        chunk.next++;
        chunk.bytes -= size;
        this.records--;
        this.bytes -= size;
      }
      if (chunk.next >= chunk.records.length) this.chunks.shift();
    }
    return out;
  }

  /** Drops every buffered record of the partitions whose key matches; returns how many. */
  drop(matches: (key: string) => boolean): number {
    let dropped = 0;
    this.chunks = this.chunks.filter((chunk) => {
      if (!matches(chunk.key)) return true;
      const left = chunk.records.length - chunk.next;
      dropped += left;
      this.records -= left;
      this.bytes -= chunk.bytes;
      return false;
    });
    return dropped;
  }

  clear(): void {
    this.drop(() => true);
  }
}
