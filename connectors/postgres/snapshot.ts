// The snapshot phase, which runs after the slot exists and before streaming starts: which
// snapshot.mode needs a snapshot now (decideSnapshot), and the initial snapshot itself.
//
// Consistency. The snapshot reads inside an exported snapshot that is exactly consistent with an
// LSN (the consistent point of the slot that exported it): it holds every transaction committed
// before that point and none after. The task makes sure one exists:
// - first start: the connector's slot is created with EXPORT_SNAPSHOT, the snapshot reads at its
//   consistent point and streaming starts there — no gap, no overlap;
// - re-snapshot while the slot exists (an interrupted snapshot, snapshot.mode=always,
//   when_needed): a TEMPORARY slot exports a snapshot at a later point C'. Streaming then starts at
//   the connector's slot position (earlier than C'), so changes committed between that position
//   and C' are streamed after the snapshot rows that already contain them: a replay, in commit
//   order, that ends in the same state. Nothing is lost — in particular a row deleted since an
//   interrupted snapshot emitted it gets its delete event — and the version header orders it
//   (snapshot rows carry C', the replayed changes their earlier commit LSNs).
//
// Chunks. Each table is split into primary-key ranges of snapshot.chunk.size rows
// (snapshot-chunks.ts): a connection computes the next boundary (an index-only walk of the key)
// and reads its range with COPY … TO STDOUT, while the other connections take the following
// ranges, of the same table or the next. snapshot.max.threads connections each run BEGIN
// ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '<exported>', so every range reads the
// same data. A table without a primary key is one range, read by one connection.
//
// Records. Rows come out of the same TableSchema (and type converters) as streamed changes, from
// COPY's text format, so both give identical values. op 'r', source.snapshot as in Debezium
// ('first' for the first record, 'first_in_data_collection' / 'last_in_data_collection' per table,
// 'last' for the last, 'true' otherwise: one record per table is held back until the next one
// shows it was not the last), source.lsn and the version header = the consistent point.
//
// Memory. Rows go to the task's bounded queue as they are parsed; when it is full the reading
// connections' sockets pause until poll() drained it.

import type pg from 'pg';
import {
  type Logger,
  type RecordHeaders,
  type RecordObject,
  type SourcePartition,
  type SourceRecord,
} from '../../runtime/api/index.ts';
import { envelope, nowMicros } from '../../runtime/cdc/envelope.ts';
import type { CaptureFilter, KeyColumnOverrides } from '../../runtime/cdc/filters.ts';
import type { PostgresSourceConfig, SnapshotMode } from './config.ts';
import {
  connectInSnapshot,
  errorContext,
  loadTableShapes,
  loadTypes,
  type TableCatalog,
  type TableShape,
} from './connection.ts';
import { versionHeaders } from './change-version.ts';
import { copyOut } from './copy-reader.ts';
import { classifyPostgresError } from './errors.ts';
import { offsetVersion, type PostgresOffset } from './offset.ts';
import {
  nextBoundary,
  qualifiedName,
  rangeSelect,
  type KeyBound,
  type KeyColumn,
} from './snapshot-chunks.ts';
import { sourceBlock, type SnapshotMarker, type SourceIdentity } from './source-info.ts';
import { relationFromCatalog, TableSchema } from './table-schema.ts';
import type { TypeRegistry } from './type-registry.ts';

export interface SnapshotDecision {
  /** Run the snapshot phase before streaming. */
  snapshot: boolean;
  /** Stream after the snapshot (false for initial_only). */
  stream: boolean;
  reason: string;
}

/**
 * Debezium's snapshot modes. `slotCreated`: the task created the slot just now (so an exported
 * snapshot exists). `offsetUsable`: the stored offset's position is still retained by the slot.
 */
export function decideSnapshot(
  mode: SnapshotMode,
  previous: PostgresOffset | null,
  slotCreated: boolean,
  offsetUsable: boolean,
): SnapshotDecision {
  const completed = previous !== null && previous.snapshot_completed;
  switch (mode) {
    case 'no_data':
      return { snapshot: false, stream: true, reason: 'snapshot.mode=no_data' };
    case 'initial':
      return completed
        ? { snapshot: false, stream: true, reason: 'the initial snapshot completed earlier' }
        : {
            snapshot: true,
            stream: true,
            reason: previous ? 'the previous snapshot did not complete' : 'no offset yet',
          };
    case 'initial_only':
      return completed
        ? { snapshot: false, stream: false, reason: 'the initial snapshot completed earlier' }
        : { snapshot: true, stream: false, reason: 'no completed snapshot yet' };
    case 'always':
      return { snapshot: true, stream: true, reason: 'snapshot.mode=always' };
    case 'when_needed':
      if (!completed) return { snapshot: true, stream: true, reason: 'no completed snapshot yet' };
      if (slotCreated || !offsetUsable) {
        return {
          snapshot: true,
          stream: true,
          reason: 'the stored offset is no longer available in the slot',
        };
      }
      return { snapshot: false, stream: true, reason: 'the stored offset is still available' };
  }
}

