// The compiled payload writer (runtime/converters/json-payload-writer.ts): whenever it writes a
// value, the bytes are exactly UTF-8(JSON.stringify(value)); otherwise it gives up (NO_ROOM or
// UNSUPPORTED), and the arena keeps nothing of the attempt.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectSchema, RecordData } from '../../../runtime/api/record.ts';
import { jsonBytes } from '../../../runtime/cdc/json-bytes.ts';
import { SlabPool } from '../../../runtime/converters/byte-arena.ts';
import {
  NO_ROOM,
  payloadWriter,
  UNSUPPORTED,
} from '../../../runtime/converters/json-payload-writer.ts';

const row: ConnectSchema = {
  type: 'struct',
  optional: true,
  fields: [
    { field: 'id', type: 'int64', optional: false },
    { field: 'name', type: 'string', optional: true },
    { field: 'score', type: 'float64', optional: true },
    { field: 'paid', type: 'boolean', optional: true },
    { field: 'amount', type: 'bytes', optional: true },
    { field: 'tags', type: 'array', items: { type: 'string' }, optional: true },
    {
      field: 'attrs',
      type: 'map',
      keys: { type: 'string' },
      values: { type: 'int32' },
      optional: true,
    },
    {
      field: 'inner',
      type: 'struct',
      optional: true,
      fields: [{ field: 'n', type: 'int32', optional: true }],
    },
  ],
};
const envelope: ConnectSchema = {
  type: 'struct',
  optional: false,
  fields: [
    { ...row, field: 'before' },
    { ...row, field: 'after' },
    { field: 'op', type: 'string', optional: false },
    { field: 'ts_ms', type: 'int64', optional: true },
  ],
};

const strings = [
  '',
  'plain',
  'quote " backslash \\ slash /',
  'controls \u0000 \u0001 \b \t \n \f \r \u001f del \u007f',
  'ü é — “quotes” 日本語',
  'emoji 😀 pair',
  'lone \ud800 high and \udc00 low',
  'x'.repeat(127),
  'x'.repeat(128),
  'y"'.repeat(200),
];
const numbers = [
  0,
  -0,
  1,
  -1,
  9,
  10,
  99_999_999,
  100_000_000,
  -100_000_001,
  2 ** 31,
  -(2 ** 31),
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  2 ** 53,
  1e21,
  1e-7,
  0.1,
  -0.5,
  3 / 7,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  NaN,
  Infinity,
  -Infinity,
];

function rowValue(i: number): Record<string, RecordData> {
  return {
    id: numbers[i % numbers.length]!,
    name: strings[i % strings.length]!,
    score: numbers[(i + 3) % numbers.length]!,
    paid: i % 2 === 0,
    amount: jsonBytes(Buffer.from([i, 255, 0])),
    tags: i % 3 === 0 ? null : [strings[(i + 1) % strings.length]!, 'b'],
    attrs: i % 4 === 0 ? null : { [strings[(i + 2) % strings.length]!]: i },
    inner: i % 5 === 0 ? null : { n: i },
  };
}

/** The written bytes, or the writer's failure code. */
function written(
  schema: ConnectSchema | undefined,
  value: unknown,
  room = 1 << 20,
): Buffer | number {
  const buffer = Buffer.alloc(room + 8, 0xaa);
  const end = payloadWriter(schema)(value as RecordData, buffer, 4, 4 + room);
  // Nothing outside [4, 4 + room) is touched.
  assert.deepEqual(buffer.subarray(0, 4), Buffer.alloc(4, 0xaa));
  assert.deepEqual(buffer.subarray(4 + room), Buffer.alloc(4, 0xaa));
  return end < 0 ? end : buffer.subarray(4, end);
}

function assertExact(schema: ConnectSchema | undefined, value: unknown): void {
  const out = written(schema, value);
  const expected = JSON.stringify(value)!;
  assert.ok(Buffer.isBuffer(out), `gave up (${String(out)}) on ${expected}`);
  assert.equal(out.toString('utf8'), expected);
  assert.deepEqual(out, Buffer.from(expected));
}

