// Type mapping on captured rows of a table with every common type: each column's Connect schema
// and value under Debezium's handling modes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectField, RecordData, RecordObject } from '../../../runtime/api/index.ts';
import { CaptureFilter, KeyColumnOverrides } from '../../../runtime/cdc/filters.ts';
import type {
  InsertMessage,
  RelationMessage,
  TypeMessage,
} from '../../../connectors/postgres/pgoutput-decoder.ts';
import { TableSchema } from '../../../connectors/postgres/table-schema.ts';
import {
  columnType,
  defaultTypeModes,
  type TypeModes,
} from '../../../connectors/postgres/type-mapping.ts';
import { Oid, TypeRegistry } from '../../../connectors/postgres/type-registry.ts';
import { fixture } from './fixtures.ts';
import { jsonBytes } from '../../../runtime/cdc/json-bytes.ts';

const captured = fixture('types').map((entry) => entry.message);
const relation = captured.find(
  (message): message is RelationMessage => message.tag === 'relation',
)!;
const inserts = captured.filter((message): message is InsertMessage => message.tag === 'insert');
const types = captured.filter((message): message is TypeMessage => message.tag === 'type');

function registry(): TypeRegistry {
  const hstore = types.find((type) => type.name === 'hstore')!;
  const mood = types.find((type) => type.name === 'fx_mood')!;
  const base = {
    elementOid: 0,
    baseOid: 0,
    baseTypeModifier: -1,
    delimiter: ',',
    enumLabels: undefined,
  };
  return new TypeRegistry([
    { ...base, oid: hstore.typeOid, name: 'hstore', schema: 'public', kind: 'b', category: 'U' },
    {
      ...base,
      oid: mood.typeOid,
      name: 'fx_mood',
      schema: 'public',
      kind: 'e',
      category: 'E',
      enumLabels: ['sad', 'ok', 'happy'],
    },
  ]);
}

function rows(modes: Partial<TypeModes> = {}): { table: TableSchema; rows: RecordObject[] } {
  const table = new TableSchema(
    relation,
    {
      oid: relation.relationId,
      schema: 'public',
      table: 'fx_types',
      notNull: new Set(['id']),
      primaryKey: ['id'],
    },
    registry(),
    {
      topicPrefix: 'srv',
      filter: new CaptureFilter({}),
      keyOverrides: new KeyColumnOverrides(undefined),
      typeModes: { ...defaultTypeModes, ...modes },
    },
  );
  return {
    table,
    rows: inserts.map((insert) => {
      table.decodeTuple(insert.data, insert.newTuple);
      return table.makeRow(table.values);
    }),
  };
}

function fieldSchema(table: TableSchema, name: string): ConnectField {
  const field = table.valueSchema.fields!.find((candidate) => candidate.field === name);
  assert.ok(field, `no field ${name}`);
  return field;
}

// Bytes the connector emits serialize as base64 in JSON (runtime/cdc/json-bytes.ts).
const bytes = (...values: number[]) => jsonBytes(Buffer.from(values));

