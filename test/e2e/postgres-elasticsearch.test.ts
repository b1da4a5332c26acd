// PostgreSQL → Elasticsearch end to end, the way a user runs it: a real worker process
// (`kafki standalone`, local log, REST on a free port), the PostgreSQL source and the
// Elasticsearch sink registered with two JSON configs over POST /connectors, the sink on raw
// Debezium envelopes with its README's default config (behavior.on.null.values=delete).
//
// The table has a column of every type the source maps (test/e2e/workload.ts) and REPLICA
// IDENTITY DEFAULT; 20,000 rows exist before the connector (snapshot.mode=initial), then two
// connections write 100,000 mixed changes while the snapshot and the stream run: inserts,
// updates of all / some columns, NULLs, updates that leave the ~9 KB TOASTed text and bytea
// untouched (the source sends `__debezium_unavailable_value` for them; the sink must keep the
// document's value — no user configuration needed), updates of the TOASTed columns,
// primary-key updates, deletes and re-inserts of deleted keys, in transactions of 1 to 400
// changes. After catch-up (polled, generous deadline, no timing assertion) every document must
// equal its row field by field and no document may exist for a deleted row.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  caughtUp,
  createPipeline,
  register,
  sinkConfig,
  sourceConfig,
  type Pipeline,
} from './scenario.ts';
import { mixedChanges } from './workload.ts';

const preloaded = 20_000;
const changes = 100_000;

describe('PostgreSQL → Elasticsearch (raw envelopes, local log)', () => {
  let pipeline: Pipeline;

  before(async () => {
    pipeline = await createPipeline({ name: 'main', preloaded });
    await pipeline.worker.start();
  });

  after(async () => {
    await pipeline?.cleanup();
  });

  it('snapshot then 100k mixed changes: every document equals its row, none for deleted rows', async (t) => {
    await register(pipeline, sourceConfig(pipeline), sinkConfig(pipeline));
    const started = Date.now();
    const counts = await mixedChanges(pipeline.writers, {
      table: pipeline.table,
      changes,
      preloaded,
      seed: 1,
    });
    t.diagnostic(
      `${counts.total} changes in ${counts.transactions} transactions (${JSON.stringify(counts.byKind)}) in ${Date.now() - started} ms`,
    );
    assert.ok(counts.total >= changes);
    for (const kind of [
      'insert',
      'reinsert',
      'update',
      'partial',
      'nulls',
      'toast',
      'pk',
      'delete',
    ] as const) {
      assert.ok(counts.byKind[kind] > 0, `the workload made ${kind} changes`);
    }
    const result = await caughtUp(pipeline, { log: (message) => t.diagnostic(message) });
    t.diagnostic(
      `caught up ${Date.now() - started} ms after the first change: ${result.docs} documents`,
    );
    assert.equal(result.docs, result.rows);

    const status = await pipeline.worker.status(pipeline.source);
    const progress = status.tasks[0]?.progress ?? {};
    assert.equal(progress['snapshot.completed'], true, JSON.stringify(progress));
  });
});