/** Where streaming resumes: the fields of PostgresOffset that snapshot records carry along. */
export type StreamPosition = Pick<
  PostgresOffset,
  'lsn' | 'lsn_proc' | 'lsn_commit' | 'txId' | 'ts_usec' | 'tx_commit_lsn' | 'tx_event'
>;

/**
 * The offset of a snapshot record: the streaming position (so a crash mid-snapshot resumes the
 * stream where it would have started) and the snapshot markers. The last record of a snapshot
 * says snapshot_completed.
 */
export function snapshotOffset(
  position: StreamPosition,
  snapshotLsn: number,
  last: boolean,
  incremental: string | null = null,
): Record<string, number | boolean | string | null> {
  return {
    offset_version: offsetVersion,
    lsn: position.lsn,
    lsn_proc: position.lsn_proc,
    lsn_commit: position.lsn_commit,
    txId: position.txId,
    ts_usec: position.ts_usec,
    tx_commit_lsn: position.tx_commit_lsn,
    tx_event: position.tx_event,
    snapshot_completed: last,
    snapshot: true,
    snapshot_lsn: snapshotLsn,
    last_snapshot_record: last,
    incremental,
  };
}

/** Where snapshot records go: the task's bounded queue. */
export interface SnapshotSink {
  push(record: SourceRecord, bytes: number): void;
  /** True while the queue wants its producers to hold off. */
  readonly full: boolean;
  /** Resolves when there is room again (or the task stops). */
  waitForRoom(): Promise<void>;
}

export interface SnapshotOptions {
  config: PostgresSourceConfig;
  /** The exported snapshot to read and the LSN it is consistent with. */
  snapshotName: string;
  consistentPoint: number;
  /** The captured tables, in the order to read them. */
  tables: readonly TableCatalog[];
  registry: TypeRegistry;
  filter: CaptureFilter;
  keyOverrides: KeyColumnOverrides;
  identity: SourceIdentity;
  partition: SourcePartition;
  /** What every snapshot record's offset carries (see snapshotOffset). */
  position: StreamPosition;
  /** Carried along in the offsets (an incremental snapshot that was in progress). */
  incremental: string | null;
  sink: SnapshotSink;
  signal: AbortSignal;
  logger: Logger;
  clock?: () => number;
}

/** Fixed part of a record's memory estimate. */
const recordOverhead = 600;

interface TablePlan {
  index: number;
  name: string;
  sql: string;
  schema: TableSchema;
  /** Primary key columns ([] for a keyless table: one chunk). */
  keys: KeyColumn[];
  /** Upper bound of the last range handed out (null: none yet). */
  lower: KeyBound | null;
  exhausted: boolean;
  /** A boundary query of this table is running; the next one waits for it. */
  busy: Promise<void> | undefined;
  outstanding: number;
  rowsDone: number;
  /** Estimate until the table is done, then the exact count. */
  rowsTotal: number;
  countNeeded: boolean;
  emitted: number;
  /** Held back until the next record of the table (or its end) decides its marker. */
  pending: Pending | undefined;
  done: boolean;
}

interface Pending {
  record: SourceRecord;
  /** Its memory estimate for the queue. */
  bytes: number;
}

interface Chunk {
  plan: TablePlan;
  lower: KeyBound | null;
  upper: KeyBound | null;
}

export class InitialSnapshot {
  private readonly plans: TablePlan[] = [];
  private readonly headers: RecordHeaders;
  private readonly rowOffset: Record<string, number | boolean | string | null>;
  private readonly lastOffset: Record<string, number | boolean | string | null>;
  private readonly clock: () => number;
  private first = true;
  /** The last record of a finished table: the snapshot's last record unless another follows. */
  private held: { pending: Pending; plan: TablePlan } | undefined;
  private readonly clients: pg.Client[] = [];
  private readonly abort = new AbortController();
  private tablesDone = 0;
  private started = false;