test('default modes: every common type as Debezium emits it', () => {
  const {
    table,
    rows: [row, special, empty],
  } = rows();
  assert.ok(row && special && empty);
  const expected: Record<string, RecordData> = {
    id: 1,
    c_bool: true,
    c_int2: -32768,
    c_int4: 2147483647,
    c_int8: 9223372036854775807n,
    c_float4: 1.5,
    c_float8: 3.141592653589793,
    // numeric without scale → VariableScaleDecimal, trailing zeros stripped: 12345.6789
    c_numeric: { scale: 4, value: bytes(0x07, 0x5b, 0xcd, 0x15) },
    // numeric(10,3) -1234.500 → unscaled -1234500, two's complement big-endian
    c_numeric_fixed: bytes(0xed, 0x29, 0xbc),
    c_money: bytes(0x01, 0xe2, 0x40),
    c_char: 'ab   ',
    c_varchar: 'varchar',
    c_text: 'text é ü 🎉',
    c_bytea: bytes(0x00, 0xff, 0x10),
    c_date: 19782,
    c_time: 49506123456,
    c_time3: 49506123,
    c_timetz: '11:45:06.5Z',
    c_timestamp: 1709214306123456,
    c_timestamp3: 1709214306123,
    c_timestamptz: '2024-02-29T11:45:06.123456Z',
    c_timestamptz0: '2024-02-29T13:45:06Z',
    c_interval: 37091106789000,
    c_uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    c_json: '{"a": 1}',
    c_jsonb: '{"b": [1, 2]}',
    c_xml: '<a>x</a>',
    c_inet: '192.168.0.1/24',
    c_cidr: '10.0.0.0/8',
    c_macaddr: '08:00:2b:01:02:03',
    c_bit1: true,
    c_bit8: bytes(0xa0),
    c_varbit: bytes(0x05),
    c_point: {
      x: 1.5,
      y: -2.25,
      wkb: jsonBytes(
        Buffer.concat([bytes(1, 1, 0, 0, 0), Buffer.from(new Float64Array([1.5, -2.25]).buffer)]),
      ),
      srid: null,
    },
    c_hstore: '{"a":"1","b c":null}',
    c_mood: 'happy',
    c_int_array: [1, null, 3],
    c_text_array: ['a b', 'c,d', null, 'e"f'],
    c_numeric_array: [bytes(0x00, 0x96), bytes(0xff, 0x1f)],
    c_int4range: '[1,10)',
  };
  assert.deepEqual(
    Object.keys(row),
    relation.columns.map((column) => column.name),
  );
  for (const [name, value] of Object.entries(expected)) assert.deepEqual(row[name], value, name);

  // NaN, infinities, BC dates, a negative interval, an int8 beyond 2^53.
  assert.ok(Number.isNaN(special.c_float4));
  assert.equal(special.c_float8, -Infinity);
  assert.equal(special.c_numeric, null, 'NaN has no Decimal representation (precise mode)');
  assert.equal(special.c_date, -735160);
  assert.equal(special.c_timestamp, 9223372036825200000n);
  assert.equal(special.c_timestamptz, '-infinity');
  assert.equal(special.c_interval, -93600000000);
  assert.equal(special.c_int8, -9007199254740993n);
  assert.ok(Object.entries(empty).every(([name, value]) => name === 'id' || value === null));

  assert.deepEqual(
    Object.fromEntries(
      [
        'c_numeric',
        'c_numeric_fixed',
        'c_money',
        'c_date',
        'c_time',
        'c_time3',
        'c_timetz',
        'c_timestamp',
        'c_timestamp3',
        'c_timestamptz',
        'c_interval',
        'c_uuid',
        'c_json',
        'c_xml',
        'c_bit8',
        'c_point',
        'c_mood',
        'c_hstore',
      ].map((name) => {
        const { name: logical, parameters, type } = fieldSchema(table, name);
        return [name, [type, logical, parameters]];
      }),
    ),
    {
      c_numeric: ['struct', 'io.debezium.data.VariableScaleDecimal', undefined],
      c_numeric_fixed: [
        'bytes',
        'org.apache.kafka.connect.data.Decimal',
        { scale: '3', 'connect.decimal.precision': '10' },
      ],
      c_money: ['bytes', 'org.apache.kafka.connect.data.Decimal', { scale: '2' }],
      c_date: ['int32', 'io.debezium.time.Date', undefined],
      c_time: ['int64', 'io.debezium.time.MicroTime', undefined],
      c_time3: ['int32', 'io.debezium.time.Time', undefined],
      c_timetz: ['string', 'io.debezium.time.ZonedTime', undefined],
      c_timestamp: ['int64', 'io.debezium.time.MicroTimestamp', undefined],
      c_timestamp3: ['int64', 'io.debezium.time.Timestamp', undefined],
      c_timestamptz: ['string', 'io.debezium.time.ZonedTimestamp', undefined],
      c_interval: ['int64', 'io.debezium.time.MicroDuration', undefined],
      c_uuid: ['string', 'io.debezium.data.Uuid', undefined],
      c_json: ['string', 'io.debezium.data.Json', undefined],
      c_xml: ['string', 'io.debezium.data.Xml', undefined],
      c_bit8: ['bytes', 'io.debezium.data.Bits', { length: '8' }],
      c_point: ['struct', 'io.debezium.data.geometry.Point', undefined],
      c_mood: ['string', 'io.debezium.data.Enum', { allowed: 'sad,ok,happy' }],
      c_hstore: ['string', 'io.debezium.data.Json', undefined],
    },
  );
  assert.equal(fieldSchema(table, 'id').optional, false);
  assert.equal(fieldSchema(table, 'c_text').optional, true);
  assert.deepEqual(fieldSchema(table, 'c_int_array').items, { type: 'int32', optional: true });
  assert.deepEqual(table.keySchema, {
    type: 'struct',
    fields: [{ type: 'int32', optional: false, field: 'id' }],
    optional: false,
    name: 'srv.public.fx_types.Key',
  });
});

