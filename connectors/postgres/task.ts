// The PostgreSQL source task: checks the server, prepares the publication and the slot, runs the
// snapshot phase (snapshot.ts) and then streams, handing records to poll() through a bounded
// queue; incremental snapshots run beside the stream (incremental-snapshot.ts), started by
// signals. The slot is acknowledged only from commit(), with positions the runtime reported
// durable (offset.ts explains which).

import type {
  DurableOffset,
  Logger,
  SourcePartition,
  SourceRecord,
  SourceTask,
  SourceTaskContext,
  RawConfig,
  TaskSignal,
} from '../../runtime/api/index.ts';
import { InvalidInputError, KafkiError } from '../../runtime/api/index.ts';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { sleep } from '../../runtime/cdc/backoff.ts';
import { BoundedChangeQueue } from '../../runtime/cdc/change-queue.ts';
import { CaptureFilter, KeyColumnOverrides } from '../../runtime/cdc/filters.ts';
import { HeartbeatSchedule } from '../../runtime/cdc/heartbeat.ts';
import { RateMeter } from '../../runtime/cdc/rate-meter.ts';
import { ChangeEventBuilder, heartbeatMessagePrefix } from './change-events.ts';
import { postgresConfig, type PostgresSourceConfig } from './config.ts';
import {
  createSlotWithSnapshot,
  dropSlot,
  loadPublicationTables,
  loadTypes,
  MetadataConnection,
  serverFacts,
  slotInfo,
  slotRetainedBytes,
  type CreatedSlot,
  type SlotInfo,
  type TableCatalog,
} from './connection.ts';
import { classifyPostgresError, PostgresErrorCode } from './errors.ts';
import { AckTracker, parseOffset, ResumeFilter, sourcePartition } from './offset.ts';
import { ensurePublication } from './publication.ts';
import { IncrementalSnapshots, validateSignal, writeSignal } from './incremental-snapshot.ts';
import {
  decideSnapshot,
  InitialSnapshot,
  type SnapshotDecision,
  type StreamPosition,
} from './snapshot.ts';
import { StreamingSession } from './streaming.ts';
import { TypeRegistry } from './type-registry.ts';
import { errorContext } from './connection.ts';

/** Schemas no connector captures. */
export const systemSchemas: ReadonlySet<string> = new Set([
  'pg_catalog',
  'information_schema',
  'pg_toast',
]);

const progressIntervalMs = 1000;

/** The checks every start (and validateLive) makes; throws the first failure, classified. */
export async function checkServer(
  metadata: MetadataConnection,
  config: PostgresSourceConfig,
): Promise<void> {
  const facts = await serverFacts(await metadata.get()).catch((error: unknown) => {
    throw classifyPostgresError(error, errorContext(config));
  });
  if (facts.walLevel !== 'logical') {
    throw classifyPostgresError(
      {
        code: '55000',
        message: `logical decoding requires wal_level >= logical (the server has wal_level=${facts.walLevel})`,
      },
      errorContext(config),
    );
  }
  if (!facts.canReplicate) {
    throw classifyPostgresError(
      { code: '42501', message: `must be superuser or replication role to start walsender` },
      errorContext(config),
    );
  }
}

export class PostgresSourceTask implements SourceTask {
  private config!: PostgresSourceConfig;
  private context!: SourceTaskContext;
  private logger!: Logger;
  private partition!: SourcePartition;
  private metadata: MetadataConnection | undefined;
  private queue!: BoundedChangeQueue<SourceRecord>;
  private ack!: AckTracker;
  private builder: ChangeEventBuilder | undefined;
  private session: StreamingSession | undefined;
  private exported: CreatedSlot | undefined;
  private fatal: Error | undefined;
  private heartbeat!: HeartbeatSchedule;
  private heartbeatRunning = false;
  private lagCheckedAt = 0;
  private retainedBytes: number | undefined;
  private progressAt = 0;
  private readonly rate = new RateMeter(10);
  private readonly stopController = new AbortController();
  private phases: Promise<void> | undefined;
  private snapshotCompleted = false;
  private stopped = false;
  private decision: SnapshotDecision | undefined;
  private initialSnapshot: InitialSnapshot | undefined;
  private incremental: IncrementalSnapshots | undefined;

