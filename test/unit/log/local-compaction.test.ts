import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredRecord } from '../../../runtime/log/log.ts';
import type { CompactionResult } from '../../../runtime/log/local/compactor.ts';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import type { LocalLogOptions } from '../../../runtime/log/local/options.ts';
import { tempDir, text } from './local-helpers.ts';

const TOPIC = 'state';
const MINUTE = 60_000;

async function readAll(log: LocalLog): Promise<StoredRecord[]> {
  const [range] = await log.offsets(TOPIC);
  return log.read(TOPIC, 0, range!.start, { maxRecords: 100_000, maxBytes: 64 * 1024 * 1024 });
}

const put = (key: string, value: string | null) => ({
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
});

/**
 * A compacted topic where every append rolls a new segment (segmentMs 0), compacted only by
 * compactNow() so that the tests decide when passes run.
 */
async function openCompacted(
  dataDir: string,
  options: Partial<LocalLogOptions> = {},
  minCleanableDirtyRatio = 0.01,
) {
  const log = await LocalLog.open({ dataDir, cleanerEnabled: false, ...options });
  await log.createTopic({
    name: TOPIC,
    partitions: 1,
    cleanupPolicy: 'compact',
    segmentMs: 0,
    minCleanableDirtyRatio,
    deleteRetentionMs: MINUTE,
  });
  const passes: CompactionResult[] = [];
  log.onCompacted((_topic, _partition, result) => passes.push(result));
  return { log, passes };
}

/** Five versions of keys k0..k4 (one append per version), then a tombstone for k0. */
async function writeVersions(log: LocalLog): Promise<Map<string, number>> {
  const latest = new Map<string, number>();
  for (let version = 0; version < 5; version++) {
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
    const appended = await log.append(
      TOPIC,
      keys.map((k) => put(k, `${k}-v${version}`)),
    );
    keys.forEach((k, i) => latest.set(k, appended[i]!.offset));
  }
  const [tombstone] = await log.append(TOPIC, [put('k0', null)]);
  latest.set('k0', tombstone!.offset);
  // Seals the segment holding the tombstone (only sealed segments are compacted).
  await log.append(TOPIC, [put('roll', '1')]);
  return latest;
}

describe('compaction', () => {
  it('keeps the latest record per key at its original offset, and a fresh tombstone', async () => {
    const dataDir = await tempDir('compaction');
    const { log } = await openCompacted(dataDir);
    try {
      const latest = await writeVersions(log);
      await log.compactNow(TOPIC);
      const records = (await readAll(log)).filter((r) => text(r.key) !== 'roll');
      assert.deepEqual(
        records.map((r) => [text(r.key), text(r.value), r.offset]),
        [
          ['k1', 'k1-v4', latest.get('k1')],
          ['k2', 'k2-v4', latest.get('k2')],
          ['k3', 'k3-v4', latest.get('k3')],
          ['k4', 'k4-v4', latest.get('k4')],
          ['k0', null, latest.get('k0')],
        ],
      );
      // The end is unchanged and appends go on after it.
      const [range] = await log.offsets(TOPIC);
      assert.equal(range!.end, 27);
      assert.equal((await log.append(TOPIC, [put('k9', 'x')]))[0]!.offset, 27);
      // The six sealed segments were merged into one (they fit in segmentBytes).
      const files = (await readdir(join(dataDir, TOPIC, '0'))).filter((f) => f.endsWith('.log'));
      assert.deepEqual(files.sort(), [
        '00000000000000000000.log',
        '00000000000000000026.log',
        '00000000000000000027.log',
      ]);
    } finally {
      await log.close();
    }
    // The compacted state survives a restart (and passes the full CRC scan on open).
    const reopened = await LocalLog.open({ dataDir });
    try {
      assert.deepEqual(reopened.recoveryReport, []);
      const keys = (await readAll(reopened)).map((r) => text(r.key));
      assert.deepEqual(keys, ['k1', 'k2', 'k3', 'k4', 'k0', 'roll', 'k9']);
    } finally {
      await reopened.close();
    }
  });

  it('removes a tombstone deleteRetentionMs after the pass that first kept it', async () => {
    const dataDir = await tempDir('compaction-tombstone');
    let clock = 1_800_000_000_000;
    const { log } = await openCompacted(dataDir, { now: () => clock });
    try {
      await log.append(TOPIC, [put('gone', 'v'), put('kept', 'v')]);
      await log.append(TOPIC, [put('gone', null)]);
      await log.append(TOPIC, [put('roll', '1')]);
      await log.compactNow(TOPIC);
      assert.deepEqual(
        (await readAll(log)).map((r) => [text(r.key), text(r.value)]),
        [
          ['kept', 'v'],
          ['gone', null],
          ['roll', '1'],
        ],
      );

      clock += MINUTE / 2;
      await log.append(TOPIC, [put('roll', '2')]);
      await log.compactNow(TOPIC);
      assert.ok(
        (await readAll(log)).some((r) => text(r.key) === 'gone'),
        'the tombstone is still there before deleteRetentionMs',
      );

      clock += MINUTE;
      await log.compactNow(TOPIC); // due: nothing is dirty, but a kept tombstone's horizon passed
      assert.deepEqual(
        (await readAll(log)).map((r) => [text(r.key), text(r.value)]),
        [
          ['kept', 'v'],
          ['roll', '1'],
          ['roll', '2'],
        ],
      );
    } finally {
      await log.close();
    }
  });

  it('waits until the dirty share reaches minCleanableDirtyRatio', async () => {
    const dataDir = await tempDir('compaction-ratio');
    const { log, passes } = await openCompacted(dataDir, {}, 0.5);
    const value = (c: string) => c.repeat(100); // 182-byte batches
    try {
      for (let i = 0; i < 6; i++) await log.append(TOPIC, [put(`k${i}`, value('x'))]);
      await log.append(TOPIC, [put('roll', '1')]);
      await log.compactNow(TOPIC);
      assert.equal(passes.length, 1, 'everything sealed was dirty: one pass');

      // Dirty now: the roll (85 bytes) and k0 (182) against 1092 clean bytes, about 0.2.
      await log.append(TOPIC, [put('k0', value('y'))]);
      await log.append(TOPIC, [put('roll', '2')]);
      await log.compactNow(TOPIC);
      assert.equal(passes.length, 1, 'no pass below the ratio');
      assert.equal((await readAll(log)).filter((r) => text(r.key) === 'k0').length, 2);

      // Five more updates: 1262 dirty bytes against 1092 clean, above 0.5.
      for (let i = 1; i < 6; i++) await log.append(TOPIC, [put(`k${i}`, value('z'))]);
      await log.append(TOPIC, [put('roll', '3')]);
      await log.compactNow(TOPIC);
      assert.equal(passes.length, 2, 'a pass once half the sealed bytes are dirty');
      assert.equal(passes[1]!.recordsRemoved, 7, 'the six old values and the first roll');
      const keys = (await readAll(log)).map((r) => text(r.key));
      assert.deepEqual(keys, ['k0', 'roll', 'k1', 'k2', 'k3', 'k4', 'k5', 'roll']);
    } finally {
      await log.close();
    }
  });
});

