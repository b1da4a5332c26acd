// Sequential, validating pass over the batches of a segment file: recovery, the cleaner and the
// open-time checks all use it. It reads in chunks (bounded memory whatever the segment size),
// checks each batch's framing and CRC, and stops at the first batch that is damaged or cut off,
// saying why and where.

import type { FileHandle } from 'node:fs/promises';
import {
  BATCH_HEADER_BYTES,
  BATCH_MAGIC,
  MAX_BATCH_BYTES,
  batchCrcMatches,
  batchLength,
  batchMagic,
  readBatchHeader,
} from './record-batch.ts';
import type { BatchHeader } from './record-batch.ts';
import { readFully } from './fs-util.ts';

export const SCAN_CHUNK_BYTES = 1024 * 1024;

export interface ScanOutcome {
  /** Position right after the last valid batch: everything before it is intact. */
  end: number;
  /** Why the scan stopped before `to`, if it did. */
  problem?: string;
}

/**
 * Called for each valid batch with the chunk holding it (the batch is at chunk[at], which is
 * filePosition in the file). The chunk buffer is reused for the next read: copy what must
 * outlive the call. Returning a string stops the scan at this batch (it then counts as damaged,
 * with that reason).
 */
export type BatchVisitor = (
  chunk: Buffer,
  at: number,
  header: BatchHeader,
  filePosition: number,
) => string | undefined;

function framingProblem(buffer: Buffer, at: number, remaining: number): string | undefined {
  const length = batchLength(buffer, at);
  if (length < BATCH_HEADER_BYTES || length > MAX_BATCH_BYTES) {
    return `invalid batch length ${length}`;
  }
  const magic = batchMagic(buffer, at);
  if (magic !== BATCH_MAGIC) return `unknown batch format ${magic}`;
  if (length > remaining) {
    return `batch of ${length} bytes cut off after ${remaining} bytes`;
  }
  return undefined;
}

export async function scanBatches(
  handle: FileHandle,
  from: number,
  to: number,
  visit: BatchVisitor,
  afterChunk?: () => Promise<void>,
): Promise<ScanOutcome> {
  const chunk = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(0, to - from)));
  let position = from;
  while (position < to) {
    const remaining = to - position;
    if (remaining < BATCH_HEADER_BYTES) {
      return { end: position, problem: `${remaining} trailing bytes, shorter than a batch header` };
    }
    const want = Math.min(remaining, chunk.length);
    await readFully(handle, chunk, want, position);
    let at = 0;
    while (at + BATCH_HEADER_BYTES <= want) {
      const problem = framingProblem(chunk, at, remaining - at);
      if (problem !== undefined) return { end: position + at, problem };
      const length = batchLength(chunk, at);
      if (at + length > want) break;
      if (!batchCrcMatches(chunk, at, length)) {
        return { end: position + at, problem: 'checksum mismatch' };
      }
      const stop = visit(chunk, at, readBatchHeader(chunk, at), position + at);
      if (stop !== undefined) return { end: position + at, problem: stop };
      at += length;
    }
    if (at === 0) {
      // One batch larger than the chunk (its length was checked against MAX_BATCH_BYTES and the
      // bytes left): read it whole.
      const length = batchLength(chunk, 0);
      const whole = Buffer.allocUnsafe(length);
      await readFully(handle, whole, length, position);
      if (!batchCrcMatches(whole, 0, length)) {
        return { end: position, problem: 'checksum mismatch' };
      }
      const stop = visit(whole, 0, readBatchHeader(whole, 0), position);
      if (stop !== undefined) return { end: position, problem: stop };
      at = length;
    }
    position += at;
    if (afterChunk !== undefined) await afterChunk();
  }
  return { end: position };
}
