// DocumentMapper: which write each record becomes, with which id, version and body; version
// inference for tombstones; the action lines.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawConfig, SinkRecord } from '../../../runtime/api/index.ts';
import { SOURCE_VERSION_HEADER } from '../../../runtime/api/index.ts';
import { parseSinkConfig } from '../../../connectors/elasticsearch/config.ts';
import { actionLine, DocumentMapper } from '../../../connectors/elasticsearch/document-mapper.ts';
import type { PartitionVersions } from '../../../connectors/elasticsearch/document-mapper.ts';
import { IndexResolver } from '../../../connectors/elasticsearch/index-name.ts';
import { NormalizerCache } from '../../../connectors/elasticsearch/value-normalizer.ts';

function mapper(raw: RawConfig = {}) {
  const { config } = parseSinkConfig({ 'connection.url': 'http://es:9200', ...raw });
  return new DocumentMapper(config, new IndexResolver(config.topicToIndex), new NormalizerCache());
}

const fresh = (): PartitionVersions => ({ lastPosition: undefined, scale: undefined });

function rec(
  offset: number,
  key: SinkRecord['key'],
  value: SinkRecord['value'],
  extra: Partial<SinkRecord> = {},
): SinkRecord {
  return { topic: 'Db.Public.T', partition: 0, offset, key, value, ...extra };
}

function envelope(op: string, after: object | null, lsn: number) {
  return {
    before: null,
    after,
    source: { connector: 'postgresql', lsn },
    op,
    ts_ms: 1,
  } as SinkRecord['value'];
}

test('envelopes: c/u/r index `after` at the LSN, d deletes, t and m write nothing', () => {
  const m = mapper();
  const versions = fresh();
  const insert = m.map(rec(0, { id: 1 }, envelope('c', { id: 1, n: 'a' }, 100)), versions)!;
  assert.deepEqual(
    { ...insert, schema: undefined },
    {
      action: 'index',
      index: 'db.public.t',
      id: '1',
      version: 100,
      lookupVersion: false,
      source: '{"id":1,"n":"a"}',
      schema: undefined,
    },
  );
  assert.equal(m.map(rec(1, { id: 1 }, envelope('r', { id: 1 }, 50)), versions)!.version, 50);
  const del = m.map(rec(2, { id: 1 }, envelope('d', null, 200)), versions)!;
  assert.equal(del.action, 'delete');
  assert.equal(del.version, 200);
  assert.equal(del.source, undefined);
  assert.equal(m.map(rec(3, null, envelope('t', null, 300)), versions), undefined);
  assert.equal(m.map(rec(4, null, envelope('m', null, 300)), versions), undefined);
  assert.deepEqual(versions, { lastPosition: 200, scale: 'position' });
  assert.throws(
    () => m.map(rec(5, { id: 1 }, envelope('u', null, 400)), versions),
    /has no 'after' row/,
  );
});

test('unwrapped rows: version from the header, then the field, then the offset', () => {
  const m = mapper({ 'external.version.header': 'pos' });
  assert.equal(
    m.map(rec(7, 'k', { a: 1, __lsn: 5 }, { headers: { pos: '9' } }), fresh())!.version,
    9,
  );
  assert.equal(m.map(rec(7, 'k', { a: 1, __lsn: 5 }), fresh())!.version, 5);
  assert.equal(m.map(rec(7, 'k', { a: 1 }, { headers: { __lsn: '6' } }), fresh())!.version, 6);
  const versions = fresh();
  assert.equal(m.map(rec(7, 'k', { a: 1 }), versions)!.version, 7);
  assert.equal(versions.scale, 'offset');
  const none = fresh();
  assert.equal(
    mapper({ 'external.version.fallback': 'none' }).map(rec(7, 'k', { a: 1 }), none)!.version,
    undefined,
  );
  assert.equal(none.scale, 'none');
  assert.throws(() => m.map(rec(8, 'k', 'text'), fresh()), /is a string, not an object/);
  assert.throws(() => m.map(rec(8, 'k', [1]), fresh()), /is a array, not an object/);
});

test('tombstones: per behavior.on.null.values, versioned from what the partition showed', () => {
  assert.throws(() => mapper().map(rec(1, 'k', null), fresh()), /behavior\.on\.null\.values/);
  assert.equal(
    mapper({ 'behavior.on.null.values': 'ignore' }).map(rec(1, 'k', null), fresh()),
    undefined,
  );
  const m = mapper({ 'behavior.on.null.values': 'delete' });
  const positioned: PartitionVersions = { lastPosition: 500, scale: 'position' };
  assert.equal(m.map(rec(9, 'k', null), positioned)!.version, 500);
  assert.equal(m.map(rec(9, 'k', null, { headers: { __lsn: '700' } }), positioned)!.version, 700);
  assert.equal(positioned.lastPosition, 700);
  assert.equal(m.map(rec(9, 'k', null), { lastPosition: undefined, scale: 'offset' })!.version, 9);
  const unversioned = m.map(rec(9, 'k', null), { lastPosition: undefined, scale: 'none' })!;
  assert.equal(unversioned.version, undefined);
  assert.equal(unversioned.lookupVersion, false);
  const first = m.map(rec(9, 'k', null), fresh())!;
  assert.equal(first.lookupVersion, true, 'nothing seen yet: the current version is looked up');
  assert.equal(first.version, undefined);
  assert.equal(
    mapper({ 'behavior.on.null.values': 'delete', 'key.ignore': 'true' }).map(
      rec(1, 'k', null),
      fresh(),
    ),
    undefined,
  );
});

