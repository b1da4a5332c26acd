// The offset tracker and the lane buffer on their own, with a handler the test completes by hand.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkiError } from '../../../runtime/api/index.ts';
import { BulkProcessor, laneOf } from '../../../connectors/elasticsearch/bulk-processor.ts';
import {
  OffsetTracker,
  PartitionTracker,
} from '../../../connectors/elasticsearch/offset-tracker.ts';

test('the safe offset is the first unconfirmed record, whatever order completions come in', () => {
  const tracker = new PartitionTracker();
  const slots = [10, 11, 12, 15].map((offset) => tracker.add(offset));
  assert.equal(tracker.safeOffset(16), 10);
  tracker.complete(slots[2]!);
  tracker.complete(slots[1]!);
  assert.equal(tracker.safeOffset(16), 10);
  tracker.complete(slots[0]!);
  assert.equal(tracker.safeOffset(16), 15);
  tracker.complete(slots[3]!);
  tracker.complete(slots[3]!);
  assert.equal(tracker.pending, 0);
  assert.equal(tracker.safeOffset(16), 16);
  assert.equal(tracker.safeOffset(14), 14, 'never past the consumed position');
});

test('the tracker stays right across compactions', () => {
  const tracker = new PartitionTracker();
  const slots: number[] = [];
  for (let offset = 0; offset < 5000; offset++) slots.push(tracker.add(offset));
  for (let offset = 0; offset < 3000; offset++) tracker.complete(slots[offset]!);
  assert.equal(tracker.safeOffset(5000), 3000);
  for (let offset = 4999; offset >= 3001; offset--) tracker.complete(slots[offset]!);
  assert.equal(tracker.safeOffset(5000), 3000);
  const more = tracker.add(5000);
  tracker.complete(slots[3000]!);
  assert.equal(tracker.safeOffset(5001), 5000);
  tracker.complete(more);
  assert.equal(tracker.safeOffset(5001), 5001);
});

test('partitions are tracked apart; a closed one starts afresh', () => {
  const offsets = new OffsetTracker();
  const a = offsets.partition({ topic: 't', partition: 0 });
  a.add(3);
  assert.deepEqual(
    offsets.safe([
      { topic: 't', partition: 0, offset: 9 },
      { topic: 't', partition: 1, offset: 9 },
    ]),
    [
      { topic: 't', partition: 0, offset: 3 },
      { topic: 't', partition: 1, offset: 9 },
    ],
  );
  assert.equal(offsets.close({ topic: 't', partition: 0 }), a);
  assert.notEqual(offsets.partition({ topic: 't', partition: 0 }), a);
  assert.deepEqual(offsets.safe([{ topic: 't', partition: 0, offset: 9 }]), [
    { topic: 't', partition: 0, offset: 9 },
  ]);
});

interface Item {
  lane: number;
  bytes: number;
  n: number;
}

