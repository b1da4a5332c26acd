// kill -9 of a process streaming a replication slot, between receipt and durability, three times
// while a load generator commits rows and journals each committed id. After the last restart every
// journaled id is in the durable log (no gap), and the ids seen twice are bounded by the batches
// that were durable in the log without a stored offset at the kills.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type pg from 'pg';
import {
  adminClient,
  baseConfig,
  dropReplicationObjects,
  uniqueName,
  waitFor,
} from '../integration/postgres/harness.ts';

const childScript = resolve(import.meta.dirname, 'postgres-kill-child.ts');
const kills = 3;
const batchSize = 200;

let admin: pg.Client;
const dir = mkdtempSync(join(tmpdir(), 'kafki-pg-kill-'));
const name = uniqueName('pgkill');

before(async () => {
  admin = await adminClient();
  await admin.query(`create table ${name} (id int primary key, v text)`);
});

after(async () => {
  await dropReplicationObjects(admin, name);
  await admin.query(`drop table if exists ${name}`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

function startChild(
  configFile: string,
): Promise<{ child: ChildProcess; inFlight: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, dir, configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  // "ready" is noted before the in-flight handling trims the buffer: both lines may arrive in one
  // chunk, and a trimmed-away "ready" left the start waiting forever.
  let isReady = false;
  let onReady: (() => void) | undefined;
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (!isReady && stdout.includes('ready')) {
      isReady = true;
      onReady?.();
    }
    if (stdout.includes('in-flight')) {
      stdout = stdout.slice(stdout.lastIndexOf('in-flight') + 1);
      for (const waiter of waiters.splice(0)) waiter();
    }
  });
  return new Promise((resolveStart, rejectStart) => {
    const onExit = (code: number | null) =>
      rejectStart(new Error(`child exited (${code}) before ready:\n${stderr}`));
    child.once('exit', onExit);
    const startTimer = setTimeout(() => {
      child.off('exit', onExit);
      child.kill('SIGKILL');
      rejectStart(new Error(`child not ready within 60 s:\n${stderr}`));
    }, 60_000);
    const ready = () => {
      clearTimeout(startTimer);
      child.off('exit', onExit);
      resolveStart({
        child,
        inFlight: () =>
          new Promise((resolveWait, rejectWait) => {
            const timer = setTimeout(
              () =>
                rejectWait(new Error(`no batch in flight within 30 s; child stderr:\n${stderr}`)),
              30_000,
            );
            waiters.push(() => {
              clearTimeout(timer);
              resolveWait();
            });
          }),
      });
    };
    if (isReady) ready();
    else onReady = ready;
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveExit();
    child.once('exit', () => resolveExit());
    child.kill('SIGKILL');
  });
}

function logIds(): number[] {
  const text = (() => {
    try {
      return readFileSync(join(dir, 'log.jsonl'), 'utf8');
    } catch {
      return '';
    }
  })();
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { id: number }).id);
}

test('kill -9 between receipt and durability, three times: every committed change is in the log', async (t) => {
  const configFile = join(dir, 'config.json');
  writeFileSync(
    configFile,
    JSON.stringify(
      baseConfig(name, {
        'table.include.list': `public\\.${name}`,
        'max.batch.size': String(batchSize),
        'status.update.interval.ms': '100',
      }),
    ),
  );
  const journal = join(dir, 'journal.txt');
  // The first start creates the slot: changes from then on are captured.
  let running = await startChild(configFile);
  // The load generator: small transactions, each id journaled once its commit returned.
  let loading = true;
  let nextId = 1;
  const load = (async () => {
    while (loading) {
      const ids = Array.from({ length: 1 + (nextId % 7) }, (_, i) => nextId + i);
      await admin.query(`insert into ${name} select g, 'v' from unnest($1::int[]) g`, [ids]);
      appendFileSync(journal, `${ids.join('\n')}\n`);
      nextId += ids.length;
    }
  })();

  try {
    for (let kill = 0; kill < kills; kill++) {
      // Let some batches become durable, then kill while the next batch is in flight.
      const before = logIds().length;
      await waitFor(
        'progress in the durable log',
        async () => logIds().length > before + batchSize,
      );
      await running.inFlight();
      await killed(running.child);
      running = await startChild(configFile);
    }
  } catch (error) {
    // Stop the load and the worker, or they keep this file running until its timeout.
    loading = false;
    await load.catch(() => undefined);
    await killed(running.child);
    throw error;
  }
  loading = false;
  await load;
  const committed = readFileSync(journal, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map(Number);
  try {
    await waitFor(
      'every committed id in the durable log',
      async () => {
        const seen = new Set(logIds());
        return committed.every((id) => seen.has(id));
      },
      { timeoutMs: 60_000 },
    );
  } catch (error) {
    const seen = new Set(logIds());
    const missing = committed.filter((id) => !seen.has(id));
    throw new Error(
      `${missing.length} of ${committed.length} committed ids missing (first ${missing.slice(0, 20).join(',')}); log has ${logIds().length} lines`,
      { cause: error },
    );
  } finally {
    await killed(running.child);
  }
  const ids = logIds();
  const seen = new Set(ids);
  assert.deepEqual(
    committed.filter((id) => !seen.has(id)),
    [],
    'no committed change is missing',
  );
  const duplicates = ids.length - seen.size;
  // Killed while a batch was in flight (received, not appended): it is re-read, not duplicated.
  // A batch appended but whose offset was not stored yet would be duplicated: at most one per kill.
  assert.ok(duplicates <= kills * batchSize, `${duplicates} duplicates after ${kills} kills`);
  t.diagnostic(
    `${committed.length} committed changes, ${ids.length} log lines, ${duplicates} duplicates after ${kills} kills`,
  );
  // Order: the log holds the ids in commit order apart from the re-read tail after each kill.
  assert.ok(committed.length > kills * batchSize, `${committed.length} changes committed`);
});
