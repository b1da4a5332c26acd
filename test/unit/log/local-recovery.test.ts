import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, open, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LogStorageError } from '../../../runtime/log/errors.ts';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import type { LocalLogOptions } from '../../../runtime/log/local/options.ts';
import { BATCH_HEADER_BYTES } from '../../../runtime/log/local/record-batch.ts';
import { batchesOf, recordingLogger, segmentPath, tempDir, text } from './local-helpers.ts';

const TOPIC = 'events';
const BATCHES = 5;
const PER_BATCH = 10;

const valueOf = (offset: number) => `value-${offset}`;

/** A closed log with BATCHES appends of PER_BATCH records each (one batch per append). */
async function buildLog(options: Partial<LocalLogOptions> = {}, segmentBytes?: number) {
  const dataDir = await tempDir('recovery');
  const log = await LocalLog.open({ dataDir, ...options });
  await log.createTopic({ name: TOPIC, partitions: 1, cleanupPolicy: 'delete', segmentBytes });
  for (let b = 0; b < BATCHES; b++) {
    await log.append(
      TOPIC,
      Array.from({ length: PER_BATCH }, (_, i) => ({
        key: Buffer.from(`k${b * PER_BATCH + i}`),
        value: Buffer.from(valueOf(b * PER_BATCH + i)),
      })),
    );
  }
  await log.close();
  return dataDir;
}

async function flipByte(path: string, position: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, position);
    byte[0]! ^= 0x10;
    await handle.write(byte, 0, 1, position);
  } finally {
    await handle.close();
  }
}

/** Reopens, checks that offsets [0, end) are intact and contiguous, and that appends go on at end. */
async function reopenAndCheck(
  dataDir: string,
  end: number,
  options: Partial<LocalLogOptions> = {},
) {
  const logger = recordingLogger();
  const log = await LocalLog.open({ dataDir, logger, ...options });
  try {
    assert.deepEqual(await log.offsets(TOPIC), [{ partition: 0, start: 0, end }]);
    const stored = await log.read(TOPIC, 0, 0, { maxRecords: 1000 });
    assert.deepEqual(
      stored.map((r) => r.offset),
      Array.from({ length: end }, (_, i) => i),
    );
    stored.forEach((r) => assert.equal(text(r.value), valueOf(r.offset)));
    const [next] = await log.append(TOPIC, [{ key: null, value: Buffer.from(valueOf(end)) }]);
    assert.equal(next!.offset, end, 'appends continue right after the kept records');
    return { logger, report: [...log.recoveryReport] };
  } finally {
    await log.close();
  }
}

