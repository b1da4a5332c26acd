import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DurabilityScheduler } from '../../../runtime/log/local/durability.ts';
import type { Syncable } from '../../../runtime/log/local/durability.ts';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import { tempDir } from './local-helpers.ts';

/** A Syncable whose syncs finish when the test says so. */
function manualTarget() {
  const pending: Array<() => void> = [];
  let calls = 0;
  const target: Syncable = {
    sync: () => {
      calls++;
      return new Promise<void>((resolve) => pending.push(resolve));
    },
  };
  return {
    target,
    calls: () => calls,
    finishSync: () => pending.shift()!(),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("'always': appends during an fsync share the next one (group commit), acknowledged in order", async () => {
  const scheduler = new DurabilityScheduler('always');
  const { target, calls, finishSync } = manualTarget();
  const order: number[] = [];
  const first = scheduler.whenDurable(target).then(() => order.push(1));
  assert.equal(calls(), 1, 'the first waiter starts an fsync at once');
  const waiting = [2, 3, 4].map((n) => scheduler.whenDurable(target).then(() => order.push(n)));
  assert.equal(calls(), 1, 'waiters that arrive during the fsync do not start another');
  finishSync();
  await first;
  await tick();
  assert.deepEqual(order, [1]);
  assert.equal(calls(), 2, 'one more fsync covers all three waiters');
  finishSync();
  await Promise.all(waiting);
  assert.deepEqual(order, [1, 2, 3, 4]);
  assert.equal(calls(), 2);
});

test('{ intervalMs }: nothing is fsynced before the tick; one timed fsync resolves every waiter', async () => {
  const scheduler = new DurabilityScheduler({ intervalMs: 150 });
  const { target, calls, finishSync } = manualTarget();
  const started = Date.now();
  let resolved = 0;
  const waiters = [1, 2, 3].map(() => scheduler.whenDurable(target).then(() => resolved++));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(calls(), 0, 'no fsync before the interval');
  while (calls() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(Date.now() - started >= 140, 'the fsync waited for the interval');
  assert.equal(resolved, 0, 'not acknowledged before the fsync completes');
  finishSync();
  await Promise.all(waiters);
  assert.equal(resolved, 3);
  assert.equal(calls(), 1);
  scheduler.close();
});

test('syncNow does not wait for the interval (close flushes at once)', async () => {
  const scheduler = new DurabilityScheduler({ intervalMs: 60_000 });
  const { target, calls, finishSync } = manualTarget();
  const waiter = scheduler.whenDurable(target);
  const now = scheduler.syncNow(target);
  assert.equal(calls(), 1);
  finishSync();
  await Promise.all([waiter, now]);
  scheduler.close();
});

test('a failed fsync rejects its waiters', async () => {
  const scheduler = new DurabilityScheduler('always');
  const target: Syncable = { sync: () => Promise.reject(new Error('EIO')) };
  await assert.rejects(scheduler.whenDurable(target), /EIO/);
});

test('under an interval policy, appends resolve after the timed fsync and only then become readable', async () => {
  const dataDir = await tempDir('fsync-interval');
  const log = await LocalLog.open({ dataDir, fsync: { intervalMs: 200 } });
  try {
    await log.createTopic({ name: 't', partitions: 1, cleanupPolicy: 'delete' });
    const started = Date.now();
    const appends = [0, 1, 2].map((i) =>
      log.append('t', [{ key: null, value: Buffer.from(`v${i}`) }]),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      await log.offsets('t'),
      [{ partition: 0, start: 0, end: 0 }],
      'records are not visible before they are durable',
    );
    const offsets = (await Promise.all(appends)).map((a) => a[0]!.offset);
    assert.deepEqual(offsets, [0, 1, 2]);
    assert.ok(Date.now() - started >= 150, 'the appends waited for the timed fsync');
    assert.deepEqual(
      (await log.read('t', 0, 0)).map((r) => r.value?.toString()),
      ['v0', 'v1', 'v2'],
    );
  } finally {
    await log.close();
  }
});

test("'always': 50 concurrent appends all resolve with their offsets in call order", async () => {
  const dataDir = await tempDir('fsync-always');
  const log = await LocalLog.open({ dataDir, fsync: 'always' });
  try {
    await log.createTopic({ name: 't', partitions: 1, cleanupPolicy: 'delete' });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        log.append('t', [{ key: null, value: Buffer.from(String(i)) }]),
      ),
    );
    assert.deepEqual(
      results.map((r) => r[0]!.offset),
      Array.from({ length: 50 }, (_, i) => i),
    );
    const stored = await log.read('t', 0, 0);
    assert.deepEqual(
      stored.map((r) => r.value?.toString()),
      Array.from({ length: 50 }, (_, i) => String(i)),
    );
  } finally {
    await log.close();
  }
});
