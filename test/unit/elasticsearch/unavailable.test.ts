// Unchanged TOASTed values: the placeholder found in every shape the PostgreSQL source gives it,
// and what the mapper does with it (values from `before`, fields left out and listed for the task
// to fill, partial updates without them, the primary-key update headers, `keep`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectSchema, RawConfig, SinkRecord } from '../../../runtime/api/index.ts';
import { parseSinkConfig } from '../../../connectors/elasticsearch/config.ts';
import { DocumentMapper } from '../../../connectors/elasticsearch/document-mapper.ts';
import { IndexResolver } from '../../../connectors/elasticsearch/index-name.ts';
import { NormalizerCache } from '../../../connectors/elasticsearch/value-normalizer.ts';
import { UnavailableDetector } from '../../../connectors/elasticsearch/unavailable-values.ts';
import { parseExactJson } from '../../../connectors/elasticsearch/json.ts';

const P = '__debezium_unavailable_value';
const bytes = Buffer.from(P, 'utf8');

const rowSchema: ConnectSchema = {
  type: 'struct',
  name: 'db.public.t.Value',
  optional: true,
  fields: [
    { field: 'id', type: 'int32', optional: false },
    { field: 'n', type: 'int32', optional: true },
    { field: 'big', type: 'string', optional: true },
    { field: 'blob', type: 'bytes', optional: true },
    {
      field: 'dec',
      type: 'bytes',
      optional: true,
      name: 'org.apache.kafka.connect.data.Decimal',
      parameters: { scale: '2' },
    },
    {
      field: 'vdec',
      type: 'struct',
      optional: true,
      name: 'io.debezium.data.VariableScaleDecimal',
      fields: [
        { field: 'scale', type: 'int32', optional: false },
        { field: 'value', type: 'bytes', optional: false },
      ],
    },
    { field: 'tags', type: 'array', optional: true, items: { type: 'string', optional: true } },
    { field: 'nums', type: 'array', optional: true, items: { type: 'int32', optional: true } },
    {
      field: 'attrs',
      type: 'map',
      optional: true,
      keys: { type: 'string', optional: false },
      values: { type: 'string', optional: true },
    },
  ],
};

const envelopeSchema: ConnectSchema = {
  type: 'struct',
  name: 'db.public.t.Envelope',
  optional: false,
  fields: [
    { ...rowSchema, field: 'before' },
    { ...rowSchema, field: 'after' },
    { field: 'op', type: 'string', optional: false },
  ],
};

const placeholderRow = {
  id: 1,
  n: 7,
  big: P,
  blob: bytes,
  dec: bytes,
  vdec: { scale: 0, value: bytes },
  tags: [P],
  nums: [...bytes],
  attrs: { [P]: P },
};
const allUnavailable = ['big', 'blob', 'dec', 'vdec', 'tags', 'nums', 'attrs'];

function mapper(raw: RawConfig = {}) {
  const { config, errors } = parseSinkConfig({ 'connection.url': 'http://es:9200', ...raw });
  assert.deepEqual(errors, []);
  return new DocumentMapper(
    config,
    new IndexResolver(config.topicToIndex),
    new NormalizerCache(),
    config.unavailableValues === 'resolve' && config.unavailablePlaceholder !== undefined
      ? new UnavailableDetector(config.unavailablePlaceholder)
      : undefined,
  );
}

const versions = () => ({ lastPosition: undefined, scale: undefined });

function event(
  op: string,
  after: object | null,
  before: object | null = null,
  headers?: Record<string, string>,
): SinkRecord {
  return {
    topic: 'db.public.t',
    partition: 0,
    offset: 5,
    key: { id: (after ?? before) ? ((after ?? before) as { id: number }).id : 1 },
    keySchema: {
      type: 'struct',
      optional: false,
      fields: [{ field: 'id', type: 'int32', optional: false }],
    },
    value: { before, after, source: { connector: 'postgresql', lsn: 100 }, op } as never,
    valueSchema: envelopeSchema,
    ...(headers ? { headers } : {}),
  };
}

test('the detector finds the placeholder in every shape the source gives it', () => {
  const detector = new UnavailableDetector(P);
  assert.deepEqual(detector.find(placeholderRow, rowSchema), allUnavailable);
  assert.equal(
    detector.find(
      { id: 1, n: 7, big: 'real text', blob: Buffer.from('x'), tags: ['a', P], nums: [1] },
      rowSchema,
    ),
    undefined,
    'real values and arrays that merely contain the placeholder are not it',
  );
  // Schemaless rows (bytes as base64 text).
  assert.deepEqual(
    detector.find({ id: 1, a: P, b: bytes.toString('base64'), c: [P], d: 'x' }, undefined),
    ['a', 'b', 'c'],
  );
});