  constructor(private readonly options: SnapshotOptions) {
    this.headers = versionHeaders(options.consistentPoint);
    this.rowOffset = snapshotOffset(
      options.position,
      options.consistentPoint,
      false,
      options.incremental,
    );
    this.lastOffset = snapshotOffset(
      options.position,
      options.consistentPoint,
      true,
      options.incremental,
    );
    this.clock = options.clock ?? nowMicros;
  }

  /** Rows done/total per table and overall, for the task status. */
  progress(): Record<string, string | number | boolean> {
    const progress: Record<string, string | number | boolean> = {
      'snapshot.tables.total': this.options.tables.length,
      'snapshot.tables.done': this.tablesDone,
    };
    let done = 0;
    let total = 0;
    for (const plan of this.plans) {
      done += plan.rowsDone;
      total += Math.max(plan.rowsTotal, plan.rowsDone);
      progress[`snapshot.table.${plan.name}`] =
        `${plan.rowsDone}/${plan.countNeeded ? '?' : Math.max(plan.rowsTotal, plan.rowsDone)}`;
    }
    progress['snapshot.rows.done'] = done;
    progress['snapshot.rows.total'] = total;
    return progress;
  }

  /** Read every table; resolves once every row is queued (the last one with its marker). */
  async run(): Promise<void> {
    if (this.started) throw new Error('a snapshot runs once');
    this.started = true;
    const { config, signal } = this.options;
    const onAbort = () => this.abort.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const threads = Math.max(1, config.snapshotMaxThreads);
      this.clients.push(await this.connect());
      await this.plan(this.clients[0]!);
      for (let i = 1; i < threads; i++) this.clients.push(await this.connect());
      const errors: Error[] = [];
      await Promise.all(
        this.clients.map((client) =>
          this.worker(client).catch((error: unknown) => {
            errors.push(error as Error);
            // One failure ends the snapshot: the others stop at their next step.
            this.abort.abort();
            for (const other of this.clients)
              if (other !== client) void other.end().catch(() => {});
          }),
        ),
      );
      if (signal.aborted) return;
      if (errors.length > 0) throw classifyPostgresError(errors[0], errorContext(config));
      this.finish();
    } finally {
      signal.removeEventListener('abort', onAbort);
      await Promise.all(this.clients.map((client) => client.end().catch(() => undefined)));
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = await connectInSnapshot(this.options.config, this.options.snapshotName);
    // Stopping the task ends the connections, which fails whatever query they run.
    this.abort.signal.addEventListener('abort', () => void client.end().catch(() => {}), {
      once: true,
    });
    return client;
  }

  /** Table shapes (inside the snapshot), types the registry lacks, and one plan per table. */
  private async plan(client: pg.Client): Promise<void> {
    const { tables, registry, config, filter, keyOverrides } = this.options;
    const shapes = new Map<number, TableShape>(
      (
        await loadTableShapes(
          client,
          tables.map((table) => table.oid),
        )
      ).map((shape) => [shape.oid, shape]),
    );
    const unknown = [...shapes.values()]
      .flatMap((shape) => shape.columns.map((column) => column.typeOid))
      .filter((oid) => !registry.knows(oid));
    if (unknown.length > 0) for (const type of await loadTypes(client, unknown)) registry.add(type);
    const nested = unknown
      .map((oid) => registry.get(oid))
      .flatMap((type) => (type ? [type.elementOid, type.baseOid] : []))
      .filter((oid) => oid !== 0 && !registry.knows(oid));
    if (nested.length > 0) for (const type of await loadTypes(client, nested)) registry.add(type);

    for (const table of tables) {
      const shape = shapes.get(table.oid);
      if (!shape) continue; // dropped since the publication was read
      const schema = new TableSchema(
        relationFromCatalog(
          table.oid,
          table.schema,
          table.table,
          shape.replicaIdentity,
          shape.columns,
        ),
        table,
        registry,
        { topicPrefix: config.topicPrefix, filter, keyOverrides, typeModes: config.typeModes },
      );
      const keys = table.primaryKey.map((name) => {
        const column = shape.columns.find((candidate) => candidate.name === name);
        return { name, typeName: column?.typeName ?? 'text' };
      });
      this.plans.push({
        index: this.plans.length,
        name: `${table.schema}.${table.table}`,
        sql: qualifiedName(table.schema, table.table),
        schema,
        keys,
        lower: null,
        exhausted: false,
        busy: undefined,
        outstanding: 0,
        rowsDone: 0,
        rowsTotal: Math.max(0, Math.round(shape.estimatedRows)),
        countNeeded: shape.estimatedRows < 0,
        emitted: 0,
        pending: undefined,
        done: false,
      });
    }
  }

