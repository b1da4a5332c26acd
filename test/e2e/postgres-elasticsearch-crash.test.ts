// PostgreSQL → Elasticsearch with kill -9 of the worker process mid-stream, twice: the worker
// (`kafki standalone`, local log with fsync always) runs the PostgreSQL source and the
// Elasticsearch sink, here on rows unwrapped by ExtractNewRecordState (add.fields=op,table,lsn,
// deletes turned into tombstones that keep the event's headers, as the sink's README recommends),
// registered over REST. While two connections write mixed changes (the same workload as the main
// test: every mapped type, TOASTed columns left out of updates, key updates, deletes,
// re-inserts), the worker is killed with SIGKILL — no shutdown hook, nothing flushed or
// committed — and restarted on the same data directory, where it resumes the connectors it had
// stored. The kills land in the stream (the snapshot is indexed before the changes start). After
// catch-up every document must equal its row and no deleted row may be back.
//
// This scenario writes 30,000 changes after a 10,000-row snapshot (the main test,
// postgres-elasticsearch.test.ts, carries the 100,000-change requirement); the kills land at
// one third and two thirds of the changes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { countDocs } from './harness.ts';
import {
  caughtUp,
  createPipeline,
  killAndRestart,
  register,
  sinkConfig,
  snapshotIndexed,
  sourceConfig,
  unwrapFields,
  type Pipeline,
} from './scenario.ts';
import { mixedChanges } from './workload.ts';

const preloaded = 10_000;
const changes = 30_000;
const kills = 2;

describe('PostgreSQL → Elasticsearch with kill -9 of the worker (unwrapped rows, local log)', () => {
  let pipeline: Pipeline;

  before(async () => {
    pipeline = await createPipeline({
      name: 'crash',
      preloaded,
      worker: { 'log.fsync': 'always' },
    });
    await pipeline.worker.start();
  });

  after(async () => {
    await pipeline?.cleanup();
  });

  // The replay after a kill re-sends changes Elasticsearch already has. It must not undo a later
  // change of the same transaction: this once lost the unchanged TOAST values of a key moved onto
  // a key the same transaction had deleted (the replayed delete removed the moved document). The
  // source's versions now rank the changes within a transaction (change-version.ts). It also
  // once lost them when a kill left the log ending between a key update's delete and its create;
  // postgres-elasticsearch-key-moves.test.ts covers that case on its own.
  it('every document equals its row after two kills and restarts', async (t) => {
    await register(
      pipeline,
      sourceConfig(pipeline),
      sinkConfig(pipeline, {
        transforms: 'unwrap',
        'transforms.unwrap.type': 'io.debezium.transforms.ExtractNewRecordState',
        'transforms.unwrap.add.fields': 'op,table,lsn',
        'transforms.unwrap.delete.tombstone.handling.mode': 'delete-to-tombstone',
      }),
    );
    // The snapshot is in Elasticsearch first, so that both kills land in the stream.
    await snapshotIndexed(pipeline, preloaded);
    const killed: string[] = [];
    let restarting: Promise<void> | undefined;
    const restart = async (done: number) => {
      const documents = await countDocs(pipeline.index);
      await killAndRestart(pipeline);
      killed.push(`kill after ${done} changes (${documents} documents indexed then)`);
    };
    const counts = await mixedChanges(pipeline.writers, {
      table: pipeline.table,
      changes,
      preloaded,
      seed: 7,
      // Each writer reports its own progress: the first one to cross a third kills the worker.
      onCommit: async (done) => {
        const target = Math.ceil(changes / pipeline.writers.length / (kills + 1));
        const due = Math.floor(done / target);
        if (due > killed.length && due <= kills && restarting === undefined) {
          restarting = restart(done).finally(() => {
            restarting = undefined;
          });
          await restarting;
        }
      },
    });
    t.diagnostic(
      `${counts.total} changes in ${counts.transactions} transactions; ${killed.join('; ')}`,
    );
    assert.equal(killed.length, kills, 'the worker was killed mid-stream twice');

    const result = await caughtUp(pipeline, {
      extra: unwrapFields(pipeline.table),
      log: (message) => t.diagnostic(message),
    });
    assert.equal(result.docs, result.rows);
    await pipeline.worker.assertNotFailed([pipeline.source, pipeline.sink]);
  });
});
