// Incremental snapshots (DBLog's watermarks, as Debezium's incremental snapshots), read while the
// stream goes on, chunk by chunk, resumable after a crash.
//
// Per chunk (incremental.snapshot.chunk.size rows of one table, by primary key):
//   1. write an open watermark L (pg_logical_emit_message, non-transactional: it sits in the
//      stream exactly between the transactions committed before and after it);
//   2. BEGIN REPEATABLE READ; take the snapshot S (pg_current_snapshot()); read the next key range
//      (snapshot-chunks.ts) into memory; COMMIT;
//   3. write a close watermark H.
// In the stream, between L and H, every change of the chunk's table drops its key from the chunk
// (the stream's own event carries that row, and the chunk may hold an older or newer image). At H
// the rows left are emitted as op 'r' with source.snapshot 'incremental', and the version header
// and source.lsn H: they sort after every change before H (which the chunk contains or that
// dropped them) and before every change after H.
//
// One gap in plain DBLog: the order of commit records in the WAL is not the order in which
// transactions become visible. A transaction whose commit record precedes L can still be
// invisible to S (its backend had not yet left the proc array, e.g. waiting for its WAL flush
// or a synchronous standby), so its change streams before the window and the chunk would then
// overwrite it with the older image. Hence: the keys every transaction changes in the snapshotted
// tables are retained by xid, and at H the keys of retained transactions that S does not see
// (running in its xip list, or not completed: ≥ its xmax) are dropped too; a transaction S sees
// is forgotten. Before the first chunk, transactions already committed but still invisible (so
// possibly streamed before this retention began) are waited out.
//
// Progress (the tables left, the last key read, the table's highest key when its snapshot began)
// lives in the source offset (`incremental`, JSON). Every row of a chunk carries the state before
// the chunk, its last row the state after it, so a crash resumes from the last chunk whose rows
// are all durable. A signal changes the state before any record carries it: the slot is not
// acknowledged past the signal until a record emitted after it is durable (AckTracker.hold).

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  InvalidInputError,
  isRetriable,
  type Logger,
  type RecordObject,
} from '../../runtime/api/index.ts';
import { backoffDelay, sleep } from '../../runtime/cdc/backoff.ts';
import { keyText } from '../../runtime/cdc/envelope.ts';
import type { CaptureFilter, KeyColumnOverrides } from '../../runtime/cdc/filters.ts';
import {
  signalMessagePrefix,
  watermarkMessagePrefix,
  type ChangeEventBuilder,
  type SignalRow,
  type StreamObserver,
} from './change-events.ts';
import type { PostgresSourceConfig } from './config.ts';
import {
  connect,
  errorContext,
  loadTableShapes,
  loadTypes,
  type MetadataConnection,
  type TableCatalog,
} from './connection.ts';
import { copyOut } from './copy-reader.ts';
import { classifyPostgresError, PostgresErrorCode } from './errors.ts';
import type { AckTracker } from './offset.ts';
import { parseLsn } from './pgoutput-decoder.ts';
import {
  maxKey,
  nextBoundary,
  qualifiedName,
  rangeSelect,
  type KeyBound,
  type KeyColumn,
} from './snapshot-chunks.ts';
import { relationFromCatalog, TableSchema } from './table-schema.ts';
import type { TypeRegistry } from './type-registry.ts';

/** The persisted progress (offset field `incremental`). */
export interface IncrementalState {
  /** The signal id that started it. */
  id: string;
  /** Tables left, `schema.table`; the first is being read. */
  tables: string[];
  /** The last key read of the first table (null: none yet). */
  position: KeyBound | null;
  /** The first table's highest key when its snapshot began (rows above come from the stream). */
  max: KeyBound | null;
  /** Chunks read so far. */
  chunk: number;
  paused?: boolean;
}

export function parseIncrementalState(text: string | null): IncrementalState | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as Partial<IncrementalState>;
    if (!Array.isArray(value.tables) || value.tables.length === 0) return null;
    return {
      id: String(value.id ?? ''),
      tables: value.tables.map(String),
      position: Array.isArray(value.position) ? value.position.map(String) : null,
      max: Array.isArray(value.max) ? value.max.map(String) : null,
      chunk: Number(value.chunk ?? 0) || 0,
      ...(value.paused ? { paused: true } : {}),
    };
  } catch {
    return null;
  }
}

