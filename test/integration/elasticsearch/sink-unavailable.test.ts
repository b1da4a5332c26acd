// Unchanged TOASTed values against the real Elasticsearch, at the task level: an update whose
// large column the source did not send keeps the document's value (read back in the document's
// lane, or taken from an earlier write in the same request), also when several changes share one
// version (one transaction); a primary-key update takes the value from the old key's document,
// whether the delete and the create come in one batch or two; a replay of everything changes
// nothing, also of a transaction that deleted a key and then moved another key onto it (versions
// ranked within the transaction); and a value found nowhere is left out (never the placeholder),
// with a warning.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@elastic/elasticsearch';
import { SOURCE_VERSION_HEADER } from '../../../runtime/api/index.ts';
import type { RecordObject, SinkRecord } from '../../../runtime/api/index.ts';
import { sourceVersion } from '../../../connectors/postgres/change-version.ts';
import { uniqueName } from '../../helpers/wait.ts';
import { docs, esClient, pgEvent, putAndConfirm, rowRecord, startTask } from './helpers.ts';
import type { Position } from './helpers.ts';

const P = '__debezium_unavailable_value';
const big = (tag: string) => `${tag}:`.padEnd(9000, tag);

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

/** Envelopes of one topic with consecutive offsets, from `firstOffset`. */
function stream(topic: string, firstOffset = 0) {
  let offset = firstOffset;
  const at = (): Position => ({ topic, offset: offset++ });
  return {
    change(
      op: 'c' | 'u' | 'r',
      row: RecordObject,
      lsn: number,
      headers?: Record<string, string>,
    ): SinkRecord {
      const record = pgEvent(at(), op, { id: row.id! }, row, lsn);
      return headers ? { ...record, headers } : record;
    },
    remove(id: number, lsn: number, headers?: Record<string, string>): SinkRecord {
      const record = pgEvent(at(), 'd', { id }, null, lsn);
      return headers ? { ...record, headers } : record;
    },
    tombstone(id: number): SinkRecord {
      return rowRecord(at(), { id }, null);
    },
  };
}

test('an update that leaves the large column out keeps the document value, in one request or several', async () => {
  const topic = topicName('pg.public.toast');
  const index = topic.toLowerCase();
  const s = stream(topic);
  const { task } = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    await putAndConfirm(task, [
      s.change('c', { id: 1, name: 'a', city: big('one') }, 100),
      s.change('c', { id: 2, name: 'b', city: big('two') }, 100),
    ]);
    // Read back from Elasticsearch (separate request).
    await putAndConfirm(task, [s.change('u', { id: 1, name: 'a2', city: P }, 200)]);
    // One request: the earlier write of the same document is the source; versions shared by
    // changes of one transaction.
    await putAndConfirm(task, [
      s.change('u', { id: 2, name: 'b2', city: P }, 300),
      s.change('u', { id: 2, name: 'b3', city: P }, 300),
      s.change('u', { id: 2, name: 'b4', city: big('new') }, 300),
      s.change('u', { id: 2, name: 'b5', city: P }, 300),
      s.change('u', { id: 1, name: 'a3', city: P }, 300),
    ]);
    const now = await docs(client, index);
    assert.deepEqual(now.get('1'), { id: 1, name: 'a3', city: big('one') });
    assert.deepEqual(now.get('2'), { id: 2, name: 'b5', city: big('new') });
  } finally {
    await task.stop();
  }
});

