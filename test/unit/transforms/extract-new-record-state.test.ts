import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateTransformConfig } from '../../../runtime/transforms/index.ts';
import {
  COMMIT_US,
  TOPIC,
  alice,
  alice2,
  createEvent,
  customerRowSchema,
  deleteEvent,
  fieldNames,
  heartbeat,
  kept,
  readEvent,
  single,
  tombstone,
  truncateEvent,
  updateEvent,
} from './fixtures.ts';

const UNWRAP = 'io.debezium.transforms.ExtractNewRecordState';
const rowFields = ['id', 'name', 'email', 'score', 'active', 'updated_at'];

describe('ExtractNewRecordState: row state', () => {
  const unwrap = single(UNWRAP);

  it('replaces a create event by the after row and its schema', () => {
    const input = createEvent();
    const output = kept(unwrap, input);
    assert.deepEqual(output.value, alice);
    assert.deepEqual(output.valueSchema, { ...customerRowSchema });
    assert.equal(output.valueSchema?.name, 'dbserver1.public.customers.Value');
    assert.equal('field' in (output.valueSchema ?? {}), false);
    // Everything else is the original record's.
    assert.equal(output.topic, TOPIC);
    assert.deepEqual(output.key, { id: 1 });
    assert.equal(output.keySchema, input.keySchema);
    assert.deepEqual(output.sourceOffset, input.sourceOffset);
    assert.notEqual(output, input);
  });

  it('uses the after image of an update and of a snapshot read', () => {
    assert.deepEqual(kept(unwrap, updateEvent()).value, alice2);
    assert.deepEqual(kept(unwrap, readEvent()).value, alice);
  });

  it('works on schemaless envelopes', () => {
    const output = kept(unwrap, updateEvent(alice, alice2, { schemas: false }));
    assert.deepEqual(output.value, alice2);
    assert.equal(output.valueSchema, undefined);
    assert.equal('valueSchema' in output, false);
  });

  it('passes records that are not change events through unchanged', () => {
    const input = heartbeat();
    assert.equal(unwrap.apply(input), input);
  });

  it('drops truncate events', () => {
    assert.equal(unwrap.apply(truncateEvent()), null);
  });

  it('by default drops delete events and keeps their tombstones', () => {
    assert.equal(unwrap.apply(deleteEvent()), null);
    const grave = tombstone();
    assert.equal(unwrap.apply(grave), grave);
  });
});

describe('ExtractNewRecordState: delete.tombstone.handling.mode', () => {
  const mode = (value: string) => single(UNWRAP, { 'delete.tombstone.handling.mode': value });

  it('drop: drops deletes and tombstones, keeps the rest', () => {
    const chain = mode('drop');
    assert.equal(chain.apply(deleteEvent()), null);
    assert.equal(chain.apply(tombstone()), null);
    assert.deepEqual(kept(chain, createEvent()).value, alice);
  });

  it('tombstone: drops deletes, keeps tombstones', () => {
    const chain = mode('tombstone');
    assert.equal(chain.apply(deleteEvent()), null);
    assert.notEqual(chain.apply(tombstone()), null);
  });

  it('rewrite: a delete becomes the before row with __deleted="true"; tombstones go', () => {
    const chain = mode('rewrite');
    const deleted = kept(chain, deleteEvent());
    assert.deepEqual(deleted.value, { ...alice2, __deleted: 'true' });
    assert.deepEqual(fieldNames(deleted.valueSchema), [...rowFields, '__deleted']);
    const flag = deleted.valueSchema?.fields?.at(-1);
    assert.deepEqual(flag, { type: 'string', optional: true, field: '__deleted' });
    assert.equal(deleted.valueSchema?.name, 'dbserver1.public.customers.Value');
    assert.equal(chain.apply(tombstone()), null);
    // Other rows say they are not deleted, with the same schema.
    const updated = kept(chain, updateEvent());
    assert.deepEqual(updated.value, { ...alice2, __deleted: 'false' });
    assert.deepEqual(updated.valueSchema, deleted.valueSchema);
  });

  it('rewrite-with-tombstone: rewrites deletes and keeps tombstones', () => {
    const chain = mode('rewrite-with-tombstone');
    assert.equal((kept(chain, deleteEvent()).value as Record<string, unknown>).__deleted, 'true');
    assert.equal(kept(chain, tombstone()).value, null);
  });

  it('delete-to-tombstone: a delete becomes a real tombstone, the original tombstone goes', () => {
    const chain = mode('delete-to-tombstone');
    const input = deleteEvent();
    const output = kept(chain, input);
    assert.equal(output.value, null);
    assert.equal('valueSchema' in output, false);
    assert.deepEqual(output.key, { id: 1 });
    assert.equal(output.keySchema, input.keySchema);
    assert.equal(chain.apply(tombstone()), null);
  });

  it('accepts the mode in any case, as Debezium does', () => {
    assert.deepEqual(
      validateTransformConfig({
        transforms: 'u',
        'transforms.u.type': 'unwrap',
        'transforms.u.delete.tombstone.handling.mode': 'REWRITE',
      }),
      [],
    );
  });
});