test('an update lacking values: fields left out of the document and listed for the task', () => {
  const op = mapper().map(event('u', placeholderRow), versions())!;
  assert.equal(op.action, 'index');
  assert.deepEqual(op.unavailable, allUnavailable);
  assert.equal(op.source, '{"id":1,"n":7}');
  assert.deepEqual(op.doc, { id: 1, n: 7 });
  assert.equal(op.version, 100, 'still versioned');
});

test('REPLICA IDENTITY FULL: the values come from `before`, normalized like the row', () => {
  const before = {
    ...placeholderRow,
    n: 6,
    big: 'the old text',
    dec: Buffer.from([0x30, 0x39]),
    tags: ['t'],
  };
  const op = mapper().map(event('u', placeholderRow, before), versions())!;
  assert.deepEqual(op.unavailable, ['blob', 'vdec', 'nums', 'attrs'], 'before lacks these too');
  assert.deepEqual(op.doc, { id: 1, n: 7, big: 'the old text', dec: 123.45, tags: ['t'] });
});

test('inserts and snapshot reads are not inspected; deletes carry the new key of a key change', () => {
  const m = mapper();
  const read = m.map(event('r', { id: 1, big: P }), versions())!;
  assert.equal(read.unavailable, undefined);
  assert.equal(read.source, `{"id":1,"big":"${P}"}`);
  const moved = m.map(
    event('c', { id: 2, big: P }, null, { '__debezium.oldkey': '{"id":1}' }),
    versions(),
  )!;
  assert.deepEqual(moved.unavailable, ['big']);
  assert.equal(moved.movedFrom, '1');
  const deletion = m.map(
    event('d', null, { id: 1 }, { '__debezium.newkey': '{"id":2}' }),
    versions(),
  )!;
  assert.equal(deletion.action, 'delete');
  assert.equal(deletion.movedTo, '2');
});

test('unwrapped rows: checked unless __op says insert or snapshot read', () => {
  const m = mapper();
  const row = (op: string | undefined) => ({
    topic: 't',
    partition: 0,
    offset: 1,
    key: 1,
    value: { id: 1, big: P, ...(op ? { __op: op } : {}) },
  });
  assert.deepEqual(m.map(row('u'), versions())!.unavailable, ['big']);
  assert.deepEqual(m.map(row(undefined), versions())!.unavailable, ['big']);
  assert.equal(m.map(row('r'), versions())!.unavailable, undefined);
});

test('write.method=upsert: the partial update leaves the fields out (the stored values stay)', () => {
  const op = mapper({ 'write.method': 'upsert' }).map(event('u', placeholderRow), versions())!;
  assert.equal(op.action, 'update');
  assert.equal(op.unavailable, undefined);
  assert.equal(op.source, '{"doc":{"id":1,"n":7},"doc_as_upsert":true}');
});

test('behavior.on.unavailable.values=keep, a custom placeholder, and detection off', () => {
  const kept = mapper({ 'behavior.on.unavailable.values': 'KEEP' }).map(
    event('u', { id: 1, big: P }),
    versions(),
  )!;
  assert.equal(kept.unavailable, undefined);
  assert.equal(kept.source, `{"id":1,"big":"${P}"}`);
  const custom = mapper({ 'unavailable.value.placeholder': '__gone' }).map(
    event('u', { id: 1, big: '__gone', n: P }),
    versions(),
  )!;
  assert.deepEqual(custom.unavailable, ['big']);
  const off = mapper({ 'unavailable.value.placeholder': '' }).map(
    event('u', { id: 1, big: P }),
    versions(),
  )!;
  assert.equal(off.unavailable, undefined);
  assert.deepEqual(
    parseSinkConfig({
      'connection.url': 'http://es:9200',
      'behavior.on.unavailable.values': 'x',
    }).errors.map((e) => e.field),
    ['behavior.on.unavailable.values'],
  );
});

test('documents read back keep 64-bit integers exact', () => {
  assert.deepEqual(
    parseExactJson(
      '{"a": 12345678901234567890, "b": "x\\"y 1234567890123456789", "c": [1.5, null, true, -9007199254740993], "d": {}}',
    ),
    {
      a: 12345678901234567890n,
      b: 'x"y 1234567890123456789',
      c: [1.5, null, true, -9007199254740993n],
      d: {},
    },
  );
  assert.deepEqual(parseExactJson('{"n": 42}'), { n: 42 });
  assert.throws(() => parseExactJson('{"a": 12345678901234567890,}'), SyntaxError);
});
