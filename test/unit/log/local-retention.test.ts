import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OffsetOutOfRangeError } from '../../../runtime/log/errors.ts';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import { segmentsToDelete } from '../../../runtime/log/local/retention.ts';
import { tempDir, text } from './local-helpers.ts';

const TOPIC = 'metrics';
const HOUR = 3_600_000;

async function segmentFiles(dataDir: string): Promise<Array<{ base: number; size: number }>> {
  const dir = join(dataDir, TOPIC, '0');
  const names = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort();
  return Promise.all(
    names.map(async (name) => ({
      base: Number(name.slice(0, 20)),
      size: (await stat(join(dir, name))).size,
    })),
  );
}

const batchOf = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    key: null,
    value: Buffer.from(`record-${from + i}`.padEnd(100, '.')),
  }));

describe('segmentsToDelete', () => {
  const segments = [
    { size: 100, maxTimestamp: 1_000 },
    { size: 100, maxTimestamp: 2_000 },
    { size: 100, maxTimestamp: 3_000 },
  ];
  it('removes the oldest segments while the partition stays at or above retentionBytes', () => {
    // 300 sealed + 50 active = 350; keeping ≥ 120 allows removing two segments (350 → 150).
    assert.equal(segmentsToDelete(segments, 350, { retentionBytes: 120, retentionMs: -1 }, 0), 2);
    assert.equal(segmentsToDelete(segments, 350, { retentionBytes: 250, retentionMs: -1 }, 0), 1);
    assert.equal(segmentsToDelete(segments, 350, { retentionBytes: 0, retentionMs: -1 }, 0), 3);
    assert.equal(segmentsToDelete(segments, 350, { retentionBytes: -1, retentionMs: -1 }, 0), 0);
  });
  it('removes segments whose newest record is older than retentionMs, oldest first', () => {
    assert.equal(
      segmentsToDelete(segments, 350, { retentionBytes: -1, retentionMs: 1_500 }, 4_000),
      2,
    );
    assert.equal(
      segmentsToDelete(segments, 350, { retentionBytes: -1, retentionMs: 5_000 }, 4_000),
      0,
    );
  });
});

describe('retention of a delete-policy topic', () => {
  it('by size: removes whole sealed segments, advances the start, refuses reads below it', async () => {
    const dataDir = await tempDir('retention-size');
    const log = await LocalLog.open({ dataDir });
    try {
      await log.createTopic({
        name: TOPIC,
        partitions: 1,
        cleanupPolicy: 'delete',
        segmentBytes: 1500, // about one append of 10 records per segment
        retentionBytes: 4000,
      });
      // Each append rolls a segment, and each roll applies retention.
      for (let a = 0; a < 10; a++) await log.append(TOPIC, batchOf(a * 10, 10));
      const after = await segmentFiles(dataDir);
      const total = after.reduce((sum, s) => sum + s.size, 0);
      assert.ok(after[0]!.base > 0, 'the oldest segments were removed');
      await log.runRetention();
      assert.deepEqual(await segmentFiles(dataDir), after, 'nothing more to remove');
      assert.ok(total >= 4000, `kept ${total} bytes, at least retentionBytes`);
      assert.ok(total - after[0]!.size < 4000, 'removing one more would go below retentionBytes');
      const [range] = await log.offsets(TOPIC);
      assert.equal(range!.start, after[0]!.base);
      assert.equal(range!.end, 100);
      await assert.rejects(
        log.read(TOPIC, 0, range!.start - 1),
        (error: unknown) =>
          error instanceof OffsetOutOfRangeError && error.range.start === range!.start,
      );
      const first = await log.read(TOPIC, 0, range!.start, { maxRecords: 1 });
      assert.equal(text(first[0]!.value)?.startsWith(`record-${range!.start}.`), true);
    } finally {
      await log.close();
    }
    // The start survives a restart (it is the first segment that is left).
    const reopened = await LocalLog.open({ dataDir });
    try {
      const files = await segmentFiles(dataDir);
      assert.deepEqual(await reopened.offsets(TOPIC), [
        { partition: 0, start: files[0]!.base, end: 100 },
      ]);
    } finally {
      await reopened.close();
    }
  });

  it('by age: removes sealed segments whose records are older than retentionMs, never the active one', async () => {
    const dataDir = await tempDir('retention-age');
    let clock = 1_800_000_000_000;
    const log = await LocalLog.open({ dataDir, now: () => clock });
    try {
      await log.createTopic({
        name: TOPIC,
        partitions: 1,
        cleanupPolicy: 'delete',
        segmentBytes: 1500,
        retentionMs: HOUR,
      });
      for (let a = 0; a < 3; a++) await log.append(TOPIC, batchOf(a * 10, 10));
      clock += 2 * HOUR;
      for (let a = 3; a < 5; a++) await log.append(TOPIC, batchOf(a * 10, 10));
      await log.runRetention();
      assert.deepEqual(await log.offsets(TOPIC), [{ partition: 0, start: 30, end: 50 }]);
      assert.deepEqual(
        (await segmentFiles(dataDir)).map((s) => s.base),
        [30, 40],
      );

      // Much later everything is expired, but the active segment stays (it rolls at the next append).
      clock += 10 * HOUR;
      await log.runRetention();
      assert.deepEqual(
        (await segmentFiles(dataDir)).map((s) => s.base),
        [40],
      );
      assert.deepEqual(await log.offsets(TOPIC), [{ partition: 0, start: 40, end: 50 }]);
    } finally {
      await log.close();
    }
  });

  it('by age, on record timestamps: old records given explicitly expire as well', async () => {
    const dataDir = await tempDir('retention-timestamps');
    const log = await LocalLog.open({ dataDir });
    try {
      await log.createTopic({
        name: TOPIC,
        partitions: 1,
        cleanupPolicy: 'delete',
        segmentBytes: 1500,
        retentionMs: HOUR,
      });
      const old = Date.now() - 5 * HOUR;
      await log.append(
        TOPIC,
        batchOf(0, 10).map((r) => ({ ...r, timestamp: old })),
      );
      await log.append(TOPIC, batchOf(10, 10));
      await log.append(TOPIC, batchOf(20, 10));
      await log.runRetention();
      assert.deepEqual(await log.offsets(TOPIC), [{ partition: 0, start: 10, end: 30 }]);
    } finally {
      await log.close();
    }
  });
});