describe('recovery on open', () => {
  it('cuts the last batch when one of its bytes is corrupt, and reports the byte counts', async () => {
    const dataDir = await buildLog();
    const file = segmentPath(dataDir, TOPIC, 0);
    const batches = await batchesOf(file);
    assert.equal(batches.length, BATCHES);
    const size = (await stat(file)).size;
    const last = batches[BATCHES - 1]!;
    await flipByte(file, last.position + BATCH_HEADER_BYTES + 20);

    const { logger, report } = await reopenAndCheck(dataDir, 40);
    assert.deepEqual(report, [
      {
        kind: 'truncated',
        file,
        keptBytes: last.position,
        cutBytes: size - last.position,
        reason: 'checksum mismatch',
      },
    ]);
    const warning = logger.lines.find((l) => l.level === 'warn')!;
    assert.match(
      warning.message,
      new RegExp(`kept ${last.position} bytes, cut ${size - last.position} bytes`),
    );
    assert.equal(warning.details.file, file);
  });

  it('cuts everything from a corrupt middle batch on', async () => {
    const dataDir = await buildLog();
    const file = segmentPath(dataDir, TOPIC, 0);
    const batches = await batchesOf(file);
    const size = (await stat(file)).size;
    const middle = batches[2]!;
    await flipByte(file, middle.position + 3); // inside the base offset field of the header

    const { report } = await reopenAndCheck(dataDir, 20);
    assert.equal(report.length, 1);
    assert.deepEqual(report[0], {
      kind: 'truncated',
      file,
      keptBytes: middle.position,
      cutBytes: size - middle.position,
      reason: 'checksum mismatch',
    });
    assert.equal((await stat(file)).size, middle.position + (await batchesOf(file)).at(-1)!.length);
  });

  it('cuts a batch torn in the middle (file truncated inside it)', async () => {
    const dataDir = await buildLog();
    const file = segmentPath(dataDir, TOPIC, 0);
    const last = (await batchesOf(file))[BATCHES - 1]!;
    await truncate(file, last.position + 30);

    const { report } = await reopenAndCheck(dataDir, 40);
    assert.equal(report.length, 1);
    const event = report[0]!;
    assert.equal(event.kind, 'truncated');
    assert.ok(event.kind === 'truncated');
    assert.equal(event.keptBytes, last.position);
    assert.equal(event.cutBytes, 30);
    assert.match(event.reason, /trailing bytes|cut off/);
  });

  it('cuts zeros left after the last batch (a crash that extended the file)', async () => {
    const dataDir = await buildLog();
    const file = segmentPath(dataDir, TOPIC, 0);
    const size = (await stat(file)).size;
    await appendFile(file, Buffer.alloc(4096));

    const { report } = await reopenAndCheck(dataDir, 50);
    assert.deepEqual(report, [
      {
        kind: 'truncated',
        file,
        keptBytes: size,
        cutBytes: 4096,
        reason: 'invalid batch length 0',
      },
    ]);
  });

  it('drops the segments after a damaged one and reports each', async () => {
    // One batch per segment: a segment is rolled for every append.
    const dataDir = await buildLog({}, 200);
    const dir = join(dataDir, TOPIC, '0');
    const logs = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort();
    assert.equal(logs.length, BATCHES);
    const damaged = segmentPath(dataDir, TOPIC, 0, 20);
    const damagedSize = (await stat(damaged)).size;
    await flipByte(damaged, BATCH_HEADER_BYTES + 5);
    const later = [30, 40].map((base) => segmentPath(dataDir, TOPIC, 0, base));
    const laterSizes = await Promise.all(later.map(async (path) => (await stat(path)).size));

    const { report } = await reopenAndCheck(dataDir, 20);
    assert.deepEqual(report, [
      {
        kind: 'truncated',
        file: damaged,
        keptBytes: 0,
        cutBytes: damagedSize,
        reason: 'checksum mismatch',
      },
      ...later.map((file, i) => ({
        kind: 'dropped',
        file,
        bytes: laterSizes[i],
        reason: `it follows the damaged ${damaged}`,
      })),
    ]);
    const remaining = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort();
    assert.deepEqual(remaining, logs.slice(0, 3), 'the damaged segment is kept (empty) and reused');
  });

  it('drops segments after a hole in the offsets (a segment truncated at a batch boundary)', async () => {
    const dataDir = await buildLog({}, 200);
    await truncate(segmentPath(dataDir, TOPIC, 0, 20), 0);
    const { report } = await reopenAndCheck(dataDir, 20);
    assert.deepEqual(
      report.map((event) => event.kind),
      ['dropped', 'dropped'],
    );
    assert.match(JSON.stringify(report[0]), /offsets jump from 20 to 30/);
  });

  it('rebuilds a damaged index file from the log', async () => {
    const dataDir = await buildLog({ indexIntervalBytes: 1 });
    const index = segmentPath(dataDir, TOPIC, 0).replace(/\.log$/, '.index');
    await writeFile(index, Buffer.alloc(48, 0xff));
    const { report } = await reopenAndCheck(dataDir, 50, { indexIntervalBytes: 1 });
    assert.deepEqual(report, []);
    const log = await LocalLog.open({ dataDir, indexIntervalBytes: 1 });
    try {
      const from33 = await log.read(TOPIC, 0, 33, { maxRecords: 3 });
      assert.deepEqual(
        from33.map((r) => r.offset),
        [33, 34, 35],
      );
    } finally {
      await log.close();
    }
    // Six batches now (reopenAndCheck appended one): an entry for each but the first.
    assert.equal((await stat(index)).size, 5 * 16);
  });
});

describe("verifyOnOpen: 'unflushed'", () => {
  it('still finds a truncated sealed segment with the cheap tail check', async () => {
    const dataDir = await buildLog({ verifyOnOpen: 'unflushed' }, 200);
    const file = segmentPath(dataDir, TOPIC, 0, 10);
    await truncate(file, (await stat(file)).size - 7);
    const { report } = await reopenAndCheck(dataDir, 10, { verifyOnOpen: 'unflushed' });
    assert.deepEqual(
      report.map((event) => event.kind),
      ['truncated', 'dropped', 'dropped', 'dropped'],
    );
  });

  it('trusts the middle of a sealed segment: a flipped bit there is reported by the read', async () => {
    const dataDir = await buildLog({ verifyOnOpen: 'unflushed', indexIntervalBytes: 1 });
    const file = segmentPath(dataDir, TOPIC, 0);
    const first = (await batchesOf(file))[0]!;
    await flipByte(file, first.position + BATCH_HEADER_BYTES + 10);

    const log = await LocalLog.open({ dataDir, verifyOnOpen: 'unflushed' });
    try {
      assert.deepEqual(log.recoveryReport, [], 'the open did not read the damaged batch');
      await assert.rejects(
        log.read(TOPIC, 0, 0),
        (error: unknown) =>
          error instanceof LogStorageError &&
          error.message.includes(file) &&
          error.message.includes('checksum mismatch'),
      );
      assert.equal((await log.read(TOPIC, 0, 10, { maxRecords: 1 }))[0]?.offset, 10);
    } finally {
      await log.close();
    }
    // The default ('all') finds it on open and cuts from there.
    const { report } = await reopenAndCheck(dataDir, 0);
    assert.equal(report[0]?.kind, 'truncated');
  });
});
