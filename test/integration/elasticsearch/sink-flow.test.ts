// Flow control of the Elasticsearch sink against the real Elasticsearch, observed through a
// wrapped transport (the task's injection point): put() waits when the buffer is full, no
// document is ever in two in-flight bulk requests, preCommit() never passes an unconfirmed
// record, close() drops buffered records, stop() flushes. Requests are held and released by the
// test (no sleeps, no timing in the assertions).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@elastic/elasticsearch';
import type { SinkRecord } from '../../../runtime/api/index.ts';
import type {
  BulkResponseBody,
  EsTransport,
} from '../../../connectors/elasticsearch/bulk-client.ts';
import { defaultTransport } from '../../../connectors/elasticsearch/task.ts';
import type { ElasticsearchSinkTask } from '../../../connectors/elasticsearch/task.ts';
import type { ElasticsearchSinkConfig } from '../../../connectors/elasticsearch/config.ts';
import { uniqueName, waitFor } from '../../helpers/wait.ts';
import { docs, esClient, rowRecord, startTask } from './helpers.ts';

let client: Client;
const created: string[] = [];

function topicName(prefix: string): string {
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

interface HeldRequest {
  ids: string[];
  offsets: number[];
  release: () => void;
}

/** Bulk requests wait in `held` until the test releases them; ids in flight are checked. */
class HoldingTransport {
  readonly held: HeldRequest[] = [];
  readonly inFlight = new Set<string>();
  readonly overlaps: string[] = [];
  maxConcurrent = 0;
  requests = 0;
  private concurrent = 0;
  private arrivals: Array<() => void> = [];
  onRequest: () => void = () => {};
  /** Once the test is over: hold nothing, release everything. */
  private opened = false;

  open(): void {
    this.opened = true;
    for (const request of this.held.splice(0)) request.release();
  }

  factory = (config: ElasticsearchSinkConfig): EsTransport => {
    const inner = defaultTransport(config);
    return { ...inner, bulk: (body, timeoutMs) => this.bulk(inner, body, timeoutMs) };
  };

  // The sink's timeout goes through: on a slow machine it doubles a timed-out request's timeout.
  private async bulk(
    inner: EsTransport,
    body: string,
    timeoutMs?: number,
  ): Promise<BulkResponseBody> {
    const actions = body
      .split('\n')
      .filter((line) => line.startsWith('{"index"') || line.startsWith('{"delete"'))
      .map((line) => JSON.parse(line) as Record<string, { _index: string; _id: string }>);
    const ids = actions.map((action) => {
      const meta = Object.values(action)[0]!;
      return `${meta._index}/${meta._id}`;
    });
    const mine = new Set(ids);
    for (const id of mine) {
      if (this.inFlight.has(id)) this.overlaps.push(id);
      this.inFlight.add(id);
    }
    this.requests++;
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    this.onRequest();
    try {
      await new Promise<void>((release) => {
        if (this.opened) return release();
        this.held.push({
          ids,
          offsets: ids.map((id) => Number(id.split('/k')[1]?.split('-')[1] ?? -1)),
          release,
        });
        for (const wake of this.arrivals.splice(0)) wake();
      });
      return await inner.bulk(body, timeoutMs);
    } finally {
      for (const id of mine) this.inFlight.delete(id);
      this.concurrent--;
    }
  }

  /** Wait until at least `count` requests are held. */
  async waitHeld(count: number): Promise<void> {
    while (this.held.length < count) await new Promise<void>((wake) => this.arrivals.push(wake));
  }

  releaseAt(index: number): HeldRequest {
    const [request] = this.held.splice(index, 1);
    request!.release();
    return request!;
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

/** Release held requests (chosen by `pick`) as they come, until the task's buffer is empty. */
async function releaseAll(
  holding: HoldingTransport,
  task: ElasticsearchSinkTask,
  pick: (held: number) => number = () => 0,
): Promise<void> {
  while (task.bufferState().records > 0 || holding.held.length > 0) {
    if (holding.held.length > 0) holding.releaseAt(pick(holding.held.length));
    // preCommit() sends what lingers (linger.ms may be long in a test).
    else await task.preCommit([]);
    await tick();
  }
}

/** Records k<key>-<offset> on partition 0: the id of a document and the offset behind it. */
function keyed(topic: string, offset: number, key: number): SinkRecord {
  return rowRecord({ topic, offset }, `k${key}-${offset}`, { key, offset });
}

test('put() waits while the buffer is full; the buffer never holds more than allowed', async () => {
  const topic = topicName('flow_backpressure');
  const holding = new HoldingTransport();
  const { task } = await startTask(
    {
      'max.buffered.records': '10',
      'batch.size': '5',
      'max.in.flight.requests': '2',
      'linger.ms': '0',
    },
    { transport: holding.factory },
  );
  const buffered: number[] = [];
  holding.onRequest = () => buffered.push(task.bufferState().records);
  try {
    await client.indices.create({ index: topic, settings: { number_of_replicas: 0 } });
    const records = Array.from({ length: 50 }, (_, i) => keyed(topic, i, i));
    let done = false;
    const putting = task.put(records).then(() => {
      done = true;
    });
    // Both lanes have a full request in flight; the buffer is full (10), put() must be waiting.
    await holding.waitHeld(2);
    await waitFor('the buffer to fill', async () => task.bufferState().records === 10);
    assert.equal(done, false, 'put() returned with a full buffer');
    // Release requests one at a time; put() finishes once the rest fits in the buffer.
    await Promise.all([putting, releaseAll(holding, task)]);
    await putting;
    assert.ok(Math.max(...buffered) <= 10, `buffer held ${Math.max(...buffered)} records`);
    await task.stop();
    assert.equal((await docs(client, topic)).size, 50);
  } finally {
    holding.open();
    await task.stop();
  }
});

test('no document is ever in two in-flight bulk requests; the last write wins', async () => {
  const topic = topicName('flow_keys');
  const holding = new HoldingTransport();
  const { task } = await startTask(
    {
      'max.in.flight.requests': '5',
      'batch.size': '7',
      'linger.ms': '0',
      'max.buffered.records': '200',
      'external.version.fallback': 'none',
      'index.auto.create': 'false',
    },
    { transport: holding.factory },
  );
  // A seeded shuffle decides which held request goes first.
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  try {
    await client.indices.create({ index: topic, settings: { number_of_replicas: 0 } });
    // 2000 writes over 20 documents: ids repeat in every batch, unversioned, so order matters.
    const records = Array.from({ length: 2000 }, (_, i) =>
      rowRecord({ topic, offset: i }, `doc${i % 20}`, { doc: i % 20, offset: i }),
    );
    const putting = task.put(records);
    await holding.waitHeld(1);
    await Promise.all([putting, releaseAll(holding, task, (held) => Math.floor(random() * held))]);
    await putting;
    assert.deepEqual(holding.overlaps, [], 'a document was in two requests in flight');
    assert.ok(holding.maxConcurrent >= 2, 'requests were in flight concurrently');
    const now = await docs(client, topic);
    for (let key = 0; key < 20; key++) {
      assert.deepEqual(now.get(`doc${key}`), { doc: key, offset: 1980 + key });
    }
  } finally {
    holding.open();
    await task.stop();
  }
});

test('preCommit never returns a position past a record not yet confirmed', async () => {
  const topic = topicName('flow_precommit');
  const holding = new HoldingTransport();
  const { task } = await startTask(
    { 'max.in.flight.requests': '4', 'batch.size': '3', 'linger.ms': '0' },
    { transport: holding.factory },
  );
  try {
    await client.indices.create({ index: topic, settings: { number_of_replicas: 0 } });
    const records = Array.from({ length: 12 }, (_, i) => keyed(topic, i, i));
    const consumed = [{ topic, partition: 0, offset: 12 }];
    await task.put(records.slice(0, 12));
    await holding.waitHeld(1);
    const released = new Set<number>();
    let safeOffsets: number[] = [];
    // Release the held requests last-first; at every step check the committed position.
    for (;;) {
      const [safe] = await task.preCommit(consumed);
      const unreleased = [...Array(12).keys()].filter((offset) => !released.has(offset));
      const firstUnreleased = unreleased.length ? Math.min(...unreleased) : 12;
      assert.ok(
        safe!.offset <= firstUnreleased,
        `preCommit returned ${safe!.offset} while offset ${firstUnreleased} is not written`,
      );
      safeOffsets.push(safe!.offset);
      if (safe!.offset === 12) break;
      if (holding.held.length > 0) {
        const request = holding.releaseAt(holding.held.length - 1);
        for (const offset of request.offsets) released.add(offset);
      } else {
        await Promise.race([holding.waitHeld(1), new Promise((resolve) => setImmediate(resolve))]);
      }
    }
    safeOffsets = [...new Set(safeOffsets)];
    assert.equal(safeOffsets.at(-1), 12);
    assert.ok(safeOffsets.includes(0), 'the position stayed at 0 while offset 0 was in flight');
  } finally {
    holding.open();
    await task.stop();
  }
});

test('close() drops the buffered records of the partitions taken away', async () => {
  const topic = topicName('flow_close');
  const holding = new HoldingTransport();
  const { task } = await startTask(
    { 'max.in.flight.requests': '1', 'batch.size': '2', 'linger.ms': '600000' },
    { transport: holding.factory },
  );
  try {
    await client.indices.create({ index: topic, settings: { number_of_replicas: 0 } });
    await task.put([
      rowRecord({ topic, partition: 0, offset: 0 }, 'a0', { p: 0 }),
      rowRecord({ topic, partition: 1, offset: 0 }, 'b0', { p: 1 }),
      rowRecord({ topic, partition: 1, offset: 1 }, 'b1', { p: 1 }),
      rowRecord({ topic, partition: 0, offset: 1 }, 'a1', { p: 0 }),
    ]);
    await holding.waitHeld(1);
    assert.equal(task.bufferState().records, 4);
    await task.close([{ topic, partition: 1 }]);
    // b1 was buffered and is dropped; a0 and b0 are in flight and complete.
    assert.equal(task.bufferState().records, 3);
    await releaseAll(holding, task);
    assert.deepEqual([...(await docs(client, topic)).keys()].sort(), ['a0', 'a1', 'b0']);
    assert.deepEqual(await task.preCommit([{ topic, partition: 0, offset: 2 }]), [
      { topic, partition: 0, offset: 2 },
    ]);
  } finally {
    holding.open();
    await task.stop();
  }
});

test('stop() flushes what lingers', async () => {
  const topic = topicName('flow_stop');
  const { task } = await startTask({ 'linger.ms': '600000', 'batch.size': '1000' });
  await task.put([
    rowRecord({ topic, offset: 0 }, 'x', { a: 1 }),
    rowRecord({ topic, offset: 1 }, 'y', { a: 2 }),
  ]);
  assert.equal(task.bufferState().records, 2);
  await task.stop();
  assert.deepEqual([...(await docs(client, topic)).keys()].sort(), ['x', 'y']);
});

test('flush.synchronously is still accepted and changes nothing (compatibility)', async () => {
  const topic = topicName('flow_sync');
  const holding = new HoldingTransport();
  const { task } = await startTask(
    { 'flush.synchronously': 'true', 'linger.ms': '0' },
    { transport: holding.factory },
  );
  try {
    // put() returns with the write still in flight, as without the option.
    await task.put([rowRecord({ topic, offset: 0 }, 'x', { a: 1 })]);
    await holding.waitHeld(1);
    assert.equal(task.bufferState().records, 1);
    assert.deepEqual(await task.preCommit([{ topic, partition: 0, offset: 1 }]), [
      { topic, partition: 0, offset: 0 },
    ]);
    holding.releaseAt(0);
    await waitFor('the write to be confirmed', async () => task.bufferState().records === 0);
    assert.deepEqual(await task.preCommit([{ topic, partition: 0, offset: 1 }]), [
      { topic, partition: 0, offset: 1 },
    ]);
  } finally {
    holding.open();
    await task.stop();
  }
});

/** A record read from `from` at `offset` that a RegexRouter renamed to `to`. */
function routed(from: string, to: string, offset: number, key: string): SinkRecord {
  return {
    ...rowRecord({ topic: to, offset }, key, { from, offset }),
    originalTopic: from,
    originalPartition: 0,
    originalOffset: offset,
  };
}

test('renamed topics: positions follow the original coordinates, exactly', async () => {
  const source = topicName('flow_renamed');
  const target = topicName('flow_renamed_target');
  const holding = new HoldingTransport();
  const { task } = await startTask(
    {
      'linger.ms': '0',
      'index.auto.create': 'false',
      'max.in.flight.requests': '1',
      'batch.size': '1',
    },
    { transport: holding.factory },
  );
  try {
    await client.indices.create({ index: target, settings: { number_of_replicas: 0 } });
    // Read from `source` and renamed to `target`, while `target` is also consumed under its own
    // name: the two are told apart by their original coordinates. One request at a time, in put
    // order: r5 first, then d5.
    await task.put([
      routed(source, target, 5, 'r5'),
      rowRecord({ topic: target, offset: 5 }, 'd5', { direct: true }),
    ]);
    await holding.waitHeld(1);
    const consumed = [
      { topic: source, partition: 0, offset: 6 },
      { topic: target, partition: 0, offset: 6 },
    ];
    assert.deepEqual(
      await task.preCommit(consumed),
      [
        { topic: source, partition: 0, offset: 5 },
        { topic: target, partition: 0, offset: 5 },
      ],
      'neither write is confirmed yet',
    );
    // Confirm the renamed record's write only: the source's position moves, the target's not.
    assert.deepEqual(holding.releaseAt(0).ids, [`${target}/r5`]);
    await holding.waitHeld(1);
    assert.deepEqual(await task.preCommit(consumed), [
      { topic: source, partition: 0, offset: 6 },
      { topic: target, partition: 0, offset: 5 },
    ]);
    assert.deepEqual(holding.releaseAt(0).ids, [`${target}/d5`]);
    await waitFor('every write confirmed', async () => task.bufferState().records === 0);
    assert.deepEqual(await task.preCommit(consumed), consumed);
  } finally {
    holding.open();
    await task.stop();
  }
});

test('renamed topics: close() drops the buffered records of the partition they were read from', async () => {
  const source = topicName('flow_renamed_close');
  const target = topicName('flow_renamed_close_target');
  const holding = new HoldingTransport();
  const { task } = await startTask(
    { 'linger.ms': '600000', 'batch.size': '1000', 'index.auto.create': 'false' },
    { transport: holding.factory },
  );
  try {
    await client.indices.create({ index: target, settings: { number_of_replicas: 0 } });
    await task.put([
      routed(source, target, 0, 'r0'),
      rowRecord({ topic: target, offset: 0 }, 'd0', { direct: true }),
    ]);
    assert.equal(task.bufferState().records, 2);
    // The source partition is taken away: its record, renamed or not, is its new owner's.
    await task.close([{ topic: source, partition: 0 }]);
    assert.equal(task.bufferState().records, 1);
    await releaseAll(holding, task);
    assert.deepEqual([...(await docs(client, target)).keys()], ['d0']);
  } finally {
    holding.open();
    await task.stop();
  }
});
