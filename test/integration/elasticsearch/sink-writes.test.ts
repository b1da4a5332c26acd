// Elasticsearch sink against the real Elasticsearch, at the task level: what ends up in the index
// for raw Debezium envelopes and unwrapped rows — inserts, updates, deletes, snapshot reads,
// replays and reorderings (versions), composite keys, key.ignore and tombstones.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@elastic/elasticsearch';
import { RecordRejectedError, SOURCE_VERSION_HEADER } from '../../../runtime/api/index.ts';
import { uniqueName } from '../../helpers/wait.ts';
import {
  docs,
  esClient,
  mysqlEvent,
  pgEvent,
  putAndConfirm,
  rowRecord,
  startTask,
  version,
} from './helpers.ts';

let client: Client;
const created: string[] = [];

function topicName(prefix: string): string {
  const topic = uniqueName(prefix);
  created.push(topic.toLowerCase());
  return topic;
}

before(() => {
  client = esClient();
});

after(async () => {
  for (const index of created) await client.indices.delete({ index, ignore_unavailable: true });
  await client.close();
});

test('raw envelopes: snapshot read, insert, update, delete; versions are the LSNs', async () => {
  const topic = topicName('pg.public.customers');
  const { task } = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    await putAndConfirm(task, [
      pgEvent({ topic, offset: 0 }, 'r', { id: 1 }, { id: 1, name: 'Ada', city: 'London' }, 100),
      pgEvent({ topic, offset: 1 }, 'c', { id: 2 }, { id: 2, name: 'Grace', city: 'NYC' }, 200),
      pgEvent({ topic, offset: 2 }, 'u', { id: 1 }, { id: 1, name: 'Ada L.', city: 'London' }, 300),
      pgEvent({ topic, offset: 3 }, 'c', { id: 3 }, { id: 3, name: 'Alan', city: 'Wilmslow' }, 400),
      pgEvent({ topic, offset: 4 }, 'd', { id: 3 }, null, 500),
      { ...rowRecord({ topic, offset: 5 }, { id: 3 }, null) },
    ]);
    const index = topic.toLowerCase();
    assert.deepEqual([...(await docs(client, index))].sort(), [
      ['1', { id: 1, name: 'Ada L.', city: 'London' }],
      ['2', { id: 2, name: 'Grace', city: 'NYC' }],
    ]);
    assert.equal(await version(client, index, '1'), 300);
    assert.equal(await version(client, index, '2'), 200);
    // The index was created with the mapping from the row schema: text with a keyword sub-field.
    const mapping = await client.indices.getMapping({ index });
    assert.deepEqual(mapping[index]?.mappings.properties?.name, {
      type: 'text',
      fields: { keyword: { type: 'keyword', ignore_above: 256 } },
    });
    assert.deepEqual(mapping[index]?.mappings.properties?.id, { type: 'integer' });
  } finally {
    await task.stop();
  }
});

test('a replay or a reordering never brings back an older row', async () => {
  const topic = topicName('pg.public.replay');
  const index = topic.toLowerCase();
  const first = await startTask({});
  try {
    await putAndConfirm(first.task, [
      pgEvent({ topic, offset: 0 }, 'c', { id: 1 }, { id: 1, name: 'v1', city: 'A' }, 1000),
      pgEvent({ topic, offset: 1 }, 'u', { id: 1 }, { id: 1, name: 'v2', city: 'B' }, 2000),
      pgEvent({ topic, offset: 2 }, 'c', { id: 2 }, { id: 2, name: 'x1', city: 'C' }, 2500),
      pgEvent({ topic, offset: 3 }, 'd', { id: 2 }, null, 3000),
    ]);
  } finally {
    await first.task.stop();
  }
  // A restarted task replays the whole log (nothing was committed) and, out of order, v1 again.
  const second = await startTask({});
  try {
    await putAndConfirm(second.task, [
      pgEvent({ topic, offset: 0 }, 'c', { id: 1 }, { id: 1, name: 'v1', city: 'A' }, 1000),
      pgEvent({ topic, offset: 1 }, 'u', { id: 1 }, { id: 1, name: 'v2', city: 'B' }, 2000),
      pgEvent({ topic, offset: 2 }, 'c', { id: 2 }, { id: 2, name: 'x1', city: 'C' }, 2500),
    ]);
    await putAndConfirm(second.task, [
      pgEvent({ topic, offset: 4 }, 'u', { id: 1 }, { id: 1, name: 'v1-late', city: 'A' }, 1500),
    ]);
    const now = await docs(client, index);
    assert.deepEqual(now.get('1'), { id: 1, name: 'v2', city: 'B' }, 'v2 stays');
    assert.equal(now.has('2'), false, 'the deleted row is not resurrected by the older create');
    assert.equal(await version(client, index, '1'), 2000);
  } finally {
    await second.task.stop();
  }
});

