// Elasticsearch sink failures against the real Elasticsearch: documents Elasticsearch refuses
// (reported as errant with the reason, the rest flows on; or the task fails), Elasticsearch
// unreachable (retries, then a clear failure), and retriable item failures (429 from a
// read-only-allow-delete block) retried per document.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Client } from '@elastic/elasticsearch';
import { KafkiError } from '../../../runtime/api/index.ts';
import type { SinkRecord } from '../../../runtime/api/index.ts';
import type {
  BulkResponseBody,
  EsTransport,
} from '../../../connectors/elasticsearch/bulk-client.ts';
import { defaultTransport } from '../../../connectors/elasticsearch/task.ts';
import type { ElasticsearchSinkTask } from '../../../connectors/elasticsearch/task.ts';
import { TcpProxy } from '../../helpers/tcp-proxy.ts';
import { uniqueName } from '../../helpers/wait.ts';
import { docs, esClient, esUrl, putAndConfirm, rowRecord, startTask } from './helpers.ts';

let client: Client;
const created: string[] = [];

function indexName(prefix: string): string {
  const name = uniqueName(prefix);
  created.push(name);
  return name;
}

before(() => {
  client = esClient();
});

after(async () => {
  for (const index of created) await client.indices.delete({ index, ignore_unavailable: true });
  await client.close();
});