test('a primary-key update takes the value from the old document, in one batch or split', async () => {
  const topic = topicName('pg.public.toastmove');
  const index = topic.toLowerCase();
  const s = stream(topic);
  const records: SinkRecord[] = [];
  const first = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    const batch1 = [
      s.change('c', { id: 1, name: 'a', city: big('one') }, 100),
      s.change('c', { id: 2, name: 'b', city: big('two') }, 100),
      s.change('u', { id: 1, name: 'a2', city: P }, 150),
      // id 1 → 10 in one batch
      s.remove(1, 200, { '__debezium.newkey': '{"id":10}' }),
      s.tombstone(1),
      s.change('c', { id: 10, name: 'a2', city: P }, 200, { '__debezium.oldkey': '{"id":1}' }),
      // id 2 → 20, split: the batch ends after the delete and its tombstone
      s.remove(2, 300, { '__debezium.newkey': '{"id":20}' }),
      s.tombstone(2),
    ];
    const batch2 = [
      s.change('c', { id: 20, name: 'b', city: P }, 300, { '__debezium.oldkey': '{"id":2}' }),
      s.change('u', { id: 20, name: 'b2', city: P }, 400),
      // a key moved back onto a deleted one: id 10 → 1
      s.remove(10, 500, { '__debezium.newkey': '{"id":1}' }),
      s.tombstone(10),
      s.change('c', { id: 1, name: 'a3', city: P }, 500, { '__debezium.oldkey': '{"id":10}' }),
    ];
    records.push(...batch1, ...batch2);
    await first.task.put(batch1);
    await putAndConfirm(first.task, batch2);
    const expected = new Map([
      ['1', { id: 1, name: 'a3', city: big('one') }],
      ['20', { id: 20, name: 'b2', city: big('two') }],
    ]);
    assert.deepEqual(new Map([...(await docs(client, index))].sort()), expected);
    assert.equal(first.logs.filter((log) => log.level === 'warn').length, 0);
  } finally {
    await first.task.stop();
  }

  // A replay of everything (a restart from an earlier commit) changes nothing, however the
  // writes are cut into requests (the refused older writes must not mislead the reads).
  for (const batchSize of ['1', '3', '2000']) {
    const replay = await startTask({
      'behavior.on.null.values': 'delete',
      'batch.size': batchSize,
    });
    try {
      await putAndConfirm(replay.task, records);
      assert.deepEqual(
        new Map([...(await docs(client, index))].sort()),
        new Map([
          ['1', { id: 1, name: 'a3', city: big('one') }],
          ['20', { id: 20, name: 'b2', city: big('two') }],
        ]),
        `replayed in requests of ${batchSize}`,
      );
    } finally {
      await replay.task.stop();
    }
  }
});

test('a held delete goes on its own when no create follows; a value found nowhere is left out', async () => {
  const topic = topicName('pg.public.toastgone');
  const index = topic.toLowerCase();
  const s = stream(topic);
  const { task, logs } = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    await putAndConfirm(task, [s.change('c', { id: 1, name: 'a', city: big('one') }, 100)]);
    // The batch ends with a key change's delete whose create never comes (filtered away).
    await putAndConfirm(task, [
      s.remove(1, 200, { '__debezium.newkey': '{"id":2}' }),
      s.tombstone(1),
    ]);
    assert.equal((await docs(client, index)).size, 0);
    // An update of a document Elasticsearch does not have.
    await putAndConfirm(task, [s.change('u', { id: 3, name: 'c', city: P }, 300)]);
    assert.deepEqual((await docs(client, index)).get('3'), { id: 3, name: 'c' });
    assert.ok(logs.some((log) => log.level === 'warn' && /did not send city/.test(log.message)));
  } finally {
    await task.stop();
  }
});

test('unwrapped rows: a key change whose delete became a plain tombstone still moves the value', async () => {
  const topic = topicName('pg.public.toastunwrap');
  const index = topic.toLowerCase();
  let offset = 0;
  const row = (value: RecordObject, headers: Record<string, string> = {}) =>
    rowRecord({ topic, offset: offset++ }, { id: value.id! }, value, { headers });
  const { task, logs } = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    await putAndConfirm(task, [row({ id: 1, name: 'a', city: big('one'), __op: 'c', __lsn: 100 })]);
    await putAndConfirm(task, [
      // ExtractNewRecordState's default mode drops the delete event and keeps the tombstone,
      // which carries no __debezium.newkey header.
      rowRecord({ topic, offset: offset++ }, { id: 1 }, null, {
        headers: { [SOURCE_VERSION_HEADER]: '200' },
      }),
      row(
        { id: 2, name: 'a', city: P, __op: 'c', __lsn: 200 },
        { '__debezium.oldkey': '{"id":1}' },
      ),
    ]);
    assert.deepEqual(
      [...(await docs(client, index))],
      [['2', { id: 2, name: 'a', city: big('one'), __op: 'c', __lsn: 200 }]],
    );
    assert.equal(logs.filter((log) => log.level === 'warn').length, 0);
  } finally {
    await task.stop();
  }
});

test('a row inserted and moved to a new key within one request keeps its value', async () => {
  const topic = topicName('pg.public.toastsame');
  const index = topic.toLowerCase();
  const s = stream(topic);
  // A long linger puts the whole batch of a lane into one request.
  const { task, logs } = await startTask({
    'behavior.on.null.values': 'delete',
    'linger.ms': '200',
  });
  try {
    await putAndConfirm(task, [
      s.change('c', { id: 5, name: 'e', city: big('five') }, 100),
      s.change('u', { id: 5, name: 'e2', city: P }, 100),
      s.remove(5, 100, { '__debezium.newkey': '{"id":50}' }),
      s.tombstone(5),
      s.change('c', { id: 50, name: 'e2', city: P }, 100, { '__debezium.oldkey': '{"id":5}' }),
      s.change('u', { id: 50, name: 'e3', city: P }, 100),
    ]);
    assert.deepEqual(
      [...(await docs(client, index))],
      [['50', { id: 50, name: 'e3', city: big('five') }]],
    );
    assert.equal(logs.filter((log) => log.level === 'warn').length, 0);
  } finally {
    await task.stop();
  }
});

