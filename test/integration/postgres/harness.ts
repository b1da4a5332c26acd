// Task-level harness for the PostgreSQL source: a SourceTaskContext with an in-memory offset store,
// a loop that polls, "stores" records (optionally) and commits their offsets as the runtime would,
// and helpers for unique tables, slots and publications that clean up after themselves.

import pg from 'pg';
import type {
  Logger,
  LogFn,
  RawConfig,
  SourceOffset,
  SourcePartition,
  SourceRecord,
  SourceTaskContext,
} from '../../../runtime/api/index.ts';
import { PostgresSourceTask } from '../../../connectors/postgres/task.ts';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName, waitFor } from '../../helpers/wait.ts';

export const databaseUrl = () => serviceAddresses().postgresUrl;

export function pgTarget(): { host: string; port: number; user: string; database: string } {
  const url = new URL(databaseUrl());
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    database: url.pathname.slice(1) || 'postgres',
  };
}

export async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export interface LogEntry {
  level: string;
  message: string;
  context?: object;
}

export function memoryLogger(entries: LogEntry[] = []): Logger {
  const make = (level: string): LogFn =>
    ((context: object | string, message?: string) => {
      if (typeof context === 'string') entries.push({ level, message: context });
      else entries.push({ level, message: message ?? '', context });
    }) as LogFn;
  const logger: Logger = {
    error: make('error'),
    warn: make('warn'),
    info: make('info'),
    debug: make('debug'),
    child: () => logger,
  };
  return logger;
}

/** The connector keys a test starts from: one unique slot and publication per test. */
export function baseConfig(name: string, overrides: RawConfig = {}): RawConfig {
  const target = pgTarget();
  return {
    'database.hostname': target.host,
    'database.port': String(target.port),
    'database.user': target.user,
    'database.dbname': target.database,
    'topic.prefix': name,
    'slot.name': name,
    'publication.name': name,
    'publication.autocreate.mode': 'filtered',
    'snapshot.mode': 'no_data',
    'skipped.operations': 'none',
    'poll.interval.ms': '100',
    ...overrides,
  };
}

export class OffsetStore {
  readonly offsets = new Map<string, SourceOffset>();
  get(partition: SourcePartition): SourceOffset | null {
    return this.offsets.get(JSON.stringify(partition)) ?? null;
  }
  set(partition: SourcePartition, offset: SourceOffset): void {
    this.offsets.set(JSON.stringify(partition), offset);
  }
}

export interface RunningTask {
  task: PostgresSourceTask;
  records: SourceRecord[];
  progress: Array<Record<string, string | number | boolean>>;
  logs: LogEntry[];
  /** Poll once, keep the records, store and commit their offsets (as if durable). */
  step(): Promise<SourceRecord[]>;
  /** Store `record`'s offset and report it durable (what the runtime does after an append). */
  commitUpTo(record: SourceRecord): Promise<void>;
  /** Poll (and commit) until `predicate(records)` holds. */
  until(
    description: string,
    predicate: (records: SourceRecord[]) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
  stop(): Promise<void>;
}

export async function startTask(
  config: RawConfig,
  store = new OffsetStore(),
  options: { commit?: boolean } = {},
): Promise<RunningTask> {
  const task = new PostgresSourceTask();
  const records: SourceRecord[] = [];
  const progress: Array<Record<string, string | number | boolean>> = [];
  const logs: LogEntry[] = [];
  const context: SourceTaskContext = {
    connectorName: String(config['topic.prefix']),
    taskId: 0,
    logger: memoryLogger(logs),
    config,
    offset: async (partition) => store.get(partition),
    reportProgress: (entry) => progress.push(entry),
  };
  await task.start(config, context);
  const controller = new AbortController();
  const step = async () => {
    const batch = await task.poll(controller.signal);
    records.push(...batch);
    const last = batch.at(-1);
    if (last && options.commit !== false) {
      store.set(last.sourcePartition, last.sourceOffset);
      await task.commit([
        { sourcePartition: last.sourcePartition, sourceOffset: last.sourceOffset },
      ]);
    }
    return batch;
  };
  return {
    task,
    records,
    progress,
    logs,
    step,
    async commitUpTo(record) {
      store.set(record.sourcePartition, record.sourceOffset);
      await task.commit([
        { sourcePartition: record.sourcePartition, sourceOffset: record.sourceOffset },
      ]);
    },
    async until(description, predicate, timeoutMs = 30_000) {
      await waitFor(
        description,
        async () => {
          await step();
          return predicate(records);
        },
        { timeoutMs, intervalMs: 1 },
      );
    },
    async stop() {
      controller.abort();
      await task.stop();
    },
  };
}

/** Drop a slot once its walsender let go of it, and the publication. */
export async function dropReplicationObjects(client: pg.Client, name: string): Promise<void> {
  await waitFor(
    `slot ${name} to be released`,
    async () => {
      const { rows } = await client.query(
        'select active from pg_replication_slots where slot_name = $1',
        [name],
      );
      return rows.length === 0 || rows[0].active === false;
    },
    { timeoutMs: 15_000 },
  ).catch(() => undefined);
  await client
    .query('select pg_drop_replication_slot($1) from pg_replication_slots where slot_name = $1', [
      name,
    ])
    .catch(() => undefined);
  await client.query(`drop publication if exists "${name}"`).catch(() => undefined);
}

export { uniqueName, waitFor };

/** The `after`/`before`/`op` payload of a change record. */
export function payload(record: SourceRecord): {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  op: string;
  source: Record<string, unknown>;
  transaction: Record<string, unknown> | null;
} {
  return record.value as never;
}