function harness(options: Partial<ConstructorParameters<typeof BulkProcessor<Item>>[0]> = {}) {
  const calls: Array<{ items: number[]; finish: (error?: Error) => void }> = [];
  const processor = new BulkProcessor<Item>(
    {
      lanes: 2,
      batchSize: 3,
      batchBytes: 100,
      lingerMs: 60_000,
      maxRecords: 100,
      maxBytes: 1000,
      ...options,
    },
    (batch) =>
      new Promise<void>((resolve, reject) => {
        calls.push({
          items: batch.map((item) => item.n),
          finish: (error) => (error ? reject(error) : resolve()),
        });
      }),
  );
  return { processor, calls };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('batches close on count and on bytes; one request per lane at a time', async () => {
  const { processor, calls } = harness();
  for (let n = 0; n < 7; n++) processor.add({ lane: 0, bytes: 10, n });
  assert.deepEqual(
    calls.map((c) => c.items),
    [[0, 1, 2]],
    'lane 0 has one request in flight',
  );
  processor.add({ lane: 1, bytes: 60, n: 100 });
  processor.add({ lane: 1, bytes: 60, n: 101 });
  assert.deepEqual(
    calls.map((c) => c.items),
    [[0, 1, 2], [100]],
    'bytes closed lane 1 batch',
  );
  calls[0]!.finish();
  await settle();
  assert.deepEqual(calls[2]!.items, [3, 4, 5]);
  assert.equal(processor.size.records, 6);
  assert.equal(processor.size.requestsInFlight, 2);
  processor.add({ lane: 0, bytes: 500, n: 200 });
  calls[2]!.finish();
  await settle();
  assert.deepEqual(calls[3]!.items, [6], 'the oversized record goes alone in the next one');
  calls[3]!.finish();
  await settle();
  assert.deepEqual(calls[4]!.items, [200]);
  processor.close();
});

test('linger: a partial batch waits, nudge() and a zero linger send it', async () => {
  const { processor, calls } = harness();
  processor.add({ lane: 0, bytes: 1, n: 1 });
  assert.equal(calls.length, 0);
  processor.nudge();
  assert.deepEqual(
    calls.map((c) => c.items),
    [[1]],
  );
  processor.close();
  const eager = harness({ lingerMs: 0 });
  eager.processor.add({ lane: 1, bytes: 1, n: 2 });
  assert.deepEqual(
    eager.calls.map((c) => c.items),
    [[2]],
  );
  eager.processor.close();
});

test('a full buffer makes waitForSpace() wait and sends what lingers', async () => {
  const { processor, calls } = harness({ maxRecords: 2 });
  processor.add({ lane: 0, bytes: 1, n: 1 });
  processor.add({ lane: 1, bytes: 1, n: 2 });
  assert.equal(processor.hasSpace(), false);
  let waited = false;
  const waiting = processor.waitForSpace(60_000).then(() => {
    waited = true;
  });
  await settle();
  assert.equal(calls.length, 2, 'blocked: lingering batches are sent at once');
  assert.equal(waited, false);
  calls[0]!.finish();
  await waiting;
  assert.equal(processor.hasSpace(), true);
  processor.close();
});

test('waiting too long is a (non-retriable) timeout; a failed batch fails the waiters', async () => {
  const { processor, calls } = harness({ maxRecords: 1, lingerMs: 0 });
  processor.add({ lane: 0, bytes: 1, n: 1 });
  await assert.rejects(processor.waitForSpace(1), (error: unknown) => {
    assert.ok(error instanceof KafkiError);
    assert.equal(error.retriable, false);
    assert.match(error.message, /flush\.timeout\.ms.*1 records not yet written/);
    return true;
  });
  const waiting = processor.waitForSpace(60_000);
  const boom = new Error('boom');
  calls[0]!.finish(boom);
  await assert.rejects(waiting, boom);
  assert.equal(processor.failure, boom);
  assert.equal(processor.size.records, 0);
  processor.add({ lane: 0, bytes: 1, n: 2 });
  assert.equal(calls.length, 1, 'nothing is sent after a failure');
  await assert.rejects(processor.flush(60_000), boom);
  processor.close();
});

test('drop() removes queued records only', async () => {
  const { processor, calls } = harness({ batchSize: 1 });
  for (let n = 0; n < 4; n++) processor.add({ lane: 0, bytes: 1, n });
  assert.equal(
    processor.drop((item) => item.n % 2 === 0),
    1,
    'record 0 is in flight',
  );
  assert.equal(processor.size.records, 3);
  calls[0]!.finish();
  await settle();
  assert.deepEqual(calls[1]!.items, [1]);
  calls[1]!.finish();
  await settle();
  assert.deepEqual(calls[2]!.items, [3]);
  calls[2]!.finish();
  await processor.flush(60_000);
  processor.close();
});

test('lanes spread ids evenly and keep each document in one lane', () => {
  const counts = [0, 0, 0, 0, 0];
  for (let i = 0; i < 10_000; i++) counts[laneOf('idx', `k${i}-${i}`, 5)]!++;
  for (const count of counts) assert.ok(count > 1700 && count < 2300, `uneven lanes: ${counts}`);
  assert.equal(laneOf('a', 'x', 7), laneOf('a', 'x', 7));
  assert.equal(laneOf('a', 'x', 1), 0);
});