/** Call preCommit until the task reports its failure; returns it. */
async function failureOf(task: ElasticsearchSinkTask, topic: string): Promise<Error> {
  for (;;) {
    try {
      await task.preCommit([{ topic, partition: 0, offset: 1_000_000 }]);
    } catch (error) {
      return error as Error;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function typedIndex(prefix: string): Promise<string> {
  const index = indexName(prefix);
  await client.indices.create({
    index,
    settings: { number_of_shards: 1, number_of_replicas: 0 },
    mappings: { properties: { age: { type: 'integer' } } },
  });
  return index;
}

test('a document Elasticsearch refuses is reported as errant with the reason; the rest flows on', async () => {
  const topic = await typedIndex('malformed_warn');
  const { task, errant, logs } = await startTask({
    'behavior.on.malformed.documents': 'warn',
  });
  try {
    const safe = await putAndConfirm(task, [
      rowRecord({ topic, offset: 0 }, 1, { age: 30 }),
      rowRecord({ topic, offset: 1 }, 2, { age: 'not a number' }),
      rowRecord({ topic, offset: 2 }, 3, { age: 40 }),
    ]);
    assert.deepEqual(safe, [{ topic, partition: 0, offset: 3 }]);
    await putAndConfirm(task, [rowRecord({ topic, offset: 3 }, 4, { age: 50 })]);
    assert.deepEqual([...(await docs(client, topic)).keys()].sort(), ['1', '3', '4']);
    assert.equal(errant.length, 1);
    assert.equal(errant[0]!.record.offset, 1);
    assert.ok(errant[0]!.error instanceof KafkiError);
    assert.equal((errant[0]!.error as KafkiError).code, 'ELASTICSEARCH_DOCUMENT_REJECTED');
    assert.match(
      errant[0]!.error.message,
      /document_parsing_exception.*failed to parse field \[age\]/,
    );
    assert.ok(
      logs.some((entry) => entry.level === 'warn' && /rejected document '2'/.test(entry.message)),
    );
  } finally {
    await task.stop();
  }
});

test('behavior.on.malformed.documents=ignore reports without logging', async () => {
  const topic = await typedIndex('malformed_ignore');
  const { task, errant, logs } = await startTask({ 'behavior.on.malformed.documents': 'IGNORE' });
  try {
    await putAndConfirm(task, [
      rowRecord({ topic, offset: 0 }, 1, { age: 'x' }),
      rowRecord({ topic, offset: 1 }, 2, { age: 2 }),
    ]);
    assert.deepEqual([...(await docs(client, topic)).keys()], ['2']);
    assert.deepEqual(
      errant.map((e) => e.record.offset),
      [0],
    );
    assert.equal(logs.filter((entry) => entry.level === 'warn').length, 0);
  } finally {
    await task.stop();
  }
});

test('behavior.on.malformed.documents=fail fails the task with the reason from Elasticsearch', async () => {
  const topic = await typedIndex('malformed_fail');
  const { task, errant } = await startTask({ 'max.in.flight.requests': '1' });
  try {
    await task.put([
      rowRecord({ topic, offset: 0 }, 1, { age: 1 }),
      rowRecord({ topic, offset: 1 }, 2, { age: 'bad' }),
    ]);
    const failure = await failureOf(task, topic);
    assert.match(failure.message, /rejected document '2'.*document_parsing_exception/);
    assert.equal((failure as KafkiError).retriable, false);
    assert.equal(errant.length, 0);
    await assert.rejects(task.put([rowRecord({ topic, offset: 2 }, 3, { age: 3 })]), failure);
  } finally {
    await task.stop();
  }
});

test('errors.tolerance=none: a failing errant report fails the task', async () => {
  const topic = await typedIndex('malformed_tolerance');
  const refusal = new Error('Tolerance exceeded in error handler');
  const { task } = await startTask(
    { 'behavior.on.malformed.documents': 'warn' },
    {
      reportErrant: async () => {
        throw refusal;
      },
    },
  );
  try {
    await task.put([rowRecord({ topic, offset: 0 }, 1, { age: 'bad' })]);
    assert.equal(await failureOf(task, topic), refusal);
  } finally {
    await task.stop();
  }
});

/** The real transport, telling `watch` of every bulk request before it is sent. */
function watchingBulk(watch: (body: string, timeoutMs: number | undefined) => void) {
  return (config: Parameters<typeof defaultTransport>[0]): EsTransport => {
    const inner = defaultTransport(config);
    return {
      ...inner,
      bulk: (body, timeoutMs) => {
        watch(body, timeoutMs);
        return inner.bulk(body, timeoutMs);
      },
    };
  };
}

test('Elasticsearch unreachable: retries with backoff, then fails with the reason', async () => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const calls: number[] = [];
  const { task } = await startTask(
    {
      'connection.url': url,
      'max.retries': '2',
      'retry.backoff.ms': '1',
      'index.auto.create': 'false',
    },
    { transport: watchingBulk((body) => calls.push(body.length)) },
  );
  try {
    await task.put([rowRecord({ topic: 'unreachable', offset: 0 }, 1, { a: 1 })]);
    const failure = await failureOf(task, 'unreachable');
    assert.equal(calls.length, 3, 'one attempt and max.retries=2 retries');
    assert.ok(failure instanceof KafkiError);
    assert.equal(failure.code, 'ELASTICSEARCH_WRITE_FAILED');
    assert.equal(failure.retriable, false);
    assert.match(failure.message, /failed after 3 attempts \(max\.retries=2\): ConnectionError/);
  } finally {
    await task.stop().catch(() => {});
  }
  // With index creation on, the first call is the existence check: it fails the put itself.
  const creating = await startTask({
    'connection.url': url,
    'max.retries': '1',
    'retry.backoff.ms': '1',
  });
  try {
    await assert.rejects(
      creating.task.put([rowRecord({ topic: 'unreachable', offset: 0 }, 1, { a: 1 })]),
      /Checking index 'unreachable' failed after 2 attempts.*ConnectionError/,
    );
  } finally {
    await creating.task.stop().catch(() => {});
  }
});

test('a bulk request that times out is sent again with twice the timeout, without spending max.retries', async () => {
  const topic = await typedIndex('slow_cluster');
  const proxy = new TcpProxy(esUrl);
  const url = await proxy.start();
  const timeouts: Array<number | undefined> = [];
  const { task } = await startTask(
    {
      'connection.url': url,
      'read.timeout.ms': '400',
      'max.retries': '0',
      'retry.backoff.ms': '1',
      'index.auto.create': 'false',
    },
    { transport: watchingBulk((_body, timeoutMs) => timeouts.push(timeoutMs)) },
  );
  try {
    // Elasticsearch answers after 1 s or more: the tries with 400 and 800 ms time out, a later
    // one (1.6 s, or longer on a loaded machine) lands, with max.retries=0.
    proxy.delayReplies(1000);
    await putAndConfirm(task, [rowRecord({ topic, offset: 0 }, 1, { age: 7 })]);
    assert.ok(timeouts.length >= 3, `tries: ${timeouts.join(', ')}`);
    assert.deepEqual(
      timeouts,
      timeouts.map((_, i) => 400 * 2 ** i),
    );
    assert.deepEqual([...(await docs(client, topic)).values()], [{ age: 7 }]);
  } finally {
    await task.stop().catch(() => {});
    await proxy.close();
  }
});

/** A transport that clears the index's read-only-allow-delete block after the first 429 answer. */
function unblockingTransport(
  index: string,
  seen: Array<{ body: string; response: BulkResponseBody }>,
  unblock: boolean,
) {
  return (config: Parameters<typeof defaultTransport>[0]): EsTransport => {
    const inner = defaultTransport(config);
    return {
      ...inner,
      bulk: async (body, timeoutMs) => {
        const response = await inner.bulk(body, timeoutMs);
        seen.push({ body, response });
        if (unblock && seen.length === 1) {
          await client.indices.putSettings({
            index,
            settings: { 'index.blocks.read_only_allow_delete': null },
          });
        }
        return response;
      },
    };
  };
}

async function blockedIndex(prefix: string): Promise<string> {
  const index = indexName(prefix);
  await client.indices.create({ index, settings: { number_of_replicas: 0 } });
  await client.indices.putSettings({
    index,
    settings: { 'index.blocks.read_only_allow_delete': true },
  });
  return index;
}

function records(topic: string, from: number, count: number): SinkRecord[] {
  return Array.from({ length: count }, (_, i) =>
    rowRecord({ topic, offset: from + i }, `k${from + i}`, { n: from + i }),
  );
}

test('429 item failures are retried per document; the applied ones are not sent again', async () => {
  const blocked = await blockedIndex('blocked_retry');
  const open = indexName('open_retry');
  const seen: Array<{ body: string; response: BulkResponseBody }> = [];
  const { task } = await startTask(
    // A bulk request that times out is sent again whole: on a loaded machine the first one (which
    // also creates the open index) can take longer than the default 3 s, and its retry would then
    // find the open documents already there. The timeout is not what this test is about.
    {
      'max.in.flight.requests': '1',
      'retry.backoff.ms': '1',
      'linger.ms': '1000',
      'read.timeout.ms': '60000',
    },
    { transport: unblockingTransport(blocked, seen, true) },
  );
  try {
    await task.put([...records(blocked, 0, 2), ...records(open, 0, 3)]);
    await task.stop();
    assert.equal(seen.length, 2);
    const firstStatuses = (seen[0]!.response.items ?? []).map(
      (item) => Object.values(item)[0]!.status,
    );
    assert.deepEqual(firstStatuses, [429, 429, 201, 201, 201]);
    // The retry carries only the two refused documents.
    assert.equal(seen[1]!.body.split('\n').filter((line) => line.includes('"_index"')).length, 2);
    assert.match(seen[1]!.body, new RegExp(`"_index":"${blocked}"`));
    assert.deepEqual([...(await docs(client, blocked)).keys()].sort(), ['k0', 'k1']);
    assert.deepEqual([...(await docs(client, open)).keys()].sort(), ['k0', 'k1', 'k2']);
  } finally {
    await task.stop();
  }
});

test('429 item failures that persist fail the task after max.retries with the reason', async () => {
  const blocked = await blockedIndex('blocked_fail');
  const seen: Array<{ body: string; response: BulkResponseBody }> = [];
  const { task } = await startTask(
    { 'max.retries': '3', 'retry.backoff.ms': '1', 'read.timeout.ms': '60000' },
    { transport: unblockingTransport(blocked, seen, false) },
  );
  try {
    await task.put(records(blocked, 0, 1));
    const failure = await failureOf(task, blocked);
    assert.equal(seen.length, 4);
    assert.match(
      failure.message,
      /1 documents still failing after 4 attempts \(max\.retries=3\): status 429: cluster_block_exception/,
    );
    assert.equal((failure as KafkiError).retriable, false);
  } finally {
    await task.stop().catch(() => {});
    await client.indices.putSettings({
      index: blocked,
      settings: { 'index.blocks.read_only_allow_delete': null },
    });
  }
});