test('the source version header (commit position) comes before what the record shows', () => {
  const m = mapper({ 'behavior.on.null.values': 'delete' });
  const commit = { [SOURCE_VERSION_HEADER]: '1100' };
  // Envelope: the header, not source.lsn (the change's own position).
  const versions = fresh();
  assert.equal(
    m.map(rec(0, { id: 1 }, envelope('u', { id: 1 }, 900), { headers: commit }), versions)!.version,
    1100,
  );
  assert.deepEqual(versions, { lastPosition: 1100, scale: 'position' });
  // Unwrapped row: the header, not __lsn.
  assert.equal(
    m.map(rec(1, 'k', { a: 1, __lsn: 900 }, { headers: commit }), fresh())!.version,
    1100,
  );
  // Tombstone: its own header, not the partition's highest position.
  const positioned: PartitionVersions = { lastPosition: 5000, scale: 'position' };
  assert.equal(m.map(rec(2, 'k', null, { headers: commit }), positioned)!.version, 1100);
  // Values past 2^53 stay exact.
  assert.equal(
    m.map(
      rec(3, 'k', { a: 1 }, { headers: { [SOURCE_VERSION_HEADER]: '9223372036854775807' } }),
      fresh(),
    )!.version,
    9223372036854775807n,
  );
  // An explicitly configured external.version.header still wins.
  const explicit = mapper({ 'external.version.header': 'pos' });
  assert.equal(
    explicit.map(
      rec(4, { id: 1 }, envelope('u', { id: 1 }, 900), { headers: { ...commit, pos: '7' } }),
      fresh(),
    )!.version,
    7,
  );
  // Not a version (negative, not a number): ignored, the envelope's position is used.
  assert.equal(
    m.map(
      rec(5, { id: 1 }, envelope('u', { id: 1 }, 900), {
        headers: { [SOURCE_VERSION_HEADER]: '-1' },
      }),
      fresh(),
    )!.version,
    900,
  );
});

test('key.ignore indexes each record whole; upsert sends doc_as_upsert without a version', () => {
  const keyless = mapper({ 'key.ignore': 'true' }).map(
    rec(3, 'k', envelope('c', { id: 1 }, 9)),
    fresh(),
  )!;
  assert.equal(keyless.id, 'Db.Public.T+0+3');
  assert.equal(keyless.version, undefined);
  assert.match(keyless.source!, /^\{"before":null,"after":\{"id":1\},"source":/);
  const upsert = mapper({ 'write.method': 'upsert' }).map(
    rec(3, 'k', { a: 1, __lsn: 4 }),
    fresh(),
  )!;
  assert.equal(upsert.action, 'update');
  assert.equal(upsert.version, undefined);
  assert.equal(upsert.source, '{"doc":{"a":1,"__lsn":4},"doc_as_upsert":true}');
});

test('schema.ignore turns value normalization off', () => {
  const valueSchema = {
    type: 'struct' as const,
    fields: [{ field: 'd', type: 'int32' as const, name: 'io.debezium.time.Date' }],
  };
  const record = rec(0, 'k', { d: 1 }, { valueSchema });
  assert.equal(mapper().map(record, fresh())!.source, '{"d":"1970-01-02"}');
  assert.equal(mapper({ 'schema.ignore': 'true' }).map(record, fresh())!.source, '{"d":1}');
  assert.equal(
    mapper({ 'topic.schema.ignore': 'Db.Public.T' }).map(record, fresh())!.source,
    '{"d":1}',
  );
});

test('action lines', () => {
  const base = {
    index: 'i"x',
    id: 'a"b',
    lookupVersion: false,
    source: undefined,
    schema: undefined,
  };
  assert.equal(
    actionLine({ ...base, action: 'index', version: 12345678901234567890n }),
    '{"index":{"_index":"i\\"x","_id":"a\\"b","version":12345678901234567890,"version_type":"external_gte"}}\n',
  );
  assert.equal(
    actionLine({ ...base, action: 'delete', version: undefined }),
    '{"delete":{"_index":"i\\"x","_id":"a\\"b"}}\n',
  );
});
