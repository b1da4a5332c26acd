import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTransformChain } from '../../../runtime/transforms/index.ts';
import {
  alice,
  createEvent,
  customerKeySchema,
  customerRowSchema,
  fieldNames,
  kept,
  single,
  sinkRecord,
  tombstone,
} from './fixtures.ts';

const VALUE = 'org.apache.kafka.connect.transforms.InsertField$Value';
const rowFields = ['id', 'name', 'email', 'score', 'active', 'updated_at'];

describe('InsertField$Value with a schema', () => {
  const chain = single(VALUE, {
    'topic.field': 'kafka_topic',
    'partition.field': 'kafka_partition',
    'offset.field': 'kafka_offset!',
    'timestamp.field': 'kafka_ts',
    'static.field': 'origin',
    'static.value': 'pg-main',
  });

  it('adds the record metadata as fields, with schemas', () => {
    const output = kept(chain, sinkRecord({ ...alice }, customerRowSchema));
    assert.deepEqual(output.value, {
      ...alice,
      kafka_topic: 'orders',
      kafka_partition: 3,
      kafka_offset: 42,
      kafka_ts: 1_709_296_496_789,
      origin: 'pg-main',
    });
    assert.deepEqual(fieldNames(output.valueSchema), [
      ...rowFields,
      'kafka_topic',
      'kafka_partition',
      'kafka_offset',
      'kafka_ts',
      'origin',
    ]);
    assert.deepEqual(output.valueSchema?.fields?.slice(rowFields.length), [
      { type: 'string', optional: true, field: 'kafka_topic' },
      { type: 'int32', optional: true, field: 'kafka_partition' },
      { type: 'int64', optional: false, field: 'kafka_offset' },
      {
        type: 'int64',
        name: 'org.apache.kafka.connect.data.Timestamp',
        version: 1,
        optional: true,
        field: 'kafka_ts',
      },
      { type: 'string', optional: true, field: 'origin' },
    ]);
    assert.equal(output.valueSchema?.name, customerRowSchema.name);
    assert.equal(output.valueSchema?.optional, false);
  });

  it('reuses the derived schema for the same input schema', () => {
    const first = kept(chain, sinkRecord({ ...alice }, customerRowSchema));
    const second = kept(chain, sinkRecord({ ...alice, id: 2 }, customerRowSchema));
    assert.equal(first.valueSchema, second.valueSchema);
  });

  it('passes tombstones through', () => {
    const grave = sinkRecord(null);
    assert.equal(chain.apply(grave), grave);
  });

  it('fails on a source record when offset.field is set (sink records only)', () => {
    assert.throws(
      () => chain.apply(createEvent()),
      /Offset insertion is only supported for sink connectors/,
    );
  });

  it('fails when a required (!) field has no value', () => {
    const required = single(VALUE, { 'timestamp.field': 'ts!' });
    assert.throws(
      () => required.apply(sinkRecord({ ...alice }, customerRowSchema, { timestamp: undefined })),
      /null used for required field: "ts"/,
    );
  });

  it('adds a null optional field when static.value is missing, as Kafka Connect does', () => {
    const output = kept(
      single(VALUE, { 'static.field': 'origin' }),
      sinkRecord({ ...alice }, customerRowSchema),
    );
    assert.equal((output.value as Record<string, unknown>).origin, null);
  });
});

describe('InsertField$Value without a schema', () => {
  it('adds the fields it has values for', () => {
    const chain = single(VALUE, {
      'topic.field': 't',
      'partition.field': 'p',
      'static.field': 's',
      'static.value': 'v',
    });
    const output = kept(chain, sinkRecord({ a: 1 }));
    assert.deepEqual(output.value, { a: 1, t: 'orders', p: 3, s: 'v' });
    assert.equal('valueSchema' in output, false);
  });

  it('skips a partition a source record does not have', () => {
    const chain = single(VALUE, { 'partition.field': 'p', 'topic.field': 't' });
    const output = kept(chain, { ...createEvent(alice, { schemas: false }), value: { a: 1 } });
    assert.deepEqual(output.value, { a: 1, t: 'dbserver1.public.customers' });
  });

  it('refuses a value that is not a map', () => {
    assert.throws(
      () => single(VALUE, { 'topic.field': 't' }).apply(sinkRecord('x')),
      /Only Map objects supported/,
    );
  });
});

describe('InsertField$Key', () => {
  it('adds to the key and its schema', () => {
    const input = createEvent();
    const output = kept(
      single('InsertField$Key', { 'static.field': 'tenant', 'static.value': 'acme' }),
      input,
    );
    assert.deepEqual(output.key, { id: 1, tenant: 'acme' });
    assert.deepEqual(fieldNames(output.keySchema), ['id', 'tenant']);
    assert.equal(output.keySchema?.name, customerKeySchema.name);
    assert.equal(output.value, input.value);
  });

  it('after unwrap, on a whole Debezium pipeline', () => {
    const chain = buildTransformChain({
      transforms: 'unwrap,insert',
      'transforms.unwrap.type': 'unwrap',
      'transforms.insert.type': 'InsertField$Value',
      'transforms.insert.static.field': 'source_db',
      'transforms.insert.static.value': 'inventory',
    });
    const output = kept(chain, createEvent());
    assert.deepEqual(output.value, { ...alice, source_db: 'inventory' });
    assert.deepEqual(fieldNames(output.valueSchema), [...rowFields, 'source_db']);
    assert.equal(chain.apply(tombstone())?.value, null);
  });
});
