// The shared CDC machinery in runtime/cdc: bounded queue, filters, heartbeat schedule, envelope
// helpers, rate meter, backoff.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../../runtime/cdc/backoff.ts';
import { BoundedChangeQueue } from '../../../runtime/cdc/change-queue.ts';
import { envelope, keyText, sameData } from '../../../runtime/cdc/envelope.ts';
import { CaptureFilter, KeyColumnOverrides, parseRegexList } from '../../../runtime/cdc/filters.ts';
import { HeartbeatSchedule } from '../../../runtime/cdc/heartbeat.ts';
import { RateMeter } from '../../../runtime/cdc/rate-meter.ts';
import { TransactionTracker } from '../../../runtime/cdc/transaction-metadata.ts';

test('bounded queue pauses the reader at the byte or item limit and resumes once drained', async () => {
  const events: string[] = [];
  const queue = new BoundedChangeQueue<number>({
    maxBytes: 100,
    maxItems: 10,
    pause: () => events.push('pause'),
    resume: () => events.push('resume'),
  });
  for (let i = 0; i < 4; i++) queue.push(i, 30);
  assert.deepEqual(events, ['pause']);
  assert.equal(queue.isPaused, true);
  assert.deepEqual(queue.take(2), [0, 1]);
  assert.deepEqual(events, ['pause'], 'still above half of maxBytes');
  assert.deepEqual(queue.take(1), [2]);
  assert.deepEqual(events, ['pause', 'resume']);
  assert.equal(queue.bytes, 30);
  for (let i = 0; i < 9; i++) queue.push(i, 1);
  assert.deepEqual(events, ['pause', 'resume', 'pause'], 'ten items');
  const room = queue.waitForRoom();
  queue.take(10);
  await room;
  assert.equal(queue.length, 0);
});

test('bounded queue: a batch never ends inside a group of joined items', () => {
  const queue = new BoundedChangeQueue<string>({
    maxBytes: 1000,
    maxItems: 1000,
    pause() {},
    resume() {},
  });
  // a; b c d (a key update's delete, tombstone, create); e
  queue.push('a', 1);
  queue.push('b', 1, true);
  queue.push('c', 1, true);
  queue.push('d', 1);
  queue.push('e', 1);
  assert.deepEqual(queue.take(2), ['a', 'b', 'c', 'd'], 'extended to the end of the group');
  assert.deepEqual(queue.take(2), ['e']);
  // A group not complete yet (never left behind by a reader's synchronous pushes): the batch
  // ends before it, unless it is all there is.
  queue.push('f', 1);
  queue.push('g', 1, true);
  assert.deepEqual(queue.take(10), ['f']);
  assert.deepEqual(queue.take(10), ['g']);
  // The flags move with the items when the queue compacts its arrays.
  for (let i = 0; i < 5000; i++) queue.push(`x${i}`, 0, i % 2 === 0);
  assert.equal(queue.take(4097).length, 4098);
  assert.deepEqual(queue.take(1), ['x4098', 'x4099']);
  assert.equal(queue.length, 900);
});

test('bounded queue: waitForItems wakes on push, on wake(), on abort and on timeout', async () => {
  const queue = new BoundedChangeQueue<string>({
    maxBytes: 1000,
    maxItems: 1000,
    pause() {},
    resume() {},
  });
  const waiting = queue.waitForItems(60_000);
  queue.push('x', 1);
  await waiting;
  queue.take(1);
  const woken = queue.waitForItems(60_000);
  queue.wake();
  await woken;
  const controller = new AbortController();
  const aborted = queue.waitForItems(60_000, controller.signal);
  controller.abort();
  await aborted;
  await queue.waitForItems(1);
  assert.equal(queue.length, 0);
});

