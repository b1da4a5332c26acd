// Crash test of the whole standalone pipeline: a child worker runs file source → local log → file
// sink while this test appends lines to the input; the child is killed with SIGKILL twice mid-run
// and restarted on the same data directory. Every input line must reach the output (no gap), and
// the duplicates are bounded by what was in flight at each kill.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitFor } from '../helpers/wait.ts';

const totalLines = 20_000;
const sourceBatch = 200;
const sinkBatch = 200;
const kills = 2;
/**
 * What one kill can duplicate: two source batches (one durable in the log whose offsets were
 * being stored, the next one durable as well) and one sink batch (written to the file, position
 * not yet committed). producer.buffer.memory is set low so a single source batch is in flight;
 * with a larger buffer more batches may be in flight and be re-read after a kill.
 */
const duplicatesPerKill = 2 * sourceBatch + sinkBatch;

const childScript = resolve(import.meta.dirname, 'file-pipeline-child.ts');

function startChild(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveStart, rejectStart) => {
    const onExit = (code: number | null) =>
      rejectStart(new Error(`worker exited (${code}) before ready:\n${stderr}`));
    child.once('exit', onExit);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        child.off('exit', onExit);
        resolveStart(child);
      }
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
}

async function outputSeqs(path: string): Promise<number[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { seq: number }).seq);
}

describe('crash: kill -9 of a standalone file pipeline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kafki-crash-'));
  let child: ChildProcess | undefined;
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every line after kills and restarts, duplicates bounded by the batches in flight', async (t) => {
    const input = join(dir, 'input.jsonl');
    const output = join(dir, 'output.jsonl');
    const workerFile = join(dir, 'worker.json');
    const sourceFile = join(dir, 'source.json');
    const sinkFile = join(dir, 'sink.json');
    await writeFile(
      workerFile,
      JSON.stringify({
        'worker.id': 'crash-worker:8083',
        'log.dir': join(dir, 'data'),
        'log.fsync': 'always',
        'offset.flush.interval.ms': 0,
        'producer.buffer.memory': 1024,
        'consumer.max.poll.records': sinkBatch,
        'task.shutdown.graceful.timeout.ms': 5000,
      }),
    );
    await writeFile(
      sourceFile,
      JSON.stringify({
        name: 'lines-in',
        config: {
          'connector.class': 'FileStreamSource',
          file: input,
          topic: 'lines',
          'batch.size': String(sourceBatch),
          'poll.interval.ms': '10',
        },
      }),
    );
    await writeFile(
      sinkFile,
      JSON.stringify({
        name: 'lines-out',
        config: { 'connector.class': 'FileStreamSink', file: output, topics: 'lines' },
      }),
    );
    await writeFile(input, '');
    const args = [workerFile, sourceFile, sinkFile];

    // The writer appends whole lines in uneven chunks while the worker runs, dies and restarts.
    let written = 0;
    const writer = (async () => {
      while (written < totalLines) {
        const count = Math.min(totalLines - written, 1 + Math.floor(Math.random() * 150));
        let chunk = '';
        for (let i = 0; i < count; i++)
          chunk += JSON.stringify({ seq: written + i, pad: 'x'.repeat(40) }) + '\n';
        await appendFile(input, chunk);
        written += count;
        await new Promise((resolveDelay) => setTimeout(resolveDelay, 5));
      }
    })();

    child = await startChild(args);
    for (let kill = 1; kill <= kills; kill++) {
      const target = (totalLines * kill) / (kills + 1);
      await waitFor(
        `the output to pass ${target} lines`,
        async () => (await outputSeqs(output)).length >= target,
        {
          timeoutMs: 120_000,
          intervalMs: 50,
        },
      );
      child.kill('SIGKILL');
      await exited(child);
      t.diagnostic(
        `kill ${kill}: ${written} lines written, ${(await outputSeqs(output)).length} in the output`,
      );
      child = await startChild(args);
    }
    await writer;
    await waitFor(
      'every line in the output',
      async () => new Set(await outputSeqs(output)).size === totalLines,
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    child.kill('SIGTERM');
    assert.equal(await exited(child), 0, 'a graceful stop exits cleanly');

    const seqs = await outputSeqs(output);
    const counts = new Map<number, number>();
    for (const seq of seqs) counts.set(seq, (counts.get(seq) ?? 0) + 1);
    const missing = Array.from({ length: totalLines }, (_, seq) => seq).filter(
      (seq) => !counts.has(seq),
    );
    assert.deepEqual(missing, [], 'no input line is lost');
    const duplicates = seqs.length - totalLines;
    t.diagnostic(
      `${duplicates} duplicates after ${kills} kills (bound ${kills * duplicatesPerKill})`,
    );
    assert.ok(
      duplicates <= kills * duplicatesPerKill,
      `${duplicates} duplicates exceed ${kills} kills × ${duplicatesPerKill} records in flight`,
    );
    // One kill can add two copies of a line: the source re-reads it (a second copy in the log)
    // and the sink re-puts its first copy from the uncommitted batch.
    const maxCopies = Math.max(...counts.values());
    assert.ok(maxCopies <= 1 + 2 * kills, `a line appears ${maxCopies} times`);
  });
});