  async start(_config: RawConfig, context: SourceTaskContext): Promise<void> {
    this.context = context;
    this.config = postgresConfig(context.config);
    const config = this.config;
    this.logger = context.logger.child({ slot: config.slotName });
    this.partition = sourcePartition(config.topicPrefix);
    this.heartbeat = new HeartbeatSchedule(config.heartbeatIntervalMs, Date.now());
    this.queue = new BoundedChangeQueue<SourceRecord>({
      maxBytes: config.maxQueueSizeInBytes,
      maxItems: config.maxQueueSize,
      pause: () => this.session?.pause(),
      resume: () => this.session?.resume(),
    });
    try {
      await this.prepare();
    } catch (error) {
      await this.release();
      throw error;
    }
  }

  private async prepare(): Promise<void> {
    const config = this.config;
    const previous = parseOffset(await this.context.offset(this.partition));
    const metadata = new MetadataConnection(config);
    this.metadata = metadata;
    await checkServer(metadata, config);
    const client = await metadata.get();
    const registry = new TypeRegistry(await loadTypes(client));
    const filter = new CaptureFilter(
      {
        schemaInclude: config.schemaIncludeList,
        schemaExclude: config.schemaExcludeList,
        tableInclude: config.tableIncludeList,
        tableExclude: config.tableExcludeList,
        columnInclude: config.columnIncludeList,
        columnExclude: config.columnExcludeList,
      },
      systemSchemas,
    );
    const keyOverrides = new KeyColumnOverrides(config.messageKeyColumns);
    try {
      const done = await ensurePublication(client, config, filter);
      if (done !== 'exists')
        this.logger.info({ publication: config.publicationName }, `publication ${done}`);
    } catch (error) {
      throw classifyPostgresError(error, errorContext(config));
    }
    const catalog = new Map<number, TableCatalog>(
      (await loadPublicationTables(client, config.publicationName)).map((table) => [
        table.oid,
        table,
      ]),
    );

    const slot = await this.slotWhenFree(client, config);
    if (slot) {
      if (slot.plugin !== 'pgoutput' || slot.database !== config.database) {
        throw new KafkiError(
          PostgresErrorCode.slotInUse,
          `replication slot "${config.slotName}" belongs to ${slot.plugin === 'pgoutput' ? `database "${slot.database}"` : `output plugin ${slot.plugin}`}; ` +
            'choose another slot.name for this connector',
        );
      }
      if (slot.active) {
        throw classifyPostgresError(
          {
            code: '55006',
            message: `replication slot "${config.slotName}" is active for PID ${slot.activePid}`,
          },
          errorContext(config),
        );
      }
    } else if (config.snapshotMode !== 'initial_only') {
      // initial_only never streams: it reads a temporary slot's snapshot and creates no slot
      // that would retain WAL for a consumer that never comes.
      this.exported = await createSlotWithSnapshot(config);
      this.logger.info(
        { consistentPoint: this.exported.consistentPoint },
        'replication slot created',
      );
      if (previous) {
        this.logger.warn(
          { offsetLsn: previous.lsn },
          'the replication slot did not exist although an offset is stored: changes between that offset and now are not in the slot',
        );
      }
    }
    const confirmed = slot?.confirmedFlushLsn ?? this.exported?.consistentPoint ?? 0;
    // The slot is only ever acknowledged with durable positions, so a slot that survived holds
    // everything the log lacks (its confirmed position may be past the stored offset: positions
    // without records for us are acknowledged too). A lost slot makes the offset unusable.
    const offsetUsable = previous !== null && slot !== undefined;
    const decision = decideSnapshot(
      config.snapshotMode,
      previous,
      this.exported !== undefined,
      offsetUsable,
    );
    this.decision = decision;
    this.logger.info({ snapshot: decision.snapshot, reason: decision.reason }, 'snapshot decision');

    // Where streaming starts and what it skips: the stored position (streaming offsets and, since
    // they carry it, snapshot offsets too), unless the slot is new.
    const resume = this.exported ? null : previous;
    const startLsn = Math.max(resume?.lsn_proc ?? 0, confirmed);
    this.ack = new AckTracker(confirmed);
    this.snapshotCompleted = !decision.snapshot;
    this.builder = new ChangeEventBuilder({
      config,
      identity: { serverName: config.topicPrefix, database: config.database },
      partition: this.partition,
      ack: this.ack,
      resume: new ResumeFilter(resume),
      sink: {
        emit: (record, bytes) => this.queue.push(record, bytes, record.joinsNext === true),
      },
      snapshotCompleted: true,
      startLsn,
      lastCommitLsn: resume?.lsn_commit ?? null,
    });
    this.session = new StreamingSession({
      config,
      builder: this.builder,
      ack: this.ack,
      registry,
      catalog,
      metadata,
      filter,
      keyOverrides,
      logger: this.logger,
      onFatal: (error) => this.failWith(error),
    });
    if (decision.stream) {
      this.incremental = new IncrementalSnapshots({
        config,
        builder: this.builder,
        ack: this.ack,
        registry,
        filter,
        keyOverrides,
        catalog,
        logger: this.logger,
        onFatal: (error) => this.failWith(error),
      });
      this.builder.observe(this.incremental);
      this.incremental.resume(previous?.incremental ?? null);
    }

    if (!decision.snapshot) {
      // Nothing to read in the exported snapshot: let it go before streaming.
      await this.exported?.release();
      this.exported = undefined;
      if (decision.stream) await this.session.start(startLsn);
      return;
    }
    const position: StreamPosition = resume
      ? {
          lsn: resume.lsn,
          lsn_proc: startLsn,
          lsn_commit: resume.lsn_commit,
          txId: resume.txId,
          ts_usec: resume.ts_usec,
          tx_commit_lsn: resume.tx_commit_lsn,
          tx_event: resume.tx_event,
        }
      : {
          lsn: startLsn,
          lsn_proc: startLsn,
          lsn_commit: null,
          txId: null,
          ts_usec: 0,
          tx_commit_lsn: null,
          tx_event: 0,
        };
    const tables = [...catalog.values()]
      .filter((table) => filter.includesTable(table.schema, table.table))
      .sort((a, b) => a.schema.localeCompare(b.schema) || a.table.localeCompare(b.table));
    // The snapshot runs in the background (poll() drains its records); streaming follows it.
    this.phases = this.snapshotThenStream(decision, {
      registry,
      filter,
      keyOverrides,
      tables,
      position,
      incremental: previous?.incremental ?? null,
      startLsn,
    }).catch((error: unknown) => this.failWith(error as Error));
  }