test('a replayed transaction that deleted key B, then moved key A to B, keeps the moved value', async () => {
  const topic = topicName('pg.public.toastreplay');
  const index = topic.toLowerCase();
  // Versions as the PostgreSQL source ranks the changes of one transaction (change-version.ts).
  const at = (lsn: number, rank: number) => ({ [SOURCE_VERSION_HEADER]: sourceVersion(lsn, rank) });
  const earlier = stream(topic);
  const transaction = () => {
    // Offsets after the two inserts of `earlier`.
    const s = stream(topic, 2);
    return {
      deleteB: [s.remove(2, 200, at(200, 0)), { ...s.tombstone(2), headers: at(200, 0) }],
      moveAtoB: [
        s.remove(1, 200, { ...at(200, 2), '__debezium.newkey': '{"id":2}' }),
        { ...s.tombstone(1), headers: at(200, 2) },
        s.change('c', { id: 2, name: 'a', city: P }, 200, {
          ...at(200, 3),
          '__debezium.oldkey': '{"id":1}',
        }),
      ],
    };
  };
  const moved = { id: 2, name: 'a', city: big('one') };
  const first = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    await putAndConfirm(first.task, [
      earlier.change('c', { id: 1, name: 'a', city: big('one') }, 100, at(100, 0)),
      earlier.change('c', { id: 2, name: 'b', city: big('two') }, 100, at(100, 2)),
    ]);
    const { deleteB, moveAtoB } = transaction();
    await putAndConfirm(first.task, [...deleteB, ...moveAtoB]);
    assert.deepEqual([...(await docs(client, index))], [['2', moved]]);
  } finally {
    await first.task.stop();
  }
  // A crash before the offsets were committed: a new task replays the transaction, the delete of
  // B on its own first (the split a restart may well make).
  const replay = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    const { deleteB, moveAtoB } = transaction();
    await putAndConfirm(replay.task, deleteB);
    assert.deepEqual(
      [...(await docs(client, index))],
      [['2', moved]],
      'the replayed delete of B is older than the moved document',
    );
    await putAndConfirm(replay.task, moveAtoB);
    assert.deepEqual([...(await docs(client, index))], [['2', moved]]);
    assert.equal(replay.logs.filter((log) => log.level === 'warn').length, 0);
  } finally {
    await replay.task.stop();
  }
});

test('a replayed create of a key moved on since is refused quietly: no "written without" warning', async () => {
  const topic = topicName('pg.public.toastmovedon');
  const index = topic.toLowerCase();
  const at = (lsn: number, rank: number) => ({ [SOURCE_VERSION_HEADER]: sourceVersion(lsn, rank) });
  // Key 1 moved to 2 (at 200), then 2 moved to 3 (at 300).
  const move = (s: ReturnType<typeof stream>, from: number, to: number, lsn: number) => [
    s.remove(from, lsn, { ...at(lsn, 0), '__debezium.newkey': `{"id":${to}}` }),
    { ...s.tombstone(from), headers: at(lsn, 0) },
    s.change('c', { id: to, name: 'a', city: P }, lsn, {
      ...at(lsn, 1),
      '__debezium.oldkey': `{"id":${from}}`,
    }),
  ];
  const moved = { id: 3, name: 'a', city: big('one') };
  const first = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    const s = stream(topic);
    await putAndConfirm(first.task, [
      s.change('c', { id: 1, name: 'a', city: big('one') }, 100, at(100, 0)),
    ]);
    await putAndConfirm(first.task, move(s, 1, 2, 200));
    await putAndConfirm(first.task, move(s, 2, 3, 300));
    assert.deepEqual([...(await docs(client, index))], [['3', moved]]);
  } finally {
    await first.task.stop();
  }
  // A replay of the first move only: its create finds neither key 1 nor key 2 (both deleted
  // since), and Elasticsearch refuses it as older than the delete of key 2 it remembers.
  const replay = await startTask({ 'behavior.on.null.values': 'delete' });
  try {
    await putAndConfirm(replay.task, move(stream(topic, 1), 1, 2, 200));
    assert.deepEqual([...(await docs(client, index))], [['3', moved]]);
    assert.deepEqual(
      replay.logs.filter((log) => log.level === 'warn').map((log) => log.message),
      [],
    );
  } finally {
    await replay.task.stop();
  }
});
