// Decoded pgoutput messages → Debezium change records, synchronously, in stream order.
//
// Keeps the transaction in flight (xid, commit LSN and time), the positions that make offsets
// (see offset.ts), the resume filter that drops what a previous run already delivered, and the
// transaction metadata counters. Each record goes to `sink.emit` as soon as it is built; nothing
// here waits or allocates per column beyond the row objects themselves.

import {
  type SourceOffset,
  type SourcePartition,
  type SourceRecord,
  type RecordObject,
  type RecordHeaders,
} from '../../runtime/api/index.ts';
import {
  envelope,
  keyText,
  nowMicros,
  sameData,
  type Operation,
} from '../../runtime/cdc/envelope.ts';
import {
  heartbeatKey,
  heartbeatKeySchema,
  heartbeatTopic,
  heartbeatValue,
  heartbeatValueSchema,
} from '../../runtime/cdc/heartbeat.ts';
import {
  TransactionTracker,
  transactionKeySchema,
  transactionValueSchema,
} from '../../runtime/cdc/transaction-metadata.ts';
import type { TransactionBlock } from '../../runtime/cdc/envelope.ts';
import { KafkiError } from '../../runtime/api/index.ts';
import type { PostgresSourceConfig } from './config.ts';
import { PostgresErrorCode } from './errors.ts';
import { AckTracker, endOfTransaction, offsetVersion, ResumeFilter } from './offset.ts';
import type {
  DeleteMessage,
  InsertMessage,
  PgoutputMessage,
  TruncateMessage,
  UpdateMessage,
} from './pgoutput-decoder.ts';
import { sequencePrefix, sourceBlock, type SourceIdentity } from './source-info.ts';
import { TransactionVersions, versionHeaders } from './change-version.ts';
import { ColumnKind, type TableSchema } from './table-schema.ts';

/** Prefix of the logical decoding messages the heartbeat writes (pg_logical_emit_message). */
export const heartbeatMessagePrefix = 'kafki-heartbeat';
/** Prefix of the open/close window messages of incremental snapshots. */
export const watermarkMessagePrefix = 'kafki-watermark';
/** Prefix of signals sent through the REST API (written into the WAL, read back in order). */
export const signalMessagePrefix = 'kafki-signal';

/** A signal as Debezium's signal table holds it: id, type, data (JSON text). */
export interface SignalRow {
  id: string;
  type: string;
  data: string | null;
}

/**
 * What the incremental snapshot needs from the stream, in stream order: changes of the tables it
 * reads (their keys), signals and its watermarks.
 */
export interface StreamObserver {
  /** Relation ids whose changes `change` receives. */
  readonly relations: ReadonlySet<number>;
  /** A change of a watched relation by transaction `xid`; key null: a truncate (every row). */
  change(relationId: number, xid: number, key: RecordObject | null): void;
  /** A signal (signal table insert or signal message) at `lsn`. */
  signal(signal: SignalRow, lsn: number): void;
  /** A watermark message at `lsn` (its content). */
  watermark(content: string, lsn: number): void;
}

export interface RecordSink {
  /**
   * Take one record; `bytes` estimates its memory for the bounded queue. A record with
   * `joinsNext` is followed by more records of its pgoutput message (a delete's tombstone, a key
   * update's create): a poll batch must not end there (runtime/cdc/change-queue.ts).
   */
  emit(record: SourceRecord, bytes: number): void;
}

export interface ChangeEventOptions {
  config: PostgresSourceConfig;
  identity: SourceIdentity;
  partition: SourcePartition;
  ack: AckTracker;
  resume: ResumeFilter;
  sink: RecordSink;
  /** Whether the snapshot phase is behind us (recorded in every offset). */
  snapshotCompleted: boolean;
  /** The position streaming starts from: the first lsn_proc. */
  startLsn: number;
  /** lsn_commit of the offset resumed from (what the replayed records carried the first time). */
  lastCommitLsn?: number | null;
  clock?: () => number;
}

/** Fixed part of a record's memory estimate (objects, schema references, offset). */
const recordOverhead = 600;

export class ChangeEventBuilder {
  private readonly tables = new Map<number, TableSchema | null>();
  private readonly config: PostgresSourceConfig;
  private readonly identity: SourceIdentity;
  private readonly partition: SourcePartition;
  private readonly ack: AckTracker;
  private resume: ResumeFilter;
  private readonly sink: RecordSink;
  private readonly clock: () => number;
  private readonly transactions: TransactionTracker | undefined;
  private readonly transactionTopic: string;
  private readonly heartbeatTopic: string;
  private readonly snapshotCompleted: boolean;

