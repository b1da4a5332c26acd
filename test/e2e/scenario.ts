// One PostgreSQL → Elasticsearch pipeline as a user sets it up: a fresh database with the
// workload's table (pre-loaded rows for the initial snapshot), a worker process, and the two
// connectors registered over REST with JSON configs. Then catch-up is awaited by comparing every
// document with its row until they are equal (generous deadline; failed tasks fail at once).

import type pg from 'pg';
import {
  allDocs,
  countDocs,
  createDatabase,
  deleteIndices,
  deleteTopics,
  dropDatabase,
  esUrl,
  pgClient,
  pgConnection,
  removeDir,
  slotReleased,
  uniqueName,
  until,
  workerProcess,
  type Doc,
  type WorkerProcess,
} from './harness.ts';
import {
  compare,
  createSchema,
  expectedDocs,
  preload,
  summary,
  type Comparison,
} from './workload.ts';

export interface Pipeline {
  run: string;
  database: string;
  table: string;
  topic: string;
  index: string;
  source: string;
  sink: string;
  worker: WorkerProcess;
  /** A connection to the pipeline's database (for reads and checks). */
  db: pg.Client;
  /** Connections for the writers. */
  writers: pg.Client[];
  cleanup(): Promise<void>;
}

export interface PipelineOptions {
  /** Short name of the scenario (database, topics and indices are named after it). */
  name: string;
  /** The run's unique name (default: e2e_<name>_<unique>); topics and indices start with it. */
  run?: string;
  preloaded: number;
  writers?: number;
  /** Extra worker keys (e.g. log.backend=kafka). */
  worker?: Record<string, unknown>;
  /** Kafka topic prefixes to delete at cleanup (log.backend=kafka). */
  kafkaTopics?: string[];
}

export async function createPipeline(options: PipelineOptions): Promise<Pipeline> {
  const run = options.run ?? uniqueName(`e2e_${options.name}`);
  const database = run;
  const table = 'items';
  await createDatabase(database);
  const db = pgClient(database);
  await db.connect();
  await createSchema(db, table);
  await preload(db, table, options.preloaded);
  const writers: pg.Client[] = [];
  for (let i = 0; i < (options.writers ?? 2); i++) {
    const client = pgClient(database);
    await client.connect();
    writers.push(client);
  }
  const worker = workerProcess(options.name, options.worker);
  const topic = `${run}.public.${table}`;
  const pipeline: Pipeline = {
    run,
    database,
    table,
    topic,
    index: topic.toLowerCase(),
    source: `${run}-pg`,
    sink: `${run}-es`,
    worker,
    db,
    writers,
    cleanup: async () => {
      const problems: unknown[] = [];
      const attempt = async (work: () => Promise<unknown>) => {
        try {
          await work();
        } catch (error) {
          problems.push(error);
        }
      };
      // A graceful stop (SIGKILL after 30 s: a sink cannot flush while Elasticsearch is away);
      // dropping the database drops the slot.
      if (worker.running) await attempt(() => worker.stop(30_000));
      for (const client of [...writers, db]) await attempt(() => client.end());
      await attempt(() => dropDatabase(database));
      await attempt(() => deleteIndices(run));
      if (options.kafkaTopics) await attempt(() => deleteTopics(options.kafkaTopics!));
      removeDir(worker.dir);
      if (problems.length > 0) throw problems[0];
    },
  };
  return pipeline;
}

/** The source's JSON config: snapshot first (snapshot.mode=initial), then streaming. */
export function sourceConfig(
  pipeline: Pipeline,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max': '1',
    ...pgConnection(pipeline.database),
    'topic.prefix': pipeline.run,
    'slot.name': pipeline.run,
    'slot.drop.on.delete': 'true',
    'publication.name': pipeline.run,
    'publication.autocreate.mode': 'filtered',
    'table.include.list': `public\\.${pipeline.table}`,
    'snapshot.mode': 'initial',
    ...extra,
  };
}

/** The sink's JSON config: the README's example (raw envelopes, defaults otherwise). */
export function sinkConfig(
  pipeline: Pipeline,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    'connector.class': 'io.kafki.connectors.elasticsearch.ElasticsearchSinkConnector',
    'tasks.max': '1',
    topics: pipeline.topic,
    'connection.url': esUrl,
    'behavior.on.null.values': 'delete',
    'index.replicas': '0',
    ...extra,
  };
}

export async function register(
  pipeline: Pipeline,
  source: Record<string, string>,
  sink: Record<string, string>,
): Promise<void> {
  await pipeline.worker.createConnector(pipeline.source, source);
  // The sink's topic may not exist yet: its task waits for it (kafka-sink-subscriptions.test.ts).
  await pipeline.worker.createConnector(pipeline.sink, sink);
  await pipeline.worker.waitRunning(pipeline.source);
  await pipeline.worker.waitRunning(pipeline.sink);
}

