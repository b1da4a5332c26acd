// Reads records out of one segment for read() and poll(): seeks with the offset index, then
// reads a whole run of batches with one pread and decodes them in place (keys and values are
// slices of the read buffer, not copies). Memory per call is about maxBytes, whatever the
// segment size.

import { LogStorageError } from '../errors.ts';
import type { StoredRecord } from '../log.ts';
import {
  BATCH_HEADER_BYTES,
  MAX_BATCH_BYTES,
  RecordCursor,
  batchCrcMatches,
  batchLength,
  readBatchHeader,
} from './record-batch.ts';
import type { Segment } from './segment.ts';

const MIN_READ_BYTES = 64 * 1024;
const MAX_READ_BYTES = 16 * 1024 * 1024;

export interface ReadLimits {
  maxRecords: number;
  maxBytes: number;
}

/** Accumulates one read across segments. */
export interface ReadState {
  topic: string;
  partition: number;
  records: StoredRecord[];
  bytes: number;
  /** Offset the read continues from: after the last record taken or the last batch passed. */
  nextOffset: number;
  full: boolean;
}

function corrupt(segment: Segment, position: number, reason: string): LogStorageError {
  return new LogStorageError(
    `corrupt record batch in ${segment.logPath} at byte ${position}: ${reason}; ` +
      're-open the log to cut the damaged tail',
  );
}

/** Adds the records at or after state.nextOffset in segment, up to the limits or its visible end. */
export async function readSegment(
  segment: Segment,
  limits: ReadLimits,
  state: ReadState,
): Promise<void> {
  const end = segment.visibleSize;
  let position = segment.index.lookup(state.nextOffset);
  const cursor = new RecordCursor();
  while (position < end && !state.full) {
    const budget = Math.max(0, limits.maxBytes - state.bytes) + MIN_READ_BYTES;
    let chunk = await segment.read(
      position,
      Math.min(end - position, Math.min(budget, MAX_READ_BYTES)),
    );
    let at = 0;
    while (at + BATCH_HEADER_BYTES <= chunk.length && !state.full) {
      const length = batchLength(chunk, at);
      if (length < BATCH_HEADER_BYTES || length > MAX_BATCH_BYTES || position + at + length > end) {
        throw corrupt(segment, position + at, `invalid batch length ${length}`);
      }
      if (at + length > chunk.length) {
        if (at > 0) break;
        chunk = await segment.read(position, length);
        continue;
      }
      const header = readBatchHeader(chunk, at);
      const batchEnd = header.baseOffset + header.lastOffsetDelta + 1;
      if (batchEnd > state.nextOffset) {
        if (!batchCrcMatches(chunk, at, length)) {
          throw corrupt(segment, position + at, 'checksum mismatch');
        }
        takeRecords(chunk, at, header.baseOffset, header.recordCount, cursor, limits, state);
        if (!state.full) state.nextOffset = batchEnd;
      }
      at += length;
    }
    if (at === 0 && !state.full) {
      throw corrupt(segment, position, 'fewer bytes than a batch header before the end');
    }
    position += at;
  }
}

function takeRecords(
  chunk: Buffer,
  at: number,
  baseOffset: number,
  count: number,
  cursor: RecordCursor,
  limits: ReadLimits,
  state: ReadState,
): void {
  let p = at + BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    p = cursor.load(chunk, p, baseOffset);
    if (cursor.offset < state.nextOffset) continue;
    if (state.records.length > 0 && state.bytes + cursor.size > limits.maxBytes) {
      state.full = true;
      return;
    }
    state.records.push({
      topic: state.topic,
      partition: state.partition,
      offset: cursor.offset,
      key: cursor.key(),
      value: cursor.value(),
      headers: cursor.headers(),
      timestamp: cursor.timestamp,
    });
    state.bytes += cursor.size;
    state.nextOffset = cursor.offset + 1;
    if (state.records.length >= limits.maxRecords) {
      state.full = true;
      return;
    }
  }
}
