// Serialized sizes in Kafka's record batch format v2 (pure). Used to refuse an oversized record
// before anything is sent, and to cut an append into batches the broker accepts.

import type { LogRecord } from '../log.ts';

/** baseOffset .. record count: the fixed header of a v2 record batch. */
export const RECORD_BATCH_OVERHEAD = 61;

/** Bytes of a zigzag varint (or varlong) holding value. */
export function varintSize(value: number): number {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (zigzag >= 128) {
    zigzag = Math.floor(zigzag / 128);
    bytes++;
  }
  return bytes;
}

function bytesField(length: number): number {
  return varintSize(length) + Math.max(length, 0);
}

/** A record's bytes inside a batch (length prefix included) at the given deltas. */
export function recordSize(record: LogRecord, timestampDelta = 0, offsetDelta = 0): number {
  let body =
    1 + // attributes
    varintSize(timestampDelta) +
    varintSize(offsetDelta) +
    bytesField(record.key === null ? -1 : record.key.length) +
    bytesField(record.value === null ? -1 : record.value.length);
  const headers = record.headers ? Object.entries(record.headers) : [];
  body += varintSize(headers.length);
  for (const [key, value] of headers) {
    body += bytesField(Buffer.byteLength(key, 'utf8')) + bytesField(value.length);
  }
  return varintSize(body) + body;
}

/** The size of a batch holding only this record: what the broker compares to max.message.bytes. */
export function singleRecordBatchSize(record: LogRecord): number {
  return RECORD_BATCH_OVERHEAD + recordSize(record);
}

/**
 * An upper bound of the record's size in any batch: timestamp and offset deltas grow the varints
 * by at most 9 + 4 bytes and the length prefix by at most 1 more.
 */
export function recordSizeBound(record: LogRecord): number {
  return recordSize(record) + 14;
}