/** Waits until the initial snapshot (`rows` rows) is indexed; a failed task fails it at once. */
export async function snapshotIndexed(pipeline: Pipeline, rows: number): Promise<void> {
  await until(
    'the snapshot in Elasticsearch',
    async () => {
      await pipeline.worker.assertNotFailed([pipeline.source, pipeline.sink]);
      return (await countDocs(pipeline.index)) >= rows;
    },
    { timeoutMs: 300_000, intervalMs: 500 },
  );
}

/**
 * kill -9 of the worker, then a restart on the same data directory once PostgreSQL has let go of
 * the dead process's replication slot (the restarted source takes it over).
 */
export async function killAndRestart(pipeline: Pipeline): Promise<void> {
  await pipeline.worker.kill();
  await slotReleased(pipeline.database, pipeline.run);
  await pipeline.worker.start();
}

export interface CatchUpOptions {
  /** Fails when nothing changes for this long (documents, rows or differences). */
  stallMs?: number;
  /** Fails after this long in any case. */
  timeoutMs?: number;
  extra?: (doc: Doc) => string[];
  /**
   * Adjusts both sides before the comparison (e.g. leaves out the rows whose last change
   * Elasticsearch refused: their documents stay at an older row).
   */
  adjust?: (expected: Map<string, Doc>, actual: Map<string, Doc>) => void;
  normalize?: (field: string, value: unknown) => unknown;
  log?: (message: string) => void;
}

/**
 * Polls until every document equals its row (and no document is left for a deleted row). Fails
 * with the differences when nothing has moved for `stallMs` — not after a fixed time, since a
 * loaded machine catches up slower but does catch up — or at the `timeoutMs` backstop. Failed
 * tasks fail it at once. The worker is not required to be running while polling (the crash test
 * restarts it in between).
 */
export async function caughtUp(
  pipeline: Pipeline,
  options: CatchUpOptions = {},
): Promise<Comparison> {
  const stallMs = options.stallMs ?? 120_000;
  // Under the test runner's file timeout (test/run-tests.ts), so that a pipeline that does not
  // converge fails with its differences instead of a bare timeout.
  const deadline = Date.now() + (options.timeoutMs ?? 12 * 60_000);
  let last: Comparison | undefined;
  let lastCount = -1;
  let lastReport = 0;
  let state = '';
  let movedAt = Date.now();
  for (;;) {
    if (pipeline.worker.running)
      await pipeline.worker.assertNotFailed([pipeline.source, pipeline.sink]);
    const { rows } = await pipeline.db.query<{ count: string }>(
      `select count(*) from ${pipeline.table}`,
    );
    const count = await countDocs(pipeline.index);
    let differences = -1;
    // The full comparison only once the counts agree (and again while they stay equal).
    if (count === Number(rows[0]!.count)) {
      const expected = await expectedDocs(pipeline.db, pipeline.table);
      const actual = await allDocs(pipeline.index);
      options.adjust?.(expected, actual);
      last = compare(expected, actual, {
        ...(options.extra ? { extra: options.extra } : {}),
        ...(options.normalize ? { normalize: options.normalize } : {}),
      });
      if (last.differences.length === 0) return last;
      differences = last.differences.length;
      if (Date.now() - lastReport > 30_000) {
        options.log?.(
          `not equal yet: ${summary({ ...last, differences: last.differences.slice(0, 5) })}`,
        );
        lastReport = Date.now();
      }
    }
    if (count !== lastCount) {
      options.log?.(`${count} documents, ${rows[0]!.count} rows`);
      lastCount = count;
    }
    const now = `${count}/${rows[0]!.count}/${differences}`;
    if (now !== state) {
      state = now;
      movedAt = Date.now();
    }
    const stalled = Date.now() - movedAt > stallMs;
    if (stalled || Date.now() > deadline) {
      throw new Error(
        `Elasticsearch did not converge to the table (${
          stalled ? `nothing moved for ${stallMs} ms` : 'deadline passed'
        }): ${last ? summary(last) : `${count} documents for ${rows[0]!.count} rows`}\nworker warnings and errors:\n${pipeline.worker
          .grep(/"level":(40|50|60)/)
          .join('\n')}\n${pipeline.worker.tail()}`,
      );
    }
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 2000));
  }
}

/** The unwrap transform's added fields: checked, then removed before the row comparison. */
export function unwrapFields(table: string) {
  return (doc: Doc): string[] => {
    const problems: string[] = [];
    if (doc.__table !== table) problems.push(`__table is ${String(doc.__table)}`);
    if (!['r', 'c', 'u'].includes(String(doc.__op))) problems.push(`__op is ${String(doc.__op)}`);
    if (typeof doc.__lsn !== 'number' && typeof doc.__lsn !== 'bigint') {
      problems.push(`__lsn is ${String(doc.__lsn)}`);
    }
    delete doc.__table;
    delete doc.__op;
    delete doc.__lsn;
    return problems;
  };
}