  private async worker(client: pg.Client): Promise<void> {
    for (;;) {
      if (this.abort.signal.aborted) return;
      const chunk = await this.nextChunk(client);
      if (!chunk) return;
      await this.readChunk(client, chunk);
      const plan = chunk.plan;
      plan.outstanding--;
      if (plan.exhausted && plan.outstanding === 0) this.tableDone(plan);
    }
  }

  /** The next range to read: the first table with ranges left, its next boundary. */
  private async nextChunk(client: pg.Client): Promise<Chunk | undefined> {
    const size = this.options.config.snapshotChunkSize;
    for (;;) {
      const plan = this.plans.find((candidate) => !candidate.exhausted);
      if (!plan) return undefined;
      if (plan.busy) {
        await plan.busy;
        continue;
      }
      let release!: () => void;
      plan.busy = new Promise((resolve) => (release = resolve));
      try {
        if (plan.countNeeded) {
          // Never analyzed: count inside the snapshot for an exact total.
          const { rows } = await client.query<{ count: string }>(
            `select count(*) as count from ${plan.sql}`,
          );
          plan.rowsTotal = Number(rows[0]!.count);
          plan.countNeeded = false;
        }
        const lower = plan.lower;
        const upper =
          plan.keys.length === 0
            ? null
            : await nextBoundary(client, plan.sql, plan.keys, { lower, upper: null }, size);
        plan.lower = upper;
        if (upper === null) plan.exhausted = true;
        plan.outstanding++;
        return { plan, lower, upper };
      } finally {
        plan.busy = undefined;
        release();
      }
    }
  }

  private async readChunk(client: pg.Client, chunk: Chunk): Promise<void> {
    const { plan } = chunk;
    const table = plan.schema;
    const { identity, partition, consistentPoint, sink } = this.options;
    const select = rangeSelect(plan.sql, table.readColumnNames, plan.keys, chunk);
    let now = this.clock();
    let uses = 0;
    await copyOut(client, select, {
      onRow: (data) => {
        // Without the trailing newline.
        table.decodeCopyRow(data, 0, data.length - 1);
        if (++uses === 64) {
          uses = 0;
          now = this.clock();
        }
        const after = table.makeRow(table.values);
        const source = sourceBlock(
          identity,
          'true',
          now,
          table.schemaName,
          table.tableName,
          null,
          consistentPoint,
          null,
        );
        const key = table.keyFromValues();
        const record: SourceRecord = {
          topic: table.topic,
          key,
          keySchema: key === null ? undefined : table.keySchema,
          value: envelope('r', null, after, source, null, now),
          valueSchema: table.envelopeSchema,
          sourcePartition: partition,
          sourceOffset: this.rowOffset,
          headers: this.headers,
        };
        plan.rowsDone++;
        this.row(plan, record, data.length * 2 + recordOverhead);
        return !sink.full;
      },
      waitForRoom: () => sink.waitForRoom(),
    });
  }

  // ---- markers: each record is queued once the next one shows whether it was a table's last ----

  private row(plan: TablePlan, record: SourceRecord, bytes: number): void {
    if (this.held) {
      const { pending, plan: heldPlan } = this.held;
      this.held = undefined;
      this.flush(pending, heldPlan, true, false);
    }
    const previous = plan.pending;
    plan.pending = { record, bytes };
    if (previous) this.flush(previous, plan, false, false);
  }

  private tableDone(plan: TablePlan): void {
    if (plan.done) return;
    plan.done = true;
    this.tablesDone++;
    plan.rowsTotal = plan.rowsDone;
    plan.countNeeded = false;
    const last = plan.pending;
    plan.pending = undefined;
    if (!last) return;
    if (this.held) this.flush(this.held.pending, this.held.plan, true, false);
    this.held = { pending: last, plan };
  }

  private finish(): void {
    for (const plan of this.plans) this.tableDone(plan);
    const held = this.held;
    this.held = undefined;
    if (held) this.flush(held.pending, held.plan, true, true);
  }

  private flush(
    { record, bytes }: Pending,
    plan: TablePlan,
    lastInTable: boolean,
    lastOverall: boolean,
  ): void {
    const marker: SnapshotMarker = lastOverall
      ? 'last'
      : this.first
        ? 'first'
        : plan.emitted === 0
          ? 'first_in_data_collection'
          : lastInTable
            ? 'last_in_data_collection'
            : 'true';
    this.first = false;
    plan.emitted++;
    ((record.value as RecordObject).source as RecordObject).snapshot = marker;
    if (lastOverall) record.sourceOffset = this.lastOffset;
    this.options.sink.push(record, bytes);
  }
}