  private async snapshotThenStream(
    decision: SnapshotDecision,
    plan: {
      registry: TypeRegistry;
      filter: CaptureFilter;
      keyOverrides: KeyColumnOverrides;
      tables: TableCatalog[];
      position: StreamPosition;
      incremental: string | null;
      startLsn: number;
    },
  ): Promise<void> {
    const config = this.config;
    try {
      // The slot created by this start exported its snapshot; otherwise a temporary slot exports
      // one (exactly consistent with its own point, see snapshot.ts).
      const source =
        this.exported ??
        (await createSlotWithSnapshot(config, {
          temporary: true,
          slotName: `${config.slotName.slice(0, 40)}_snap_${randomUUID().slice(0, 8)}`,
        }));
      this.exported = source;
      if (this.stopped) return;
      this.logger.info(
        { consistentPoint: source.consistentPoint, tables: plan.tables.length },
        'snapshot started',
      );
      const queue = this.queue;
      const snapshot = new InitialSnapshot({
        config,
        snapshotName: source.snapshotName,
        consistentPoint: source.consistentPoint,
        tables: plan.tables,
        registry: plan.registry,
        filter: plan.filter,
        keyOverrides: plan.keyOverrides,
        identity: { serverName: config.topicPrefix, database: config.database },
        partition: this.partition,
        position: plan.position,
        incremental: plan.incremental,
        sink: {
          push: (record, bytes) => queue.push(record, bytes),
          get full() {
            return queue.isPaused;
          },
          waitForRoom: () => queue.waitForRoom(this.stopController.signal),
        },
        signal: this.stopController.signal,
        logger: this.logger,
      });
      this.initialSnapshot = snapshot;
      await snapshot.run();
      if (this.stopped) return;
      this.logger.info(snapshot.progress(), 'snapshot completed');
    } finally {
      await this.exported?.release();
      this.exported = undefined;
    }
    this.snapshotCompleted = true;
    if (decision.stream && !this.stopped) {
      await this.session!.start(plan.startLsn);
      if (this.queue.isPaused) this.session!.pause();
    }
  }

