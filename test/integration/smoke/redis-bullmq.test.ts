// Smoke: a BullMQ job makes a round trip through Redis (queue → worker → result).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName } from '../../helpers/wait.ts';

test('a BullMQ job is processed and its result comes back', async () => {
  const url = new URL(serviceAddresses().redisUrl);
  const connection = { host: url.hostname, port: Number(url.port || 6379) };
  const name = uniqueName('smoke_bullmq');
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const worker = new Worker(
    name,
    async (job) => ({
      sum: (job.data as { a: number; b: number }).a + (job.data as { a: number; b: number }).b,
    }),
    { connection },
  );
  try {
    await events.waitUntilReady();
    const job = await queue.add('add', { a: 2, b: 40 });
    const result = (await job.waitUntilFinished(events, 30_000)) as { sum: number };
    assert.deepEqual(result, { sum: 42 });
    assert.equal(await job.getState(), 'completed');
  } finally {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
});
