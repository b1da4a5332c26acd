// The source pump's conversion fast path: converters writing into a batch's byte arena
// (runtime/converters/byte-arena.ts) give byte for byte what fromConnect gives, and the arena's
// slabs are shared, reused only once released, and never handed out twice.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectSchema, RecordData } from '../../../runtime/api/record.ts';
import { SlabPool } from '../../../runtime/converters/byte-arena.ts';
import { JsonConverter } from '../../../runtime/converters/json-converter.ts';
import { StringConverter } from '../../../runtime/converters/string-converter.ts';

const texts = [
  '',
  'plain ascii',
  'ü é — “quotes” 日本語',
  'emoji 😀 pair',
  'lone \ud800 high and \udc00 low surrogates',
  'x'.repeat(70_000),
];

describe('byte arena', () => {
  it('concat gives exactly Buffer.from(prefix + text + suffix)', () => {
    const pool = new SlabPool(64 * 1024);
    const arena = pool.arena();
    const prefix = Buffer.from('{"schema":{"type":"string"},"payload":');
    const suffix = Buffer.from('}');
    const views: Array<[Buffer, string]> = [];
    for (const text of texts) {
      views.push([arena.concat(prefix, text, suffix), `${prefix}${text}${suffix}`]);
      views.push([arena.concat(null, text, null), text]);
    }
    // Checked after all writes: no view was overwritten by a later one.
    for (const [view, expected] of views) assert.deepEqual(view, Buffer.from(expected));
    assert.equal(
      arena.bytes,
      views.reduce((sum, [view]) => sum + view.length, 0),
    );
  });

  it('reuses a slab only after every arena that wrote into it was released', () => {
    const pool = new SlabPool(4096, 1 << 20);
    const first = pool.arena();
    const a = first.concat(null, 'a'.repeat(1000), null);
    const second = pool.arena();
    const b = second.concat(null, 'b'.repeat(1000), null);
    assert.equal(a.buffer, b.buffer, 'consecutive arenas share the slab being filled');
    first.release();
    // Fill the shared slab and move on: it is not recycled while `second` holds it.
    const third = pool.arena();
    third.concat(null, 'c'.repeat(3000), null);
    assert.equal(b.toString(), 'b'.repeat(1000));
    const fourth = pool.arena();
    const d = fourth.concat(null, 'd'.repeat(3000), null);
    assert.notEqual(d.buffer, b.buffer);
    assert.equal(b.toString(), 'b'.repeat(1000));
    second.release();
    third.release();
    fourth.release();
    const allocated = pool.allocated;
    // Released slabs come back instead of new ones.
    const fifth = pool.arena();
    for (let i = 0; i < 4; i++) fifth.concat(null, 'e'.repeat(3000), null);
    assert.ok(pool.allocated <= allocated + 1, `${pool.allocated} slabs for ${allocated}`);
    fifth.release();
  });

  it('keeps at most maxIdleBytes of idle slabs, and refuses writes after release', () => {
    const pool = new SlabPool(1024, 2048);
    const arenas = Array.from({ length: 6 }, () => {
      const arena = pool.arena();
      arena.concat(null, 'z'.repeat(1000), null);
      return arena;
    });
    for (const arena of arenas) arena.release();
    assert.ok(pool.idleBytes <= 2048);
    assert.throws(() => arenas[0]!.concat(null, 'late', null), /released/);
  });

  it('gives a record larger than a slab a buffer of its own', () => {
    const pool = new SlabPool(1024);
    const arena = pool.arena();
    const big = arena.concat(Buffer.from('['), 'é'.repeat(2000), Buffer.from(']'));
    assert.deepEqual(big, Buffer.from(`[${'é'.repeat(2000)}]`));
    assert.equal(pool.allocated, 0);
  });
});

describe('converter fast path (fromConnectTo)', () => {
  const schema: ConnectSchema = {
    type: 'struct',
    name: 'server.public.orders.Envelope',
    optional: false,
    version: 2,
    fields: [
      {
        field: 'after',
        type: 'struct',
        optional: true,
        name: 'server.public.orders.Value',
        fields: [
          { field: 'id', type: 'int64', optional: false },
          { field: 'note', type: 'string', optional: true, default: 'none' },
          {
            field: 'amount',
            type: 'bytes',
            optional: true,
            name: 'org.apache.kafka.connect.data.Decimal',
            version: 1,
            parameters: { scale: '2', 'connect.decimal.precision': '12' },
          },
          { field: 'tags', type: 'array', items: { type: 'string' }, optional: true },
          {
            field: 'attrs',
            type: 'map',
            keys: { type: 'string' },
            values: { type: 'int32' },
            optional: true,
          },
        ],
      },
      { field: 'op', type: 'string', optional: false },
      { field: 'ts_ms', type: 'int64', optional: true },
    ],
  };
  const values: RecordData[] = [
    null,
    { after: null, op: 'd', ts_ms: 1 },
    {
      after: {
        id: 1,
        note: 'ü 😀 \ud800',
        amount: Buffer.from([1, 2, 3]),
        tags: ['a', 'b'],
        attrs: { x: 1 },
      },
      op: 'c',
      ts_ms: 1_700_000_000_000,
    },
    { after: { id: 9223372036854775807n, note: 'big', tags: [] }, op: 'u', ts_ms: null },
    { after: { id: 2, note: 'x'.repeat(1_500_000) }, op: 'r', ts_ms: 3 },
  ];

  for (const schemasEnabled of [true, false]) {
    it(`JsonConverter (schemas.enable=${schemasEnabled}) writes the bytes fromConnect writes`, () => {
      const slow = new JsonConverter(schemasEnabled);
      const fast = new JsonConverter(schemasEnabled);
      const arena = new SlabPool().arena();
      for (const value of values) {
        for (const recordSchema of [schema, undefined]) {
          const expected = slow.fromConnect('t', recordSchema, value);
          const actual = fast.fromConnectTo('t', recordSchema, value, arena);
          assert.deepEqual(actual, expected);
          if (expected !== null) {
            assert.deepEqual(
              slow.toConnect('t', actual).value,
              slow.toConnect('t', expected).value,
            );
          }
        }
      }
      arena.release();
    });
  }

  it('the cached envelope head follows the schema object, not a stale copy', () => {
    const converter = new JsonConverter(true);
    const arena = new SlabPool().arena();
    const a: ConnectSchema = { type: 'string', optional: true };
    const b: ConnectSchema = { type: 'int32', optional: false };
    assert.equal(
      converter.fromConnectTo('t', a, 'x', arena)!.toString(),
      '{"schema":{"type":"string","optional":true},"payload":"x"}',
    );
    assert.equal(
      converter.fromConnectTo('t', b, 5, arena)!.toString(),
      '{"schema":{"type":"int32","optional":false},"payload":5}',
    );
    assert.equal(
      converter.fromConnectTo('t', undefined, 'y', arena)!.toString(),
      '{"schema":null,"payload":"y"}',
    );
  });

  it('StringConverter writes the bytes fromConnect writes', () => {
    const converter = new StringConverter();
    const arena = new SlabPool().arena();
    const raw = Buffer.from([0xff, 0x00]);
    for (const value of [null, ...texts, { a: 1n }, raw] as RecordData[]) {
      assert.deepEqual(
        converter.fromConnectTo('t', undefined, value, arena),
        converter.fromConnect('t', undefined, value),
      );
    }
  });
});
