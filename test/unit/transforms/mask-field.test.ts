import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectSchema } from '../../../runtime/api/record.ts';
import { validateTransformConfig } from '../../../runtime/transforms/index.ts';
import {
  alice,
  createEvent,
  customerRowSchema,
  kept,
  single,
  sinkRecord,
  tombstone,
} from './fixtures.ts';

const VALUE = 'org.apache.kafka.connect.transforms.MaskField$Value';

const allTypes: ConnectSchema = {
  type: 'struct',
  name: 'AllTypes',
  fields: [
    { field: 'i8', type: 'int8' },
    { field: 'i32', type: 'int32' },
    { field: 'i64', type: 'int64' },
    { field: 'f64', type: 'float64' },
    { field: 'flag', type: 'boolean' },
    { field: 'text', type: 'string' },
    { field: 'raw', type: 'bytes' },
    {
      field: 'money',
      type: 'bytes',
      name: 'org.apache.kafka.connect.data.Decimal',
      parameters: { scale: '2' },
    },
    { field: 'tags', type: 'array', items: { type: 'string' } },
    { field: 'attrs', type: 'map', keys: { type: 'string' }, values: { type: 'string' } },
    { field: 'when', type: 'int64', name: 'org.apache.kafka.connect.data.Timestamp', version: 1 },
    { field: 'missing', type: 'string', optional: true },
    { field: 'kept', type: 'string' },
  ],
};

const allValues = {
  i8: 7,
  i32: 70_000,
  i64: 9_007_199_254_740_993n,
  f64: 2.5,
  flag: true,
  text: 'secret',
  raw: Buffer.from('abc'),
  money: Buffer.from([0x30, 0x39]),
  tags: ['a'],
  attrs: { k: 'v' },
  when: 1_709_296_496_789,
  missing: null,
  kept: 'visible',
};

const masked = [
  'i8',
  'i32',
  'i64',
  'f64',
  'flag',
  'text',
  'raw',
  'money',
  'tags',
  'attrs',
  'when',
  'missing',
];

describe('MaskField$Value with a schema', () => {
  it('replaces each field by the empty value of its type; nulls stay null; the schema is unchanged', () => {
    const output = kept(
      single(VALUE, { fields: masked.join(',') }),
      sinkRecord(allValues, allTypes),
    );
    assert.deepEqual(output.value, {
      i8: 0,
      i32: 0,
      i64: 0,
      f64: 0,
      flag: false,
      text: '',
      raw: Buffer.alloc(0),
      money: Buffer.from([0]),
      tags: [],
      attrs: {},
      when: 0,
      missing: null,
      kept: 'visible',
    });
    assert.equal(output.valueSchema, allTypes);
  });

  it('converts a custom replacement to the field type', () => {
    const output = kept(
      single(VALUE, { fields: 'i32,i64,f64,text', replacement: '12' }),
      sinkRecord(allValues, allTypes),
    );
    const value = output.value as Record<string, unknown>;
    assert.deepEqual([value.i32, value.i64, value.f64, value.text], [12, 12, 12, '12']);
  });

  it('refuses a replacement that does not fit the field type', () => {
    assert.throws(
      () =>
        single(VALUE, { fields: 'i32', replacement: 'x' }).apply(sinkRecord(allValues, allTypes)),
      /Unable to convert x \(String\) to number/,
    );
    assert.throws(
      () =>
        single(VALUE, { fields: 'i8', replacement: '300' }).apply(sinkRecord(allValues, allTypes)),
      /8-bit integer/,
    );
    assert.throws(
      () =>
        single(VALUE, { fields: 'flag', replacement: 'x' }).apply(sinkRecord(allValues, allTypes)),
      /Cannot mask value of type boolean with custom replacement/,
    );
  });

  it('masks a Debezium row after unwrap', () => {
    const chain = single(VALUE, { fields: 'email,score', replacement: '0' });
    const output = kept(chain, sinkRecord({ ...alice }, customerRowSchema));
    assert.deepEqual(output.value, { ...alice, email: '0', score: 0 });
  });
});

describe('MaskField$Value without a schema', () => {
  it('masks by the JavaScript type of each value', () => {
    const output = kept(
      single(VALUE, { fields: 'n,s,b,list,obj,absent' }),
      sinkRecord({ n: 5, s: 'x', b: true, list: [1], obj: { a: 1 }, other: 'y' }),
    );
    assert.deepEqual(output.value, { n: 0, s: '', b: false, list: [], obj: {}, other: 'y' });
  });

  it('uses the replacement for numbers and strings', () => {
    const output = kept(
      single(VALUE, { fields: 'n,f,s', replacement: '9' }),
      sinkRecord({ n: 5, f: 1.5, s: 'x' }),
    );
    assert.deepEqual(output.value, { n: 9, f: 9, s: '9' });
  });
});

describe('MaskField$Key and edge cases', () => {
  it('masks the key', () => {
    const input = createEvent();
    const output = kept(single('MaskField$Key', { fields: 'id' }), input);
    assert.deepEqual(output.key, { id: 0 });
    assert.equal(output.value, input.value);
  });

  it('passes tombstones through', () => {
    const grave = tombstone();
    assert.equal(single(VALUE, { fields: 'email' }).apply(grave), grave);
  });

  it('requires a non-empty fields list and a non-empty replacement', () => {
    const fields = (options: Record<string, string>) => {
      const config: Record<string, string> = { transforms: 'm', 'transforms.m.type': VALUE };
      for (const [name, value] of Object.entries(options)) config[`transforms.m.${name}`] = value;
      return validateTransformConfig(config).map((error) => error.field);
    };
    assert.deepEqual(fields({}), ['transforms.m.fields']);
    assert.deepEqual(fields({ fields: ' ' }), ['transforms.m.fields']);
    assert.deepEqual(fields({ fields: 'a', replacement: '' }), ['transforms.m.replacement']);
  });
});
