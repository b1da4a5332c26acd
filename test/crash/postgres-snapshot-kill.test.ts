// kill -9 of a standalone worker in the middle of the PostgreSQL source's initial snapshot — twice:
// during the first snapshot (read in the slot's exported snapshot) and during the one the restart
// reads again (a temporary slot's snapshot) — while a load generator inserts, updates and deletes
// rows and journals each committed change. After the last restart, the Debezium events in the
// local log rebuild exactly the table, every journaled change is in the log as its own event, and
// every event is one of them (duplicates are only replays).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type pg from 'pg';
import type { SourceRecord } from '../../runtime/api/index.ts';
import { LocalLog } from '../../runtime/log/local/local-log.ts';
import {
  adminClient,
  baseConfig,
  dropReplicationObjects,
  uniqueName,
  waitFor,
} from '../integration/postgres/harness.ts';
import {
  churn,
  rebuild,
  stateDifferences,
  tableState,
  type JournalEntry,
} from '../integration/postgres/replay.ts';
import { parseLsn } from '../../connectors/postgres/pgoutput-decoder.ts';

const childScript = resolve(import.meta.dirname, 'postgres-worker-child.ts');
const rows = 150_000;
const incrementalRows = 30_000;

let admin: pg.Client;
let loader: pg.Client;
const dir = mkdtempSync(join(tmpdir(), 'kafki-pg-snapkill-'));
const name = uniqueName('pgsk');
const incrementalName = uniqueName('pgik');
/** Every worker started, so a failed test leaves none running (they would keep this file alive). */
const children = new Set<ChildProcess>();

before(async () => {
  admin = await adminClient();
  loader = await adminClient();
  await admin.query(`create table ${name} (id int primary key, v int not null, t text)`);
  await admin.query(
    `insert into ${name} select g, 0, repeat('x', 40) from generate_series(1, ${rows}) g`,
  );
  await admin.query(`create table ${incrementalName} (id int primary key, v int not null, t text)`);
  await admin.query(
    `insert into ${incrementalName} select g, 0, 'init' from generate_series(1, ${incrementalRows}) g`,
  );
  await admin.query(
    `create table ${incrementalName}_signal (id varchar(64) primary key, type varchar(32), data text)`,
  );
});

after(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited(child);
  }
  await dropReplicationObjects(admin, name);
  await dropReplicationObjects(admin, incrementalName);
  await admin.query(`drop table if exists ${name}, ${incrementalName}, ${incrementalName}_signal`);
  await loader.end();
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

interface TaskStatus {
  state?: string;
  trace?: string;
  progress: Record<string, string | number | boolean>;
}

interface Child {
  process: ChildProcess;
  /** Resolves with the first status line that satisfies `predicate`. */
  status(description: string, predicate: (status: TaskStatus) => boolean): Promise<TaskStatus>;
}

function exited(process: ChildProcess): Promise<void> {
  if (process.exitCode !== null || process.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => process.once('exit', () => resolveExit()));
}

function startChild(args: string[]): Promise<Child> {
  const process = spawn(globalThis.process.execPath, ['--import', 'tsx', childScript, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(process);
  let stderr = '';
  let buffered = '';
  let latest: TaskStatus | undefined;
  process.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveStart, rejectStart) => {
    const onExit = (code: number | null) =>
      rejectStart(new Error(`worker exited (${code}) before ready:\n${stderr}`));
    process.once('exit', onExit);
    process.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') {
          process.off('exit', onExit);
          resolveStart({
            process,
            status: (description, predicate) =>
              waitFor(
                description,
                async () => {
                  if (latest?.state === 'FAILED') {
                    throw new Error(`task failed: ${latest.trace}\n${stderr}`);
                  }
                  return latest && predicate(latest) ? latest : undefined;
                },
                { timeoutMs: 180_000, intervalMs: 50 },
              ).catch((error: unknown) => {
                // What the worker last said and logged: a hang is diagnosed from this alone.
                throw new Error(
                  `${String(error)}\nlast status: ${JSON.stringify(latest)}\nworker log (tail):\n${stderr.slice(-4000)}`,
                );
              }),
          });
        } else if (line.startsWith('status ')) {
          latest = JSON.parse(line.slice(7)) as TaskStatus;
        }
      }
    });
  });
}