  private inTransaction = false;
  private xid = 0;
  private commitLsn = 0;
  private commitTimeUs = 0;
  private previousLsn = -1;
  private group = 0;
  private beginEmitted = false;
  /** End LSN of the last commit received (Debezium's lsn_commit). */
  private lastCommitEnd: number | null = null;
  private sequencePrefix = sequencePrefix(null);
  /** Every transaction committed before this LSN is fully emitted (offset lsn_proc). */
  private flushable: number;

  private clockValue = 0;
  private clockUses = 64;
  /** SOURCE_VERSION_HEADER of the changes of the transaction being received. */
  private readonly versions = new TransactionVersions();
  private observer: StreamObserver | undefined;
  /** The incremental snapshot in progress, in every offset (JSON text) or null. */
  incrementalState: string | null = null;

  /** Counters for status and metrics. */
  eventsEmitted = 0;
  lastCommitTimeUs = 0;
  /** Processing time minus commit time of the latest change event (Debezium's ms behind source). */
  lagUs = 0;

  constructor(options: ChangeEventOptions) {
    this.config = options.config;
    this.identity = options.identity;
    this.partition = options.partition;
    this.ack = options.ack;
    this.resume = options.resume;
    this.sink = options.sink;
    this.clock = options.clock ?? nowMicros;
    this.snapshotCompleted = options.snapshotCompleted;
    this.flushable = options.startLsn;
    this.lastCommitEnd = options.lastCommitLsn ?? null;
    this.sequencePrefix = sequencePrefix(this.lastCommitEnd);
    this.transactions = options.config.provideTransactionMetadata
      ? new TransactionTracker()
      : undefined;
    this.transactionTopic = `${options.config.topicPrefix}.${options.config.transactionTopic}`;
    this.heartbeatTopic = heartbeatTopic(
      options.config.heartbeatTopicPrefix,
      options.config.topicPrefix,
    );
  }

  /** The incremental snapshot's hooks (see StreamObserver). */
  observe(observer: StreamObserver | undefined): void {
    this.observer = observer;
  }

  /** Install the schema of a relation (null: the table is not captured). */
  setTable(relationId: number, table: TableSchema | null): void {
    this.tables.set(relationId, table);
  }

  table(relationId: number): TableSchema | null | undefined {
    return this.tables.get(relationId);
  }

  /** After a reconnect: drop what the previous connection already delivered. */
  resumeFrom(filter: ResumeFilter): void {
    this.resume = filter;
    this.inTransaction = false;
  }

  /** The offset a resumed stream should start from (the last emitted record's lsn_proc). */
  get restartLsn(): number {
    return this.flushable;
  }

  get transactionOpen(): boolean {
    return this.inTransaction;
  }

  handle(message: PgoutputMessage, walLsn: number): void {
    switch (message.tag) {
      case 'insert':
        return this.insert(message, walLsn);
      case 'update':
        return this.update(message, walLsn);
      case 'delete':
        return this.delete(message, walLsn);
      case 'begin':
        this.clockUses = 64;
        this.inTransaction = true;
        this.xid = message.xid;
        this.commitLsn = message.finalLsn;
        this.commitTimeUs = message.commitTimeUs;
        this.previousLsn = -1;
        this.group = 0;
        this.beginEmitted = false;
        this.versions.begin(message.finalLsn);
        this.resume.beginTransaction(message.finalLsn);
        this.transactions?.begin(`${message.xid}:${walLsn}`);
        return;
      case 'commit':
        return this.commit(message.endLsn, message.commitTimeUs);
      case 'truncate':
        return this.truncate(message, walLsn);
      case 'message':
        return this.logicalMessage(
          message.prefix,
          message.transactional,
          message.lsn,
          message.content,
        );
      case 'relation':
      case 'type':
      case 'origin':
        return;
    }
  }

  /** A keepalive: its WAL end is a safe position when no transaction is being received. */
  keepalive(walEnd: number): void {
    if (this.inTransaction) return;
    this.advance(walEnd);
  }

  /**
   * The connector's clock for ts_ms/ts_us, read once per 64 events (and at each transaction
   * boundary): reading it costs about as much as building a row, and the events of a burst are
   * processed within microseconds of each other.
   */
  private now(): number {
    if (++this.clockUses >= 64) {
      this.clockUses = 0;
      this.clockValue = this.clock();
    }
    return this.clockValue;
  }

  private advance(lsn: number): void {
    if (lsn > this.flushable) this.flushable = lsn;
    this.ack.mark(lsn);
  }

  // ---- records ----

