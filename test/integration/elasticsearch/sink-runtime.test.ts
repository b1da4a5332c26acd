// The Elasticsearch sink inside a standalone runtime (the real sink pump, dead-letter topic and
// commits) against the real Elasticsearch: a document Elasticsearch refuses is dead-lettered with
// its original bytes although it is reported after put() returned; a transform that renames the
// topic still has every position committed by the original coordinates; and Elasticsearch down
// past max.retries fails the task without dead-lettering a single healthy record.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import type { Herder } from '../../../runtime/herder/herder.ts';
import type { LocalLog } from '../../../runtime/log/local/local-log.ts';
import type { StoredRecord } from '../../../runtime/log/log.ts';
import { uniqueName, waitFor } from '../../helpers/wait.ts';
import { startRuntime, tempDir } from '../runtime/harness.ts';
import { docs, esClient, esUrl } from './helpers.ts';

const dirs: string[] = [];
const indices: string[] = [];
let client: Client;

before(() => {
  client = esClient();
});

after(async () => {
  for (const index of indices) await client.indices.delete({ index, ignore_unavailable: true });
  await client.close();
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

function dataDir(prefix: string): string {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return join(dir, 'data');
}

function logOf(runtime: object): LocalLog {
  return (runtime as { herder: { deps: { log: LocalLog } } }).herder.deps.log;
}

async function readTopic(runtime: object, topic: string): Promise<StoredRecord[]> {
  const log = logOf(runtime);
  const out: StoredRecord[] = [];
  for (const range of await log.offsets(topic).catch(() => [])) {
    let offset = range.start;
    while (offset < range.end) {
      const batch = await log.read(topic, range.partition, offset, { maxRecords: 1000 });
      if (batch.length === 0) break;
      out.push(...batch);
      offset = batch.at(-1)!.offset + 1;
    }
  }
  return out;
}

async function committed(herder: Herder, connector: string, topic: string): Promise<number> {
  for (const entry of (await herder.connectorOffsets(connector)).offsets) {
    const partition = entry.partition as { kafka_topic: string; kafka_partition: number };
    if (partition.kafka_topic === topic && partition.kafka_partition === 0)
      return (entry.offset as { kafka_offset: number }).kafka_offset;
  }
  return 0;
}

/** JSON converter bytes (schemas enabled, no schema), as a source writes them. */
const json = (payload: unknown) => Buffer.from(JSON.stringify({ schema: null, payload }));

async function appendRows(runtime: object, topic: string, rows: Array<Record<string, unknown>>) {
  const log = logOf(runtime);
  await log.createTopic({ name: topic, partitions: 1, cleanupPolicy: 'delete' });
  return log.append(
    topic,
    rows.map((row) => ({
      key: json({ id: row.id }),
      value: json(row),
      headers: { origin: Buffer.from('test') },
    })),
  );
}

/** An HTTP proxy to Elasticsearch that can go down (connections reset) and come back. */
class SwitchableProxy {
  up = true;
  private readonly server: Server;

  constructor() {
    const target = new URL(esUrl);
    this.server = createServer((incoming, outgoing) => {
      if (!this.up) {
        incoming.socket.destroy();
        return;
      }
      const forward = request(
        {
          host: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forward.on('error', () => incoming.socket.destroy());
      incoming.pipe(forward);
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('Elasticsearch sink in the runtime', () => {
  it('dead-letters a refused document with its original bytes; a renamed topic commits by its original coordinates', async () => {
    const topic = uniqueName('esrt');
    const index = `${topic}-renamed`;
    indices.push(index);
    // age is a long: a row whose age is text is refused by Elasticsearch (a mapping conflict).
    await client.indices.create({
      index,
      settings: { number_of_replicas: 0 },
      mappings: { properties: { id: { type: 'long' }, age: { type: 'long' } } },
    });
    const runtime = await startRuntime(dataDir('es-runtime'));
    const { herder } = runtime;
    try {
      const rows = Array.from({ length: 40 }, (_, id) => ({
        id,
        age: id === 17 ? 'not a number' : id,
      }));
      await appendRows(runtime, topic, rows);
      await herder.createConnector('es-rt', {
        'connector.class': 'elasticsearch',
        topics: topic,
        'connection.url': esUrl,
        'index.replicas': '0',
        'schema.ignore': 'true',
        'behavior.on.malformed.documents': 'warn',
        'batch.size': '5',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': `${topic}-dlq`,
        transforms: 'route',
        'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
        'transforms.route.regex': '(.*)',
        'transforms.route.replacement': '$1-renamed',
      });
      await waitFor(
        'every position committed on the topic read',
        async () => (await committed(herder, 'es-rt', topic)) === 40,
      );
      const now = await docs(client, index);
      assert.equal(now.size, 39);
      assert.equal(now.has('17'), false);
      const dlq = await readTopic(runtime, `${topic}-dlq`);
      assert.equal(dlq.length, 1);
      const [letter] = dlq;
      const [original] = (await readTopic(runtime, topic)).filter((r) => r.offset === 17);
      assert.deepEqual(letter!.value, original!.value, 'the original value bytes');
      assert.deepEqual(letter!.key, original!.key, 'the original key bytes');
      const header = (name: string) => letter!.headers[name]?.toString();
      assert.equal(header('origin'), 'test');
      assert.equal(header('__connect.errors.topic'), topic);
      assert.equal(header('__connect.errors.offset'), '17');
      assert.equal(header('__connect.errors.stage'), 'TASK_PUT');
      assert.equal(header('__connect.errors.exception.class.name'), 'DocumentRejectedError');
      assert.match(header('__connect.errors.exception.message') ?? '', /rejected document '17'/);
      assert.equal((await herder.connectorStatus('es-rt')).tasks[0]?.state, 'RUNNING');
    } finally {
      await runtime.close();
    }
  });

  it('Elasticsearch down past max.retries fails the task; no healthy record is dead-lettered', async () => {
    const topic = uniqueName('esdown');
    indices.push(topic);
    const proxy = new SwitchableProxy();
    const url = await proxy.start();
    const runtime = await startRuntime(dataDir('es-down'));
    const { herder } = runtime;
    try {
      await herder.createConnector('es-down', {
        'connector.class': 'elasticsearch',
        topics: topic,
        'connection.url': url,
        'index.replicas': '0',
        'schema.ignore': 'true',
        'max.retries': '1',
        'retry.backoff.ms': '10',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': `${topic}-dlq`,
      });
      proxy.up = false;
      await appendRows(
        runtime,
        topic,
        Array.from({ length: 10 }, (_, id) => ({ id, age: id })),
      );
      await waitFor('the task to fail', async () => {
        const status = await herder.connectorStatus('es-down');
        return status.tasks[0]?.state === 'FAILED';
      });
      const trace = (await herder.taskStatus('es-down', 0)).trace ?? '';
      assert.match(trace, /failed after 2 attempts \(max\.retries=1\)/);
      assert.doesNotMatch(trace, /Tolerance exceeded/);
      assert.deepEqual(await readTopic(runtime, `${topic}-dlq`), [], 'nothing dead-lettered');
      assert.equal(await committed(herder, 'es-down', topic), 0);

      // Elasticsearch back, the task restarted: every record is written, none was lost.
      proxy.up = true;
      await herder.restartConnector('es-down', { includeTasks: true, onlyFailed: true });
      await waitFor(
        'every position committed',
        async () => (await committed(herder, 'es-down', topic)) === 10,
      );
      assert.equal((await docs(client, topic)).size, 10);
      assert.deepEqual(await readTopic(runtime, `${topic}-dlq`), []);
    } finally {
      await runtime.close();
      await proxy.close();
    }
  });
});