test('the same version replayed counts as applied (external_gte) and a later change wins', async () => {
  const topic = topicName('pg.public.same');
  const index = topic.toLowerCase();
  const { task } = await startTask({});
  try {
    const event = pgEvent(
      { topic, offset: 0 },
      'c',
      { id: 7 },
      { id: 7, name: 'n', city: 'c' },
      50,
    );
    await putAndConfirm(task, [event]);
    await putAndConfirm(task, [{ ...event, offset: 1 }]);
    await putAndConfirm(task, [
      pgEvent({ topic, offset: 2 }, 'u', { id: 7 }, { id: 7, name: 'n2', city: 'c' }, 60),
    ]);
    assert.deepEqual((await docs(client, index)).get('7'), { id: 7, name: 'n2', city: 'c' });
  } finally {
    await task.stop();
  }
});

test('the source version header: a change committed after the snapshot wins though its LSN is older', async () => {
  // A transaction open while the slot (and its snapshot) was created, committed after it: the
  // snapshot does not see its change, and its change LSN (900) sits below the snapshot's LSN
  // (1000), but its commit LSN (1100) sits above. Versioned by source.lsn, Elasticsearch would
  // refuse the update as older than the snapshot read (a lost update); versioned by the source's
  // commit version header it wins. Two changes of one transaction share the version and are
  // applied in log order (external_gte).
  const topic = topicName('pg.public.snapshot_edge');
  const index = topic.toLowerCase();
  const at = (version: number) => ({ headers: { [SOURCE_VERSION_HEADER]: String(version) } });
  const { task } = await startTask({});
  try {
    const snapshot = (offset: number, id: number, name: string) => ({
      ...pgEvent({ topic, offset }, 'r', { id }, { id, name, city: 'snap' }, 1000),
      ...at(1000),
    });
    await putAndConfirm(task, [snapshot(0, 1, 'before'), snapshot(1, 2, 'before')]);
    await putAndConfirm(task, [
      {
        ...pgEvent({ topic, offset: 2 }, 'u', { id: 1 }, { id: 1, name: 'late', city: 'x' }, 900),
        ...at(1100),
      },
      {
        ...pgEvent({ topic, offset: 3 }, 'u', { id: 2 }, { id: 2, name: 'late-1', city: 'x' }, 910),
        ...at(1100),
      },
      {
        ...pgEvent({ topic, offset: 4 }, 'u', { id: 2 }, { id: 2, name: 'late-2', city: 'x' }, 920),
        ...at(1100),
      },
    ]);
    const now = await docs(client, index);
    assert.deepEqual(now.get('1'), { id: 1, name: 'late', city: 'x' }, 'the update wins');
    assert.deepEqual(now.get('2'), { id: 2, name: 'late-2', city: 'x' }, 'in log order');
    assert.equal(await version(client, index, '1'), 1100);
    // A replay of the snapshot read (a restart) does not bring the old row back.
    await putAndConfirm(task, [snapshot(5, 1, 'before')]);
    assert.deepEqual((await docs(client, index)).get('1'), { id: 1, name: 'late', city: 'x' });
  } finally {
    await task.stop();
  }

  // The same events without the header: versioned by the change LSN, the update is lost. This is
  // what the header is for (kept as a test so the reason stays visible).
  const bare = topicName('pg.public.snapshot_edge_bare');
  const plain = await startTask({});
  try {
    await putAndConfirm(plain.task, [
      pgEvent(
        { topic: bare, offset: 0 },
        'r',
        { id: 1 },
        { id: 1, name: 'before', city: 's' },
        1000,
      ),
      pgEvent({ topic: bare, offset: 1 }, 'u', { id: 1 }, { id: 1, name: 'late', city: 'x' }, 900),
    ]);
    assert.deepEqual((await docs(client, bare.toLowerCase())).get('1'), {
      id: 1,
      name: 'before',
      city: 's',
    });
  } finally {
    await plain.task.stop();
  }
});