  private position(lsn: number): void {
    if (lsn === this.previousLsn) this.group++;
    else {
      this.previousLsn = lsn;
      this.group = 0;
    }
  }

  private offset(lsn: number, event: number): SourceOffset {
    return {
      offset_version: offsetVersion,
      lsn,
      lsn_proc: this.flushable,
      lsn_commit: this.lastCommitEnd,
      txId: this.xid,
      ts_usec: this.commitTimeUs,
      tx_commit_lsn: this.commitLsn,
      tx_event: event,
      snapshot_completed: this.snapshotCompleted,
      incremental: this.incrementalState,
    };
  }

  private push(record: SourceRecord, bytes: number, joinsNext = false): void {
    this.ack.emitted(record.sourceOffset);
    if (joinsNext) record.joinsNext = true;
    this.sink.emit(record, bytes);
  }

  private source(table: TableSchema, lsn: number): RecordObject {
    return sourceBlock(
      this.identity,
      'false',
      this.commitTimeUs,
      table.schemaName,
      table.tableName,
      this.xid,
      lsn,
      `${this.sequencePrefix}${lsn}"]`,
    );
  }

  private transactionBlock(table: TableSchema, emit: boolean): TransactionBlock | null {
    return this.transactions ? this.transactions.next(table.dataCollection, emit) : null;
  }

  private beginRecord(lsn: number, event: number): void {
    if (!this.transactions || this.beginEmitted) return;
    this.beginEmitted = true;
    const tracker = this.transactions;
    this.push(
      {
        topic: this.transactionTopic,
        key: { id: tracker.transactionId },
        keySchema: transactionKeySchema,
        value: tracker.beginValue(Math.floor(this.commitTimeUs / 1000)),
        valueSchema: transactionValueSchema,
        sourcePartition: this.partition,
        sourceOffset: this.offset(lsn, event),
      },
      recordOverhead,
    );
  }

  /**
   * One change event. `final` says whether it is the last record of its pgoutput message; the
   * others carry the position before the message so a replay re-emits the whole message.
   */
  private change(
    table: TableSchema,
    op: Operation,
    before: RecordObject | null,
    after: RecordObject | null,
    key: RecordObject | null,
    lsn: number,
    skip: boolean,
    final: boolean,
    bytes: number,
    headers?: RecordHeaders,
    version: RecordHeaders = this.versions.headers(),
  ): void {
    const block = this.transactionBlock(table, !skip);
    if (skip) return;
    const event = final ? this.group : this.group - 1;
    this.beginRecord(lsn, event);
    const now = this.now();
    this.lagUs = now - this.commitTimeUs;
    const value = envelope(op, before, after, this.source(table, lsn), block, now);
    const record: SourceRecord = {
      topic: table.topic,
      key,
      keySchema: key === null ? undefined : table.keySchema,
      value,
      valueSchema: table.envelopeSchema,
      sourcePartition: this.partition,
      sourceOffset: this.offset(lsn, event),
      headers: headers === undefined ? version : { ...version, ...headers },
    };
    this.eventsEmitted++;
    this.push(record, bytes, !final);
  }

  private tombstone(
    table: TableSchema,
    key: RecordObject,
    lsn: number,
    skip: boolean,
    final: boolean,
  ): void {
    if (skip) return;
    this.push(
      {
        topic: table.topic,
        key,
        keySchema: table.keySchema,
        value: null,
        sourcePartition: this.partition,
        sourceOffset: this.offset(lsn, final ? this.group : this.group - 1),
        // The delete's version: a tombstone deletes the same document.
        headers: this.versions.headers(),
      },
      recordOverhead,
      !final,
    );
  }

  private captured(relationId: number): TableSchema | null {
    const table = this.tables.get(relationId);
    if (table === undefined) {
      throw new KafkiError(
        PostgresErrorCode.protocol,
        `pgoutput sent a change for relation ${relationId} before its relation message`,
      );
    }
    return table;
  }

  private insert(message: InsertMessage, lsn: number): void {
    this.position(lsn);
    this.versions.message();
    const table = this.captured(message.relationId);
    if (table === null) return;
    if (table.signal) {
      const skip = this.resume.skip(lsn, this.group);
      table.decodeTuple(message.data, message.newTuple);
      if (!skip) this.signalRow(table, lsn);
      if (!table.captured) return;
    }
    if (this.config.skippedOperations.has('c')) return;
    const skip = this.resume.skip(lsn, this.group);
    table.decodeTuple(message.data, message.newTuple);
    const after = table.makeRow(table.values);
    const key = table.keyFromValues();
    const observer = this.observer;
    if (observer !== undefined && observer.relations.has(table.relationId)) {
      observer.change(table.relationId, this.xid, key);
    }
    this.change(
      table,
      'c',
      null,
      after,
      key,
      lsn,
      skip,
      true,
      message.data.length * 2 + recordOverhead,
    );
  }

