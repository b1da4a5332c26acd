import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectSchema } from '../../../runtime/api/record.ts';
import { validateTransformConfig } from '../../../runtime/transforms/index.ts';
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

const VALUE = 'org.apache.kafka.connect.transforms.ReplaceField$Value';
const KEY = 'org.apache.kafka.connect.transforms.ReplaceField$Key';

/** A row as a sink reads it after unwrap: the customers row with its schema. */
const row = () => sinkRecord({ ...alice }, customerRowSchema);

describe('ReplaceField$Value with a schema', () => {
  it('exclude drops the fields from the value and from the schema', () => {
    const output = kept(single(VALUE, { exclude: 'email, score' }), row());
    assert.deepEqual(output.value, {
      id: 1,
      name: 'Alice',
      active: true,
      updated_at: alice.updated_at,
    });
    assert.deepEqual(fieldNames(output.valueSchema), ['id', 'name', 'active', 'updated_at']);
    assert.equal(output.valueSchema?.name, customerRowSchema.name);
    // copySchemaBasics: the struct is rebuilt, the kept fields keep their schemas.
    assert.deepEqual(output.valueSchema?.fields?.[0], customerRowSchema.fields?.[0]);
  });

  it('include keeps only the listed fields, in schema order; exclude wins over include', () => {
    const output = kept(single(VALUE, { include: 'email,id,name', exclude: 'name' }), row());
    assert.deepEqual(output.value, { id: 1, email: 'alice@example.com' });
    assert.deepEqual(fieldNames(output.valueSchema), ['id', 'email']);
  });

  it('renames fields in value and schema', () => {
    const output = kept(single(VALUE, { renames: 'name:full_name,updated_at:modified' }), row());
    assert.deepEqual(Object.keys(output.value as object), [
      'id',
      'full_name',
      'email',
      'score',
      'active',
      'modified',
    ]);
    assert.equal((output.value as Record<string, unknown>).full_name, 'Alice');
    assert.deepEqual(fieldNames(output.valueSchema), [
      'id',
      'full_name',
      'email',
      'score',
      'active',
      'modified',
    ]);
    const modified = output.valueSchema?.fields?.[5] as ConnectSchema;
    assert.equal(modified.name, 'org.apache.kafka.connect.data.Timestamp');
  });

  it('accepts the older whitelist / blacklist names', () => {
    assert.deepEqual(fieldNames(kept(single(VALUE, { whitelist: 'id,name' }), row()).valueSchema), [
      'id',
      'name',
    ]);
    assert.deepEqual(
      fieldNames(kept(single(VALUE, { blacklist: 'id,name,email,score' }), row()).valueSchema),
      ['active', 'updated_at'],
    );
  });

  it('derives the schema once per input schema', () => {
    const chain = single(VALUE, { exclude: 'email' });
    assert.equal(kept(chain, row()).valueSchema, kept(chain, row()).valueSchema);
  });

  it('passes tombstones through', () => {
    const grave = tombstone();
    assert.equal(single(VALUE, { exclude: 'email' }).apply(grave), grave);
  });

  it('refuses a value that is not a struct', () => {
    assert.throws(
      () => single(VALUE, { exclude: 'x' }).apply(sinkRecord('text', { type: 'string' })),
      /Only Struct objects supported for \[field replacement\]/,
    );
  });
});

describe('ReplaceField$Value without a schema', () => {
  it('filters and renames map entries', () => {
    const output = kept(
      single(VALUE, { exclude: 'score', renames: 'name:full_name' }),
      sinkRecord({ id: 1, name: 'Alice', score: 3, extra: { nested: true } }),
    );
    assert.deepEqual(output.value, { id: 1, full_name: 'Alice', extra: { nested: true } });
    assert.equal('valueSchema' in output, false);
  });

  it('refuses a value that is not a map', () => {
    assert.throws(
      () => single(VALUE, {}).apply(sinkRecord([1, 2])),
      /Only Map objects supported in absence of schema/,
    );
  });
});

describe('ReplaceField$Key', () => {
  it('works on the key and its schema, leaving the value alone', () => {
    const input = createEvent();
    const output = kept(single(KEY, { renames: 'id:customer_id' }), input);
    assert.deepEqual(output.key, { customer_id: 1 });
    assert.deepEqual(fieldNames(output.keySchema), ['customer_id']);
    assert.equal(output.keySchema?.name, customerKeySchema.name);
    assert.equal(output.value, input.value);
    assert.equal(output.valueSchema, input.valueSchema);
  });
});

describe('ReplaceField validation', () => {
  it('reports malformed renames', () => {
    const errors = validateTransformConfig({
      transforms: 'r',
      'transforms.r.type': 'ReplaceField$Value',
      'transforms.r.renames': 'a:b,c,d:e:f',
    });
    assert.deepEqual(
      errors.map((error) => [error.field, error.message.replace(/^.*: /, '')]),
      [
        ['transforms.r.renames', 'c'],
        ['transforms.r.renames', 'd:e:f'],
      ],
    );
    assert.match(errors[0]!.message, /Invalid rename mapping: c$/);
  });
});
