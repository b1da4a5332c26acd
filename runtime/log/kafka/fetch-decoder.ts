// Decodes a Fetch v11 response (pure; decompression injected). Unlike kafkajs's decoder it keeps
// record-batch boundaries: compaction can leave batches with no records (Kafka keeps the last batch
// of an idempotent producer for its sequence state), and a reader must step over them by their last
// offset instead of seeing "no records" and stopping.
//
// Layouts (Kafka protocol guide): FetchResponse v11 = throttle_time_ms INT32, error_code INT16,
// session_id INT32, [topic STRING, [partition INT32, error_code INT16, high_watermark INT64,
// last_stable_offset INT64, log_start_offset INT64, [aborted: producer_id INT64, first_offset INT64],
// preferred_read_replica INT32, records NULLABLE_BYTES]]. Record batch v2 = base_offset INT64,
// length INT32, partition_leader_epoch INT32, magic INT8, crc UINT32, attributes INT16,
// last_offset_delta INT32, base_timestamp INT64, max_timestamp INT64, producer_id INT64,
// producer_epoch INT16, base_sequence INT32, count INT32, records. Record = length VARINT,
// attributes INT8, timestamp_delta VARLONG, offset_delta VARINT, key VARBYTES, value VARBYTES,
// [header key VARSTRING, header value VARBYTES].

import { LogStorageError } from '../errors.ts';
import type { LogHeaders, StoredRecord } from '../log.ts';
import { recordBytes } from './record-buffer.ts';

export type Decompress = (codec: number, data: Buffer) => Promise<Buffer>;

export interface FetchedBatch {
  baseOffset: number;
  lastOffset: number;
  /** Transaction markers: no user records. */
  control: boolean;
  /** Records in the batch (0 when compaction emptied it). */
  count: number;
  attributes: number;
  baseTimestamp: number;
  maxTimestamp: number;
  /** The records section, still compressed if the batch is; decoded on demand (decodeRecords). */
  records: Buffer;
}

export interface FetchedPartition {
  topic: string;
  partition: number;
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  /** Complete batches only: a batch cut by the byte limit is left out. */
  batches: FetchedBatch[];
}

export interface FetchResponse {
  throttleTimeMs: number;
  errorCode: number;
  partitions: FetchedPartition[];
}

const COMPRESSION_MASK = 0x07;
const LOG_APPEND_TIME = 0x08;
const CONTROL = 0x20;
/** base_offset + length: what must be readable to know a batch's size. */
const BATCH_PREFIX = 12;

class Truncated extends Error {}

class Cursor {
  constructor(
    readonly buffer: Buffer,
    public position = 0,
    readonly end = buffer.length,
  ) {}

  private need(bytes: number): void {
    if (this.position + bytes > this.end) throw new Truncated('truncated');
  }

  int8(): number {
    this.need(1);
    return this.buffer.readInt8(this.position++);
  }

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.position);
    this.position += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.position);
    this.position += 4;
    return value;
  }

  int64(): number {
    this.need(8);
    const value = Number(this.buffer.readBigInt64BE(this.position));
    this.position += 8;
    return value;
  }

  skip(bytes: number): void {
    this.need(bytes);
    this.position += bytes;
  }

  string(): string {
    const length = this.int16();
    if (length < 0) return '';
    this.need(length);
    const value = this.buffer.toString('utf8', this.position, this.position + length);
    this.position += length;
    return value;
  }

  /** Zigzag varint or varlong, exact up to 2^53. */
  varint(): number {
    let value = 0;
    let scale = 1;
    let byte: number;
    do {
      if (this.position >= this.end) throw new Truncated('truncated');
      byte = this.buffer[this.position++]!;
      value += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80);
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }

  varBytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    this.need(length);
    const value = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return value;
  }

  varString(): string {
    const length = this.varint();
    if (length < 0) return '';
    this.need(length);
    const value = this.buffer.toString('utf8', this.position, this.position + length);
    this.position += length;
    return value;
  }
}

export function decodeFetchResponse(payload: Buffer): FetchResponse {
  const cursor = new Cursor(payload);
  try {
    const throttleTimeMs = cursor.int32();
    const errorCode = cursor.int16();
    cursor.skip(4); // session_id
    const partitions: FetchedPartition[] = [];
    const topics = cursor.int32();
    for (let t = 0; t < topics; t++) {
      const topic = cursor.string();
      const count = cursor.int32();
      for (let p = 0; p < count; p++) partitions.push(decodePartition(cursor, topic));
    }
    return { throttleTimeMs, errorCode, partitions };
  } catch (error) {
    if (error instanceof Truncated)
      throw new LogStorageError('a Kafka fetch response was cut short');
    throw error;
  }
}

function decodePartition(cursor: Cursor, topic: string): FetchedPartition {
  const partition = cursor.int32();
  const errorCode = cursor.int16();
  const highWatermark = cursor.int64();
  cursor.skip(8); // last_stable_offset
  const logStartOffset = cursor.int64();
  const aborted = cursor.int32();
  if (aborted > 0) cursor.skip(aborted * 16);
  cursor.skip(4); // preferred_read_replica
  const size = cursor.int32();
  const batches: FetchedBatch[] = [];
  if (size > 0) {
    const end = cursor.position + size;
    const records = new Cursor(cursor.buffer, cursor.position, Math.min(end, cursor.end));
    cursor.skip(size);
    decodeBatches(records, topic, partition, batches);
  }
  return { topic, partition, errorCode, highWatermark, logStartOffset, batches };
}

