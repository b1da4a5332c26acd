// A document Elasticsearch refuses lands in the dead-letter topic with the reason, and the rest
// flows on — end to end, on log.backend=kafka (the worker's topics, its config/offset/status
// stores and the dead-letter topic are Kafka topics of this run only, deleted afterwards).
//
// The table's `i4` column is an integer when the connector starts, so the index the sink creates
// maps it as `integer`. Then the column is retyped to text (ALTER TABLE … TYPE text) — the
// source's events carry it as a string from then on — and some rows get non-numeric text
// ("n/a …"), which Elasticsearch refuses for an integer field (document_parsing_exception), while
// other rows get numeric text (which it coerces and keeps). The sink runs with
// behavior.on.malformed.documents=warn and errors.tolerance=all: each refused change is written
// to the dead-letter topic with its original bytes and the __connect.errors.* headers carrying
// Elasticsearch's reason; every other change, before and after, reaches the index.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { esUrl, kafkaBackend, kafkaClient, readKafkaTopic, uniqueName, until } from './harness.ts';
import {
  caughtUp,
  createPipeline,
  register,
  sinkConfig,
  sourceConfig,
  type Pipeline,
} from './scenario.ts';
import { mixedChanges } from './workload.ts';

const preloaded = 3_000;
const changes = 5_000;
const run = uniqueName('e2e_dlq');

