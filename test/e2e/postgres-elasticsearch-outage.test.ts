// PostgreSQL → Elasticsearch with Elasticsearch unreachable for 30 s mid-stream. The worker
// reaches Elasticsearch through a TCP proxy (harness.ts TcpProxy) that, for 30 s, resets every
// open connection and every new one — the worker sees what it would see if Elasticsearch were
// down. We do not stop the shared Elasticsearch itself: other engineers' tests run against it at
// the same time and would break.
//
// The sink (raw envelopes) is configured to ride out the outage instead of failing the task:
// max.retries=30 with retry.backoff.ms=200 (full-jitter exponential backoff, capped at 5 min per
// wait), which is what a user who wants to survive minutes of Elasticsearch downtime sets. The
// source keeps reading into the local log meanwhile; the sink's buffer fills and put() waits
// (flush.timeout.ms, 180 s by default, is above the outage).
//
// 5,000 rows are snapshotted, then 20,000 mixed changes written (the main test carries the
// 100,000): half before the outage, half during it. After recovery every document must equal
// its row and no deleted row may be back.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bulkRequestsRunningOn, countDocs, esUrl, TcpProxy, until } from './harness.ts';
import {
  caughtUp,
  createPipeline,
  register,
  sinkConfig,
  sourceConfig,
  type Pipeline,
} from './scenario.ts';
import { writeChanges } from './workload.ts';

const preloaded = 5_000;
const changes = 20_000;
const outageMs = 30_000;

describe('PostgreSQL → Elasticsearch with Elasticsearch unreachable for 30 s (local log)', () => {
  let pipeline: Pipeline;
  const proxy = new TcpProxy(esUrl);

  before(async () => {
    pipeline = await createPipeline({ name: 'outage', preloaded, writers: 1 });
    await pipeline.worker.start();
  });

  after(async () => {
    proxy.up();
    await pipeline?.cleanup();
    await proxy.close();
  });

  it('every document equals its row after Elasticsearch comes back', async (t) => {
    const url = await proxy.start();
    await register(
      pipeline,
      sourceConfig(pipeline),
      sinkConfig(pipeline, {
        'connection.url': url,
        'max.retries': '30',
        'retry.backoff.ms': '200',
      }),
    );
    const writer = pipeline.writers[0]!;
    let outage: Promise<{ during: number; before: number }> | undefined;
    const counts = await writeChanges(writer, {
      table: pipeline.table,
      changes,
      lane: 0,
      lanes: 1,
      preloaded,
      seed: 11,
      onCommit: (done) => {
        if (outage !== undefined || done < changes / 2) return;
        // Half of the changes are written: Elasticsearch goes away for 30 s (or more, see below)
        // while the other half is written.
        outage = (async () => {
          proxy.down();
          const downAt = Date.now();
          // A request Elasticsearch had fully received before the reset is still applied, seconds
          // (on a loaded machine, tens of seconds) later: count once it has finished every such
          // request. The outage lasts until then, and then at least 10 s more, so that the two
          // counts bracket a window in which only the proxy stood between worker and index.
          await new Promise((resolveDelay) => setTimeout(resolveDelay, 2_000));
          await until(
            'Elasticsearch to finish the bulk requests it received before the cut',
            async () => (await bulkRequestsRunningOn(pipeline.index)) === 0,
            { timeoutMs: 120_000, intervalMs: 100 },
          );
          const during = await countDocs(pipeline.index);
          const upAt = Math.max(downAt + outageMs, Date.now() + 10_000);
          await new Promise((resolveDelay) => setTimeout(resolveDelay, upAt - Date.now()));
          const beforeUp = await countDocs(pipeline.index);
          proxy.up();
          t.diagnostic(`Elasticsearch unreachable for ${Date.now() - downAt} ms`);
          return { during, before: beforeUp };
        })();
      },
    });
    assert.ok(outage, 'the outage happened mid-stream');
    const { during, before: beforeUp } = await outage;
    t.diagnostic(`${counts.total} changes; ${proxy.refused} connections refused during the outage`);
    assert.ok(proxy.refused > 0, 'the worker tried to reach Elasticsearch during the outage');
    assert.equal(beforeUp, during, 'nothing reached Elasticsearch while it was unreachable');

    const result = await caughtUp(pipeline, { log: (message) => t.diagnostic(message) });
    assert.equal(result.docs, result.rows);
    const status = await pipeline.worker.status(pipeline.sink);
    assert.deepEqual(
      status.tasks.map((task) => task.state),
      ['RUNNING'],
      'the sink rode out the outage',
    );
  });
});
