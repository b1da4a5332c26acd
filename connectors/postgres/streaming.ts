// The streaming phase: one replication connection at a time feeding the change-event builder,
// reconnecting with backoff when PostgreSQL goes away, and resuming where the records handed on
// so far end (no gap, no duplicate within one task's life).
//
// Relation messages sometimes need the catalog (primary key, NOT NULL columns, types created
// after the task started). Those lookups are asynchronous while the stream is not: until a lookup
// returns, the session pauses the socket and keeps the messages that already arrived (copied out
// of the driver's reused buffer) to replay them in order afterwards.

import type { Logger } from '../../runtime/api/index.ts';
import { backoffDelay, sleep } from '../../runtime/cdc/backoff.ts';
import { CaptureFilter, type KeyColumnOverrides } from '../../runtime/cdc/filters.ts';
import type { ChangeEventBuilder } from './change-events.ts';
import type { PostgresSourceConfig } from './config.ts';
import { loadTables, loadTypes, type MetadataConnection, type TableCatalog } from './connection.ts';
import { PostgresErrorCode } from './errors.ts';
import { parseOffset, ResumeFilter, type AckTracker } from './offset.ts';
import { detachMessage, type PgoutputMessage, type RelationMessage } from './pgoutput-decoder.ts';
import { ReplicationStream } from './replication-stream.ts';
import { TableSchema } from './table-schema.ts';
import type { TypeRegistry } from './type-registry.ts';
import { isRetriable, KafkiError } from '../../runtime/api/index.ts';

/** Admits every column (for reading the signal table's columns). */
const permissive = new CaptureFilter({}, new Set());

/** Status messages after commits are at most this frequent. */
const acknowledgeIntervalMs = 100;

export interface StreamingOptions {
  config: PostgresSourceConfig;
  builder: ChangeEventBuilder;
  ack: AckTracker;
  registry: TypeRegistry;
  catalog: Map<number, TableCatalog>;
  metadata: MetadataConnection;
  filter: CaptureFilter;
  keyOverrides: KeyColumnOverrides;
  logger: Logger;
  /** The stream failed for good (after retries, or with a non-retriable error). */
  onFatal(error: Error): void;
  /** Reconnection attempts, for status. */
  onReconnecting?(attempt: number, error: Error): void;
}

function sameRelation(a: RelationMessage, b: RelationMessage): boolean {
  if (
    a.schema !== b.schema ||
    a.name !== b.name ||
    a.replicaIdentity !== b.replicaIdentity ||
    a.columns.length !== b.columns.length
  ) {
    return false;
  }
  return a.columns.every((column, i) => {
    const other = b.columns[i]!;
    return (
      column.name === other.name &&
      column.typeOid === other.typeOid &&
      column.typeModifier === other.typeModifier &&
      column.isKey === other.isKey
    );
  });
}