/**
 * SIGKILL, then wait until the server noticed (its walsender let go of the slot): a start while
 * the slot is still active is refused by the config validation of the standalone worker.
 */
async function killed(running: Child, slot: string): Promise<void> {
  running.process.kill('SIGKILL');
  await exited(running.process);
  await waitFor(`slot ${slot} to be released`, async () => {
    const { rows: slots } = await admin.query<{ active: boolean }>(
      'select active from pg_replication_slots where slot_name = $1',
      [slot],
    );
    return slots[0]?.active === false;
  });
}

const midSnapshot = (status: TaskStatus) =>
  status.progress['snapshot.completed'] === false &&
  Number(status.progress['snapshot.rows.done'] ?? 0) >= rows / 4;

async function logRecords(dataDir: string, topic: string): Promise<SourceRecord[]> {
  const log = await LocalLog.open({ dataDir, logger: { warn: () => {}, info: () => {} } });
  const records: SourceRecord[] = [];
  try {
    for (const { partition, start, end } of await log.offsets(topic)) {
      for (let offset = start; offset < end;) {
        const batch = await log.read(topic, partition, offset, { maxRecords: 5000 });
        if (batch.length === 0) break;
        for (const record of batch) {
          const key = record.key
            ? (JSON.parse(record.key.toString('utf8')) as { payload: unknown })
            : null;
          const value = record.value
            ? (JSON.parse(record.value.toString('utf8')) as { payload: unknown })
            : null;
          records.push({
            topic,
            key: (key?.payload ?? null) as never,
            value: (value?.payload ?? null) as never,
            sourcePartition: {},
            sourceOffset: {},
          });
        }
        offset = batch.at(-1)!.offset + 1;
      }
    }
  } finally {
    await log.close();
  }
  return records;
}

/** Insert a sentinel and wait until the slot is acknowledged past it: all before is durable. */
async function untilDurable(table: string, journal: JournalEntry[]): Promise<void> {
  await admin.query(`insert into ${table} values (-1, 0, 'sentinel')`);
  journal.push({ op: 'c', id: -1, v: 0 });
  const end = parseLsn(
    (await admin.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0]!.lsn,
  );
  await waitFor(
    'the slot to be acknowledged past the sentinel',
    async () => {
      const { rows: slots } = await admin.query<{ lsn: string }>(
        'select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1',
        [table],
      );
      return slots[0] !== undefined && parseLsn(slots[0].lsn) >= end;
    },
    { timeoutMs: 120_000 },
  );
}

/**
 * The log rebuilds the table; every journaled change is an event of its own and every change
 * event is a journaled one (duplicates are replays of those). Returns counts for the diagnostics.
 */
