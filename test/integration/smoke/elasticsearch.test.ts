// Smoke: what Kafki's Elasticsearch sink relies on, through @elastic/elasticsearch 8.x — an explicit
// keyword/text mapping, bulk indexing with external versions, refresh, search, an older external
// version refused as a version conflict (single request and bulk item), delete, and info()/ping().
// Assumes the services are up (`npx tsx test/services/cli.ts up elasticsearch`).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, errors } from '@elastic/elasticsearch';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName } from '../../helpers/wait.ts';

interface Customer {
  id: string;
  name: string;
  city: string;
}

test('bulk indexing with external versions, search, version conflicts and delete', async () => {
  const client = new Client({ node: serviceAddresses().elasticsearchUrl, requestTimeout: 30_000 });
  const index = uniqueName('smoke_es');
  assert.equal(index, index.toLowerCase(), 'index names must be lowercase');
  try {
    const info = await client.info();
    assert.match(info.version.number, /^8\./);
    assert.equal(await client.ping(), true);

    await client.indices.create({
      index,
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: {
        dynamic: 'strict',
        properties: {
          id: { type: 'keyword' },
          name: { type: 'text', fields: { raw: { type: 'keyword' } } },
          city: { type: 'keyword' },
        },
      },
    });

    const bulk = await client.bulk<Customer>({
      operations: [
        { index: { _index: index, _id: '1' } },
        { id: '1', name: 'Ada Lovelace', city: 'London' },
        { index: { _index: index, _id: '2' } },
        { id: '2', name: 'Grace Hopper', city: 'New York' },
        { index: { _index: index, _id: '3', version: 5, version_type: 'external' } },
        { id: '3', name: 'Alan Turing', city: 'London' },
      ],
    });
    assert.equal(bulk.errors, false, JSON.stringify(bulk.items));
    assert.deepEqual(
      bulk.items.map((item) => [item.index?._id, item.index?.status, item.index?.result]),
      [
        ['1', 201, 'created'],
        ['2', 201, 'created'],
        ['3', 201, 'created'],
      ],
    );
    assert.equal(bulk.items[2]?.index?._version, 5, 'the external version is kept as given');

    await client.indices.refresh({ index });

    const london = await client.search<Customer>({
      index,
      query: { term: { city: 'London' } },
      sort: [{ id: 'asc' }],
    });
    assert.deepEqual(
      london.hits.hits.map((hit) => [hit._id, hit._source?.name]),
      [
        ['1', 'Ada Lovelace'],
        ['3', 'Alan Turing'],
      ],
    );
    const fullText = await client.search<Customer>({ index, query: { match: { name: 'hopper' } } });
    assert.deepEqual(
      fullText.hits.hits.map((hit) => hit._id),
      ['2'],
    );

    // An older external version is refused, one request at a time...
    await assert.rejects(
      client.index({
        index,
        id: '3',
        version: 4,
        version_type: 'external',
        document: { id: '3', name: 'stale', city: 'Nowhere' },
      }),
      (error: unknown) => {
        assert.ok(error instanceof errors.ResponseError, String(error));
        assert.equal(error.statusCode, 409);
        assert.match(JSON.stringify(error.body), /version_conflict_engine_exception/);
        return true;
      },
    );
    // ...and as a bulk item, while a newer one in the same bulk is applied.
    const mixed = await client.bulk<Customer>({
      operations: [
        { index: { _index: index, _id: '3', version: 5, version_type: 'external' } },
        { id: '3', name: 'same version', city: 'Nowhere' },
        { index: { _index: index, _id: '3', version: 7, version_type: 'external' } },
        { id: '3', name: 'Alan M. Turing', city: 'Manchester' },
      ],
      refresh: true,
    });
    assert.equal(mixed.errors, true);
    assert.equal(mixed.items[0]?.index?.status, 409);
    assert.equal(mixed.items[0]?.index?.error?.type, 'version_conflict_engine_exception');
    assert.equal(mixed.items[1]?.index?.status, 200);
    assert.equal(mixed.items[1]?.index?._version, 7);
    const turing = await client.get<Customer>({ index, id: '3' });
    assert.equal(turing._version, 7);
    assert.deepEqual(turing._source, { id: '3', name: 'Alan M. Turing', city: 'Manchester' });

    const deleted = await client.delete({ index, id: '1', refresh: true });
    assert.equal(deleted.result, 'deleted');
    const remaining = await client.search<Customer>({ index, sort: [{ id: 'asc' }] });
    assert.deepEqual(
      remaining.hits.hits.map((hit) => hit._id),
      ['2', '3'],
    );
    assert.equal((await client.count({ index })).count, 2);
  } finally {
    await client.indices.delete({ index, ignore_unavailable: true });
    assert.equal(await client.indices.exists({ index }), false);
    await client.close();
  }
});