function stateText(state: IncrementalState | null): string | null {
  return state === null ? null : JSON.stringify(state);
}

/** A snapshot as pg_current_snapshot() describes it, reduced to 32-bit xids (pgoutput's). */
export interface SnapshotXids {
  xmax: number;
  xip: ReadonlySet<number>;
}

export function parseSnapshotText(text: string): SnapshotXids {
  const [, xmax = '0', xip = ''] = text.split(':');
  const xid32 = (value: string) => Number(BigInt(value) & 0xffffffffn);
  return {
    xmax: xid32(xmax),
    xip: new Set(xip === '' ? [] : xip.split(',').map(xid32)),
  };
}

/** Whether a (committed) transaction's changes are visible in the snapshot. */
export function visibleIn(snapshot: SnapshotXids, xid: number): boolean {
  // xid < xmax with 32-bit wraparound (TransactionIdPrecedes).
  return !snapshot.xip.has(xid) && ((xid - snapshot.xmax) | 0) < 0;
}

interface ChunkRow {
  key: RecordObject | null;
  after: RecordObject;
  bytes: number;
}

/** One chunk from its open watermark to its close watermark. */
interface ChunkRead {
  token: string;
  relationId: number;
  /** Keys changed in the stream since the open watermark; '*' for a truncate. */
  window: Set<string> | undefined;
  /** Filled once the read committed (always before the close watermark is written). */
  result:
    | {
        table: TableSchema;
        rows: Map<string, ChunkRow>;
        snapshot: SnapshotXids;
        /** The last key read, and the table's highest key. */
        upper: KeyBound;
        max: KeyBound;
        /** The table has no rows after this chunk (up to `max`). */
        tableDone: boolean;
      }
    | undefined;
}

export interface IncrementalSnapshotOptions {
  config: PostgresSourceConfig;
  builder: ChangeEventBuilder;
  ack: AckTracker;
  registry: TypeRegistry;
  filter: CaptureFilter;
  keyOverrides: KeyColumnOverrides;
  /** The captured tables (the publication's, filtered), by oid. */
  catalog: ReadonlyMap<number, TableCatalog>;
  logger: Logger;
  /** A failure no retry can fix. */
  onFatal(error: Error): void;
}

/** Signal types this connector acts on. */
export const signalTypes = [
  'execute-snapshot',
  'stop-snapshot',
  'pause-snapshot',
  'resume-snapshot',
  'log',
] as const;

/**
 * Check a signal before it is written into the WAL (REST): a clear 400 instead of a signal the
 * stream would only log as unusable.
 */
export function validateSignal(type: string, data: unknown): void {
  if (!(signalTypes as readonly string[]).includes(type)) {
    throw new InvalidInputError(
      PostgresErrorCode.signalInvalid,
      `unknown signal type "${type}"; the PostgreSQL source accepts ${signalTypes.join(', ')}`,
    );
  }
  if (data !== null && data !== undefined && (typeof data !== 'object' || Array.isArray(data))) {
    throw new InvalidInputError(PostgresErrorCode.signalInvalid, 'signal data must be an object');
  }
  const fields = (data ?? {}) as Record<string, unknown>;
  const collections = fields['data-collections'];
  if (
    collections !== undefined &&
    (!Array.isArray(collections) || collections.some((item) => typeof item !== 'string'))
  ) {
    throw new InvalidInputError(
      PostgresErrorCode.signalInvalid,
      'data-collections must be an array of table names or regular expressions (schema.table)',
    );
  }
  if (type === 'execute-snapshot') {
    if (!Array.isArray(collections) || collections.length === 0) {
      throw new InvalidInputError(
        PostgresErrorCode.signalInvalid,
        'execute-snapshot needs data-collections, e.g. {"data-collections": ["public.orders"], "type": "incremental"}',
      );
    }
    const kind = fields.type ?? 'incremental';
    if (typeof kind !== 'string' || kind.toLowerCase() !== 'incremental') {
      throw new InvalidInputError(
        PostgresErrorCode.signalInvalid,
        `snapshot type "${String(kind)}" is not supported; use "incremental"`,
      );
    }
  }
}