  private update(message: UpdateMessage, lsn: number): void {
    this.position(lsn);
    this.versions.message();
    const table = this.captured(message.relationId);
    if (table === null || !table.captured) return;
    if (this.config.skippedOperations.has('u')) return;
    const skip = this.resume.skip(lsn, this.group);
    const bytes = message.data.length * 2 + recordOverhead;
    let before: RecordObject | null = null;
    let oldKey: RecordObject | null = null;
    if (message.oldTuple >= 0) {
      table.decodeTuple(message.data, message.oldTuple);
      before = table.makeRow(table.values);
      if (message.oldKind === 'O' || table.hasAllKeyColumns()) oldKey = table.keyFromValues();
    }
    table.decodeTuple(message.data, message.newTuple);
    const after = table.makeRow(table.values);
    let newKey = table.keyFromValues();
    // A key column sent as "unchanged TOAST" did not change.
    for (const index of table.keyIndexes) {
      if (table.kinds[index] === ColumnKind.unchanged) {
        newKey = oldKey ?? newKey;
        break;
      }
    }
    const observer = this.observer;
    if (observer !== undefined && observer.relations.has(table.relationId)) {
      if (oldKey !== null) observer.change(table.relationId, this.xid, oldKey);
      observer.change(table.relationId, this.xid, newKey);
    }
    if (oldKey !== null && newKey !== null && !sameData(oldKey, newKey)) {
      // Primary key change: delete of the old key (+ tombstone), then create of the new key.
      const deletes = !this.config.skippedOperations.has('d');
      const creates = !this.config.skippedOperations.has('c');
      if (deletes) {
        const last = !this.config.tombstonesOnDelete && !creates;
        this.change(table, 'd', before, null, oldKey, lsn, skip, last, bytes, {
          '__debezium.newkey': keyText(newKey),
        });
        if (this.config.tombstonesOnDelete) this.tombstone(table, oldKey, lsn, skip, !creates);
      }
      if (creates) {
        this.change(
          table,
          'c',
          null,
          after,
          newKey,
          lsn,
          skip,
          true,
          bytes,
          { '__debezium.oldkey': keyText(oldKey) },
          this.versions.headers(true),
        );
      }
      return;
    }
    this.change(table, 'u', before, after, newKey, lsn, skip, true, bytes);
  }

  private delete(message: DeleteMessage, lsn: number): void {
    this.position(lsn);
    this.versions.message();
    const table = this.captured(message.relationId);
    if (table === null || !table.captured) return;
    if (this.config.skippedOperations.has('d')) return;
    const skip = this.resume.skip(lsn, this.group);
    table.decodeTuple(message.data, message.oldTuple);
    const before = table.makeRow(table.values);
    const key = table.keyFromValues();
    const observer = this.observer;
    if (observer !== undefined && observer.relations.has(table.relationId)) {
      observer.change(table.relationId, this.xid, key);
    }
    const tombstone = this.config.tombstonesOnDelete && key !== null;
    this.change(
      table,
      'd',
      before,
      null,
      key,
      lsn,
      skip,
      !tombstone,
      message.data.length * 2 + recordOverhead,
    );
    if (tombstone) this.tombstone(table, key, lsn, skip, true);
  }

  private truncate(message: TruncateMessage, lsn: number): void {
    this.position(lsn);
    this.versions.message();
    const tables = message.relationIds
      .map((id) => this.captured(id))
      .filter((table): table is TableSchema => table !== null && table.captured);
    const observer = this.observer;
    if (observer !== undefined) {
      for (const table of tables) {
        if (observer.relations.has(table.relationId))
          observer.change(table.relationId, this.xid, null);
      }
    }
    if (tables.length === 0) return;
    if (this.config.skippedOperations.has('t')) return;
    const skip = this.resume.skip(lsn, this.group);
    tables.forEach((table, index) => {
      this.change(
        table,
        't',
        null,
        null,
        null,
        lsn,
        skip,
        index === tables.length - 1,
        recordOverhead,
      );
    });
  }