test('regex lists: full, case-insensitive matches; escaped commas', () => {
  const list = parseRegexList('public\\.orders, inventory\\..*,a{1\\,2}');
  assert.equal(list.length, 3);
  assert.ok(list[0]!.test('PUBLIC.ORDERS'));
  assert.ok(!list[0]!.test('public.orders_archive'));
  assert.ok(list[2]!.test('aa'));
  const filter = new CaptureFilter(
    { schemaInclude: 'inventory', columnExclude: 'inventory\\.customers\\.(ssn|dob)' },
    new Set(['pg_catalog']),
  );
  assert.ok(filter.includesTable('inventory', 'customers'));
  assert.ok(!filter.includesTable('public', 'customers'));
  assert.ok(!filter.includesColumn('inventory', 'customers', 'ssn'));
  assert.ok(filter.includesColumn('inventory', 'customers', 'name'));
  assert.ok(
    !new CaptureFilter({}, new Set(['pg_catalog'])).includesTable('pg_catalog', 'pg_class'),
  );
  assert.ok(
    new CaptureFilter({ tableExclude: 'public\\.audit.*' }).includesTable('public', 'orders'),
  );
  assert.ok(
    !new CaptureFilter({ tableExclude: 'public\\.audit.*' }).includesTable('public', 'audit_log'),
  );
});

test('message.key.columns', () => {
  const overrides = new KeyColumnOverrides(
    'inventory.customers:email ; (.*).purchaseorders:pk3,pk4',
  );
  assert.deepEqual(overrides.columnsFor('inventory.customers'), ['email']);
  assert.deepEqual(overrides.columnsFor('sales.purchaseorders'), ['pk3', 'pk4']);
  assert.equal(overrides.columnsFor('inventory.orders'), undefined);
  assert.throws(() => new KeyColumnOverrides('missing-colon'), /message\.key\.columns/);
});

test('heartbeat schedule follows the caller clock; 0 disables', () => {
  const schedule = new HeartbeatSchedule(1000, 0);
  assert.equal(schedule.due(999), false);
  assert.equal(schedule.due(1000), true);
  schedule.sent(1000);
  assert.equal(schedule.due(1500), false);
  assert.equal(new HeartbeatSchedule(0, 0).due(1e12), false);
});

test('envelope field order, key text and data equality', () => {
  const value = envelope('c', null, { id: 1 }, { name: 'srv' }, null, 1_700_000_000_123_456);
  assert.deepEqual(Object.keys(value), [
    'before',
    'after',
    'source',
    'transaction',
    'op',
    'ts_ms',
    'ts_us',
    'ts_ns',
  ]);
  assert.equal(value.ts_ms, 1_700_000_000_123);
  assert.equal(value.ts_ns, null);
  assert.equal(
    keyText({ id: 1n << 60n, b: Buffer.from([1, 2]) }),
    '{"id":"1152921504606846976","b":"AQI="}',
  );
  assert.ok(sameData({ a: Buffer.from([1]), b: [1, NaN] }, { a: Buffer.from([1]), b: [1, NaN] }));
  assert.ok(!sameData({ a: 1 }, { a: 2 }));
  assert.ok(!sameData({ a: 1 }, { a: 1, b: 2 }));
});

test('transaction tracker numbers events per transaction and per collection', () => {
  const tracker = new TransactionTracker();
  tracker.begin('7:100');
  assert.deepEqual(tracker.next('public.a', true), {
    id: '7:100',
    total_order: 1,
    data_collection_order: 1,
  });
  assert.deepEqual(tracker.next('public.b', false), {
    id: '7:100',
    total_order: 2,
    data_collection_order: 1,
  });
  assert.deepEqual(tracker.next('public.a', true), {
    id: '7:100',
    total_order: 3,
    data_collection_order: 2,
  });
  const end = tracker.endValue(5);
  assert.equal(end.event_count, 3);
  assert.deepEqual(end.data_collections, [
    { data_collection: 'public.a', event_count: 2 },
    { data_collection: 'public.b', event_count: 1 },
  ]);
});

test('rate meter and backoff', () => {
  const meter = new RateMeter(2);
  meter.add(10, 0);
  meter.add(30, 1500);
  assert.equal(meter.perSecond(2000), 20);
  assert.equal(meter.total, 40);
  assert.equal(backoffDelay(0, { initialMs: 100, maxMs: 1000, random: () => 1 }), 100);
  assert.equal(backoffDelay(0, { initialMs: 100, maxMs: 1000, random: () => 0 }), 50);
  assert.equal(backoffDelay(10, { initialMs: 100, maxMs: 1000, random: () => 1 }), 1000);
});