describe('ExtractNewRecordState: legacy delete.handling.mode and drop.tombstones', () => {
  it('defaults (delete.handling.mode=drop, drop.tombstones=true) drop both', () => {
    const chain = single(UNWRAP, { 'delete.handling.mode': 'drop' });
    assert.equal(chain.apply(deleteEvent()), null);
    assert.equal(chain.apply(tombstone()), null);
  });

  it('drop.tombstones=false keeps tombstones', () => {
    const chain = single(UNWRAP, { 'drop.tombstones': 'false' });
    assert.equal(chain.apply(deleteEvent()), null);
    assert.notEqual(chain.apply(tombstone()), null);
  });

  it('rewrite adds __deleted', () => {
    const chain = single(UNWRAP, { 'delete.handling.mode': 'rewrite' });
    assert.deepEqual(kept(chain, deleteEvent()).value, { ...alice2, __deleted: 'true' });
    assert.equal(chain.apply(tombstone()), null);
  });

  it('none turns the delete into a tombstone', () => {
    const chain = single(UNWRAP, { 'delete.handling.mode': 'none', 'drop.tombstones': 'false' });
    const output = kept(chain, deleteEvent());
    assert.equal(output.value, null);
    assert.notEqual(chain.apply(tombstone()), null);
  });

  it('the new option wins over the legacy ones', () => {
    const chain = single(UNWRAP, {
      'delete.tombstone.handling.mode': 'rewrite',
      'delete.handling.mode': 'drop',
      'drop.tombstones': 'false',
    });
    assert.notEqual(chain.apply(deleteEvent()), null);
    assert.equal(chain.apply(tombstone()), null);
  });
});

describe('ExtractNewRecordState: add.fields', () => {
  it('adds op, table, lsn and source.ts_ms with the default prefix and optional schemas', () => {
    const chain = single(UNWRAP, { 'add.fields': 'op,table,lsn,source.ts_ms' });
    const output = kept(chain, updateEvent());
    assert.deepEqual(output.value, {
      ...alice2,
      __op: 'u',
      __table: 'customers',
      __lsn: 24_023_128,
      __source_ts_ms: Math.floor(COMMIT_US / 1000),
    });
    assert.deepEqual(fieldNames(output.valueSchema), [
      ...rowFields,
      '__op',
      '__table',
      '__lsn',
      '__source_ts_ms',
    ]);
    const added = output.valueSchema!.fields!.slice(rowFields.length);
    assert.deepEqual(
      added.map((member) => [member.type, member.optional]),
      [
        ['string', true],
        ['string', true],
        ['int64', true],
        ['int64', true],
      ],
    );
    // The row's own fields keep their schemas; the struct keeps its name.
    assert.deepEqual(
      output.valueSchema!.fields!.slice(0, rowFields.length),
      customerRowSchema.fields,
    );
    assert.equal(output.valueSchema!.name, customerRowSchema.name);
  });

  it('honours add.fields.prefix and renames (field:name)', () => {
    const chain = single(UNWRAP, {
      'add.fields': 'op:operation,source.lsn:position,ts_ms',
      'add.fields.prefix': 'cdc_',
    });
    const output = kept(chain, createEvent());
    const value = output.value as Record<string, unknown>;
    assert.equal(value.cdc_operation, 'c');
    assert.equal(value.cdc_position, 24_023_128);
    assert.equal(value.cdc_ts_ms, Math.floor((COMMIT_US + 1_500) / 1000));
  });

  it('reads transaction fields, null when the event has no transaction block', () => {
    const chain = single(UNWRAP, { 'add.fields': 'id,total_order' });
    const withTx = kept(
      chain,
      createEvent(alice, {
        transaction: { id: '767:24023128', total_order: 3, data_collection_order: 2 },
      }),
    );
    assert.equal((withTx.value as Record<string, unknown>).__transaction_id, undefined);
    assert.equal((withTx.value as Record<string, unknown>).__id, '767:24023128');
    assert.equal((withTx.value as Record<string, unknown>).__total_order, 3);
    const withoutTx = kept(chain, readEvent());
    assert.equal((withoutTx.value as Record<string, unknown>).__id, null);
  });

  it('skips fields the envelope schema does not have (Debezium adds only what exists)', () => {
    const chain = single(UNWRAP, { 'add.fields': 'op,no_such_field' });
    const output = kept(chain, createEvent());
    assert.deepEqual(fieldNames(output.valueSchema), [...rowFields, '__op']);
    assert.equal('__no_such_field' in (output.value as object), false);
  });

  it('adds fields to rewritten deletes, before __deleted', () => {
    const chain = single(UNWRAP, {
      'add.fields': 'op',
      'delete.tombstone.handling.mode': 'rewrite',
    });
    const output = kept(chain, deleteEvent());
    assert.deepEqual(output.value, { ...alice2, __op: 'd', __deleted: 'true' });
    assert.deepEqual(fieldNames(output.valueSchema), [...rowFields, '__op', '__deleted']);
  });

  it('works schemaless', () => {
    const chain = single(UNWRAP, { 'add.fields': 'op,table,source.ts_ms' });
    const output = kept(chain, createEvent(alice, { schemas: false }));
    assert.deepEqual(output.value, {
      ...alice,
      __op: 'c',
      __table: 'customers',
      __source_ts_ms: Math.floor(COMMIT_US / 1000),
    });
    assert.equal(output.valueSchema, undefined);
  });

  it('builds the output schema once per envelope schema', () => {
    const chain = single(UNWRAP, { 'add.fields': 'op' });
    const first = kept(chain, createEvent());
    const second = kept(chain, updateEvent());
    assert.equal(first.valueSchema, second.valueSchema);
  });

  it('rejects malformed entries', () => {
    const errors = validateTransformConfig({
      transforms: 'u',
      'transforms.u.type': 'unwrap',
      'transforms.u.add.fields': 'op,a.b.c,x:y:z',
    });
    assert.equal(errors.length, 2);
    assert.ok(errors.every((error) => error.field === 'transforms.u.add.fields'));
    assert.match(errors[0]!.message, /Unexpected field name: a\.b\.c/);
  });
});

