import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogRecord } from '../../../runtime/log/log.ts';
import {
  BATCH_HEADER_BYTES,
  RecordCursor,
  batchCrcMatches,
  batchLength,
  encodeBatches,
  readBatchHeader,
  recordSize,
} from '../../../runtime/log/local/record-batch.ts';

function decodeAll(buffer: Buffer) {
  const out = [];
  const cursor = new RecordCursor();
  for (let at = 0; at < buffer.length; at += batchLength(buffer, at)) {
    const header = readBatchHeader(buffer, at);
    assert.ok(batchCrcMatches(buffer, at, header.length));
    let p = at + BATCH_HEADER_BYTES;
    for (let i = 0; i < header.recordCount; i++) {
      p = cursor.load(buffer, p, header.baseOffset);
      out.push({
        offset: cursor.offset,
        timestamp: cursor.timestamp,
        key: cursor.key(),
        value: cursor.value(),
        headers: cursor.headers(),
        size: cursor.size,
      });
    }
    assert.equal(p, at + header.length, 'the records fill the batch exactly');
  }
  return out;
}

const records: LogRecord[] = [
  { key: Buffer.from('k1'), value: Buffer.from('v1'), timestamp: 1_700_000_000_123 },
  { key: null, value: Buffer.from('keyless') },
  { key: Buffer.from('tomb'), value: null, headers: {} },
  {
    key: Buffer.alloc(0),
    value: Buffer.alloc(0),
    headers: { 'content-type': Buffer.from('json'), ünïcode: Buffer.from([0, 1, 2]) },
    timestamp: -5,
  },
];

test('records round-trip with keys, nulls, empty buffers, headers and timestamps', () => {
  const sizes = records.map(recordSize);
  const encoded = encodeBatches(records, null, sizes, 41, 99, 1024 * 1024);
  assert.equal(encoded.baseOffsets.length, 1);
  const decoded = decodeAll(encoded.buffer);
  assert.deepEqual(
    decoded.map((r) => r.offset),
    [41, 42, 43, 44],
  );
  decoded.forEach((record, i) => {
    const original = records[i]!;
    assert.deepEqual(record.key, original.key);
    assert.deepEqual(record.value, original.value);
    assert.deepEqual(record.headers, original.headers ?? {});
    assert.equal(record.timestamp, original.timestamp ?? 99);
    assert.equal(record.size, sizes[i], 'recordSize is the encoded size');
  });
  const header = readBatchHeader(encoded.buffer, 0);
  assert.equal(header.maxTimestamp, 1_700_000_000_123);
  assert.equal(header.lastOffsetDelta, 3);
});

test('records sharing a headers object, across batches and calls, each carry its headers', () => {
  const shared = { 'kafki.source.version': Buffer.from('123'), ü: Buffer.from([9]) };
  const other = { x: Buffer.from('y') };
  const many: LogRecord[] = Array.from({ length: 30 }, (_, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.alloc(50, i),
    headers: i % 7 === 3 ? other : i % 11 === 5 ? undefined : shared,
  }));
  const check = (expected: LogRecord[]) => {
    const sizes = expected.map(recordSize);
    const encoded = encodeBatches(expected, null, sizes, 0, 1, 400);
    assert.ok(encoded.baseOffsets.length > 1);
    decodeAll(encoded.buffer).forEach((record, i) => {
      assert.deepEqual(record.headers, expected[i]!.headers ?? {});
      assert.equal(record.size, sizes[i]);
    });
  };
  check(many);
  // The same object changed between calls: the next call encodes what it holds then.
  shared['kafki.source.version'] = Buffer.from('4567');
  check(many);
});

test('an append is cut into batches of at most maxBatchBytes, one oversized record alone', () => {
  const many: LogRecord[] = Array.from({ length: 20 }, (_, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.alloc(i === 7 ? 5000 : 100, i),
  }));
  const sizes = many.map(recordSize);
  const encoded = encodeBatches(many, null, sizes, 0, 1, 1000);
  for (let b = 0; b < encoded.baseOffsets.length; b++) {
    const length = encoded.bounds[b + 1]! - encoded.bounds[b]!;
    const header = readBatchHeader(encoded.buffer, encoded.bounds[b]!);
    assert.ok(length <= 1000 || header.recordCount === 1, `batch ${b} is ${length} bytes`);
  }
  assert.ok(encoded.baseOffsets.length > 3);
  assert.deepEqual(
    decodeAll(encoded.buffer).map((r) => r.offset),
    many.map((_, i) => i),
  );
  // The offsets of consecutive batches follow each other.
  for (let b = 1; b < encoded.baseOffsets.length; b++) {
    assert.equal(encoded.baseOffsets[b], encoded.lastOffsets[b - 1]! + 1);
  }
});

test('a batch never ends between joined records (both survive a torn write or neither)', () => {
  // Groups of three joined records of 300 bytes: at most 1,000 bytes per batch would cut inside.
  const many: LogRecord[] = Array.from({ length: 30 }, (_, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.alloc(300, i),
    ...(i % 3 !== 2 ? { joinsNext: true } : {}),
  }));
  const encoded = encodeBatches(many, null, many.map(recordSize), 0, 1, 1000);
  assert.ok(encoded.baseOffsets.length >= 10, `${encoded.baseOffsets.length} batches`);
  for (const last of encoded.lastOffsets) assert.equal(last % 3, 2, `a batch ends at ${last}`);
  assert.deepEqual(
    decodeAll(encoded.buffer).map((r) => r.offset),
    many.map((_, i) => i),
  );
});

test('encoding a subset (one partition of an append) keeps its order', () => {
  const sizes = records.map(recordSize);
  const encoded = encodeBatches(records, [3, 0], sizes, 10, 5, 1024);
  const decoded = decodeAll(encoded.buffer);
  assert.deepEqual(
    decoded.map((r) => [r.offset, r.value?.toString()]),
    [
      [10, ''],
      [11, 'v1'],
    ],
  );
});

test('the CRC catches a single flipped bit anywhere in the batch but the CRC field', () => {
  const sizes = records.map(recordSize);
  const { buffer } = encodeBatches(records, null, sizes, 7, 1, 1024 * 1024);
  const length = batchLength(buffer, 0);
  for (let byte = 0; byte < length; byte++) {
    if (byte >= 12 && byte < 16) continue; // the CRC itself
    for (const bit of [0, 3, 7]) {
      const damaged = Buffer.from(buffer);
      damaged[byte]! ^= 1 << bit;
      // A flipped length byte changes how much is checked; the CRC still disagrees.
      const checked = byte >= 8 && byte < 12 ? Math.min(batchLength(damaged, 0), length) : length;
      assert.equal(
        batchCrcMatches(damaged, 0, checked),
        false,
        `bit ${bit} of byte ${byte} went unnoticed`,
      );
    }
  }
  assert.ok(batchCrcMatches(buffer, 0, length));
});

test('encoding into a reused (dirty) buffer writes every byte: same bytes as into a zeroed one', () => {
  const sizes = records.map(recordSize);
  const clean = encodeBatches(records, null, sizes, 3, 42, 1024 * 1024, (n) => Buffer.alloc(n));
  const dirty = encodeBatches(records, null, sizes, 3, 42, 1024 * 1024, (n) =>
    Buffer.alloc(n + 16, 0xa5).subarray(8, 8 + n),
  );
  assert.ok(dirty.buffer.equals(clean.buffer));
  assert.deepEqual(dirty.bounds, clean.bounds);
  assert.ok(batchCrcMatches(dirty.buffer, 0, batchLength(dirty.buffer, 0)));
});
