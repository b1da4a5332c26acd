import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DurabilityScheduler, SYNC_NOW_BYTES } from '../../../runtime/log/local/durability.ts';
import type { Syncable } from '../../../runtime/log/local/durability.ts';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import {
  DEFAULT_MAX_IDLE_BYTES,
  MIN_POOLED_BYTES,
  WriteBufferPool,
} from '../../../runtime/log/local/write-buffers.ts';
import { segmentPath, tempDir, text } from './local-helpers.ts';

// --- the encode buffer pool ---------------------------------------------------------------

test('write buffers: large ones are reused once released, small ones are never pooled', () => {
  const pool = new WriteBufferPool();
  const first = pool.acquire(MIN_POOLED_BYTES + 10);
  assert.equal(first.length, MIN_POOLED_BYTES + 10);
  pool.release(first);
  assert.ok(pool.idleByteCount >= MIN_POOLED_BYTES + 10);
  const second = pool.acquire(MIN_POOLED_BYTES);
  assert.equal(second.buffer, first.buffer, 'the same backing store comes back');
  assert.equal(second.length, MIN_POOLED_BYTES);
  assert.equal(pool.idleByteCount, 0);
  const other = pool.acquire(MIN_POOLED_BYTES);
  assert.notEqual(other.buffer, first.buffer, 'a lent buffer is not handed out twice');

  const small = pool.acquire(100);
  pool.release(small);
  assert.equal(pool.idleByteCount, 0, 'small buffers are left to Buffer.allocUnsafe');
});

test('write buffers: a double release, or a foreign buffer, never enters the pool', () => {
  const pool = new WriteBufferPool();
  const buffer = pool.acquire(MIN_POOLED_BYTES);
  pool.release(buffer);
  const idle = pool.idleByteCount;
  pool.release(buffer);
  assert.equal(pool.idleByteCount, idle, 'released twice, pooled once');
  pool.release(Buffer.allocUnsafeSlow(MIN_POOLED_BYTES * 2));
  assert.equal(pool.idleByteCount, idle);
  const a = pool.acquire(MIN_POOLED_BYTES);
  const b = pool.acquire(MIN_POOLED_BYTES);
  assert.notEqual(a.buffer, b.buffer);
});

test('write buffers: idle memory stays under its cap', () => {
  const pool = new WriteBufferPool();
  const size = 4 * 1024 * 1024;
  const lent = Array.from({ length: 2 + DEFAULT_MAX_IDLE_BYTES / size }, () => pool.acquire(size));
  for (const buffer of lent) pool.release(buffer);
  assert.ok(pool.idleByteCount <= DEFAULT_MAX_IDLE_BYTES);
  assert.ok(pool.idleByteCount >= DEFAULT_MAX_IDLE_BYTES - size);
});

test('appends through the pool store exactly what was appended (buffers reused between appends)', async () => {
  const dataDir = await tempDir('write-pool');
  const log = await LocalLog.open({ dataDir, fsync: 'always' });
  try {
    await log.createTopic({ name: 't', partitions: 1, cleanupPolicy: 'delete' });
    const expected: string[] = [];
    for (let round = 0; round < 6; round++) {
      // Two appends in flight: one is encoded while the other's buffer is still being written.
      const appends = [0, 1].map((k) => {
        const records = Array.from({ length: 200 }, (_, i) => {
          const value = Buffer.alloc(700 + ((round * 7 + k + i) % 300), `${round}.${k}.${i}|`);
          expected.push(value.toString('latin1'));
          return { key: Buffer.from(`k${i}`), value };
        });
        return log.append('t', records);
      });
      await Promise.all(appends);
    }
    const stored: string[] = [];
    for (let offset = 0; offset < expected.length;) {
      const batch = await log.read('t', 0, offset, { maxBytes: 300_000 });
      for (const record of batch) stored.push(record.value!.toString('latin1'));
      offset = batch[batch.length - 1]!.offset + 1;
    }
    assert.equal(stored.length, expected.length);
    assert.ok(
      stored.every((value, i) => value === expected[i]),
      'a reused buffer never leaks bytes from an earlier append',
    );
  } finally {
    await log.close();
  }
});