  private failWith(error: Error): void {
    if (this.stopped) return;
    this.fatal ??= error;
    this.logger.error({ code: (error as KafkiError).code }, error.message);
    this.queue.wake();
  }

  /** The bounded queue between the stream and poll() (status, metrics, tests). */
  get queueState(): { records: number; bytes: number; paused: boolean; limitBytes: number } {
    return {
      records: this.queue?.length ?? 0,
      bytes: this.queue?.bytes ?? 0,
      paused: this.queue?.isPaused ?? false,
      limitBytes: this.config?.maxQueueSizeInBytes ?? 0,
    };
  }

  /**
   * The slot, once no other connection holds it or after slot.max.retries tries: a cluster member
   * that died without closing its replication connection keeps the slot active until PostgreSQL
   * notices (wal_sender_timeout), and a task that moved to another member must wait that out.
   */
  private async slotWhenFree(
    client: pg.Client,
    config: PostgresSourceConfig,
  ): Promise<SlotInfo | undefined> {
    let slot = await slotInfo(client, config.slotName);
    for (let retry = 1; slot?.active && retry <= config.slotMaxRetries; retry++) {
      this.logger.warn(
        { slot: config.slotName, activePid: slot.activePid, retry, of: config.slotMaxRetries },
        `the replication slot is in use; trying again in ${config.slotRetryDelayMs} ms`,
      );
      await sleep(config.slotRetryDelayMs, this.stopController.signal);
      if (this.stopController.signal.aborted) break;
      slot = await slotInfo(client, config.slotName);
    }
    return slot;
  }

  async poll(signal: AbortSignal): Promise<SourceRecord[]> {
    if (this.fatal) throw this.fatal;
    const now = Date.now();
    this.housekeeping(now);
    let batch = this.queue.take(this.config.maxBatchSize);
    if (batch.length === 0) {
      await this.queue.waitForItems(this.config.pollIntervalMs, signal);
      if (this.fatal) throw this.fatal;
      batch = this.queue.take(this.config.maxBatchSize);
    }
    this.rate.add(batch.length, Date.now());
    return batch;
  }

  async commit(offsets: readonly DurableOffset[]): Promise<void> {
    if (!this.ack) return;
    const before = this.ack.safeLsn;
    // The only path by which the slot's confirmed_flush_lsn moves: positions of durable records.
    if (this.ack.durable(offsets, this.partition) > before) this.session?.acknowledge();
  }