/**
 * Write a signal into the WAL; the stream reads it back in order and acts on it like a signal
 * table insert (so it is ordered with the changes and survives a crash like one).
 */
export async function writeSignal(
  metadata: MetadataConnection,
  signal: { id: string; type: string; data: unknown },
): Promise<void> {
  validateSignal(signal.type, signal.data);
  const text = JSON.stringify({
    id: signal.id,
    type: signal.type,
    data: signal.data === undefined || signal.data === null ? null : JSON.stringify(signal.data),
  });
  // Flushed (see emit below): the stream sees the signal at once, not at the WAL writer's round.
  try {
    await metadata.query(
      `BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_current_xact_id();
       SELECT pg_logical_emit_message(false, ${pg.escapeLiteral(signalMessagePrefix)},
                                      ${pg.escapeLiteral(text)});
       COMMIT`,
    );
  } catch (error) {
    // Leave the shared connection outside the failed transaction.
    await metadata.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export class IncrementalSnapshots implements StreamObserver {
  readonly relations = new Set<number>();
  private state: IncrementalState | null = null;
  private chunk: ChunkRead | undefined;
  /** xid → `<relation>\0<key>` changed by it (see the module comment). */
  private readonly retained = new Map<number, Set<string>>();
  private client: pg.Client | undefined;
  private reading = false;
  private settled = false;
  private stopped = false;
  private failures = 0;
  private readonly runId = randomUUID().slice(0, 8);
  private sequence = 0;
  private readonly stopController = new AbortController();
  rowsEmitted = 0;
  chunksRead = 0;

  constructor(private readonly options: IncrementalSnapshotOptions) {}

  /** Continue the snapshot a stored offset describes (after a restart). */
  resume(text: string | null): void {
    const state = parseIncrementalState(text);
    if (!state) return;
    this.options.logger.info(
      { tables: state.tables, chunk: state.chunk },
      'resuming the incremental snapshot',
    );
    this.setState(state, false);
  }

  get active(): boolean {
    return this.state !== null;
  }

  progress(): Record<string, string | number | boolean> {
    const state = this.state;
    return {
      'incremental.snapshot.running': state !== null && !state.paused,
      'incremental.snapshot.table': state?.tables[0] ?? '',
      'incremental.snapshot.tables.remaining': state?.tables.length ?? 0,
      'incremental.snapshot.chunks': this.chunksRead,
      'incremental.snapshot.rows': this.rowsEmitted,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  // ---- stream side (synchronous, in stream order) ----

  signal(signal: SignalRow, lsn: number): void {
    const { logger } = this.options;
    let data: Record<string, unknown> = {};
    try {
      const parsed: unknown = signal.data ? JSON.parse(signal.data) : {};
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        data = parsed as Record<string, unknown>;
    } catch {
      logger.warn({ id: signal.id, type: signal.type }, 'signal data is not JSON: ignored');
      return;
    }
    try {
      validateSignal(signal.type, data);
    } catch (error) {
      logger.warn({ id: signal.id, lsn }, `signal ignored: ${(error as Error).message}`);
      return;
    }
    const collections = (data['data-collections'] as string[] | undefined) ?? [];
    switch (signal.type) {
      case 'log':
        logger.info({ id: signal.id }, String(data.message ?? ''));
        return;
      case 'execute-snapshot': {
        const tables = this.matchTables(collections);
        if (tables.length === 0) {
          logger.warn(
            { id: signal.id, collections },
            'execute-snapshot names no captured table with a primary key: ignored',
          );
          return;
        }
        const current = this.state;
        const next: IncrementalState = current
          ? { ...current, tables: [...new Set([...current.tables, ...tables])] }
          : { id: signal.id, tables, position: null, max: null, chunk: 0 };
        logger.info({ id: signal.id, tables }, 'incremental snapshot requested');
        this.setState(next, true);
        return;
      }
      case 'stop-snapshot': {
        const current = this.state;
        if (!current) return;
        const stopping =
          collections.length === 0 ? current.tables : this.matchNames(current.tables, collections);
        const tables = current.tables.filter((table) => !stopping.includes(table));
        const keepCurrent = tables[0] === current.tables[0];
        logger.info({ id: signal.id, stopped: stopping }, 'incremental snapshot stopped');
        if (!keepCurrent) this.chunk = undefined;
        this.setState(
          tables.length === 0
            ? null
            : keepCurrent
              ? { ...current, tables }
              : { ...current, tables, position: null, max: null },
          true,
        );
        return;
      }
      case 'pause-snapshot':
        if (this.state) this.setState({ ...this.state, paused: true }, true);
        return;
      case 'resume-snapshot':
        if (this.state?.paused) {
          const { paused: _paused, ...rest } = this.state;
          this.setState(rest, true);
        }
        return;
    }
  }

  change(relationId: number, xid: number, key: RecordObject | null): void {
    const entry = key === null ? `${relationId}\u0000*` : `${relationId}\u0000${keyText(key)}`;
    const chunk = this.chunk;
    if (chunk?.window && chunk.relationId === relationId) chunk.window.add(entry);
    // A transaction the pending chunk's snapshot already sees is seen by every later one: no
    // need to keep its keys (this bounds the retention when the stream lags far behind the
    // reads, which are paced by it but read the present).
    if (chunk?.result && visibleIn(chunk.result.snapshot, xid)) return;
    let keys = this.retained.get(xid);
    if (!keys) {
      keys = new Set();
      this.retained.set(xid, keys);
    }
    keys.add(entry);
  }

  watermark(content: string, lsn: number): void {
    const chunk = this.chunk;
    const separator = content.lastIndexOf(':');
    if (!chunk || content.slice(0, separator) !== chunk.token) return;
    if (content.slice(separator + 1) === 'open') {
      // (Seen again after a reconnect replayed it: the window starts over.)
      chunk.window = new Set();
      return;
    }
    if (!chunk.window || !chunk.result) return;
    this.close(chunk, lsn);
  }

  // ---- chunks ----

  private setState(state: IncrementalState | null, fromSignal: boolean): void {
    this.state = state;
    this.options.builder.incrementalState = stateText(state);
    if (fromSignal) {
      if (state) this.options.ack.hold();
      else this.options.ack.release();
    }
    this.relations.clear();
    for (const name of state?.tables ?? []) {
      const table = this.tableByName(name);
      if (table) this.relations.add(table.oid);
    }
    if (!state) this.retained.clear();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.reading || this.chunk || !this.state || this.state.paused) return;
    this.reading = true;
    void this.readNext().finally(() => {
      this.reading = false;
      // A chunk that ended without rows to wait for (empty table, failure): go on.
      if (!this.chunk) this.schedule();
    });
  }

  private async readNext(): Promise<void> {
    const token = `${this.runId}:${++this.sequence}`;
    try {
      const client = await this.connection();
      if (!this.settled) {
        await this.settle(client);
        this.settled = true;
      }
      const state = this.state;
      if (!state || state.paused || this.stopped) return;
      const name = state.tables[0]!;
      const table = this.tableByName(name);
      if (!table || table.primaryKey.length === 0) {
        this.options.logger.warn(
          { table: name },
          'table not captured or without a primary key: left out of the incremental snapshot',
        );
        this.skipTable(state);
        return;
      }
      const chunk: ChunkRead = {
        token,
        relationId: table.oid,
        window: undefined,
        result: undefined,
      };
      this.chunk = chunk;
      await emit(client, `${token}:open`);
      const result = await this.read(client, state, table);
      if (this.chunk !== chunk) return; // stopped meanwhile
      if (!result) {
        // Empty (or dropped): nothing to emit, the next table.
        this.chunk = undefined;
        this.skipTable(state);
        return;
      }
      chunk.result = result;
      // Written after the rows are in memory: the stream finds them when it reaches it.
      await emit(client, `${token}:close`);
      this.failures = 0;
    } catch (error) {
      this.chunk = undefined;
      await this.client?.end().catch(() => undefined);
      this.client = undefined;
      if (this.stopped) return;
      const classified = classifyPostgresError(error, errorContext(this.options.config));
      if (!isRetriable(classified)) {
        this.options.onFatal(classified);
        return;
      }
      const delay = backoffDelay(this.failures++, { initialMs: 200, maxMs: 30_000 });
      this.options.logger.warn(
        { error: classified.message, delayMs: delay },
        'incremental snapshot chunk failed; retrying',
      );
      await sleep(delay, this.stopController.signal);
    }
  }

  /** One chunk inside a REPEATABLE READ transaction; undefined when the table has no rows left. */
  private async read(
    client: pg.Client,
    state: IncrementalState,
    catalog: TableCatalog,
  ): Promise<ChunkRead['result'] | undefined> {
    const { config, registry, filter, keyOverrides } = this.options;
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const { rows: snapshotRows } = await client.query<{ snapshot: string }>(
        'select pg_current_snapshot()::text as snapshot',
      );
      const snapshot = parseSnapshotText(snapshotRows[0]!.snapshot);
      const [shape] = await loadTableShapes(client, [catalog.oid]);
      if (!shape) return undefined; // dropped
      const unknown = shape.columns.map((c) => c.typeOid).filter((oid) => !registry.knows(oid));
      if (unknown.length > 0) {
        for (const type of await loadTypes(client, unknown)) registry.add(type);
        const nested = unknown
          .map((oid) => registry.get(oid))
          .flatMap((type) => (type ? [type.elementOid, type.baseOid] : []))
          .filter((oid) => oid !== 0 && !registry.knows(oid));
        if (nested.length > 0)
          for (const type of await loadTypes(client, nested)) registry.add(type);
      }
      const table = new TableSchema(
        relationFromCatalog(
          catalog.oid,
          catalog.schema,
          catalog.table,
          shape.replicaIdentity,
          shape.columns,
        ),
        catalog,
        registry,
        { topicPrefix: config.topicPrefix, filter, keyOverrides, typeModes: config.typeModes },
      );
      const keys: KeyColumn[] = catalog.primaryKey.map((name) => ({
        name,
        typeName: shape.columns.find((column) => column.name === name)?.typeName ?? 'text',
      }));
      const sql = qualifiedName(catalog.schema, catalog.table);
      const max = state.max ?? (await maxKey(client, sql, keys));
      if (max === null) return undefined;
      const boundary = await nextBoundary(
        client,
        sql,
        keys,
        { lower: state.position, upper: max },
        config.incrementalChunkSize,
      );
      const upper = boundary ?? max;
      const rows = new Map<string, ChunkRow>();
      await copyOut(
        client,
        rangeSelect(sql, table.readColumnNames, keys, { lower: state.position, upper }),
        {
          onRow: (data) => {
            table.decodeCopyRow(data, 0, data.length - 1);
            const key = table.keyFromValues();
            rows.set(`${catalog.oid}\u0000${keyText(key)}`, {
              key,
              after: table.makeRow(table.values),
              bytes: data.length * 2 + 600,
            });
            return true;
          },
          waitForRoom: () => Promise.resolve(),
        },
      );
      await client.query('COMMIT');
      const tableDone = boundary === null || sameBound(boundary, max);
      return { table, rows, snapshot, upper, max, tableDone };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** The close watermark: drop what the stream changed, emit the rest, take the next chunk. */
  private close(chunk: ChunkRead, lsn: number): void {
    const result = chunk.result!;
    const state = this.state;
    // The window's keys, and those of every transaction the chunk's snapshot did not see (it may
    // have streamed before the window): running ones (xip) and ones not completed yet (≥ xmax,
    // which is latestCompletedXid + 1: a transaction waiting for its commit record's flush is
    // there). Transactions it saw are forgotten: every later snapshot sees them too.
    const drop = new Set(chunk.window);
    for (const [xid, keys] of this.retained) {
      if (visibleIn(result.snapshot, xid)) this.retained.delete(xid);
      else for (const entry of keys) drop.add(entry);
    }
    const all = drop.has(`${chunk.relationId}\u0000*`);
    const rows: ChunkRow[] = [];
    if (!all) for (const [entry, row] of result.rows) if (!drop.has(entry)) rows.push(row);
    this.chunk = undefined;
    this.chunksRead++;
    this.rowsEmitted += rows.length;
    // From the state now (signals may have added or stopped tables while the chunk was read).
    const next =
      state === null
        ? null
        : result.tableDone
          ? nextTable(state)
          : { ...state, position: result.upper, max: result.max, chunk: state.chunk + 1 };
    this.options.builder.emitSnapshotRows(
      result.table,
      rows,
      lsn,
      stateText(state),
      stateText(next),
    );
    if (next === null) {
      this.options.logger.info(
        { chunks: this.chunksRead, rows: this.rowsEmitted },
        'incremental snapshot completed',
      );
    }
    this.setState(next, false);
    if (next === null) this.options.ack.release();
  }

  /** A table is done without a chunk to emit (empty, dropped, no key): the next one. */
  private skipTable(state: IncrementalState): void {
    if (this.state !== state) return;
    const next = nextTable(state);
    this.setState(next, false);
    if (next === null) this.options.ack.release();
  }

  /**
   * Transactions that committed (in the commit log) but are not visible yet when the retention
   * begins may have streamed before it: wait until they are visible (normally at once). Ones
   * still writing their commit record are streamed only once flushed, so after this point.
   */
  private async settle(client: pg.Client): Promise<void> {
    const { rows } = await client.query<{ xid: string }>(
      `select x::text as xid
         from generate_series(pg_snapshot_xmin(pg_current_snapshot())::text::int8,
                              pg_current_xact_id()::text::int8 - 1) as x
        where pg_xact_status(x::text::xid8) = 'committed'
          and not pg_visible_in_snapshot(x::text::xid8, pg_current_snapshot())`,
    );
    let waiting = rows.map((row) => row.xid);
    while (waiting.length > 0 && !this.stopped) {
      await sleep(20, this.stopController.signal);
      const { rows: still } = await client.query<{ xid: string }>(
        `select x as xid from unnest($1::text[]) as x
          where not pg_visible_in_snapshot(x::xid8, pg_current_snapshot())`,
        [waiting],
      );
      waiting = still.map((row) => row.xid);
    }
  }

  private async connection(): Promise<pg.Client> {
    this.client ??= await connect(this.options.config, 'incremental');
    return this.client;
  }

  private tableByName(name: string): TableCatalog | undefined {
    for (const table of this.options.catalog.values()) {
      if (`${table.schema}.${table.table}` === name) return table;
    }
    return undefined;
  }

  /** Captured tables with a primary key whose `schema.table` one of the patterns matches. */
  private matchTables(patterns: readonly string[]): string[] {
    const names = [...this.options.catalog.values()]
      .filter(
        (table) =>
          table.primaryKey.length > 0 &&
          this.options.filter.includesTable(table.schema, table.table),
      )
      .map((table) => `${table.schema}.${table.table}`)
      .sort();
    return this.matchNames(names, patterns);
  }

  private matchNames(names: readonly string[], patterns: readonly string[]): string[] {
    const matched: string[] = [];
    for (const pattern of patterns) {
      let regex: RegExp | undefined;
      try {
        regex = new RegExp(`^(?:${pattern})$`);
      } catch {
        regex = undefined;
      }
      for (const name of names) {
        if ((name === pattern || regex?.test(name)) && !matched.includes(name)) matched.push(name);
      }
    }
    return matched;
  }
}

function nextTable(state: IncrementalState): IncrementalState | null {
  const tables = state.tables.slice(1);
  return tables.length === 0
    ? null
    : { ...state, tables, position: null, max: null, chunk: state.chunk + 1 };
}

function sameBound(a: KeyBound, b: KeyBound): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/**
 * Write a watermark and flush the WAL up to it. A non-transactional message is not flushed by
 * itself, and the walsender only sends flushed WAL: without the flush the stream would see it
 * only at the WAL writer's next round (wal_writer_delay, 200 ms by default). The surrounding
 * transaction takes an xid so its commit flushes (it has no changes: pgoutput skips it).
 */
async function emit(client: pg.Client, content: string): Promise<number> {
  const results = (await client.query(
    `BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_current_xact_id();
     SELECT pg_logical_emit_message(false, ${pg.escapeLiteral(watermarkMessagePrefix)},
                                    ${pg.escapeLiteral(content)})::text AS lsn;
     COMMIT`,
  )) as unknown as Array<pg.QueryResult<{ lsn: string }>>;
  return parseLsn(results[3]!.rows[0]!.lsn);
}