test('MySQL envelopes are versioned by binlog file and position', async () => {
  const topic = topicName('my.inventory.items');
  const index = topic.toLowerCase();
  const { task } = await startTask({ 'schema.ignore': 'true' });
  try {
    await putAndConfirm(task, [
      mysqlEvent({ topic, offset: 0 }, 'c', { id: 1 }, { id: 1, qty: 1 }, 'mysql-bin.000002', 900),
      mysqlEvent({ topic, offset: 1 }, 'u', { id: 1 }, { id: 1, qty: 2 }, 'mysql-bin.000003', 4),
      // Older position in an older file, arriving late: refused.
      mysqlEvent({ topic, offset: 2 }, 'u', { id: 1 }, { id: 1, qty: 0 }, 'mysql-bin.000002', 950),
    ]);
    assert.deepEqual((await docs(client, index)).get('1'), { id: 1, qty: 2 });
    assert.equal(await version(client, index, '1'), 3 * 2 ** 32 + 4);
  } finally {
    await task.stop();
  }
});

test('unwrapped rows: version from __lsn, tombstones delete with the partition position', async () => {
  const topic = topicName('pg.public.unwrapped');
  const index = topic.toLowerCase();
  const { task } = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    await putAndConfirm(task, [
      rowRecord({ topic, offset: 0 }, { id: 1 }, { id: 1, name: 'a', __lsn: 10 }),
      rowRecord({ topic, offset: 1 }, { id: 2 }, { id: 2, name: 'b', __lsn: 20 }),
      rowRecord({ topic, offset: 2 }, { id: 1 }, { id: 1, name: 'a2', __lsn: 30 }),
      rowRecord({ topic, offset: 3 }, { id: 2 }, null),
    ]);
    let now = await docs(client, index);
    assert.deepEqual(now.get('1'), { id: 1, name: 'a2', __lsn: 30 });
    assert.equal(now.has('2'), false);
    // Replay of the older insert of 2: refused while Elasticsearch remembers the delete.
    await putAndConfirm(task, [
      rowRecord({ topic, offset: 4 }, { id: 2 }, { id: 2, name: 'b', __lsn: 20 }),
    ]);
    now = await docs(client, index);
    assert.equal(now.has('2'), false, 'an older create does not bring back a deleted row');
    // A genuine re-insert (a later position) comes back.
    await putAndConfirm(task, [
      rowRecord({ topic, offset: 5 }, { id: 2 }, { id: 2, name: 'b again', __lsn: 40 }),
    ]);
    assert.deepEqual((await docs(client, index)).get('2'), { id: 2, name: 'b again', __lsn: 40 });
  } finally {
    await task.stop();
  }
});

test('a tombstone first after a restart deletes at the current version of the document', async () => {
  const topic = topicName('pg.public.restart');
  const index = topic.toLowerCase();
  const first = await startTask({});
  try {
    await putAndConfirm(first.task, [
      rowRecord({ topic, offset: 0 }, 5, { id: 5, __lsn: 777 }),
      rowRecord({ topic, offset: 1 }, 6, { id: 6, __lsn: 778 }),
    ]);
  } finally {
    await first.task.stop();
  }
  const second = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    await putAndConfirm(second.task, [
      rowRecord({ topic, offset: 2 }, 5, null),
      rowRecord({ topic, offset: 3 }, 9, null),
    ]);
    const now = await docs(client, index);
    assert.deepEqual([...now.keys()], ['6']);
    // The delete left Elasticsearch's tombstone at version 777: the replayed create is refused.
    await putAndConfirm(second.task, [
      rowRecord({ topic, offset: 4 }, 5, { id: 5, __lsn: 777 - 1 }),
    ]);
    assert.deepEqual([...(await docs(client, index)).keys()], ['6']);
  } finally {
    await second.task.stop();
  }
});

