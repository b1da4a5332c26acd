// The kafka backend's Fetch v11 decoder and record sizes, on bytes built here (no broker needed):
// record fields and headers, gzip batches, batches emptied by compaction, transaction markers,
// a batch cut by the byte limit, and the serialized sizes append() checks against the limit.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import {
  decodeFetchResponse,
  decodeRecords,
  takeRecords,
  type FetchedBatch,
} from '../../../runtime/log/kafka/fetch-decoder.ts';
import { decompress } from '../../../runtime/log/kafka/kafka-client.ts';
import {
  RECORD_BATCH_OVERHEAD,
  recordSize,
  singleRecordBatchSize,
  varintSize,
} from '../../../runtime/log/kafka/record-size.ts';
import type { LogRecord } from '../../../runtime/log/log.ts';

function varint(value: number): Buffer {
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1;
  const bytes: number[] = [];
  while (zigzag >= 128) {
    bytes.push((zigzag % 128) | 0x80);
    zigzag = Math.floor(zigzag / 128);
  }
  bytes.push(zigzag);
  return Buffer.from(bytes);
}

const varBytes = (value: Buffer | null) =>
  value === null ? varint(-1) : Buffer.concat([varint(value.length), value]);

function record(offsetDelta: number, timestampDelta: number, item: LogRecord): Buffer {
  const headers = Object.entries(item.headers ?? {});
  const body = Buffer.concat([
    Buffer.from([0]),
    varint(timestampDelta),
    varint(offsetDelta),
    varBytes(item.key),
    varBytes(item.value),
    varint(headers.length),
    ...headers.map(([key, value]) => Buffer.concat([varBytes(Buffer.from(key)), varBytes(value)])),
  ]);
  return Buffer.concat([varint(body.length), body]);
}

function int64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt(value));
  return buffer;
}

function batch(
  baseOffset: number,
  items: LogRecord[],
  options: { lastOffsetDelta?: number; attributes?: number; gzip?: boolean } = {},
): Buffer {
  const records = Buffer.concat(items.map((item, i) => record(i, i * 10, item)));
  const attributes = (options.attributes ?? 0) | (options.gzip ? 1 : 0);
  const afterLength = Buffer.alloc(4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4);
  let at = 0;
  at = afterLength.writeInt32BE(0, at); // partition leader epoch
  at = afterLength.writeInt8(2, at); // magic
  at = afterLength.writeInt32BE(0, at); // crc (not checked by the decoder)
  at = afterLength.writeInt16BE(attributes, at);
  at = afterLength.writeInt32BE(options.lastOffsetDelta ?? items.length - 1, at);
  afterLength.writeBigInt64BE(1_000n, at); // base timestamp
  afterLength.writeBigInt64BE(5_000n, at + 8); // max timestamp
  afterLength.writeBigInt64BE(7n, at + 16); // producer id
  at += 24 + 2 + 4;
  afterLength.writeInt32BE(items.length, at);
  const body = Buffer.concat([afterLength, options.gzip ? gzipSync(records) : records]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length);
  return Buffer.concat([int64(baseOffset), length, body]);
}

function fetchResponse(topic: string, partition: number, records: Buffer, errorCode = 0): Buffer {
  const head = Buffer.alloc(4 + 2 + 4 + 4);
  head.writeInt32BE(0, 0); // throttle
  head.writeInt16BE(0, 4);
  head.writeInt32BE(0, 6); // session
  head.writeInt32BE(1, 10); // one topic
  const name = Buffer.from(topic);
  const nameLength = Buffer.alloc(2);
  nameLength.writeInt16BE(name.length);
  const partitionHead = Buffer.alloc(4 + 4 + 2 + 8 + 8 + 8 + 4 + 4 + 4);
  let at = partitionHead.writeInt32BE(1, 0); // one partition
  at = partitionHead.writeInt32BE(partition, at);
  at = partitionHead.writeInt16BE(errorCode, at);
  partitionHead.writeBigInt64BE(100n, at); // high watermark
  partitionHead.writeBigInt64BE(100n, at + 8); // last stable offset
  partitionHead.writeBigInt64BE(3n, at + 16); // log start offset
  at += 24;
  at = partitionHead.writeInt32BE(-1, at); // no aborted transactions
  at = partitionHead.writeInt32BE(-1, at); // preferred read replica
  partitionHead.writeInt32BE(records.length, at);
  return Buffer.concat([head, nameLength, name, partitionHead, records]);
}

const take = (batches: FetchedBatch[], position: number, maxRecords = 100, maxBytes = Infinity) =>
  takeRecords(batches, { topic: 't', partition: 2, position, maxRecords, maxBytes, decompress });

