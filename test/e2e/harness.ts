// End-to-end harness: a real Kafki worker *process* (`bin/kafki standalone worker.json`, REST on a
// free port) that the tests drive over HTTP like a user would, plus the helpers around it: a fresh
// PostgreSQL database per test (dropped with its slots and publications afterwards), Elasticsearch
// reads that keep 64-bit integers exact, index and Kafka topic cleanup, and a TCP proxy that can
// make Elasticsearch unreachable for the worker without touching the shared Elasticsearch.

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { parseJson } from '../../runtime/converters/json-codec.ts';
import { registerLz4 } from '../../runtime/log/kafka/kafka-client.ts';
import type { RecordData } from '../../runtime/api/index.ts';
import { serviceAddresses } from '../services/addresses.ts';
import { uniqueName, waitFor } from '../helpers/wait.ts';

export { uniqueName, waitFor };
export { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * Like waitFor, but an error thrown by the probe (e.g. a failed task) ends the wait at once
 * instead of being retried until the deadline.
 */
export async function until<T>(
  description: string,
  probe: () => Promise<T | undefined | null | false>,
  { timeoutMs = 60_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, intervalMs));
  }
}

const repoRoot = resolve(import.meta.dirname, '..', '..');
const kafkiBin = join(repoRoot, 'bin', 'kafki');

export const addresses = serviceAddresses();
export const esUrl = addresses.elasticsearchUrl;

// --- the worker process -----------------------------------------------------------------------

export interface Reply {
  status: number;
  text: string;
  json: unknown;
}

export interface TaskState {
  id: number;
  state: string;
  worker_id?: string;
  trace?: string;
  progress?: Record<string, string | number | boolean>;
}

export interface ConnectorStatus {
  name: string;
  connector: { state: string; trace?: string };
  tasks: TaskState[];
}

/**
 * One `kafki standalone worker.json` process. Its data directory (local log, stores) survives
 * kill/restart: a restarted process resumes the connectors registered before.
 */
export class WorkerProcess {
  url = '';
  private child: ChildProcess | undefined;
  private output = '';

  constructor(
    readonly dir: string,
    private readonly workerFile: string,
    /** `standalone`, or `worker` for a member of a cluster. */
    private readonly mode: 'standalone' | 'worker' = 'standalone',
  ) {}

  /** Start (or restart) the process; resolves once its REST API answers. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, [kafkiBin, this.mode, this.workerFile], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-64 * 1024);
      appendFileSync(this.logFile, chunk);
    };
    child.stderr!.on('data', keep);
    let pending = '';
    this.url = await new Promise<string>((resolveUrl, rejectUrl) => {
      const onExit = (code: number | null, signal: string | null) =>
        rejectUrl(
          new Error(`the worker exited (${code ?? signal}) before serving:\n${this.tail()}`),
        );
      child.once('exit', onExit);
      child.stdout!.on('data', (chunk: Buffer) => {
        keep(chunk);
        pending += chunk.toString();
        const match = /serving its REST API at (\S+)/.exec(pending);
        if (match?.[1]) {
          child.off('exit', onExit);
          pending = '';
          resolveUrl(match[1]);
        }
      });
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && !this.child.signalCode;
  }

  /** Everything the process (and its earlier incarnations) wrote, stdout and stderr. */
  get logFile(): string {
    return join(this.dir, 'worker.log');
  }