function decodeBatches(
  cursor: Cursor,
  topic: string,
  partition: number,
  out: FetchedBatch[],
): void {
  while (cursor.end - cursor.position >= BATCH_PREFIX) {
    const baseOffset = cursor.int64();
    const length = cursor.int32();
    // The byte limit cut the last batch: it comes again with the next fetch.
    if (cursor.end - cursor.position < length) return;
    const batchEnd = cursor.position + length;
    const batch = new Cursor(cursor.buffer, cursor.position, batchEnd);
    cursor.skip(length);

    batch.skip(4); // partition_leader_epoch
    const magic = batch.int8();
    if (magic !== 2) {
      throw new LogStorageError(
        `${topic}/${partition} holds a message format v${magic} batch; only v2 is supported`,
      );
    }
    batch.skip(4); // crc
    const attributes = batch.int16();
    const lastOffsetDelta = batch.int32();
    const baseTimestamp = batch.int64();
    const maxTimestamp = batch.int64();
    batch.skip(8 + 2 + 4); // producer id, epoch, base sequence
    const count = batch.int32();
    out.push({
      baseOffset,
      lastOffset: baseOffset + lastOffsetDelta,
      control: (attributes & CONTROL) !== 0,
      count: Math.max(count, 0),
      attributes,
      baseTimestamp,
      maxTimestamp,
      records: batch.buffer.subarray(batch.position, batchEnd),
    });
  }
}

/** The user records of a batch (none for a control batch), decompressed if needed. */
export async function decodeRecords(
  batch: FetchedBatch,
  topic: string,
  partition: number,
  decompress: Decompress,
): Promise<StoredRecord[]> {
  if (batch.control || batch.count === 0) return [];
  const codec = batch.attributes & COMPRESSION_MASK;
  const cursor = new Cursor(codec === 0 ? batch.records : await decompress(codec, batch.records));
  const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0;
  const baseTimestamp = logAppendTime ? batch.maxTimestamp : batch.baseTimestamp;
  const records = new Array<StoredRecord>(batch.count);
  try {
    for (let i = 0; i < batch.count; i++) {
      records[i] = decodeRecord(
        cursor,
        topic,
        partition,
        batch.baseOffset,
        baseTimestamp,
        logAppendTime,
      );
    }
  } catch (error) {
    if (error instanceof Truncated) {
      throw new LogStorageError(
        `a record batch of ${topic}/${partition} at ${batch.baseOffset} is corrupt`,
      );
    }
    throw error;
  }
  return records;
}

function decodeRecord(
  cursor: Cursor,
  topic: string,
  partition: number,
  baseOffset: number,
  baseTimestamp: number,
  logAppendTime: boolean,
): StoredRecord {
  const length = cursor.varint();
  const end = cursor.position + length;
  if (length < 0 || end > cursor.end) throw new Truncated('truncated');
  cursor.skip(1); // attributes
  const timestampDelta = cursor.varint();
  const offsetDelta = cursor.varint();
  const key = cursor.varBytes();
  const value = cursor.varBytes();
  const headerCount = cursor.varint();
  const headers: LogHeaders = {};
  for (let h = 0; h < headerCount; h++) {
    const name = cursor.varString();
    // A repeated header keeps its last value (Kafka's lastHeader); a null value reads as empty.
    headers[name] = cursor.varBytes() ?? Buffer.alloc(0);
  }
  cursor.position = end;
  return {
    topic,
    partition,
    offset: baseOffset + offsetDelta,
    key,
    value,
    headers,
    timestamp: logAppendTime ? baseTimestamp : baseTimestamp + timestampDelta,
  };
}

export interface TakeOptions {
  topic: string;
  partition: number;
  /** The first offset wanted: records before it (earlier in a batch) are skipped. */
  position: number;
  maxRecords: number;
  /** About this many bytes of keys, values and headers; at least one record. */
  maxBytes: number;
  decompress: Decompress;
}

/**
 * The records from `position` on, within the limits, decoding one batch at a time (a compressed
 * fetch can hold far more than maxRecords). `next` is the offset after the last batch that was
 * read whole: when no record came back, batches up to there were empty (compacted away, or
 * transaction markers) and the next fetch starts after them.
 */
export async function takeRecords(
  batches: readonly FetchedBatch[],
  options: TakeOptions,
): Promise<{ records: StoredRecord[]; next: number }> {
  const { topic, partition, position, maxRecords, maxBytes, decompress } = options;
  const records: StoredRecord[] = [];
  let bytes = 0;
  let next = position;
  for (const batch of batches) {
    if (batch.lastOffset < position) continue;
    for (const record of await decodeRecords(batch, topic, partition, decompress)) {
      if (record.offset < position) continue;
      const size = recordBytes(record);
      if (records.length >= maxRecords || (records.length > 0 && bytes + size > maxBytes)) {
        return { records, next };
      }
      records.push(record);
      bytes += size;
    }
    next = Math.max(next, batch.lastOffset + 1);
  }
  return { records, next };
}
