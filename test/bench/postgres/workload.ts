// The PostgreSQL CDC benchmark's workload: a fresh 10-column table, a publication for it, a base
// replication slot, and N inserts + M updates written *before* any consumer runs. Every consumer
// (pg_recvlogical, Debezium, Kafki) then drains its own slot — a copy of the base slot, so all
// start at the same pre-load LSN — from the start to the end LSN. The load speed is therefore out
// of every measurement: they time decoding + transport + the consumer only.
//
// The table (a typical order row; ~190 bytes of tuple data, nothing TOASTed):
//
//   id          bigint primary key        1..N
//   customer_id integer                   (id * 7919) % 100000
//   order_no    bigint                    1e12 + id
//   amount      numeric(12,2)             (id * 37) % 1000000 / 100
//   description text (38 chars)           'order ' || md5(id)
//   status      varchar(16)               new|paid|shipped|delivered|cancelled
//   is_paid     boolean                   id % 3 = 0
//   created_at  timestamptz               2024-01-01 + id seconds
//   score       double precision          (id % 1000) / 7.0
//   attrs       jsonb (~45 bytes)         {"channel": "web"|"app", "items": 0..9, "gift": bool}
//
// Inserts come first (ids 1..N), then updates (ids 1..M, wrapping if M > N) that change amount,
// status, is_paid, score and attrs. Both are server-side INSERT … SELECT generate_series /
// UPDATE … WHERE id BETWEEN, `batchRows` rows per statement and transaction (default 1000, so
// 1.5M changes are 1,500 transactions), with synchronous_commit off (the end is waited for until
// flushed). REPLICA IDENTITY is the default (primary key), so updates carry the new row only.
// Autovacuum is off for the table; after the load the table is vacuumed and a CHECKPOINT runs, so
// no background work of the load competes with the measurements (and the snapshot readers find
// hint bits set).

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { isLocal, serviceAddresses } from '../../services/addresses.ts';
import { ProcessSampler, type ProcSample } from './process-stats.ts';
import { processAlive } from '../bench-process.ts';

export interface WorkloadOptions {
  /** Rows inserted (the table's final row count). */
  inserts: number;
  /** Rows updated after the inserts (one change each). */
  updates: number;
  /** Rows per statement and transaction. */
  batchRows?: number;
  /** Connection URL; KAFKI_POSTGRES_URL (test/services/addresses.ts) by default. */
  url?: string;
  /** Prefix of the table, publication and slot names; by default kbench_<pid>_<random>, which
   *  dropStaleRuns() recognises once that process is gone. */
  prefix?: string;
  /** Directory of the server's Unix socket (for consumers that use it). */
  socketDir?: string;
}

export interface LoadResult {
  inserts: number;
  updates: number;
  transactions: number;
  /** Position before the first load transaction (the base slot's confirmed_flush_lsn). */
  startLsn: string;
  /** WAL insert position right after the last load transaction committed. */
  endLsn: string;
  /** WAL written by the load (endLsn − startLsn). */
  walBytes: number;
  loadMs: number;
  /** VACUUM + CHECKPOINT after the load. */
  settleMs: number;
}

export interface ConnectionParams {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** The Unix-socket directory, for consumers that can use it. */
  socketDir: string;
}

export const tableColumns = [
  'id',
  'customer_id',
  'order_no',
  'amount',
  'description',
  'status',
  'is_paid',
  'created_at',
  'score',
  'attrs',
] as const;

/** Numeric form of a pg_lsn text ('16/B374D848'). */
export function lsnToBigInt(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  if (high === undefined || low === undefined) throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/**
 * A client whose connection-level errors (the server shutting down, a terminated backend) reject
 * its queries instead of crashing the process through an unhandled 'error' event — so a failed
 * run still reaches its cleanup.
 */
export function connectClient(url: string): pg.Client {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {
    // surfaced through the pending or next query
  });
  return client;
}

/**
 * Drops what earlier runs left behind when they died before their cleanup (kill -9, the server
 * restarted under them): inactive kbench_<pid>_* slots, kbench_<pid>_* publications and tables
 * whose <pid> is no longer a live process here. Only for a server on this machine (otherwise the
 * pid says nothing); returns the names dropped.
 */