  /** Lines of the whole output that match `pattern`. */
  grep(pattern: RegExp, limit = 20): string[] {
    let text: string;
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((line) => pattern.test(line))
      .slice(0, limit);
  }

  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  tail(lines = 40): string {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  async request(method: string, path: string, body?: unknown): Promise<Reply> {
    const response = await fetch(this.url + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json };
  }

  /** POST /connectors {name, config}: what a user does with a JSON config file. */
  async createConnector(name: string, config: Record<string, string>): Promise<void> {
    const reply = await this.request('POST', '/connectors', { name, config });
    if (reply.status !== 201) {
      throw new Error(`POST /connectors ${name}: ${reply.status} ${reply.text}`);
    }
  }

  async status(name: string): Promise<ConnectorStatus> {
    const reply = await this.request('GET', `/connectors/${encodeURIComponent(name)}/status`);
    if (reply.status !== 200) throw new Error(`status of ${name}: ${reply.status} ${reply.text}`);
    return reply.json as ConnectorStatus;
  }

  /** Throws (with the trace) when a task of one of the connectors failed. */
  async assertNotFailed(names: readonly string[]): Promise<void> {
    for (const name of names) {
      const status = await this.status(name);
      const failed = status.tasks.find((task) => task.state === 'FAILED');
      if (status.connector.state === 'FAILED' || failed) {
        throw new Error(
          `connector ${name} failed: ${failed?.trace ?? status.connector.trace ?? ''}\n${this.tail()}`,
        );
      }
    }
  }

  async waitRunning(name: string, timeoutMs = 60_000): Promise<ConnectorStatus> {
    return until(
      `${name} to run`,
      async () => {
        const status = await this.status(name);
        const failed = status.tasks.find((task) => task.state === 'FAILED');
        if (failed) throw new Error(`a task of ${name} failed: ${failed.trace}\n${this.tail()}`);
        return status.connector.state === 'RUNNING' &&
          status.tasks.length > 0 &&
          status.tasks.every((task) => task.state === 'RUNNING')
          ? status
          : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
  }

  /** kill -9: no shutdown hook runs, nothing is flushed or committed. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM: tasks commit and stop; resolves with the exit code. */
  async stop(timeoutMs = 60_000): Promise<number | null> {
    const child = this.child;
    if (!child || !this.running) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolveExit) =>
      child.once('exit', (code) => resolveExit(code)),
    );
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A worker config in a fresh temporary directory; `settings` are worker keys. */
export function workerProcess(
  prefix: string,
  settings: Record<string, unknown> = {},
  mode: 'standalone' | 'worker' = 'standalone',
) {
  const dir = mkdtempSync(join(tmpdir(), `kafki-e2e-${prefix}-`));
  const workerFile = join(dir, 'worker.json');
  writeFileSync(
    workerFile,
    JSON.stringify(
      {
        'worker.id': `e2e-${prefix}:8083`,
        'log.dir': join(dir, 'data'),
        listeners: 'http://127.0.0.1:0',
        'log.level': 'warn',
        'offset.flush.interval.ms': 100,
        ...settings,
      },
      null,
      2,
    ),
  );
  return new WorkerProcess(dir, workerFile, mode);
}

/** Worker keys for log.backend=kafka with internal topics of this run only. */
export function kafkaBackend(run: string): Record<string, unknown> {
  return {
    'log.backend': 'kafka',
    'bootstrap.servers': addresses.kafkaBrokers.join(','),
    'group.id': `${run}-group`,
    'config.storage.topic': `${run}-configs`,
    'offset.storage.topic': `${run}-offsets`,
    'status.storage.topic': `${run}-status`,
    'offset.storage.partitions': 3,
    'status.storage.partitions': 1,
  };
}

/** Remove what a cluster of group `groupId` left in Redis (assignment, leases, inboxes...). */
export async function clearClusterState(groupId: string): Promise<void> {
  const redis = new Redis(addresses.redisUrl);
  try {
    const keys = await redis.keys(`kafki:{${groupId}}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    await redis.quit();
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

// --- PostgreSQL -------------------------------------------------------------------------------

export function pgClient(database?: string): pg.Client {
  const url = new URL(addresses.postgresUrl);
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  client.on('error', () => {
    // surfaced through the pending or next query
  });
  return client;
}

/** Connection keys of the PostgreSQL source for `database`. */
export function pgConnection(database: string): Record<string, string> {
  const url = new URL(addresses.postgresUrl);
  return {
    'database.hostname': url.hostname,
    'database.port': url.port || '5432',
    'database.user': decodeURIComponent(url.username || 'postgres'),
    ...(url.password ? { 'database.password': decodeURIComponent(url.password) } : {}),
    'database.dbname': database,
  };
}

/** A fresh database (dropped by dropDatabase, with every slot on it). */
export async function createDatabase(name: string): Promise<void> {
  const admin = pgClient();
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
}

/** Drops every replication slot of the database (terminating its walsender), then the database. */
export async function dropDatabase(name: string): Promise<void> {
  const admin = pgClient();
  await admin.connect();
  try {
    for (let attempt = 0; ; attempt++) {
      const { rows } = await admin.query<{ slot_name: string; active_pid: number | null }>(
        'select slot_name, active_pid from pg_replication_slots where database = $1',
        [name],
      );
      if (rows.length === 0) break;
      for (const slot of rows) {
        if (slot.active_pid !== null) {
          await admin.query('select pg_terminate_backend($1)', [slot.active_pid]);
        }
        await admin.query('select pg_drop_replication_slot($1)', [slot.slot_name]).catch(() => {
          // still active a moment after its walsender was terminated: next round
        });
      }
      if (attempt > 100) throw new Error(`could not drop the slots of ${name}`);
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 100));
    }
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

/** Waits until no walsender holds `slot` (after a kill -9 the server notices a moment later). */
export async function slotReleased(database: string, slot: string): Promise<void> {
  const admin = pgClient(database);
  await admin.connect();
  try {
    await waitFor(
      `slot ${slot} to be released`,
      async () => {
        const { rows } = await admin.query<{ active: boolean }>(
          'select active from pg_replication_slots where slot_name = $1',
          [slot],
        );
        return rows[0] === undefined || rows[0].active === false;
      },
      { timeoutMs: 60_000 },
    );
  } finally {
    await admin.end();
  }
}

// --- Elasticsearch ----------------------------------------------------------------------------

async function es(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const response = await fetch(esUrl + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

export async function esJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const reply = await es(method, path, body);
  if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${reply.text}`);
  return JSON.parse(reply.text) as T;
}

export async function indexExists(index: string): Promise<boolean> {
  return (await es('HEAD', `/${encodeURIComponent(index)}`)).status === 200;
}

/**
 * How many bulk requests naming `index` Elasticsearch is executing now (its task list). A request
 * it had fully received before its client went away is still executed, possibly seconds later on
 * a loaded machine.
 */
export async function bulkRequestsRunningOn(index: string): Promise<number> {
  type Tasks = { nodes: Record<string, { tasks: Record<string, { description?: string }> }> };
  const reply = await esJson<Tasks>(
    'GET',
    '/_tasks?actions=indices:data/write/bulk*&detailed=true',
  );
  // Descriptions read "requests[3], indices[a, b]" (the request) or "requests[3], index[a][0]"
  // (a shard's part of it).
  const namesIn = (description: string) =>
    /ind(?:ices|ex)\[([^\]]*)\]/.exec(description)?.[1]?.split(', ') ?? [];
  return Object.values(reply.nodes)
    .flatMap((node) => Object.values(node.tasks))
    .filter((task) => namesIn(task.description ?? '').includes(index)).length;
}

export async function countDocs(index: string): Promise<number> {
  if (!(await indexExists(index))) return 0;
  await es('POST', `/${encodeURIComponent(index)}/_refresh`);
  return (await esJson<{ count: number }>('GET', `/${encodeURIComponent(index)}/_count`)).count;
}

export type Doc = { [field: string]: RecordData };

/**
 * Every document of an index (id → _source), read in pages through a point in time, and parsed
 * so that integers beyond 2^53 stay exact (bigint).
 */
export async function allDocs(index: string): Promise<Map<string, Doc>> {
  const docs = new Map<string, Doc>();
  if (!(await indexExists(index))) return docs;
  await es('POST', `/${encodeURIComponent(index)}/_refresh`);
  const pit = await esJson<{ id: string }>(
    'POST',
    `/${encodeURIComponent(index)}/_pit?keep_alive=2m`,
  );
  try {
    let after: unknown[] | undefined;
    for (;;) {
      const reply = await es('POST', '/_search', {
        size: 2000,
        pit: { id: pit.id, keep_alive: '2m' },
        sort: [{ _shard_doc: 'asc' }],
        track_total_hits: false,
        ...(after ? { search_after: after } : {}),
      });
      if (reply.status !== 200) throw new Error(`search ${index}: ${reply.status} ${reply.text}`);
      const page = parseJson(reply.text) as {
        hits: { hits: Array<{ _id: string; _source: Doc; sort: unknown[] }> };
      };
      const hits = page.hits.hits;
      if (hits.length === 0) break;
      for (const hit of hits) docs.set(hit._id, hit._source);
      after = hits.at(-1)!.sort.map((value) => (typeof value === 'bigint' ? Number(value) : value));
    }
  } finally {
    await es('DELETE', '/_pit', { id: pit.id });
  }
  return docs;
}

/** Indices whose names start with `prefix` (read with a wildcard, deleted one by one by name). */
export async function indicesStartingWith(prefix: string): Promise<string[]> {
  const reply = await es('GET', `/_cat/indices/${encodeURIComponent(prefix)}*?format=json&h=index`);
  if (reply.status !== 200) return [];
  return (JSON.parse(reply.text) as Array<{ index: string }>).map((row) => row.index);
}

export async function deleteIndices(prefix: string): Promise<void> {
  for (const index of await indicesStartingWith(prefix)) {
    await es('DELETE', `/${encodeURIComponent(index)}`);
  }
}

// --- Kafka ------------------------------------------------------------------------------------

export function kafkaClient(): Kafka {
  // The worker's producer compresses with LZ4 (log.compression): the reader needs the codec.
  registerLz4();
  return new Kafka({
    clientId: 'kafki-e2e',
    brokers: addresses.kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
}

/**
 * Deletes every Kafka topic whose name starts with one of the prefixes, and every consumer group
 * whose id contains one (sink groups are connect-<connector name>).
 */
export async function deleteTopics(prefixes: readonly string[]): Promise<void> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) =>
      prefixes.some((prefix) => topic.startsWith(prefix)),
    );
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups
      .map((group) => group.groupId)
      .filter((id) => prefixes.some((prefix) => id.includes(prefix)));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** Every record of a Kafka topic from the beginning to its current end (headers as text). */
export async function readKafkaTopic(topic: string): Promise<
  Array<{
    partition: number;
    offset: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, string>;
  }>
> {
  const kafka = kafkaClient();
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const wanted = ends.filter((end) => Number(end.high) > Number(end.low));
  const out: Awaited<ReturnType<typeof readKafkaTopic>> = [];
  if (wanted.length === 0) return out;
  const groupId = uniqueName('kafki-e2e-reader');
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const remaining = new Map(wanted.map((end) => [end.partition, Number(end.high)]));
    let last = 0;
    await new Promise<void>((resolveRead, rejectRead) => {
      // Done when every partition is read to its end offset; a transactional producer leaves
      // control records (not delivered) at the end, so also when nothing came for 5 s.
      const finish = () => {
        clearInterval(timer);
        clearTimeout(deadline);
        resolveRead();
      };
      const timer = setInterval(() => {
        if (out.length > 0 && Date.now() - last > 5_000) finish();
      }, 500);
      const deadline = setTimeout(finish, 90_000);
      void consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            last = Date.now();
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(message.headers ?? {})) {
              if (value !== undefined) headers[name] = value.toString();
            }
            out.push({
              partition,
              offset: message.offset,
              key: message.key,
              value: message.value,
              headers,
            });
            if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0)) {
              remaining.delete(partition);
            }
            if (remaining.size === 0) finish();
          },
        })
        .catch(rejectRead);
    });
  } finally {
    await consumer.disconnect();
    const cleaner = kafka.admin();
    await cleaner.connect();
    await cleaner.deleteGroups([groupId]).catch(() => undefined);
    await cleaner.disconnect();
  }
  return out;
}