test('append() has copied every byte of its records when it returns: overwriting them at once changes nothing stored', async () => {
  const dataDir = await tempDir('write-copied');
  const log = await LocalLog.open({ dataDir, fsync: 'always' });
  try {
    await log.createTopic({ name: 'one', partitions: 1, cleanupPolicy: 'delete' });
    await log.createTopic({ name: 'three', partitions: 3, cleanupPolicy: 'delete' });
    for (const topic of ['one', 'three']) {
      // One shared backing store, as the source pump's conversion slabs are.
      const slab = Buffer.alloc(64 * 1024);
      const records = Array.from({ length: 100 }, (_, i) => {
        const key = slab.subarray(i * 600, i * 600 + 8);
        key.write(`key${String(i).padStart(5, '0')}`, 'latin1');
        const value = slab.subarray(i * 600 + 8, i * 600 + 600);
        value.fill(`${topic}-${i}|`);
        return { key, value, headers: { h: slab.subarray(63 * 1024, 63 * 1024 + 4).fill('h') } };
      });
      const expected = records.map((record) => [
        record.key.toString('latin1'),
        record.value.toString('latin1'),
      ]);
      const durable = log.append(topic, records);
      slab.fill(0x58); // reused before the append is durable
      await durable;
      const stored = new Map<string, string>();
      for (const range of await log.offsets(topic)) {
        for (const record of await log.read(topic, range.partition, range.start, {
          maxRecords: 1000,
        })) {
          assert.equal(text(record.headers.h ?? null), 'hhhh');
          stored.set(record.key!.toString('latin1'), record.value!.toString('latin1'));
        }
      }
      assert.equal(stored.size, expected.length, topic);
      for (const [key, value] of expected) assert.equal(stored.get(key!), value, `${topic} ${key}`);
    }
  } finally {
    await log.close();
  }
});

// --- the fsync scheduler ------------------------------------------------------------------

function manualTarget() {
  const pending: Array<() => void> = [];
  let calls = 0;
  const target: Syncable = {
    sync: () => {
      calls++;
      return new Promise<void>((resolve) => pending.push(resolve));
    },
  };
  return { target, calls: () => calls, finishSync: () => pending.shift()!() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('{ intervalMs }: enough waiting bytes start an fsync at once, without waiting for the interval', async () => {
  const scheduler = new DurabilityScheduler({ intervalMs: 60_000 });
  const { target, calls, finishSync } = manualTarget();
  const small = scheduler.whenDurable(target, 100);
  assert.equal(calls(), 0, 'a small write waits for the interval');
  const big = scheduler.whenDurable(target, SYNC_NOW_BYTES);
  assert.equal(calls(), 1, 'a megabyte waiting is worth an fsync now');
  finishSync();
  await Promise.all([small, big]);
  scheduler.close();
});

test('{ intervalMs }: writes that land during an fsync are fsynced right after it when they add up', async () => {
  const scheduler = new DurabilityScheduler({ intervalMs: 60_000 });
  const { target, calls, finishSync } = manualTarget();
  const first = scheduler.whenDurable(target, SYNC_NOW_BYTES);
  const during = [1, 2, 3].map(() => scheduler.whenDurable(target, SYNC_NOW_BYTES / 2));
  assert.equal(calls(), 1, 'one round at a time');
  finishSync();
  await first;
  await sleep(0);
  assert.equal(calls(), 2, 'the next round starts as soon as the previous one finished');
  finishSync();
  await Promise.all(during);
  scheduler.close();
});

test('{ intervalMs }: a small write waits at most intervalMs from when it arrived', async () => {
  const scheduler = new DurabilityScheduler({ intervalMs: 120 });
  const { target, calls, finishSync } = manualTarget();
  const started = performance.now();
  const first = scheduler.whenDurable(target, 10);
  await sleep(60);
  const second = scheduler.whenDurable(target, 10);
  while (calls() === 0) await sleep(5);
  const waited = performance.now() - started;
  assert.ok(waited >= 110 && waited < 1_000, `the oldest write set the deadline (${waited} ms)`);
  finishSync();
  await Promise.all([first, second]);
  assert.equal(calls(), 1, 'both writes shared the fsync');
  scheduler.close();
});

test('a write goes through O_DSYNC only on an idle partition, and only when it would be flushed at once', async () => {
  const available = constants.O_DSYNC !== undefined;
  const always = new DurabilityScheduler('always');
  const interval = new DurabilityScheduler({ intervalMs: 60_000 });
  const { target, finishSync } = manualTarget();
  assert.equal(always.writeThrough, available);
  assert.equal(always.writeThroughNow(target, 10), available, "'always': any write");
  assert.equal(interval.writeThroughNow(target, 10), false, 'interval: a small write waits');
  assert.equal(interval.writeThroughNow(target, SYNC_NOW_BYTES), available, 'interval: a big one');
  const pending = always.whenDurable(target, 10);
  assert.equal(always.isIdle(target), false);
  assert.equal(always.writeThroughNow(target, 10), false, 'not while a round runs');
  finishSync();
  await pending;
  assert.equal(always.isIdle(target), true);
  interval.close();
});

/** The open flags of this process's descriptors on path (Linux /proc), or undefined elsewhere. */
function openFlags(path: string): number[] | undefined {
  if (process.platform !== 'linux') return undefined;
  const flags: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== path) continue;
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    const match = /^flags:\s*([0-7]+)/m.exec(info);
    if (match) flags.push(parseInt(match[1]!, 8));
  }
  return flags;
}

