// Document ids, versions from source positions, value normalization and mappings from Connect
// schemas: pure functions of the Elasticsearch sink.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectSchema, SinkRecord } from '../../../runtime/api/index.ts';
import {
  documentIdFromKey,
  documentIdFromPosition,
} from '../../../connectors/elasticsearch/document-id.ts';
import { toJson } from '../../../connectors/elasticsearch/json.ts';
import { fieldMapping, indexMappings } from '../../../connectors/elasticsearch/mapping.ts';
import {
  decimalValue,
  NormalizerCache,
} from '../../../connectors/elasticsearch/value-normalizer.ts';
import {
  binlogPosition,
  envelopePosition,
  fieldPosition,
  headerPosition,
  toPosition,
} from '../../../connectors/elasticsearch/version.ts';

function record(key: SinkRecord['key'], keySchema?: ConnectSchema): SinkRecord {
  return {
    topic: 't',
    partition: 2,
    offset: 9,
    key,
    value: {},
    ...(keySchema ? { keySchema } : {}),
  };
}

test('document ids from keys', () => {
  assert.equal(documentIdFromKey(record('abc')), 'abc');
  assert.equal(documentIdFromKey(record(42)), '42');
  assert.equal(documentIdFromKey(record(12345678901234567890n)), '12345678901234567890');
  assert.equal(documentIdFromKey(record(true)), 'true');
  assert.equal(documentIdFromKey(record(Buffer.from([1, 2, 255]))), 'AQL/');
  assert.equal(documentIdFromKey(record({ id: 42 })), '42', 'one field: its value');
  assert.equal(documentIdFromKey(record({ id: 'x' })), 'x');
  assert.equal(documentIdFromKey(record({ a: 1, b: 'x' })), '[1,"x"]');
  assert.equal(documentIdFromKey(record({ a: 'x,y', b: 'z' })), '["x,y","z"]');
  assert.notEqual(
    documentIdFromKey(record({ a: 'x,y', b: 'z' })),
    documentIdFromKey(record({ a: 'x', b: 'y,z' })),
  );
  const schema: ConnectSchema = {
    type: 'struct',
    fields: [
      { field: 'b', type: 'string' },
      { field: 'a', type: 'int32' },
    ],
  };
  assert.equal(documentIdFromKey(record({ a: 1, b: 'x' }, schema)), '["x",1]', 'schema order');
  assert.equal(
    documentIdFromKey(record({ a: 2n ** 70n, b: null })),
    '[1180591620717411303424,null]',
  );
  assert.equal(documentIdFromKey(record([1, 'a'])), '[1,"a"]');
  assert.throws(() => documentIdFromKey(record(null)), /can not be null.*key\.ignore=true/);
  assert.throws(() => documentIdFromKey(record({ id: null })), /no usable value/);
  assert.throws(() => documentIdFromKey(record('é'.repeat(300))), /longer than 512 bytes/);
  assert.equal(documentIdFromKey(record('a'.repeat(512))).length, 512);
  assert.equal(documentIdFromPosition(record(null)), 't+2+9');
});

test('positions: numbers, decimal strings, LSN text, bigints up to 2^63-1', () => {
  assert.equal(toPosition(123), 123);
  assert.equal(toPosition(-1), undefined);
  assert.equal(toPosition(1.5), undefined);
  assert.equal(toPosition('123'), 123);
  assert.equal(toPosition('9223372036854775807'), 9223372036854775807n);
  assert.equal(toPosition('9223372036854775808'), undefined);
  assert.equal(toPosition(5n), 5);
  assert.equal(toPosition('16/B374D848'), 0x16 * 2 ** 32 + 0xb374d848);
  assert.equal(toPosition('abc'), undefined);
  assert.equal(toPosition(null), undefined);
  assert.equal(binlogPosition('mysql-bin.000003', 4), 3 * 2 ** 32 + 4);
  assert.equal(binlogPosition('mysql-bin.000003', 2 ** 32), undefined);
  assert.equal(binlogPosition('nonumber', 4), undefined);
  assert.ok(
    (binlogPosition('mysql-bin.000002', 4_000_000_000) as number) <
      (binlogPosition('mysql-bin.000003', 4) as number),
  );
  assert.equal(envelopePosition({ connector: 'postgresql', lsn: 33_554_432 }), 33_554_432);
  assert.equal(
    envelopePosition({ connector: 'mysql', file: 'binlog.000001', pos: 157 }),
    2 ** 32 + 157,
  );
  assert.equal(envelopePosition({ connector: 'x' }), undefined);
  assert.equal(envelopePosition(null), undefined);
  assert.equal(fieldPosition({ __lsn: 77 }, '__lsn'), 77);
  assert.equal(fieldPosition({ __file: 'b.000002', __pos: 9 }, '__lsn'), 2 * 2 ** 32 + 9);
  assert.equal(fieldPosition({ other: 1 }, '__lsn'), undefined);
  assert.equal(headerPosition({ __lsn: ' 88 ' }, '__lsn'), 88);
  assert.equal(headerPosition({}, '__lsn'), undefined);
  assert.equal(headerPosition({ v: '1' }, undefined), undefined);
});