test('decimal.handling.mode double and string', () => {
  const double = rows({ decimal: 'double' });
  assert.equal(double.rows[0]!.c_numeric, 12345.6789);
  assert.equal(double.rows[0]!.c_numeric_fixed, -1234.5);
  assert.equal(double.rows[0]!.c_money, 1234.56);
  assert.ok(Number.isNaN(double.rows[1]!.c_numeric));
  assert.equal(fieldSchema(double.table, 'c_numeric').type, 'float64');
  const string = rows({ decimal: 'string' });
  assert.equal(string.rows[0]!.c_numeric, '12345.678900');
  assert.equal(string.rows[0]!.c_numeric_fixed, '-1234.500');
  assert.equal(string.rows[0]!.c_money, '1234.56');
  assert.equal(string.rows[1]!.c_numeric, 'NaN');
  assert.equal(fieldSchema(string.table, 'c_numeric_fixed').type, 'string');
});

test('time.precision.mode connect and adaptive_time_microseconds', () => {
  const connect = rows({ time: 'connect' });
  const row = connect.rows[0]!;
  assert.equal(row.c_date, 19782);
  assert.equal(row.c_time, 49506123);
  assert.equal(row.c_timestamp, 1709214306123);
  assert.equal(row.c_timestamptz, '2024-02-29T11:45:06.123456Z');
  assert.equal(fieldSchema(connect.table, 'c_date').name, 'org.apache.kafka.connect.data.Date');
  assert.equal(fieldSchema(connect.table, 'c_time').name, 'org.apache.kafka.connect.data.Time');
  assert.equal(
    fieldSchema(connect.table, 'c_timestamp').name,
    'org.apache.kafka.connect.data.Timestamp',
  );
  const micro = rows({ time: 'adaptive_time_microseconds' });
  assert.equal(micro.rows[0]!.c_time3, 49506123000);
  assert.equal(fieldSchema(micro.table, 'c_time3').name, 'io.debezium.time.MicroTime');
  assert.equal(micro.rows[0]!.c_timestamp3, 1709214306123, 'timestamps stay adaptive');
});