test("'always': appends are written through an O_DSYNC descriptor, also after a reopen", async (t) => {
  if (process.platform !== 'linux' || constants.O_DSYNC === undefined) {
    t.skip('needs Linux /proc to inspect open flags');
    return;
  }
  const dataDir = await tempDir('write-through');
  const path = segmentPath(dataDir, 't', 0);
  let log = await LocalLog.open({ dataDir, fsync: 'always' });
  try {
    await log.createTopic({ name: 't', partitions: 1, cleanupPolicy: 'delete' });
    await log.append('t', [{ key: null, value: Buffer.from('one') }]);
    const flags = openFlags(path)!;
    assert.ok(
      flags.some((f) => (f & constants.O_DSYNC) === constants.O_DSYNC),
      `an O_DSYNC descriptor is open on the segment (flags ${flags.map((f) => f.toString(8))})`,
    );
  } finally {
    await log.close();
  }
  log = await LocalLog.open({ dataDir, fsync: 'always' });
  try {
    await log.append('t', [{ key: null, value: Buffer.from('two') }]);
    const flags = openFlags(path)!;
    assert.ok(flags.some((f) => (f & constants.O_DSYNC) === constants.O_DSYNC));
    assert.deepEqual(
      (await log.read('t', 0, 0)).map((r) => r.value?.toString()),
      ['one', 'two'],
    );
  } finally {
    await log.close();
  }
  log = await LocalLog.open({ dataDir, fsync: { intervalMs: 60_000 } });
  try {
    // Under an interval policy a small append is a plain write that waits for its round.
    const started = performance.now();
    const small = log.append('t', [{ key: null, value: Buffer.from('three') }]);
    await sleep(50);
    assert.deepEqual(await log.offsets('t'), [{ partition: 0, start: 0, end: 2 }], 'not yet');
    // A megabyte appended behind it starts the round at once: both resolve long before 60 s.
    const half = Buffer.alloc(SYNC_NOW_BYTES / 2, 1);
    await log.append('t', [
      { key: null, value: half },
      { key: null, value: half },
    ]);
    await small;
    assert.ok(performance.now() - started < 30_000);
    assert.equal((await log.read('t', 0, 2, { maxRecords: 1 }))[0]!.value?.toString(), 'three');
  } finally {
    await log.close();
  }
});

// --- reads ----------------------------------------------------------------------------------

const MIB = 1024 * 1024;