describe('kafka log: fetch decoding', () => {
  it('decodes records with keys, values, headers, timestamps and offsets', async () => {
    const payload = fetchResponse(
      't',
      2,
      batch(40, [
        { key: Buffer.from('k'), value: Buffer.from('v'), headers: { h: Buffer.from('x') } },
        { key: null, value: null },
        { key: Buffer.alloc(0), value: Buffer.alloc(300, 7) },
      ]),
    );
    const response = decodeFetchResponse(payload);
    assert.equal(response.partitions.length, 1);
    const [partition] = response.partitions;
    assert.deepEqual(
      { ...partition!, batches: partition!.batches.length },
      { topic: 't', partition: 2, errorCode: 0, highWatermark: 100, logStartOffset: 3, batches: 1 },
    );
    const records = await decodeRecords(partition!.batches[0]!, 't', 2, decompress);
    assert.deepEqual(
      records.map((r) => [
        r.offset,
        r.timestamp,
        r.key?.toString() ?? null,
        r.value?.length ?? null,
      ]),
      [
        [40, 1000, 'k', 1],
        [41, 1010, null, null],
        [42, 1020, '', 300],
      ],
    );
    assert.equal(records[0]!.headers.h?.toString(), 'x');
    assert.deepEqual(records[1]!.headers, {});
  });

  it('decompresses gzip batches and skips records before the position', async () => {
    const items = Array.from({ length: 50 }, (_, i) => ({
      key: null,
      value: Buffer.from(`v${i}`),
    }));
    const { partitions } = decodeFetchResponse(
      fetchResponse('t', 2, batch(0, items, { gzip: true })),
    );
    const { records } = await take(partitions[0]!.batches, 45);
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      ['v45', 'v46', 'v47', 'v48', 'v49'],
    );
  });

  it('steps over batches that compaction emptied and over transaction markers', async () => {
    const records = Buffer.concat([
      batch(10, [], { lastOffsetDelta: 4 }), // offsets 10..14 compacted away, header kept
      batch(15, [{ key: null, value: null }], { attributes: 0x20 }), // a control batch
    ]);
    const { partitions } = decodeFetchResponse(fetchResponse('t', 2, records));
    assert.deepEqual(
      partitions[0]!.batches.map((b) => [b.baseOffset, b.lastOffset, b.control, b.count]),
      [
        [10, 14, false, 0],
        [15, 15, true, 1],
      ],
    );
    assert.deepEqual(await take(partitions[0]!.batches, 12), { records: [], next: 16 });
  });

  it('leaves out a batch the byte limit cut, and stops at maxRecords and maxBytes', async () => {
    const whole = batch(0, [
      { key: null, value: Buffer.alloc(10) },
      { key: null, value: Buffer.alloc(10) },
    ]);
    const cut = batch(2, [{ key: null, value: Buffer.alloc(100) }]).subarray(0, 40);
    const { partitions } = decodeFetchResponse(fetchResponse('t', 2, Buffer.concat([whole, cut])));
    assert.equal(partitions[0]!.batches.length, 1);
    assert.equal((await take(partitions[0]!.batches, 0, 1)).records.length, 1);
    assert.equal((await take(partitions[0]!.batches, 0, 100, 15)).records.length, 1);
    assert.equal((await take(partitions[0]!.batches, 0, 100, 1)).records.length, 1, 'at least one');
    assert.equal((await take(partitions[0]!.batches, 0)).records.length, 2);
  });

  it('passes partition error codes through', () => {
    const { partitions } = decodeFetchResponse(fetchResponse('t', 2, Buffer.alloc(0), 1));
    assert.equal(partitions[0]!.errorCode, 1);
    assert.deepEqual(partitions[0]!.batches, []);
  });
});

describe('kafka log: record sizes', () => {
  it('matches the bytes the batch encoder writes', () => {
    for (const item of [
      { key: null, value: null },
      { key: Buffer.from('key'), value: Buffer.alloc(1000) },
      {
        key: Buffer.alloc(200),
        value: Buffer.alloc(70_000),
        headers: { a: Buffer.alloc(3), bé: Buffer.alloc(0) },
      },
    ]) {
      assert.equal(recordSize(item), record(0, 0, item).length);
      assert.equal(recordSize(item, 123_456, 300), record(300, 123_456, item).length);
      assert.equal(singleRecordBatchSize(item), batch(0, [item]).length);
      assert.equal(batch(0, [item]).length, RECORD_BATCH_OVERHEAD + recordSize(item));
    }
  });

  it('counts zigzag varint bytes', () => {
    for (const value of [0, -1, 63, -64, 64, 8191, 8192, 2 ** 31 - 1, -(2 ** 31), 2 ** 40]) {
      assert.equal(varintSize(value), varint(value).length, String(value));
    }
  });
});