test('binary, hstore and interval handling modes', () => {
  assert.equal(rows({ binary: 'base64' }).rows[0]!.c_bytea, 'AP8Q');
  assert.equal(rows({ binary: 'hex' }).rows[0]!.c_bytea, '00ff10');
  const urlSafe = columnType(Oid.bytea, -1, new TypeRegistry(), {
    ...defaultTypeModes,
    binary: 'base64-url-safe',
  })!;
  assert.equal(urlSafe.fromText('\\xfbff'), '-_8=');
  assert.equal(urlSafe.schema.type, 'string');
  const map = rows({ hstore: 'map' });
  assert.deepEqual(map.rows[0]!.c_hstore, { a: '1', 'b c': null });
  assert.deepEqual(fieldSchema(map.table, 'c_hstore').values, { type: 'string', optional: true });
  const interval = rows({ interval: 'string' });
  assert.equal(interval.rows[0]!.c_interval, 'P1Y2M3DT4H5M6.789S');
  assert.equal(interval.rows[1]!.c_interval, 'P0Y0M-1DT-2H0M0S');
  assert.equal(fieldSchema(interval.table, 'c_interval').name, 'io.debezium.time.Interval');
});

test('unchanged TOAST values become the placeholder, shaped per column type', () => {
  const messages = fixture('toast').map((entry) => entry.message);
  const toastRelation = messages.find(
    (message): message is RelationMessage => message.tag === 'relation',
  )!;
  const update = messages.find((message) => message.tag === 'update');
  assert.ok(update?.tag === 'update');
  const table = new TableSchema(toastRelation, undefined, new TypeRegistry(), {
    topicPrefix: 'srv',
    filter: new CaptureFilter({}),
    keyOverrides: new KeyColumnOverrides(undefined),
    typeModes: { ...defaultTypeModes, unavailablePlaceholder: '__toast' },
  });
  table.decodeTuple(update.data, update.newTuple);
  assert.deepEqual(table.makeRow(table.values), {
    id: 1,
    counter: 1,
    big: '__toast',
    big_bytes: jsonBytes(Buffer.from('__toast')),
    big_array: ['__toast'],
  });
});

test('columns of types without a mapping are left out unless include.unknown.datatypes', () => {
  const unknown = 999_999;
  assert.equal(columnType(unknown, -1, new TypeRegistry(), defaultTypeModes), undefined);
  const included = columnType(unknown, -1, new TypeRegistry(), {
    ...defaultTypeModes,
    includeUnknownDatatypes: true,
  })!;
  assert.deepEqual(included.fromText('(1,2)'), jsonBytes(Buffer.from('(1,2)')));
  assert.equal(
    JSON.stringify(included.fromText('(1,2)')),
    '"KDEsMik="',
    'bytes serialize as base64',
  );
});

test('fast paths agree with the general converters', () => {
  const modes = defaultTypeModes;
  const registry = new TypeRegistry();
  const fixed = columnType(Oid.numeric, ((12 << 16) | 2) + 4, registry, modes)!;
  for (const text of [
    '0.00',
    '-0.00',
    '1.50',
    '-1.5',
    '123',
    '-128',
    '127.99',
    '999999999999.99',
    '-999999999999.99',
    '0.01',
  ]) {
    const buffer = Buffer.from(text);
    assert.deepEqual(fixed.fromBytes(buffer, 0, buffer.length), fixed.fromText(text), text);
  }
  const zoned = columnType(Oid.timestamptz, -1, registry, modes)!;
  for (const text of [
    '2024-02-29 11:45:06+00',
    '2024-02-29 11:45:06.1+00',
    '2024-02-29 11:45:06.123456+00',
    '2024-02-29 11:45:06.5+05:30',
    '0044-03-15 00:00:00+00 BC',
  ]) {
    assert.match(String(zoned.fromText(text)), /^-?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, text);
  }
  assert.equal(zoned.fromText('2024-02-29 11:45:06.5+05:30'), '2024-02-29T06:15:06.500000Z');
  assert.equal(zoned.fromText('2024-02-29 11:45:06+00'), '2024-02-29T11:45:06.000000Z');
  const zoned3 = columnType(Oid.timestamptz, 3, registry, modes)!;
  assert.equal(zoned3.fromText('2024-02-29 11:45:06.12+00'), '2024-02-29T11:45:06.120Z');
});