test('reads with budgets smaller and larger than the batches, one batch larger than the budget', async () => {
  const dataDir = await tempDir('read-parts');
  const log = await LocalLog.open({
    dataDir,
    fsync: { intervalMs: 5 },
    // Batches of up to 1.5 MiB, and room for one record of more than 3 MiB.
    maxBatchBytes: (3 * MIB) / 2,
    maxRecordBytes: 4 * MIB,
  });
  try {
    await log.createTopic({ name: 't', partitions: 1, cleanupPolicy: 'delete' });
    const values: Buffer[] = [];
    const record = (size: number) => {
      const value = Buffer.alloc(size, String(values.length % 10));
      value.writeUInt32LE(values.length, 0);
      values.push(value);
      return { key: null, value };
    };
    // Odd-sized batches, so that batch ends fall anywhere relative to the read budgets.
    for (let a = 0; a < 12; a++) {
      await log.append(
        't',
        Array.from({ length: 37 + a * 11 }, (_, i) => record(3000 + ((a * 131 + i * 17) % 5000))),
      );
    }
    // One record of 3 MiB: its batch is larger than a 1 MiB budget on its own.
    await log.append('t', [record(3 * MIB + 123)]);
    await log.append('t', [record(10), record(20)]);

    for (const maxBytes of [64 * 1024, 1024 * 1024, 5 * MIB]) {
      const seen: number[] = [];
      for (let offset = 0; offset < values.length;) {
        const batch = await log.read('t', 0, offset, { maxBytes });
        assert.ok(batch.length > 0);
        for (const stored of batch) {
          assert.equal(stored.offset, seen.length);
          assert.ok(stored.value!.equals(values[stored.offset]!), `record ${stored.offset}`);
          seen.push(stored.offset);
        }
        offset = batch[batch.length - 1]!.offset + 1;
      }
      assert.equal(seen.length, values.length, `maxBytes ${maxBytes}`);
    }
    // A read stopped early by maxRecords.
    const few = await log.read('t', 0, 0, { maxRecords: 3, maxBytes: 8 * MIB });
    assert.deepEqual(
      few.map((r) => r.offset),
      [0, 1, 2],
    );
  } finally {
    await log.close();
  }
});

// --- recovery ---------------------------------------------------------------------------------

test('on open, a segment past the recovery point is fdatasynced before its records are readable', async () => {
  const dataDir = await tempDir('recover-sync');
  let log = await LocalLog.open({ dataDir, fsync: 'always' });
  await log.createTopic({ name: 't', partitions: 1, cleanupPolicy: 'delete' });
  await log.append('t', [{ key: null, value: Buffer.from('kept') }]);
  await log.close();
  // As after a crash before any roll: no recovery point, so nothing vouches for the segment.
  await rm(join(dataDir, 't', '0', 'recovery-point'));

  const probe = await open(segmentPath(dataDir, 't', 0), 'r');
  const prototype = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  const original = prototype.datasync;
  const synced: string[] = [];
  prototype.datasync = function (this: { fd: number }) {
    try {
      synced.push(readlinkSync(`/proc/self/fd/${this.fd}`));
    } catch {
      synced.push('?');
    }
    return original.call(this);
  };
  try {
    log = await LocalLog.open({ dataDir, fsync: 'always' });
  } finally {
    prototype.datasync = original;
  }
  try {
    if (process.platform === 'linux') {
      assert.ok(synced.includes(segmentPath(dataDir, 't', 0)), `fdatasynced: ${synced}`);
    } else {
      assert.ok(synced.length > 0);
    }
    assert.deepEqual(
      (await log.read('t', 0, 0)).map((r) => r.value?.toString()),
      ['kept'],
    );
  } finally {
    await log.close();
  }
});

test('closing a log with an interval policy flushes its pending appends at once', async () => {
  const dataDir = await tempDir('close-interval');
  const log = await LocalLog.open({ dataDir, fsync: { intervalMs: 60_000 } });
  await log.createTopic({ name: 't', partitions: 1, cleanupPolicy: 'delete' });
  const started = performance.now();
  const pending = log.append('t', [{ key: null, value: Buffer.from('last words') }]);
  await sleep(20);
  await log.close();
  assert.deepEqual(await pending, [{ partition: 0, offset: 0 }]);
  assert.ok(performance.now() - started < 10_000, 'close did not wait out the interval');
  const reopened = await LocalLog.open({ dataDir });
  try {
    assert.equal(text((await reopened.read('t', 0, 0))[0]!.value), 'last words');
  } finally {
    await reopened.close();
  }
});
