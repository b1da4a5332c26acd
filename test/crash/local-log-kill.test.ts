// kill -9 the local log mid-stream, reopen the directory, and check that every acknowledged
// record is there, intact, at the offset the append returned, with no gap in any partition.
// Three kills at random points, alternating fsync policies, over the same directory.
//
// What this can catch: acknowledging before the write and fsync completed, out-of-order
// acknowledgements, torn batches not cut by recovery, offset chains broken across segment
// rolls. What it cannot: a kill leaves the page cache to the kernel, so power loss is not
// simulated (that is what the fsync policy and the recovery unit tests are for).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalLog } from '../../runtime/log/local/local-log.ts';
import type { StoredRecord } from '../../runtime/log/log.ts';
import { CRASH_TOPIC, expectedValue, recordKey } from './local-log-writer.ts';

const writer = resolve(import.meta.dirname, 'local-log-writer.ts');

interface Ack {
  run: number;
  batch: number;
  count: number;
  first: [number, number];
}

/** Starts the writer, kills it with SIGKILL after `killAfterAcks` acknowledgements. */
async function runAndKill(dataDir: string, run: number, policy: string, killAfterAcks: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, dataDir, String(run), policy], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acks: Ack[] = [];
  let pending = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolveExit) =>
    child.on('exit', (code, signal) => resolveExit({ code, signal })),
  );
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!; // a line cut by the kill has no newline: not an acknowledgement
    for (const line of lines) {
      const [word, r, batch, count, p0, p1] = line.split(' ');
      assert.equal(word, 'ack', line);
      acks.push({
        run: Number(r),
        batch: Number(batch),
        count: Number(count),
        first: [Number(p0), Number(p1)],
      });
      if (acks.length === killAfterAcks) child.kill('SIGKILL');
    }
  });
  const exit = await exited;
  assert.equal(exit.signal, 'SIGKILL', `the writer died on its own: ${stderr}`);
  assert.ok(acks.length >= killAfterAcks, `only ${acks.length} acknowledgements: ${stderr}`);
  return acks;
}

async function readPartition(log: LocalLog, partition: number): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  const [range] = (await log.offsets(CRASH_TOPIC)).filter((r) => r.partition === partition);
  let offset = range!.start;
  while (offset < range!.end) {
    const batch = await log.read(CRASH_TOPIC, partition, offset, { maxBytes: 4 * 1024 * 1024 });
    if (batch.length === 0) break;
    out.push(...batch);
    offset = batch[batch.length - 1]!.offset + 1;
  }
  return out;
}

test('every acknowledged record survives kill -9, intact and at its offset, three times over', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kafki-crash-'));
  const seed = Date.now();
  let random = seed;
  const next = () => {
    random = (random * 1103515245 + 12345) % 2 ** 31;
    return random / 2 ** 31;
  };
  const acknowledged: Ack[] = [];
  try {
    const policies = ['always', '20', 'always'];
    for (let run = 0; run < policies.length; run++) {
      const killAfter = 5 + Math.floor(next() * 120);
      const context = `seed ${seed}, run ${run} (${policies[run]}), killed after ${killAfter} acks`;
      acknowledged.push(...(await runAndKill(dataDir, run, policies[run]!, killAfter)));

      const log = await LocalLog.open({
        dataDir,
        logger: { warn: () => {}, info: () => {} }, // the stale lock and cut tails are expected
      });
      try {
        const byPartition = [await readPartition(log, 0), await readPartition(log, 1)];
        for (const [partition, records] of byPartition.entries()) {
          // Contiguous offsets from 0: nothing lost in the middle, no gap after a roll.
          records.forEach((r, i) =>
            assert.equal(r.offset, i, `${context}: partition ${partition}`),
          );
          // Everything stored is whole (acknowledged or not).
          for (const r of records) {
            assert.equal(r.value?.toString(), expectedValue(r.key!.toString()), context);
          }
        }
        for (const ack of acknowledged) {
          for (let i = 0; i < ack.count; i++) {
            const partition = i % 2;
            const offset = ack.first[partition as 0 | 1] + Math.floor(i / 2);
            const record = byPartition[partition]![offset];
            assert.ok(
              record !== undefined,
              `${context}: acknowledged ${partition}/${offset} is missing`,
            );
            assert.equal(record.key?.toString(), recordKey(ack.run, ack.batch, i), context);
          }
        }
      } finally {
        await log.close();
      }
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