describe('PostgreSQL → Elasticsearch: refused documents go to the dead-letter topic (log.backend=kafka)', () => {
  let pipeline: Pipeline;

  before(async () => {
    pipeline = await createPipeline({
      name: 'dlq',
      run,
      preloaded,
      worker: kafkaBackend(run),
      kafkaTopics: [run],
    });
    await pipeline.worker.start();
  });

  after(async () => {
    await pipeline?.cleanup();
  });

  it('refused changes are dead-lettered with the reason; the others are indexed', async (t) => {
    const dlq = `${run}-dlq`;
    await register(
      pipeline,
      sourceConfig(pipeline),
      sinkConfig(pipeline, {
        'behavior.on.malformed.documents': 'warn',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': dlq,
        'errors.deadletterqueue.topic.replication.factor': '1',
        'errors.deadletterqueue.context.headers.enable': 'true',
      }),
    );
    await mixedChanges(pipeline.writers, {
      table: pipeline.table,
      changes,
      preloaded,
      seed: 23,
    });
    // Everything so far is indexed (i4 as integers) before the column changes type.
    await caughtUp(pipeline);

    const { db, table } = pipeline;
    await db.query(`alter table ${table} alter column i4 type text using i4::text`);
    const { rows } = await db.query<{ id: string }>(`select id::text from ${table} order by id`);
    const ids = rows.map((row) => Number(row.id));
    const refused = ids.filter((_, i) => i % 40 === 0);
    const numeric = ids.filter((_, i) => i % 40 === 1);
    const removed = ids.filter((_, i) => i % 40 === 2);
    await db.query('begin');
    await db.query(`update ${table} set i4 = 'n/a ' || id, vc = 'refused' where id = any($1)`, [
      refused,
    ]);
    await db.query(
      `update ${table} set i4 = (id * 3)::text, vc = 'numeric text' where id = any($1)`,
      [numeric],
    );
    await db.query('commit');
    // The rest flows on: later changes of other rows, deletes and inserts.
    await db.query(`delete from ${table} where id = any($1)`, [removed]);
    await db.query(
      `insert into ${table} (id, i4, vc) select g, (g % 100)::text, 'late insert' from generate_series(900001, 900200) g`,
    );
    const refusedIds = new Set(refused.map(String));

    // Caught up: every row equals its document, except the refused ones, whose documents stay
    // at the row before the refused change (checked below). Values of i4 compare as text:
    // documents written before the type change hold numbers.
    const result = await caughtUp(pipeline, {
      adjust: (expected, actual) => {
        for (const id of refusedIds) {
          expected.delete(id);
          actual.delete(id);
        }
      },
      normalize: (field, value) =>
        field === 'i4' && value !== null && value !== undefined ? String(value) : value,
      log: (message) => t.diagnostic(message),
    });
    t.diagnostic(`${result.docs} documents equal their rows; ${refused.length} refused`);
    await pipeline.worker.assertNotFailed([pipeline.source, pipeline.sink]);

    // The refused rows' documents do not tell when their dead letters are written: the other
    // documents of the same bulk request are visible first. The sink commits an offset only
    // after the records before it are indexed or durably dead-lettered, so wait for its commits
    // to reach the end of its topic (the source wrote nothing more after the changes above).
    const ends = await topicEnds(pipeline.topic);
    await until(
      `the sink to commit through the end of ${pipeline.topic} (${JSON.stringify(ends)})`,
      async () => {
        const committed = await sinkCommitted(pipeline);
        return [...ends].every(([partition, end]) => committed.get(partition) === end);
      },
      { timeoutMs: 180_000, intervalMs: 500 },
    );

    const warned = pipeline.worker.grep(/rejected document/, 1000);
    t.diagnostic(
      `${warned.length} refusals logged by the sink (behavior.on.malformed.documents=warn)`,
    );
    const letters = await readKafkaTopic(dlq);
    t.diagnostic(`${letters.length} records in ${dlq}`);
    const keyOf = (key: Buffer | null) =>
      String((JSON.parse(key!.toString('utf8')) as { payload: { id: number } }).payload.id);
    assert.deepEqual(
      letters.map((letter) => keyOf(letter.key)).sort(),
      [...refusedIds].sort(),
      'exactly the refused changes are in the dead-letter topic',
    );
    for (const letter of letters) {
      const value = JSON.parse(letter.value!.toString('utf8')) as {
        payload: { op: string; after: { i4: string; vc: string } };
      };
      assert.equal(value.payload.op, 'u', 'the original change event, as it was in the log');
      assert.match(value.payload.after.i4, /^n\/a /);
      assert.equal(letter.headers['__connect.errors.topic'], pipeline.topic);
      assert.equal(letter.headers['__connect.errors.stage'], 'TASK_PUT');
      assert.equal(
        letter.headers['__connect.errors.exception.class.name'],
        'DocumentRejectedError',
      );
      const message = letter.headers['__connect.errors.exception.message'] ?? '';
      assert.match(message, /rejected document '\d+'/);
      assert.match(message, /(document_parsing|mapper_parsing)_exception/);
      assert.match(message, /\[i4\]/, "Elasticsearch's reason names the field");
    }
    // The refused rows' documents were left as they were.
    const docs = await (
      await fetch(`${esUrl}/${encodeURIComponent(pipeline.index)}/_mget`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ids: [...refusedIds] }),
      })
    ).json();
    for (const doc of (
      docs as { docs: Array<{ found: boolean; _source: { vc: unknown; i4: unknown } }> }
    ).docs) {
      assert.equal(doc.found, true);
      assert.notEqual(doc._source.vc, 'refused');
      assert.ok(doc._source.i4 === null || typeof doc._source.i4 === 'number');
    }
  });
});

/** The end offset of each partition of a Kafka topic. */
async function topicEnds(topic: string): Promise<Map<number, number>> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    return new Map(ends.map((end) => [end.partition, Number(end.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** The sink connector's committed offsets per partition, from GET /connectors/{name}/offsets. */
async function sinkCommitted(pipeline: Pipeline): Promise<Map<number, number>> {
  const reply = await pipeline.worker.request(
    'GET',
    `/connectors/${encodeURIComponent(pipeline.sink)}/offsets`,
  );
  assert.equal(reply.status, 200, reply.text);
  const { offsets } = reply.json as {
    offsets: Array<{ partition: { kafka_partition: number }; offset: { kafka_offset: number } }>;
  };
  return new Map(offsets.map((item) => [item.partition.kafka_partition, item.offset.kafka_offset]));
}