describe('ExtractNewRecordState: add.headers', () => {
  it('adds headers as strings, keeping existing ones', () => {
    const chain = single(UNWRAP, {
      'add.headers': 'op,source.lsn,db',
      'add.headers.prefix': 'dbz.',
    });
    const output = kept(chain, updateEvent(alice, alice2, { headers: { trace: 'abc' } }));
    assert.deepEqual(output.headers, {
      trace: 'abc',
      'dbz.op': 'u',
      'dbz.source_lsn': '24023128',
      'dbz.db': 'inventory',
    });
    assert.deepEqual(output.value, alice2);
  });

  it('leaves out null values (a snapshot row has no lsn)', () => {
    const chain = single(UNWRAP, { 'add.headers': 'op,lsn' });
    const output = kept(chain, readEvent());
    assert.deepEqual(output.headers, { __op: 'r' });
  });

  it('marks kept tombstones with op=d', () => {
    const chain = single(UNWRAP, {
      'add.headers': 'op,lsn',
      'delete.tombstone.handling.mode': 'tombstone',
    });
    const output = kept(chain, tombstone());
    assert.deepEqual(output.headers, { __op: 'd' });
  });

  it('puts the headers on tombstones made from deletes', () => {
    const chain = single(UNWRAP, {
      'add.headers': 'op,table',
      'delete.tombstone.handling.mode': 'delete-to-tombstone',
    });
    const output = kept(chain, deleteEvent());
    assert.equal(output.value, null);
    assert.deepEqual(output.headers, { __op: 'd', __table: 'customers' });
  });
});

describe('ExtractNewRecordState: route.by.field and unsupported options', () => {
  it('routes by a row column, the before image for deletes', () => {
    const chain = single(UNWRAP, {
      'route.by.field': 'name',
      'delete.tombstone.handling.mode': 'rewrite',
    });
    assert.equal(kept(chain, createEvent()).topic, 'Alice');
    assert.equal(kept(chain, deleteEvent({ ...alice2, name: 'Bob' })).topic, 'Bob');
  });

  it('keeps the topic when the column is null', () => {
    const chain = single(UNWRAP, { 'route.by.field': 'email' });
    assert.equal(kept(chain, createEvent({ ...alice, email: null })).topic, TOPIC);
  });

  it('refuses drop.fields.header.name rather than ignoring it', () => {
    const errors = validateTransformConfig({
      transforms: 'u',
      'transforms.u.type': 'unwrap',
      'transforms.u.drop.fields.header.name': 'fields-to-drop',
    });
    assert.deepEqual(
      errors.map((error) => error.field),
      ['transforms.u.drop.fields.header.name'],
    );
  });

  it('reports bad mode values per key', () => {
    const errors = validateTransformConfig({
      transforms: 'u',
      'transforms.u.type': 'unwrap',
      'transforms.u.delete.tombstone.handling.mode': 'sometimes',
      'transforms.u.drop.tombstones': 'maybe',
    });
    assert.deepEqual(
      errors.map((error) => error.field),
      ['transforms.u.delete.tombstone.handling.mode', 'transforms.u.drop.tombstones'],
    );
    assert.match(
      errors[0]!.message,
      /must be one of: drop, tombstone, rewrite, rewrite-with-tombstone, delete-to-tombstone/,
    );
  });
});