describe('payload writer', () => {
  it('writes exactly JSON.stringify for envelopes of every kind of value', () => {
    for (let i = 0; i < 200; i++) {
      assertExact(envelope, {
        before: i % 3 === 0 ? null : rowValue(i + 7),
        after: rowValue(i),
        op: strings[i % strings.length],
        ts_ms: numbers[i % numbers.length],
      });
    }
  });

  it('writes exactly JSON.stringify for primitives and values without a struct schema', () => {
    for (const value of [...strings, ...numbers, true, false, null, [1, 'a', null]]) {
      assertExact(undefined, value);
      assertExact({ type: 'string', optional: true }, value);
    }
    assertExact(undefined, { a: [{ b: 'c' }], d: new Date(0) });
  });

  it('follows the object, not the schema, when their keys differ (JSON.stringify does)', () => {
    assertExact(row, { name: 'x', id: 1 });
    assertExact(row, { ...rowValue(1), extra: 'y' });
    assertExact(row, { 2: 'integer keys come first', ...rowValue(2) });
    assertExact(envelope, { before: null, after: { id: 1 }, op: 'c', ts_ms: 1 });
    const inherited = Object.create({ inheritedKey: 1 }) as Record<string, RecordData>;
    Object.assign(inherited, rowValue(3));
    assertExact(row, inherited);
  });

  it('calls toJSON with the property name, as JSON.stringify does', () => {
    const keys: string[] = [];
    const spy = {
      toJSON(key: string) {
        keys.push(key);
        return `k:${key}`;
      },
    };
    assertExact(envelope, { before: null, after: null, op: spy, ts_ms: 1 });
    assertExact(undefined, spy);
    // Once for the writer, once for JSON.stringify, per call.
    assert.deepEqual(keys, ['op', 'op', '', '']);
  });

  it('gives up on what only the exact path writes (bigint, plain Buffers, undefined)', () => {
    const base = rowValue(1);
    assert.equal(written(row, { ...base, id: 2n ** 63n - 1n }), UNSUPPORTED);
    assert.equal(written(row, { ...base, amount: Buffer.from([1]) }), UNSUPPORTED);
    assert.equal(written(row, { ...base, name: undefined }), UNSUPPORTED);
    assert.equal(written(row, { ...base, tags: [1n] }), UNSUPPORTED);
    assert.equal(written(undefined, 1n), UNSUPPORTED);
    assert.equal(written(undefined, { toJSON: () => ({ nested: true }) }), UNSUPPORTED);
  });

  it('reports NO_ROOM instead of writing past the end (it asks for some slack)', () => {
    const value = { before: null, after: rowValue(1), op: 'c', ts_ms: 1 };
    const length = Buffer.byteLength(JSON.stringify(value));
    for (let room = 0; room < length; room++) {
      assert.equal(written(envelope, value, room), NO_ROOM, `room ${room}`);
    }
    assert.equal((written(envelope, value, length + 1024) as Buffer).length, length);
  });
});

describe('byte arena write', () => {
  it('keeps nothing of a failed write and moves on to a fresh slab when out of room', () => {
    const pool = new SlabPool(64 * 1024);
    const arena = pool.arena();
    const writer = payloadWriter(row);
    const prefix = Buffer.from('{"payload":');
    const suffix = Buffer.from('}');
    const views: Array<[Buffer, string]> = [];
    for (let i = 0; i < 400; i++) {
      const value = i % 50 === 0 ? { ...rowValue(i), name: 'z'.repeat(20_000) } : rowValue(i);
      const view = arena.write(prefix, writer, value, suffix);
      assert.ok(view !== null);
      views.push([view, `{"payload":${JSON.stringify(value)}}`]);
      assert.equal(arena.write(prefix, writer, { ...value, id: 1n }, suffix), null);
    }
    for (const [view, text] of views) assert.equal(view.toString(), text);
    assert.ok(pool.allocated > 1);
    assert.equal(arena.write(null, writer, { name: 'x'.repeat(70_000) }, null), null);
    arena.release();
    assert.throws(() => arena.write(null, writer, null, null), /released/);
  });
});
