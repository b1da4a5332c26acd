// The docker-compose demo's own configs stay true: demo/worker.json (log.backend=kafka, two
// `kafki worker` members coordinated through Redis),
// demo/postgres/init.sql and demo/connectors/*.json are loaded as they are, only rewritten to
// point at the local services — PostgreSQL, Kafka and Elasticsearch addresses, the database (a
// fresh one, init.sql applied to it) and names that must be unique per run (slot, publication,
// topic prefix, dead-letter topic, the worker's internal topics, the REST listener). The
// connectors are registered the way demo/register.sh does (PUT /connectors/<name>/config, in file
// name order: the sink, with its two tasks, before the source has created its topics) and
// the shop tables must reach Elasticsearch, field by field, then a change made like the demo's
// header comment in docker-compose.yml suggests.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  addresses,
  allDocs,
  clearClusterState,
  createDatabase,
  deleteIndices,
  deleteTopics,
  dropDatabase,
  esUrl,
  kafkaBackend,
  pgClient,
  pgConnection,
  removeDir,
  uniqueName,
  until,
  workerProcess,
  type WorkerProcess,
} from './harness.ts';

const demo = resolve(import.meta.dirname, '..', '..', 'demo');
const run = uniqueName('e2e_demo');

interface ConnectorFile {
  name: string;
  config: Record<string, string>;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** init.sql creates and \connects to its own database: run what follows in `database`. */
function initStatements(): { database: string; sql: string } {
  const text = readFileSync(join(demo, 'postgres', 'init.sql'), 'utf8');
  const connect = /^\\connect\s+(\w+)\s*$/m.exec(text);
  assert.ok(connect, 'init.sql connects to its database');
  assert.match(text.slice(0, connect.index), new RegExp(`create database ${connect[1]}`, 'i'));
  return { database: connect[1]!, sql: text.slice(connect.index + connect[0].length) };
}

describe('the docker-compose demo configs', () => {
  let worker: WorkerProcess;
  let second: WorkerProcess;
  const database = run;

  before(async () => {
    await createDatabase(database);
    const db = pgClient(database);
    await db.connect();
    try {
      await db.query(initStatements().sql);
    } finally {
      await db.end();
    }
    const demoWorker = readJson<Record<string, unknown>>(join(demo, 'worker.json'));
    assert.equal(demoWorker['log.backend'], 'kafka', 'the demo runs on Kafka');
    assert.ok(demoWorker['redis.url'], 'the demo is a cluster coordinated through Redis');
    // Two members, as docker-compose.yml runs them (kafki-1 and kafki-2).
    const member = (id: string) =>
      workerProcess(
        `demo-${id}`,
        {
          ...demoWorker,
          // Only addresses and names of this run change (bootstrap.servers, group, topics).
          ...kafkaBackend(run),
          'redis.url': addresses.redisUrl,
          listeners: 'http://127.0.0.1:0',
          'rest.advertised.url': undefined,
          'worker.id': `e2e-demo-${id}:8083`,
        },
        'worker',
      );
    worker = member('1');
    second = member('2');
    await Promise.all([worker.start(), second.start()]);
  });

  after(async () => {
    await Promise.all([worker, second].map((w) => (w?.running ? w.stop() : undefined)));
    await dropDatabase(database);
    await deleteIndices(run);
    await deleteTopics([run]);
    await clearClusterState(`${run}-group`);
    for (const w of [worker, second]) if (w) removeDir(w.dir);
  });

  it('registered over REST, the shop tables reach Elasticsearch and follow a change', async (t) => {
    const files = readdirSync(join(demo, 'connectors'))
      .filter((file) => file.endsWith('.json'))
      .sort();
    const connectors = files.map((file) => readJson<ConnectorFile>(join(demo, 'connectors', file)));
    const source = connectors.find((c) => /Postgres/i.test(c.config['connector.class'] ?? ''));
    const sink = connectors.find((c) => /Elasticsearch/i.test(c.config['connector.class'] ?? ''));
    assert.ok(source && sink, `a source and a sink in ${files.join(', ')}`);
    const prefix = source.config['topic.prefix']!;
    const demoDatabase = initStatements().database;
    assert.equal(source.config['database.dbname'], demoDatabase);

    // Only addresses and names change.
    const local = pgConnection(database);
    const sourceConfig = {
      ...source.config,
      'database.hostname': local['database.hostname']!,
      'database.port': local['database.port']!,
      'database.user': local['database.user']!,
      'database.password': local['database.password'] ?? '',
      'database.dbname': database,
      'slot.name': run,
      'publication.name': run,
      'topic.prefix': run,
    };
    const sinkRegex = sink.config['topics.regex']!;
    assert.ok(
      sinkRegex.startsWith(`${prefix}\\.`),
      `the sink reads the source's topics: ${sinkRegex}`,
    );
    const sinkConfig = {
      ...sink.config,
      'connection.url': esUrl,
      'topics.regex': `${run}${sinkRegex.slice(prefix.length)}`,
      'errors.deadletterqueue.topic.name': `${run}-dlq`,
    };
    // As register.sh: one PUT per file, in file name order, back to back (the sink's topics.regex
    // matches nothing until the source has created the shop topics; its tasks wait for them).
    for (const connector of connectors) {
      const config = connector === source ? sourceConfig : connector === sink ? sinkConfig : null;
      assert.ok(config, `only the source and the sink in ${files.join(', ')}`);
      const reply = await worker.request('PUT', `/connectors/${connector.name}/config`, config);
      assert.equal(reply.status, 201, reply.text);
    }
    // The other member answers too, and runs its share of the units.
    await second.waitRunning(source.name);
    await second.waitRunning(sink.name);
    await until('units on both members', async () => {
      const statuses = [await second.status(source.name), await second.status(sink.name)];
      const workers = new Set(
        statuses.flatMap((status) => [
          (status.connector as { worker_id?: string }).worker_id,
          ...status.tasks.map((task) => task.worker_id),
        ]),
      );
      return workers.has('e2e-demo-1:8083') && workers.has('e2e-demo-2:8083');
    });

    const db = pgClient(database);
    await db.connect();
    try {
      for (const table of ['customers', 'orders']) {
        const index = `${run}.public.${table}`;
        const { rows } = await db.query<Record<string, unknown>>(
          `select * from ${table} order by id`,
        );
        assert.ok(rows.length > 0, `init.sql fills ${table}`);
        const docs = await until(
          `${table} in Elasticsearch`,
          async () => {
            await worker.assertNotFailed([source.name, sink.name]);
            const found = await allDocs(index);
            return found.size === rows.length ? found : undefined;
          },
          { timeoutMs: 180_000, intervalMs: 1000 },
        );
        for (const row of rows) {
          const doc = docs.get(String(row.id));
          assert.ok(doc, `${table} ${String(row.id)} indexed`);
          for (const [column, value] of Object.entries(row)) {
            if (value instanceof Date) {
              assert.equal(Date.parse(String(doc[column])), value.getTime(), `${table}.${column}`);
            } else if (typeof value === 'string' && typeof doc[column] === 'number') {
              // numeric (total) and bigint (orders.id) come from pg as text
              assert.equal(doc[column], Number(value), `${table}.${column}`);
            } else {
              assert.equal(doc[column], value, `${table}.${column}`);
            }
          }
        }
        t.diagnostic(`${table}: ${rows.length} rows indexed and equal`);
      }

      // The demo's README: update a customer's city, and Elasticsearch follows.
      await db.query(`update customers set city = 'Bergen' where id = 1`);
      await until(
        'the update in Elasticsearch',
        async () =>
          (await allDocs(`${run}.public.customers`)).get('1')?.city === 'Bergen' ? true : undefined,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    } finally {
      await db.end();
    }
  });
});