export class StreamingSession {
  private stream: ReplicationStream | undefined;
  private readonly relations = new Map<number, RelationMessage>();
  private gated = false;
  private backlog: Array<[PgoutputMessage, number]> = [];
  /** Bumped per connection, so a lookup finishing after a reconnect changes nothing. */
  private generation = 0;
  private queueFull = false;
  private stopped = false;
  private readonly stopController = new AbortController();
  reconnects = 0;
  private lastAcknowledge = 0;
  private acknowledgeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: StreamingOptions) {}

  /** Start streaming at `startLsn`; rejects (classified) when the server refuses. */
  async start(startLsn: number): Promise<void> {
    await this.open(startLsn);
  }

  private async open(startLsn: number): Promise<void> {
    const generation = ++this.generation;
    this.gated = false;
    this.backlog = [];
    const stream = new ReplicationStream(this.options.config, {
      message: (message, walLsn) => {
        if (generation === this.generation) this.onMessage(message, walLsn);
      },
      keepalive: (walEnd) => {
        if (generation === this.generation && !this.gated) this.options.builder.keepalive(walEnd);
      },
      failed: (error) => {
        if (generation === this.generation) void this.onFailure(error);
      },
      safeLsn: () => this.options.ack.safeLsn,
    });
    this.stream = stream;
    await stream.start(this.options.config.slotName, startLsn);
    if (this.queueFull) stream.pause();
  }

  /** The bounded queue is full: stop reading the socket until it drains. */
  pause(): void {
    this.queueFull = true;
    this.stream?.pause();
  }

  resume(): void {
    this.queueFull = false;
    if (!this.gated) this.stream?.resume();
  }

  /**
   * Report the durable position soon after a commit moved it: at most one status message per
   * `acknowledgeIntervalMs` (the position sent is always the latest durable one).
   */
  acknowledge(): void {
    if (this.acknowledgeTimer) return;
    const wait = this.lastAcknowledge + acknowledgeIntervalMs - Date.now();
    if (wait <= 0) {
      this.lastAcknowledge = Date.now();
      this.stream?.sendStatus();
      return;
    }
    this.acknowledgeTimer = setTimeout(() => {
      this.acknowledgeTimer = undefined;
      this.lastAcknowledge = Date.now();
      this.stream?.sendStatus();
    }, wait);
    this.acknowledgeTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.acknowledgeTimer) clearTimeout(this.acknowledgeTimer);
    this.acknowledgeTimer = undefined;
    this.stopController.abort();
    this.generation++;
    await this.stream?.stop();
    this.stream = undefined;
  }

  private onMessage(message: PgoutputMessage, walLsn: number): void {
    if (this.gated) {
      this.backlog.push([detachMessage(message), walLsn]);
      return;
    }
    try {
      this.dispatch(message, walLsn);
    } catch (error) {
      void this.fail(error as Error);
    }
  }

  private dispatch(message: PgoutputMessage, walLsn: number): void {
    if (message.tag === 'relation') {
      if (!this.installRelation(message)) {
        this.gate(message);
      }
      return;
    }
    this.options.builder.handle(message, walLsn);
  }

  /** Build the table schema now if everything is known; false when a catalog lookup is needed. */
  private installRelation(relation: RelationMessage): boolean {
    const { builder, filter, catalog, registry } = this.options;
    const schema = relation.schema === '' ? 'pg_catalog' : relation.schema;
    if (!filter.includesTable(schema, relation.name) && !this.isSignalTable(relation)) {
      builder.setTable(relation.relationId, null);
      this.relations.set(relation.relationId, relation);
      return true;
    }
    const previous = this.relations.get(relation.relationId);
    const current = builder.table(relation.relationId);
    if (previous && current && sameRelation(previous, relation)) return true;
    const known = catalog.get(relation.relationId);
    const typesKnown = relation.columns.every((column) => registry.knows(column.typeOid));
    // A relation seen before whose columns changed (DDL): its catalog row is stale.
    if (!known || !typesKnown || previous) return false;
    this.installSchema(relation, known);
    return true;
  }

  private isSignalTable(relation: RelationMessage): boolean {
    const signal = this.options.config.signalTable;
    return signal !== undefined && signal[0] === relation.schema && signal[1] === relation.name;
  }

  private installSchema(relation: RelationMessage, known: TableCatalog | undefined): void {
    const { builder, registry, config, filter, keyOverrides } = this.options;
    const signal = this.isSignalTable(relation);
    const captured = filter.includesTable(relation.schema, relation.name);
    const table = new TableSchema(relation, known, registry, {
      topicPrefix: config.topicPrefix,
      // A signal table the filters leave out: its columns are read, its events not emitted.
      filter: captured ? filter : permissive,
      keyOverrides,
      typeModes: config.typeModes,
      signal,
      captured,
    });
    builder.setTable(relation.relationId, table);
    this.relations.set(relation.relationId, relation);
  }

  /** Pause, look the relation up, then replay what arrived meanwhile. */
  private gate(relation: RelationMessage): void {
    this.gated = true;
    this.stream?.pause();
    const generation = this.generation;
    void this.lookup(relation).then(
      () => {
        if (generation !== this.generation) return;
        this.gated = false;
        const backlog = this.backlog;
        this.backlog = [];
        for (let i = 0; i < backlog.length; i++) {
          const [message, walLsn] = backlog[i]!;
          if (this.gated) {
            // Another relation needs a lookup: keep the rest, in order, behind it.
            this.backlog.unshift(...backlog.slice(i));
            return;
          }
          this.onMessage(message, walLsn);
        }
        if (!this.gated && !this.queueFull) this.stream?.resume();
      },
      (error: unknown) => {
        if (generation === this.generation) void this.onFailure(error as Error);
      },
    );
  }

  private async lookup(relation: RelationMessage): Promise<void> {
    const { metadata, catalog, registry } = this.options;
    const client = await metadata.get();
    const unknown = relation.columns
      .map((column) => column.typeOid)
      .filter((oid) => !registry.knows(oid));
    if (unknown.length > 0) for (const type of await loadTypes(client, unknown)) registry.add(type);
    // Element types of new array types, and base types of new domains.
    const nested = unknown
      .map((oid) => registry.get(oid))
      .flatMap((type) => (type ? [type.elementOid, type.baseOid] : []))
      .filter((oid) => oid !== 0 && !registry.knows(oid));
    if (nested.length > 0) for (const type of await loadTypes(client, nested)) registry.add(type);
    const [table] = await loadTables(client, [relation.relationId]);
    if (table) catalog.set(table.oid, table);
    this.installSchema(relation, table);
  }

  private async fail(error: Error): Promise<void> {
    if (this.stopped) return;
    this.generation++;
    await this.stream?.stop();
    this.stream = undefined;
    this.options.onFatal(error);
  }

  private async onFailure(error: Error): Promise<void> {
    if (this.stopped) return;
    if (!isRetriable(error)) return this.fail(error);
    this.generation++;
    const old = this.stream;
    this.stream = undefined;
    await old?.stop();
    const { config, logger, builder, ack } = this.options;
    let lastError: Error = error;
    for (let attempt = 0; !this.stopped; attempt++) {
      if (config.maxRetries >= 0 && attempt >= config.maxRetries) {
        return this.fail(
          new KafkiError(
            lastError instanceof KafkiError ? lastError.code : PostgresErrorCode.connectionLost,
            `giving up after ${attempt} reconnection attempts (errors.max.retries=${config.maxRetries}): ${lastError.message}`,
            { cause: lastError },
          ),
        );
      }
      this.options.onReconnecting?.(attempt + 1, lastError);
      const delay = backoffDelay(attempt, { initialMs: 200, maxMs: config.reconnectBackoffMaxMs });
      logger.warn(
        { attempt: attempt + 1, delayMs: delay, error: lastError.message },
        'replication stream lost; reconnecting',
      );
      await sleep(delay, this.stopController.signal);
      if (this.stopped) return;
      try {
        // Drop what this task already handed on; start where its records' positions end.
        const last = ack.lastEmittedOffset;
        builder.resumeFrom(new ResumeFilter(last ? parseOffset(last) : null));
        await this.open(builder.restartLsn);
        this.reconnects++;
        logger.info({ attempt: attempt + 1 }, 'replication stream resumed');
        return;
      } catch (reconnectError) {
        lastError = reconnectError as Error;
        const code = reconnectError instanceof KafkiError ? reconnectError.code : '';
        // Right after a network failure our previous walsender may still hold the slot.
        if (!isRetriable(reconnectError) && code !== PostgresErrorCode.slotInUse) {
          return this.fail(lastError);
        }
      }
    }
  }
}