  /**
   * A signal from the runtime (REST): checked, then written into the WAL as a logical decoding
   * message, which the stream reads back in order and handles like a signal-table insert.
   */
  async signal(signal: TaskSignal): Promise<void> {
    validateSignal(signal.type, signal.data);
    if (this.decision && !this.decision.stream) {
      throw new InvalidInputError(
        PostgresErrorCode.notStreaming,
        `snapshot.mode=${this.config.snapshotMode}: this task does not stream, so it cannot act on signals`,
      );
    }
    if (!this.metadata) {
      throw new InvalidInputError(PostgresErrorCode.notStreaming, 'the task is not running');
    }
    await writeSignal(this.metadata, {
      id: signal.id ?? randomUUID(),
      type: signal.type,
      data: signal.data ?? null,
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopController.abort();
    this.queue?.wake();
    await this.release();
  }

  private async release(): Promise<void> {
    await this.incremental?.stop().catch(() => undefined);
    await this.session?.stop().catch(() => undefined);
    this.session = undefined;
    await this.phases;
    await this.exported?.release();
    this.exported = undefined;
    if (this.config?.slotDropOnStop && this.metadata) {
      await this.dropSlotWhenReleased().catch((error: unknown) =>
        this.logger.warn(
          { error: (error as Error).message },
          'could not drop the replication slot',
        ),
      );
    }
    await this.metadata?.close();
    this.metadata = undefined;
  }

  private async dropSlotWhenReleased(): Promise<void> {
    const client = await this.metadata!.get();
    // The walsender lets go of the slot shortly after the connection closes.
    for (let attempt = 0; attempt < 50; attempt++) {
      const slot = await slotInfo(client, this.config.slotName);
      if (!slot) return;
      if (!slot.active) {
        await dropSlot(client, this.config.slotName);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Heartbeats, lag measurement and progress reports, at most at their configured rates. */
  private housekeeping(now: number): void {
    if (this.heartbeat.due(now) && !this.heartbeatRunning && this.session) {
      this.heartbeat.sent(now);
      this.heartbeatRunning = true;
      void this.sendHeartbeat().finally(() => {
        this.heartbeatRunning = false;
      });
    }
    if (now - this.lagCheckedAt >= this.config.lagCheckIntervalMs && this.metadata) {
      this.lagCheckedAt = now;
      const metadata = this.metadata;
      void metadata
        .get()
        .then((client) => slotRetainedBytes(client, this.config.slotName))
        .then(
          (bytes) => {
            this.retainedBytes = bytes;
          },
          () => undefined,
        );
    }
    if (now - this.progressAt >= progressIntervalMs) {
      this.progressAt = now;
      const builder = this.builder;
      const progress: Record<string, string | number | boolean> = {
        phase: !this.snapshotCompleted
          ? 'snapshot'
          : this.decision?.stream === false
            ? 'snapshot completed (initial_only: not streaming)'
            : 'streaming',
        'snapshot.completed': this.snapshotCompleted,
        'events.total': builder?.eventsEmitted ?? 0,
        'events.per.second': Math.round(this.rate.perSecond(now)),
        'lag.ms.behind.source': builder ? Math.max(0, Math.round(builder.lagUs / 1000)) : 0,
        'queue.records': this.queue.length,
        'queue.bytes': this.queue.bytes,
        'slot.acknowledged.lsn': this.ack?.safeLsn ?? 0,
        reconnects: this.session?.reconnects ?? 0,
      };
      if (this.retainedBytes !== undefined) progress['slot.retained.bytes'] = this.retainedBytes;
      if (this.initialSnapshot) Object.assign(progress, this.initialSnapshot.progress());
      if (this.incremental) Object.assign(progress, this.incremental.progress());
      this.context.reportProgress(progress);
    }
  }

  /**
   * heartbeat.action.query, then a non-transactional logical decoding message: it reaches this
   * slot even when no captured table changes, and the heartbeat record emitted for it carries
   * its LSN, which is acknowledged once durable.
   */
  private async sendHeartbeat(): Promise<void> {
    const metadata = this.metadata;
    if (!metadata) return;
    try {
      if (this.config.heartbeatActionQuery) await metadata.query(this.config.heartbeatActionQuery);
      await metadata.query('select pg_logical_emit_message(false, $1::text, $2::text)', [
        heartbeatMessagePrefix,
        this.config.slotName,
      ]);
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'heartbeat failed');
    }
  }
}