async function assertLogMatches(
  dataDir: string,
  table: string,
  journal: JournalEntry[],
): Promise<string> {
  const topic = `${table}.public.${table}`;
  const records = await logRecords(dataDir, topic);
  const rebuilt = rebuild(records, topic);
  assert.deepEqual(
    stateDifferences(await tableState(admin, table, ['id']), rebuilt.rows),
    [],
    'the log rebuilds the table',
  );
  assert.deepEqual(rebuilt.resurrected.slice(0, 10), [], 'no deleted row read back');
  const event = (op: string, id: number, v: number | null) => `${op}:${id}:${v}`;
  const logged = new Map<string, number>();
  for (const record of records) {
    if (record.value === null) continue;
    const { op, before, after } = record.value as {
      op: string;
      before: { id: number } | null;
      after: { id: number; v: number } | null;
    };
    if (op === 'r') continue;
    const key = op === 'd' ? event(op, before!.id, null) : event(op, after!.id, after!.v);
    logged.set(key, (logged.get(key) ?? 0) + 1);
  }
  const journaled = new Set(journal.map((change) => event(change.op, change.id, change.v)));
  const missing = [...journaled].filter((key) => !logged.has(key));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} journaled changes missing`);
  const unexplained = [...logged.keys()].filter((key) => !journaled.has(key));
  assert.deepEqual(unexplained.slice(0, 10), [], 'events that no committed change explains');
  const replayed = [...logged.values()].reduce((sum, count) => sum + count - 1, 0);
  const reads = [...rebuilt.reads.values()].reduce((sum, count) => sum + count, 0);
  assert.ok(journal.length > 100, `${journal.length} changes ran during the test`);
  return `${journal.length} changes journaled, ${records.length} records, ${reads} snapshot reads, ${replayed} replayed change events`;
}

/** The child's arguments: the first start registers the connector, restarts restore it. */
interface ChildArgs {
  first: string[];
  restart: string[];
}

function writeConfigs(table: string, overrides: Record<string, string>): ChildArgs {
  const workerFile = join(dir, `${table}-worker.json`);
  const connectorFile = join(dir, `${table}-connector.json`);
  writeFileSync(
    workerFile,
    JSON.stringify({
      'worker.id': 'pg-snapshot-kill:8083',
      'log.dir': join(dir, table),
      'offset.flush.interval.ms': 0,
      'task.shutdown.graceful.timeout.ms': 5000,
    }),
  );
  writeFileSync(
    connectorFile,
    JSON.stringify({
      name: table,
      config: {
        'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
        ...baseConfig(table, { 'table.include.list': `public\\.${table}`, ...overrides }),
      },
    }),
  );
  return { first: [workerFile, table, connectorFile], restart: [workerFile, table] };
}

async function untilSlot(table: string): Promise<void> {
  await waitFor('the slot', async () => {
    const { rows: slots } = await admin.query(
      'select 1 from pg_replication_slots where slot_name = $1',
      [table],
    );
    return slots.length === 1;
  });
}

test('kill -9 mid-incremental-snapshot with changes running: it resumes, the log holds every row and change', async (t) => {
  const table = incrementalName;
  const args = writeConfigs(table, {
    'snapshot.mode': 'no_data',
    'signal.data.collection': `public.${table}_signal`,
    // 300 chunks (a watermark round trip each): long enough that the kill, seen through a status
    // line every 200 ms, lands mid-snapshot rather than after its last chunk.
    'incremental.snapshot.chunk.size': '100',
    'max.batch.size': '500',
  });
  const journal: JournalEntry[] = [];
  let running = await startChild(args.first);
  // Streaming, not just a slot: a slot shows in pg_replication_slots while it is still being
  // created, and a signal committed before its consistent point is not in the stream at all.
  await running.status('streaming', (status) => status.progress['phase'] === 'streaming');
  const load = churn(loader, table, incrementalRows + 1, incrementalRows, (change) =>
    journal.push(change),
  );
  try {
    await admin.query(`insert into ${table}_signal values ('resnap', 'execute-snapshot', $1)`, [
      JSON.stringify({ 'data-collections': [`public.${table}`], type: 'incremental' }),
    ]);
    await running.status(
      'a few chunks',
      (status) => Number(status.progress['incremental.snapshot.chunks'] ?? 0) >= 5,
    );
    await killed(running, table);
    running = await startChild(args.restart);
    await running.status(
      'the resumed snapshot to complete',
      (status) =>
        Number(status.progress['incremental.snapshot.chunks'] ?? 0) > 0 &&
        status.progress['incremental.snapshot.tables.remaining'] === 0,
    );
  } finally {
    await load.stop();
  }
  await untilDurable(table, journal);
  running.process.kill('SIGTERM');
  await exited(running.process);
  t.diagnostic(await assertLogMatches(join(dir, table), table, journal));
});

test('kill -9 mid-snapshot, twice, with changes running: the log holds every row and change', async (t) => {
  const args = writeConfigs(name, {
    'snapshot.mode': 'initial',
    'snapshot.chunk.size': '5000',
    'snapshot.max.threads': '2',
    'max.batch.size': '1000',
  });
  const journal: JournalEntry[] = [];
  let running = await startChild(args.first);
  // The slot (and its consistent point) exists before any change is made.
  await untilSlot(name);
  const load = churn(loader, name, rows + 1, rows, (change) => journal.push(change));
  try {
    await running.status('the first snapshot to be under way', midSnapshot);
    await killed(running, name);
    running = await startChild(args.restart);
    await running.status('the second snapshot to be under way', midSnapshot);
    await killed(running, name);
    running = await startChild(args.restart);
    await running.status(
      'the third snapshot to complete',
      (status) => status.progress['snapshot.completed'] === true,
    );
  } finally {
    await load.stop();
  }
  await untilDurable(name, journal);
  running.process.kill('SIGTERM');
  await exited(running.process);
  t.diagnostic(await assertLogMatches(join(dir, name), name, journal));
});