test('JSON text: bigints as exact integers, bytes as base64', () => {
  assert.equal(toJson({ a: 1, b: 'x' }), '{"a":1,"b":"x"}');
  assert.equal(
    toJson({ big: 2n ** 64n, list: [1n, null] }),
    '{"big":18446744073709551616,"list":[1,null]}',
  );
  assert.equal(toJson({ bytes: Buffer.from('hi') }), '{"bytes":"aGk="}');
  assert.equal(
    toJson({ s: 'quote " and \\ and \n' }),
    JSON.stringify({ s: 'quote " and \\ and \n' }),
  );
});

const decimalSchema = (scale: number): ConnectSchema => ({
  type: 'bytes',
  name: 'org.apache.kafka.connect.data.Decimal',
  parameters: { scale: String(scale) },
});

function twosComplement(value: bigint, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let v = value < 0n ? (1n << BigInt(bytes * 8)) + value : value;
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

test('decimals: exact numbers while they fit a double, exact strings beyond', () => {
  assert.equal(decimalValue(twosComplement(12345n, 2), 2), 123.45);
  assert.equal(decimalValue(twosComplement(-5n, 1), 2), -0.05);
  assert.equal(decimalValue(twosComplement(0n, 1), 3), 0);
  assert.equal(decimalValue(twosComplement(7n, 1), 0), 7);
  assert.equal(
    decimalValue(twosComplement(123456789012345678901234n, 11), 4),
    '12345678901234567890.1234',
  );
  assert.equal(
    decimalValue(twosComplement(-123456789012345678901234n, 11), 4),
    '-12345678901234567890.1234',
  );
});

test('normalization follows the schema: dates, timestamps, decimals, nested; JSON stays text', () => {
  const schema: ConnectSchema = {
    type: 'struct',
    fields: [
      { field: 'id', type: 'int32' },
      { field: 'born', type: 'int32', name: 'io.debezium.time.Date' },
      { field: 'old', type: 'int32', name: 'org.apache.kafka.connect.data.Date' },
      { field: 'at', type: 'int64', name: 'io.debezium.time.MicroTimestamp' },
      { field: 'before', type: 'int64', name: 'io.debezium.time.MicroTimestamp' },
      { field: 'nano', type: 'int64', name: 'io.debezium.time.NanoTimestamp' },
      { field: 'ms', type: 'int64', name: 'io.debezium.time.Timestamp' },
      { ...decimalSchema(2), field: 'price' },
      {
        field: 'vsd',
        type: 'struct',
        name: 'io.debezium.data.VariableScaleDecimal',
        fields: [
          { field: 'scale', type: 'int32' },
          { field: 'value', type: 'bytes' },
        ],
      },
      { field: 'doc', type: 'string', name: 'io.debezium.data.Json' },
      { field: 'days', type: 'array', items: { type: 'int32', name: 'io.debezium.time.Date' } },
      {
        field: 'inner',
        type: 'struct',
        optional: true,
        fields: [{ field: 'd', type: 'int32', name: 'io.debezium.time.Date' }],
      },
      { field: 'missing', type: 'int32', name: 'io.debezium.time.Date', optional: true },
    ],
  };
  const normalize = new NormalizerCache().for(schema)!;
  assert.deepEqual(
    normalize({
      id: 1,
      born: 19782,
      old: 0,
      at: 1_700_000_000_123_456,
      before: -1,
      nano: 1_700_000_000_123_456_789n,
      ms: 1_700_000_000_123,
      price: twosComplement(1999n, 2),
      vsd: { scale: 3, value: twosComplement(-1500n, 2) },
      doc: '{"a":[1,2],"b":{"c":"d"}}',
      days: [0, 1, null],
      inner: { d: -1 },
      missing: null,
    }),
    {
      id: 1,
      born: '2024-02-29',
      old: '1970-01-01',
      at: '2023-11-14T22:13:20.123456Z',
      before: '1969-12-31T23:59:59.999999Z',
      nano: '2023-11-14T22:13:20.123456789Z',
      ms: 1_700_000_000_123,
      price: 19.99,
      vsd: -1.5,
      doc: '{"a":[1,2],"b":{"c":"d"}}',
      days: ['1970-01-01', '1970-01-02', null],
      inner: { d: '1969-12-31' },
      missing: null,
    },
  );
});

test('schemas that need no normalization cost nothing per record; shapes are cached', () => {
  const cache = new NormalizerCache();
  const plain: ConnectSchema = {
    type: 'struct',
    fields: [
      { field: 'a', type: 'string' },
      { field: 'b', type: 'int64' },
    ],
  };
  assert.equal(cache.for(plain), undefined);
  const dated = (): ConnectSchema => ({
    type: 'struct',
    fields: [{ field: 'd', type: 'int32', name: 'io.debezium.time.Date' }],
  });
  const first = cache.for(dated());
  assert.ok(first);
  assert.equal(cache.for(dated()), first, 'an equal schema in a new object reuses the normalizer');
});

test('mappings from Connect schemas', () => {
  const schema: ConnectSchema = {
    type: 'struct',
    name: 'pg.public.t.Value',
    fields: [
      { field: 'i8', type: 'int8' },
      { field: 'i16', type: 'int16' },
      { field: 'i32', type: 'int32' },
      { field: 'i64', type: 'int64' },
      { field: 'f32', type: 'float32' },
      { field: 'f64', type: 'float64' },
      { field: 'flag', type: 'boolean' },
      { field: 'name', type: 'string' },
      { field: 'raw', type: 'bytes' },
      { ...decimalSchema(2), field: 'price' },
      { field: 'day', type: 'int32', name: 'io.debezium.time.Date' },
      { field: 'ts', type: 'int64', name: 'io.debezium.time.MicroTimestamp' },
      { field: 'tz', type: 'string', name: 'io.debezium.time.ZonedTimestamp' },
      { field: 'ms', type: 'int64', name: 'org.apache.kafka.connect.data.Timestamp' },
      { field: 'tod', type: 'int64', name: 'io.debezium.time.MicroTime' },
      { field: 'uuid', type: 'string', name: 'io.debezium.data.Uuid' },
      { field: 'doc', type: 'string', name: 'io.debezium.data.Json' },
      { field: 'tags', type: 'array', items: { type: 'string' } },
      { field: 'attrs', type: 'map', keys: { type: 'string' }, values: { type: 'string' } },
      { field: 'point', type: 'struct', fields: [{ field: 'x', type: 'float64' }] },
    ],
  };
  const keyword = { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
  assert.deepEqual(indexMappings(schema), {
    dynamic: true,
    properties: {
      i8: { type: 'byte' },
      i16: { type: 'short' },
      i32: { type: 'integer' },
      i64: { type: 'long' },
      f32: { type: 'float' },
      f64: { type: 'double' },
      flag: { type: 'boolean' },
      name: keyword,
      raw: { type: 'binary' },
      price: { type: 'double' },
      day: { type: 'date' },
      ts: { type: 'date' },
      tz: { type: 'date' },
      ms: { type: 'date' },
      tod: { type: 'long' },
      uuid: { type: 'keyword' },
      doc: { type: 'text' },
      tags: keyword,
      attrs: { type: 'object' },
      point: { type: 'object', properties: { x: { type: 'double' } } },
    },
  });
  assert.equal(indexMappings(undefined), undefined);
  assert.equal(indexMappings({ type: 'string' }), undefined);
  assert.equal(fieldMapping({ type: 'array' }), undefined);
});