  private commit(endLsn: number, commitTimeUs: number): void {
    this.inTransaction = false;
    this.lastCommitTimeUs = commitTimeUs;
    const tracker = this.transactions;
    if (tracker && tracker.eventCount > 0 && !this.resume.skip(endLsn, endOfTransaction)) {
      this.flushable = Math.max(this.flushable, endLsn);
      this.push(
        {
          topic: this.transactionTopic,
          key: { id: tracker.transactionId },
          keySchema: transactionKeySchema,
          value: tracker.endValue(Math.floor(commitTimeUs / 1000)),
          valueSchema: transactionValueSchema,
          sourcePartition: this.partition,
          sourceOffset: { ...this.offset(endLsn, endOfTransaction), lsn_commit: endLsn },
        },
        recordOverhead,
      );
    }
    this.lastCommitEnd = endLsn;
    this.sequencePrefix = sequencePrefix(endLsn);
    this.advance(endLsn);
  }

  private logicalMessage(
    prefix: string,
    transactional: boolean,
    lsn: number,
    content: Buffer,
  ): void {
    if (transactional) {
      this.position(lsn);
      return;
    }
    this.resume.outsideTransaction();
    this.advance(lsn);
    if (prefix === watermarkMessagePrefix) {
      this.observer?.watermark(content.toString('utf8'), lsn);
      return;
    }
    if (prefix === signalMessagePrefix) {
      if (this.observer) {
        try {
          const parsed = JSON.parse(content.toString('utf8')) as Partial<SignalRow>;
          this.observer.signal(
            {
              id: String(parsed.id ?? ''),
              type: String(parsed.type ?? ''),
              data: typeof parsed.data === 'string' ? parsed.data : null,
            },
            lsn,
          );
        } catch {
          // Written by this connector's own signal(): always JSON.
        }
      }
      return;
    }
    if (prefix !== heartbeatMessagePrefix) return;
    const now = this.clock();
    this.clockUses = 64;
    this.push(
      {
        topic: this.heartbeatTopic,
        key: heartbeatKey(this.identity.serverName),
        keySchema: heartbeatKeySchema,
        value: heartbeatValue(Math.floor(now / 1000)),
        valueSchema: heartbeatValueSchema,
        sourcePartition: this.partition,
        sourceOffset: {
          offset_version: offsetVersion,
          lsn,
          lsn_proc: this.flushable,
          lsn_commit: this.lastCommitEnd,
          txId: null,
          ts_usec: this.lastCommitTimeUs,
          tx_commit_lsn: null,
          tx_event: 0,
          snapshot_completed: this.snapshotCompleted,
          incremental: this.incrementalState,
        },
      },
      recordOverhead,
    );
  }

  /** A row inserted into the signal table (decoded into table.values): hand it on. */
  private signalRow(table: TableSchema, lsn: number): void {
    const observer = this.observer;
    if (!observer) return;
    const text = (name: string): string | null => {
      const index = table.columns.findIndex((column) => column.name === name);
      const value = index < 0 ? null : table.values[index];
      if (value === null || value === undefined) return null;
      return typeof value === 'string' ? value : JSON.stringify(value);
    };
    observer.signal({ id: text('id') ?? '', type: text('type') ?? '', data: text('data') }, lsn);
  }

  /**
   * Rows an incremental snapshot read, emitted at its close watermark `lsn` (op 'r', source.snapshot
   * 'incremental', version header from `lsn`). Each row's offset carries `stateBefore` (a crash before
   * the last row is durable re-reads the chunk), the last one `stateAfter`.
   */
  emitSnapshotRows(
    table: TableSchema,
    rows: ReadonlyArray<{ key: RecordObject | null; after: RecordObject; bytes: number }>,
    lsn: number,
    stateBefore: string | null,
    stateAfter: string | null,
  ): void {
    const headers = versionHeaders(lsn);
    const now = this.clock();
    this.clockUses = 64;
    for (let i = 0; i < rows.length; i++) {
      const { key, after, bytes } = rows[i]!;
      const last = i === rows.length - 1;
      this.push(
        {
          topic: table.topic,
          key,
          keySchema: key === null ? undefined : table.keySchema,
          value: envelope(
            'r',
            null,
            after,
            sourceBlock(
              this.identity,
              'incremental',
              now,
              table.schemaName,
              table.tableName,
              null,
              lsn,
              null,
            ),
            null,
            now,
          ),
          valueSchema: table.envelopeSchema,
          sourcePartition: this.partition,
          sourceOffset: {
            offset_version: offsetVersion,
            lsn,
            lsn_proc: this.flushable,
            lsn_commit: this.lastCommitEnd,
            txId: null,
            ts_usec: this.lastCommitTimeUs,
            tx_commit_lsn: null,
            tx_event: i,
            snapshot_completed: this.snapshotCompleted,
            incremental: last ? stateAfter : stateBefore,
          },
          headers,
        },
        bytes,
      );
      this.eventsEmitted++;
    }
    this.incrementalState = stateAfter;
  }
}