export async function dropStaleRuns(url = serviceAddresses().postgresUrl): Promise<string[]> {
  if (!isLocal(url)) return [];
  const stale = (name: string): boolean => {
    const match = /^kbench_(\d+)_[0-9a-f]+_/.exec(name);
    return match?.[1] !== undefined && !processAlive(Number(match[1]));
  };
  const client = connectClient(url);
  await client.connect();
  const dropped: string[] = [];
  try {
    const slots = await client.query<{ slot_name: string }>(
      "select slot_name from pg_replication_slots where slot_name like 'kbench\\_%' and not active",
    );
    for (const { slot_name: name } of slots.rows.filter((row) => stale(row.slot_name))) {
      await client.query('select pg_drop_replication_slot($1)', [name]);
      dropped.push(name);
    }
    const publications = await client.query<{ pubname: string }>(
      "select pubname from pg_publication where pubname like 'kbench\\_%'",
    );
    for (const { pubname: name } of publications.rows.filter((row) => stale(row.pubname))) {
      await client.query(`drop publication if exists ${name}`);
      dropped.push(name);
    }
    const tables = await client.query<{ tablename: string }>(
      "select tablename from pg_tables where schemaname = 'public' and tablename like 'kbench\\_%'",
    );
    for (const { tablename: name } of tables.rows.filter((row) => stale(row.tablename))) {
      await client.query(`drop table if exists ${name}`);
      dropped.push(name);
    }
  } finally {
    await client.end();
  }
  return dropped;
}

export class PostgresWorkload {
  readonly inserts: number;
  readonly updates: number;
  readonly batchRows: number;
  readonly url: string;
  readonly prefix: string;
  readonly schema = 'public';
  readonly table: string;
  readonly publication: string;
  /** Every consumer slot is a copy of this one, created before the load. */
  readonly baseSlot: string;
  private readonly socketDir: string;
  private readonly slots = new Set<string>();
  private loadResult: LoadResult | undefined;
  private lastCommit: string | undefined;

  constructor(options: WorkloadOptions) {
    this.inserts = options.inserts;
    this.updates = options.updates;
    this.batchRows = options.batchRows ?? 1000;
    this.url = options.url ?? serviceAddresses().postgresUrl;
    this.prefix = options.prefix ?? `kbench_${process.pid}_${randomBytes(2).toString('hex')}`;
    this.socketDir = options.socketDir ?? '/var/run/postgresql';
    if (!/^[a-z_][a-z0-9_]{0,40}$/.test(this.prefix)) {
      throw new Error(`prefix must be a lower-case identifier: ${this.prefix}`);
    }
    if (!Number.isInteger(this.inserts) || this.inserts < 1) throw new Error('inserts must be ≥ 1');
    if (!Number.isInteger(this.updates) || this.updates < 0) throw new Error('updates must be ≥ 0');
    this.table = `${this.prefix}_orders`;
    this.publication = `${this.prefix}_pub`;
    this.baseSlot = `${this.prefix}_base`;
  }

  /** Changes every consumer must deliver: one per inserted and per updated row. */
  get expectedChanges(): number {
    return this.inserts + this.updates;
  }

  /** schema.table, as Debezium's table.include.list and topics name it. */
  get qualifiedTable(): string {
    return `${this.schema}.${this.table}`;
  }

  /** The load's figures; throws before load(). */
  get loaded(): LoadResult {
    if (this.loadResult === undefined) throw new Error('the workload is not loaded yet');
    return this.loadResult;
  }

  /** The position every consumer must reach (WAL insert position after the last load commit). */
  get endLsn(): string {
    return this.loaded.endLsn;
  }

  /**
   * The end LSN of the load's last commit — what a consumer acknowledging per commit reports
   * last — once measureServerDecode() has decoded the load (other sessions' WAL may lie between
   * it and endLsn); endLsn until then.
   */
  get lastCommitLsn(): string {
    return this.lastCommit ?? this.endLsn;
  }

  /** Records the load's last commit end LSN, as found by decoding it. */
  recordLastCommit(lsn: string): void {
    this.lastCommit = lsn;
  }