test('tombstones: ignore leaves the document, fail refuses the batch before buffering it', async () => {
  const topic = topicName('pg.public.tombstones');
  const index = topic.toLowerCase();
  const ignoring = await startTask({ 'behavior.on.null.values': 'ignore' });
  try {
    await putAndConfirm(ignoring.task, [
      rowRecord({ topic, offset: 0 }, 'k1', { v: 1 }),
      rowRecord({ topic, offset: 1 }, 'k1', null),
    ]);
    assert.deepEqual((await docs(client, index)).get('k1'), { v: 1 });
  } finally {
    await ignoring.task.stop();
  }
  const failing = await startTask({});
  try {
    const good = rowRecord({ topic, offset: 2 }, 'k2', { v: 2 });
    const tombstone = rowRecord({ topic, offset: 3 }, 'k1', null);
    const other = rowRecord({ topic, offset: 4 }, 'k3', 'not an object');
    await assert.rejects(failing.task.put([good, tombstone, other]), (error: unknown) => {
      // A record-level failure, naming every refused record of the batch with its reason.
      assert.ok(error instanceof RecordRejectedError);
      assert.deepEqual(
        error.rejections.map((rejection) => rejection.record),
        [tombstone, other],
      );
      assert.match(
        error.rejections[0]!.reason.message,
        /null value \(a tombstone\).*behavior\.on\.null\.values/,
      );
      assert.match(error.rejections[1]!.reason.message, /not an object/);
      return true;
    });
    // Nothing of the refused batch was buffered: the position stays before it.
    assert.deepEqual(await failing.task.preCommit([{ topic, partition: 0, offset: 5 }]), [
      { topic, partition: 0, offset: 5 },
    ]);
    // The rest of the batch put again (what the runtime does): the good one is written.
    await putAndConfirm(failing.task, [good]);
    assert.deepEqual((await docs(client, index)).get('k2'), { v: 2 });
  } finally {
    await failing.task.stop();
  }
});

test('composite keys give unambiguous ids; a single-field key gives its value', async () => {
  const topic = topicName('pg.public.composite');
  const index = topic.toLowerCase();
  const keySchema = {
    type: 'struct' as const,
    fields: [
      { field: 'tenant', type: 'string' as const },
      { field: 'id', type: 'int64' as const },
    ],
  };
  const { task } = await startTask({});
  try {
    await putAndConfirm(task, [
      rowRecord({ topic, offset: 0 }, { id: 1, tenant: 'a,b' }, { n: 1, __lsn: 1 }, { keySchema }),
      rowRecord({ topic, offset: 1 }, { tenant: 'a', id: 1 }, { n: 2, __lsn: 2 }, { keySchema }),
      rowRecord({ topic, offset: 2 }, { tenant: 'a",1' }, { n: 3, __lsn: 3 }),
      rowRecord({ topic, offset: 3 }, 'plain', { n: 4, __lsn: 4 }),
    ]);
    const now = await docs(client, index);
    assert.deepEqual([...now.keys()].sort(), ['["a",1]', '["a,b",1]', 'a",1', 'plain']);
  } finally {
    await task.stop();
  }
});

test('key.ignore: one document per record, id topic+partition+offset', async () => {
  const topic = topicName('events');
  const index = topic.toLowerCase();
  const { task } = await startTask({ 'key.ignore': 'true', 'behavior.on.null.values': 'delete' });
  try {
    await putAndConfirm(task, [
      rowRecord({ topic, partition: 1, offset: 10 }, 'same', { n: 1 }),
      rowRecord({ topic, partition: 1, offset: 11 }, 'same', { n: 2 }),
      rowRecord({ topic, partition: 1, offset: 12 }, 'same', null),
    ]);
    const now = await docs(client, index);
    assert.deepEqual([...now].sort(), [
      [`${topic}+1+10`, { n: 1 }],
      [`${topic}+1+11`, { n: 2 }],
    ]);
  } finally {
    await task.stop();
  }
});

test('topic.to.index.map, upsert and the offset fallback', async () => {
  const topic = topicName('orders');
  const index = uniqueName('mapped_orders');
  created.push(index);
  const { task } = await startTask({
    'topic.to.index.map': `${topic}:${index.toUpperCase()}`,
    'write.method': 'upsert',
    'schema.ignore': 'true',
  });
  try {
    await putAndConfirm(task, [
      rowRecord({ topic, offset: 0 }, 1, { a: 1, b: 1 }),
      rowRecord({ topic, offset: 1 }, 1, { b: 2 }),
    ]);
    assert.deepEqual((await docs(client, index)).get('1'), { a: 1, b: 2 });
  } finally {
    await task.stop();
  }
});

test('an invalid index name fails with a message that says how to fix it', async () => {
  const { task } = await startTask({});
  try {
    await assert.rejects(
      task.put([rowRecord({ topic: '_internal', offset: 0 }, 1, { a: 1 })]),
      /index name '_internal'.*cannot start with '_'.*topic\.to\.index\.map/,
    );
  } finally {
    await task.stop();
  }
});