describe('a crash during compaction loses nothing', () => {
  /** A closed compacted log with several sealed segments, never compacted yet. */
  async function uncompacted(): Promise<string> {
    const dataDir = await tempDir('compaction-crash');
    const { log } = await openCompacted(dataDir);
    await writeVersions(log);
    await log.close();
    return dataDir;
  }

  const expectedKeys = ['k1', 'k2', 'k3', 'k4', 'k0', 'roll'];

  it('before the commit point: the .cleaned leftovers are removed, the old segments stay', async () => {
    const dataDir = await uncompacted();
    const dir = join(dataDir, TOPIC, '0');
    await writeFile(join(dir, '00000000000000000000.log.cleaned'), Buffer.from('half written'));
    await writeFile(join(dir, '00000000000000000000.index.cleaned'), Buffer.alloc(3));
    const log = await LocalLog.open({ dataDir });
    try {
      assert.deepEqual(
        log.recoveryReport.map((e) => e.kind),
        ['leftover-removed', 'leftover-removed'],
      );
      const records = await readAll(log);
      assert.equal(records.length, 27, 'every original record is still there');
      assert.ok(!(await readdir(dir)).some((name) => name.includes('cleaned')));
    } finally {
      await log.close();
    }
  });

  it('after the commit point: the .swap file replaces the segments it covers', async () => {
    const before = await uncompacted();
    const after = await tempDir('compaction-crash-after');
    await cp(before, after, { recursive: true });
    // Compact one copy to get the .swap file the crashed run would have committed.
    const compacted = await LocalLog.open({ dataDir: after, cleanerEnabled: false });
    await compacted.compactNow(TOPIC);
    await compacted.close();
    const afterDir = join(after, TOPIC, '0');
    const cleaned = (await readdir(afterDir)).filter((f) => f.endsWith('.log')).sort();
    const beforeDir = join(before, TOPIC, '0');
    const original = (await readdir(beforeDir)).filter((f) => f.endsWith('.log')).sort();
    assert.ok(cleaned.length < original.length);
    // The crash: the swap is in place, none of the old segments has been deleted yet.
    await cp(join(afterDir, cleaned[0]!), join(beforeDir, `${cleaned[0]!}.swap`));

    const log = await LocalLog.open({ dataDir: before });
    try {
      const swap = log.recoveryReport.find((e) => e.kind === 'swap-completed');
      assert.ok(swap !== undefined && swap.kind === 'swap-completed');
      assert.ok(swap.replaced.length > 0);
      assert.deepEqual(
        (await readAll(log)).map((r) => text(r.key)),
        expectedKeys,
      );
      const files = (await readdir(beforeDir)).filter((f) => f.endsWith('.log')).sort();
      assert.deepEqual(files, cleaned);
    } finally {
      await log.close();
    }
  });

  it('a crash between deleting the old segments and the final rename is completed too', async () => {
    const before = await uncompacted();
    const after = await tempDir('compaction-crash-late');
    await cp(before, after, { recursive: true });
    const compacted = await LocalLog.open({ dataDir: after, cleanerEnabled: false });
    await compacted.compactNow(TOPIC);
    await compacted.close();
    const afterDir = join(after, TOPIC, '0');
    const beforeDir = join(before, TOPIC, '0');
    const cleaned = (await readdir(afterDir)).filter((f) => f.endsWith('.log')).sort();
    // Old segments of the group are gone except the first, which the swap will replace.
    const group = (await readdir(beforeDir)).filter((f) => f.endsWith('.log')).sort();
    const nextGroup = cleaned[1];
    for (const name of group.slice(1)) {
      if (nextGroup !== undefined && name >= nextGroup) break;
      await rename(join(beforeDir, name), join(after, `removed-${name}`));
    }
    await cp(join(afterDir, cleaned[0]!), join(beforeDir, `${cleaned[0]!}.swap`));
    const log = await LocalLog.open({ dataDir: before });
    try {
      assert.deepEqual(
        (await readAll(log)).map((r) => text(r.key)),
        expectedKeys,
      );
    } finally {
      await log.close();
    }
  });
});