  /**
   * Waits until `slot`'s confirmed_flush_lsn reaches `lsn` (the last commit by default): the
   * moment a consumer that acknowledges only durable positions has made the whole load durable.
   * Resolves with performance.now() at the poll that saw it.
   */
  async waitForConfirmedFlush(
    slot: string,
    { lsn = this.lastCommitLsn, timeoutMs = 30 * 60_000, intervalMs = 20 } = {},
  ): Promise<number> {
    return this.withClient(async (client) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const { rows } = await client.query<{ reached: boolean | null }>(
          `select confirmed_flush_lsn >= $2::pg_lsn as reached
           from pg_replication_slots where slot_name = $1`,
          [slot, lsn],
        );
        if (rows[0]?.reached === true) return performance.now();
        if (rows.length === 0) throw new Error(`slot ${slot} does not exist`);
        if (performance.now() > deadline) {
          throw new Error(`slot ${slot} did not confirm ${lsn} within ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    });
  }

  connection(): ConnectionParams {
    const url = new URL(this.url);
    return {
      host: url.hostname,
      port: url.port === '' ? 5432 : Number(url.port),
      user: decodeURIComponent(url.username || 'postgres'),
      password: decodeURIComponent(url.password),
      database: decodeURIComponent(url.pathname.replace(/^\//, '') || 'postgres'),
      socketDir: this.socketDir,
    };
  }

  async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.withClient(async (client) => (await client.query<T>(sql, params)).rows);
  }

  /** Fresh table and publication, and the base slot (before any load). */
  async setup(): Promise<void> {
    await this.withClient(async (client) => {
      await client.query(`drop publication if exists ${this.publication}`);
      await client.query(`drop table if exists ${this.table}`);
      await client.query(`
        create table ${this.table} (
          id          bigint primary key,
          customer_id integer not null,
          order_no    bigint not null,
          amount      numeric(12,2) not null,
          description text not null,
          status      varchar(16) not null,
          is_paid     boolean not null,
          created_at  timestamptz not null,
          score       double precision not null,
          attrs       jsonb not null
        ) with (autovacuum_enabled = false)`);
      await client.query(`create publication ${this.publication} for table ${this.table}`);
      await client.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [
        this.baseSlot,
      ]);
      this.slots.add(this.baseSlot);
    });
  }

  /**
   * A logical slot (pgoutput) for one consumer, positioned where the load starts: a copy of the
   * base slot, so it can be made before or after the load and every consumer starts at the same
   * LSN. Returns the slot's full name (`<prefix>_<suffix>`); cleanup() drops it.
   */
  async createSlot(suffix: string): Promise<string> {
    const name = `${this.prefix}_${suffix}`;
    if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`bad slot name: ${name}`);
    await this.query(`select pg_copy_logical_replication_slot($1, $2)`, [this.baseSlot, name]);
    this.slots.add(name);
    return name;
  }

  /** Registers a slot a consumer creates itself (e.g. Debezium's snapshot run) for cleanup. */
  slotName(suffix: string): string {
    const name = `${this.prefix}_${suffix}`;
    this.slots.add(name);
    return name;
  }

  /**
   * Samples the CPU time and peak RSS of the walsender serving `slot` (this machine's server
   * only), from when a consumer attaches to the slot until stop().
   */
  async watchWalsender(slot: string): Promise<{ stop: () => Promise<ProcSample | undefined> }> {
    const client = connectClient(this.url);
    await client.connect();
    let pid: number | undefined;
    let querying = false;
    let closed = false;
    const sampler = new ProcessSampler(async () => {
      if (pid !== undefined || querying || closed) return pid;
      querying = true;
      try {
        const { rows } = await client.query<{ active_pid: number | null }>(
          'select active_pid from pg_replication_slots where slot_name = $1',
          [slot],
        );
        pid = rows[0]?.active_pid ?? undefined;
      } finally {
        querying = false;
      }
      return pid;
    }, 20);
    return {
      stop: async () => {
        const sample = sampler.stop();
        closed = true;
        await client.end();
        return sample;
      },
    };
  }

  /** Writes the inserts, then the updates; waits until all of it is flushed; then settles. */
  async load(onProgress?: (done: number, total: number) => void): Promise<LoadResult> {
    const result = await this.withClient(async (client) => {
      await client.query('set synchronous_commit = off');
      const [base] = (
        await client.query<{ lsn: string }>(
          'select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1',
          [this.baseSlot],
        )
      ).rows;
      if (base === undefined) throw new Error(`base slot ${this.baseSlot} is missing; run setup()`);
      const total = this.expectedChanges;
      let done = 0;
      let transactions = 0;
      const started = performance.now();
      for (let low = 1; low <= this.inserts; low += this.batchRows) {
        const high = Math.min(low + this.batchRows - 1, this.inserts);
        const inserted = await client.query(
          `insert into ${this.table} (${tableColumns.join(', ')})
           select i,
                  ((i * 7919) % 100000)::integer,
                  1000000000000 + i,
                  ((i * 37) % 1000000) / 100.0,
                  'order ' || md5(i::text),
                  (array['new','paid','shipped','delivered','cancelled'])[1 + i % 5],
                  i % 3 = 0,
                  timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second',
                  (i % 1000) / 7.0,
                  jsonb_build_object('channel', case when i % 2 = 0 then 'web' else 'app' end,
                                     'items', i % 10, 'gift', i % 7 = 0)
           from generate_series($1::bigint, $2::bigint) as i`,
          [low, high],
        );
        done += inserted.rowCount ?? 0;
        transactions++;
        onProgress?.(done, total);
      }
      for (let offset = 0; offset < this.updates;) {
        const low = (offset % this.inserts) + 1;
        const high = Math.min(
          low + this.batchRows - 1,
          this.inserts,
          low + (this.updates - offset) - 1,
        );
        const updated = await client.query(
          `update ${this.table}
           set amount = amount + 1.00,
               status = 'shipped',
               is_paid = true,
               score = score + 0.5,
               attrs = attrs || '{"updated": true}'
           where id between $1 and $2`,
          [low, high],
        );
        const rows = updated.rowCount ?? 0;
        if (rows !== high - low + 1) throw new Error(`update of ${low}..${high} changed ${rows}`);
        offset += rows;
        done += rows;
        transactions++;
        onProgress?.(done, total);
      }
      if (done !== total) throw new Error(`load wrote ${done} changes, expected ${total}`);
      const [end] = (
        await client.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn')
      ).rows;
      if (end === undefined) throw new Error('no WAL position');
      // Asynchronous commits: wait until the WAL writer has flushed the last one, since a
      // walsender only sends flushed WAL.
      for (;;) {
        const [flush] = (
          await client.query<{ caught_up: boolean }>(
            'select pg_current_wal_flush_lsn() >= $1::pg_lsn as caught_up',
            [end.lsn],
          )
        ).rows;
        if (flush?.caught_up === true) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const loadMs = performance.now() - started;
      const settleStarted = performance.now();
      await client.query(`vacuum (analyze) ${this.table}`);
      await client.query('checkpoint');
      const settleMs = performance.now() - settleStarted;
      return {
        inserts: this.inserts,
        updates: this.updates,
        transactions,
        startLsn: base.lsn,
        endLsn: end.lsn,
        walBytes: Number(lsnToBigInt(end.lsn) - lsnToBigInt(base.lsn)),
        loadMs,
        settleMs,
      };
    });
    this.loadResult = result;
    return result;
  }

  /** Rows in the table now (the snapshot size). */
  async rowCount(): Promise<number> {
    const [row] = await this.query<{ count: string }>(
      `select count(*) as count from ${this.table}`,
    );
    return Number(row?.count ?? 0);
  }

  /**
   * Drops this run's slots (ending any session still holding one), the publication and the
   * table. Leftover slots retain WAL, so this must run even when a measurement failed.
   */
  async cleanup(): Promise<void> {
    await this.withClient(async (client) => {
      const { rows } = await client.query<{ slot_name: string; active_pid: number | null }>(
        `select slot_name, active_pid from pg_replication_slots
         where slot_name = any($1::text[]) or slot_name like $2`,
        [[...this.slots], `${this.prefix.replace(/_/g, '\\_')}\\_%`],
      );
      for (const slot of rows) {
        if (slot.active_pid !== null) {
          await client.query('select pg_terminate_backend($1)', [slot.active_pid]);
        }
        for (let attempt = 0; ; attempt++) {
          try {
            await client.query('select pg_drop_replication_slot($1)', [slot.slot_name]);
            break;
          } catch (error) {
            if (attempt >= 50) throw error;
            // a terminated walsender releases its slot a moment later
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
      }
      this.slots.clear();
      await client.query(`drop publication if exists ${this.publication}`);
      await client.query(`drop table if exists ${this.table}`);
    });
  }

  private async withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = connectClient(this.url);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }
}
