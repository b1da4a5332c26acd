// ElasticsearchSinkTask: records → writes (document-mapper) → lanes (bulk-processor) → bulk
// requests with retries (bulk-client) → confirmed offsets (offset-tracker).
//
// put() maps the whole batch first, so records that cannot become writes fail the batch before
// anything of it is buffered: put() throws a RecordRejectedError naming each of them with its
// reason, and the runtime dead-letters them (errors.tolerance=all) or fails the task (none), then
// puts the rest of the batch again. Then it buffers, waiting while the buffer is full. Writes
// complete in the background; preCommit() returns only positions whose records, and every record
// before them in their partition, Elasticsearch has confirmed (or that were reported as errant).
// Positions are tracked by the records' original log coordinates (SinkRecord.originalTopic…),
// which transforms never change, so a topic-renaming transform needs nothing special.
// A failure that retries cannot fix is kept and thrown by the next put()/preCommit() (the
// runtime calls preCommit() on a timer, idle or not, so an idle task fails promptly too).
//
// Unchanged TOASTed values (behavior.on.unavailable.values=resolve, the default): a write whose
// row lacks values the source did not send (document-mapper.ts) gets them when its bulk request
// is assembled, in its lane: from an earlier write of the same document in that request, else
// from the document as Elasticsearch holds it (one real-time _mget per request). Every earlier
// write of the document has been answered by then (a lane has one request in flight), so that
// document is the row as it was before this update, whose unsent columns did not change.
// A primary-key update is a delete of the old key then a create of the new one, and the create's
// unsent values are the old document's. Such a create is buffered in the old key's lane, ahead of
// the delete (and tombstone) of the old key: when its request is assembled every earlier write of
// the old document is answered, the old document is still there to read, and the delete is sent
// only with or after the create — so also a replay after a crash in between finds one of the two
// documents with the values. This relies on the log never ending between the delete and the
// create (a restarted sink would send the delete alone): the source marks them as one group
// (SourceRecord.joinsNext), which poll batches, appends and the local log's batches keep whole.
// Later writes of the new key follow it into that lane while it has writes buffered or in flight
// there (one lane per document still). When the delete ends a batch
// it is held (not sent, its offset not committed) until the next put() shows whether the create
// follows (or for a second at most).

import { Client } from '@elastic/elasticsearch';
import type { ClientOptions } from '@elastic/elasticsearch';
import type {
  Logger,
  RawConfig,
  SinkRecord,
  SinkTask,
  SinkTaskContext,
  TopicPartition,
  TopicPartitionOffset,
} from '../../runtime/api/index.ts';
import {
  InvalidInputError,
  originalPosition,
  RecordRejectedError,
} from '../../runtime/api/index.ts';
import type { RecordRejection } from '../../runtime/api/index.ts';
import { BulkWriter, clientTransport, refKey } from './bulk-client.ts';
import type { BulkEntry, EsTransport, IndexRef, Rejected } from './bulk-client.ts';
import { BulkProcessor, laneOf } from './bulk-processor.ts';
import { parseSinkConfig } from './config.ts';
import type { ElasticsearchSinkConfig } from './config.ts';
import { actionLine, DocumentMapper, schemaIgnored } from './document-mapper.ts';
import type { PartitionVersions, Row, WriteOp } from './document-mapper.ts';
import { DocumentRejectedError, ErrorCodes, InvalidRecordError } from './errors.ts';
import { IndexResolver } from './index-name.ts';
import { indexMappings } from './mapping.ts';
import { OffsetTracker } from './offset-tracker.ts';
import type { PartitionTracker } from './offset-tracker.ts';
import { maxRequestTimeoutMs, withRetries } from './retry.ts';
import type { RetryPolicy } from './retry.ts';
import { NormalizerCache } from './value-normalizer.ts';
import { UnavailableDetector } from './unavailable-values.ts';
import { parseExactJson, toJson } from './json.ts';

interface PendingWrite extends BulkEntry {
  /** When put() first held it back (a primary-key update's delete ending a batch). */
  heldAt?: number;
  readonly record: SinkRecord;
  readonly tracker: PartitionTracker;
  readonly slot: number;
  /** Set when buffered: the document's lane, or the lane it was moved to (laneOverrides). */
  lane: number;
  /** Counted in laneOverrides (released when answered or dropped). */
  overridden?: boolean;
  /** Fields the source did not send and no stored document had (warned about if applied). */
  unsent?: UnsentValues;
  readonly bytes: number;
}

interface UnsentValues {
  fields: string[];
  stored: string | null;
  movedFrom?: string;
  movedFromStored?: string | null;
}

/** Documents whose writes go to another lane than their hash gives, while they have writes there. */
interface LaneOverride {
  lane: number;
  pending: number;
}

interface Mapped {
  readonly record: SinkRecord;
  readonly tracker: PartitionTracker;
  readonly op: WriteOp | undefined;
}

/**
 * What a buffered write keeps of its record, for reportErrant(): a shallow copy, not the record
 * put() was handed. The runtime maps each record it hands over to its stored form, whose key and
 * value are slices of the whole buffer it read from the log (megabytes); a write kept until
 * Elasticsearch answers would keep that buffer alive, and with thousands of writes buffered or in
 * flight the worker's memory would follow. When a copy is reported as errant the runtime reads
 * the original back from the log at the original coordinates the copy carries (a rare path).
 * Under behavior.on.malformed.documents=fail no record is ever reported, and the copy does not
 * keep the value either (the converted row: its objects, and small Buffers of decimals that each
 * pin a whole slab of Node's buffer pool).
 */
function retained(record: SinkRecord, keepValue: boolean): SinkRecord {
  const at = originalPosition(record);
  return {
    ...record,
    ...(keepValue ? {} : { value: null, valueSchema: undefined }),
    originalTopic: at.topic,
    originalPartition: at.partition,
    originalOffset: at.offset,
  };
}

/** How long a primary-key update's delete ending a batch waits for the next put(). */
const holdMs = 1000;

export interface ElasticsearchSinkTaskOptions {
  /**
   * How the task reaches Elasticsearch. Default: the official client built from the config.
   * Tests wrap it to observe requests (e.g. which documents are in flight at once).
   */
  readonly transport?: (config: ElasticsearchSinkConfig) => EsTransport;
}

function longestRequestMs(config: ElasticsearchSinkConfig): number {
  return Math.max(config.readTimeoutMs, maxRequestTimeoutMs);
}

export function clientOptions(config: ElasticsearchSinkConfig): ClientOptions {
  return {
    nodes: [...config.urls],
    ...(config.username !== undefined
      ? { auth: { username: config.username, password: config.password ?? '' } }
      : {}),
    compression: config.compression,
    // Every call passes its own timeout (read.timeout.ms, or more for a bulk retried after a
    // timeout). undici enforces the client-wide timeout as its headers and body timeout on every
    // request whatever the request asks, so the client-wide one is the longest any call may take.
    requestTimeout: longestRequestMs(config),
    // Retries are ours (with backoff and jitter, counted in max.retries).
    maxRetries: 0,
    // undici's pool takes connect.timeout; the client passes agent options through as they are
    // but types only a few of them.
    agent: {
      connect: { timeout: config.connectionTimeoutMs },
    } as unknown as ClientOptions['agent'],
  };
}

export function defaultTransport(config: ElasticsearchSinkConfig): EsTransport {
  return clientTransport(new Client(clientOptions(config)), config.readTimeoutMs);
}

export class ElasticsearchSinkTask implements SinkTask {
  private config!: ElasticsearchSinkConfig;
  private context!: SinkTaskContext;
  private logger!: Logger;
  private transport!: EsTransport;
  private writer!: BulkWriter;
  private mapper!: DocumentMapper;
  private processor!: BulkProcessor<PendingWrite>;
  private retryPolicy!: RetryPolicy;
  private readonly offsets = new OffsetTracker();
  private readonly ensuredIndices = new Set<string>();
  private readonly abort = new AbortController();
  private started = false;
  /** Writes not buffered yet (a primary-key update's delete that ended a batch, and what follows). */
  private held: PendingWrite[] = [];
  private readonly laneOverrides = new Map<string, LaneOverride>();

  constructor(private readonly options: ElasticsearchSinkTaskOptions = {}) {}

  async start(_config: RawConfig, context: SinkTaskContext): Promise<void> {
    const { config, errors } = parseSinkConfig(context.config);
    if (errors.length > 0) {
      throw new InvalidInputError(
        ErrorCodes.invalidConfig,
        `Invalid Elasticsearch sink configuration: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      );
    }
    this.config = config;
    this.context = context;
    this.logger = context.logger;
    this.transport = (this.options.transport ?? defaultTransport)(config);
    this.retryPolicy = {
      maxRetries: config.maxRetries,
      backoffMs: config.retryBackoffMs,
      readTimeoutMs: config.readTimeoutMs,
    };
    this.writer = new BulkWriter(this.transport, this.retryPolicy, this.abort.signal);
    this.mapper = new DocumentMapper(
      config,
      new IndexResolver(config.topicToIndex),
      new NormalizerCache(),
      config.unavailableValues === 'resolve' && config.unavailablePlaceholder !== undefined
        ? new UnavailableDetector(config.unavailablePlaceholder)
        : undefined,
    );
    this.processor = new BulkProcessor<PendingWrite>(
      {
        lanes: config.maxInFlightRequests,
        batchSize: config.batchSize,
        batchBytes: config.bulkSizeBytes,
        lingerMs: config.lingerMs,
        maxRecords: config.maxBufferedRecords,
        maxBytes: config.maxBufferedBytes,
      },
      (batch) => this.writeBatch(batch),
    );
    this.started = true;
  }

  async open(_partitions: readonly TopicPartition[]): Promise<void> {}

  async close(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      const tracker = this.offsets.close(tp);
      if (tracker) {
        this.processor.drop((write) => {
          if (write.tracker !== tracker) return false;
          this.released(write);
          return true;
        });
        this.held = this.held.filter((write) => write.tracker !== tracker);
      }
    }
  }

  async put(records: readonly SinkRecord[]): Promise<void> {
    this.throwIfFailed();
    if (records.length === 0 && this.held.length === 0) return;
    const mapped = this.map(records);
    await this.prepare(mapped);
    // Offsets are tracked in log order, whatever order the writes are buffered in below.
    const writes = this.held;
    this.held = [];
    for (const { record, tracker, op } of mapped) {
      // Nothing to write (skipped, or a delete of a document that does not exist).
      if (op === undefined || (op.lookupVersion && op.version === undefined)) continue;
      const text = op.source === undefined ? actionLine(op) : `${actionLine(op)}${op.source}\n`;
      writes.push({
        op,
        text,
        record: retained(record, this.config.malformedDocuments !== 'fail'),
        tracker,
        slot: tracker.add(originalPosition(record).offset),
        lane: -1,
        bytes: Buffer.byteLength(text, 'utf8'),
      });
    }
    await this.bufferAll(writes);
  }

  async preCommit(consumed: readonly TopicPartitionOffset[]): Promise<TopicPartitionOffset[]> {
    this.throwIfFailed();
    if (this.held.length > 0 && Date.now() - (this.held[0]!.heldAt ?? 0) >= holdMs) {
      // No put() came to show the create of the new key: the delete goes on its own.
      const held = this.held;
      this.held = [];
      for (const write of held) await this.buffer(write);
    }
    // Like Confluent's connector: start sending what lingers, report what is confirmed now.
    this.processor.nudge();
    return this.offsets.safe(consumed);
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    try {
      if (!this.processor.failure) {
        const held = this.held;
        this.held = [];
        for (const write of held) await this.buffer(write);
        await this.processor.flush(this.config.flushTimeoutMs);
      }
    } finally {
      this.processor.close();
      this.abort.abort();
      await this.transport.close();
    }
  }

  /** What the buffer holds now (records buffered or in flight), for progress and tests. */
  bufferState(): { records: number; bytes: number; requestsInFlight: number } {
    return this.processor.size;
  }

  /** The lane a document's writes go to now. */
  private laneFor(op: WriteOp): number {
    return (
      this.laneOverrides.get(refKey(op))?.lane ??
      laneOf(op.index, op.id, this.config.maxInFlightRequests)
    );
  }

  /** Buffer a write in its document's lane, or in `lane` (a key update's create, see above). */
  private async buffer(write: PendingWrite, lane?: number): Promise<void> {
    const processor = this.processor;
    while (!processor.hasSpace()) await processor.waitForSpace(this.config.flushTimeoutMs);
    const key = refKey(write.op);
    let override = this.laneOverrides.get(key);
    if (lane !== undefined && override === undefined) {
      override = { lane, pending: 0 };
      this.laneOverrides.set(key, override);
    }
    if (override !== undefined) {
      override.pending++;
      write.overridden = true;
      write.lane = override.lane;
    } else {
      write.lane = laneOf(write.op.index, write.op.id, this.config.maxInFlightRequests);
    }
    processor.add(write);
  }

  /** A buffered write is answered or dropped: its document may go back to its own lane. */
  private released(write: PendingWrite): void {
    if (!write.overridden) return;
    write.overridden = false;
    const key = refKey(write.op);
    const override = this.laneOverrides.get(key);
    if (override !== undefined && --override.pending <= 0) this.laneOverrides.delete(key);
  }

  /**
   * Buffer the writes in order, except around primary-key updates whose create lacks unsent
   * values: that create goes first, into the old key's lane; see the top of this file.
   */
  private async bufferAll(writes: PendingWrite[]): Promise<void> {
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      const { op } = write;
      let lane: number | undefined;
      if (op.action === 'delete') {
        // The source emits delete, tombstone, create back to back (a transform may drop one of
        // the first two, and only the delete event carries the new key in its headers).
        let create = -1;
        for (let j = i + 1; j < Math.min(writes.length, i + 3); j++) {
          const next = writes[j]!.op;
          if (
            next.action === 'index' &&
            next.index === op.index &&
            (next.id === op.movedTo || next.movedFrom === op.id)
          ) {
            create = j;
            break;
          }
        }
        if (create < 0 && op.movedTo !== undefined && writes.length - i <= 2) {
          // The create may come with the next batch: hold the delete (and its tombstone).
          this.held = writes.slice(i);
          write.heldAt ??= Date.now();
          return;
        }
        if (create >= 0 && writes[create]!.op.unavailable !== undefined) {
          const [first] = writes.splice(create, 1);
          const oldLane = this.laneFor(op);
          const current = this.laneOverrides.get(refKey(first!.op));
          if (current === undefined || current.lane === oldLane) {
            await this.buffer(first!, oldLane);
            // The delete right behind it, in the same lane.
            lane = oldLane;
          } else {
            // The new key was itself moved lately and still has writes in another lane:
            // the slow way, everything before confirmed, then the create, then the rest.
            await this.processor.flush(this.config.flushTimeoutMs);
            await this.buffer(first!);
            await this.processor.flush(this.config.flushTimeoutMs);
          }
        }
      }
      await this.buffer(write, lane);
    }
  }

  private throwIfFailed(): void {
    const failure = this.processor?.failure;
    if (failure) throw failure;
  }

  /**
   * Map every record of the batch or none: on an error the version state is restored. Records
   * that cannot become writes (InvalidRecordError) are all collected and thrown together as a
   * RecordRejectedError, so the runtime deals with each of them and puts the rest again.
   */
  private map(records: readonly SinkRecord[]): Mapped[] {
    const mapped: Mapped[] = [];
    const rejections: RecordRejection[] = [];
    const saved = new Map<PartitionVersions, PartitionVersions>();
    try {
      for (const record of records) {
        // Tracked (and versioned) per partition the record was read from, whatever its topic now.
        const tracker = this.offsets.partition(originalPosition(record));
        if (!saved.has(tracker.versions)) saved.set(tracker.versions, { ...tracker.versions });
        let op: WriteOp | undefined;
        try {
          op = this.mapper.map(record, tracker.versions);
        } catch (error) {
          if (!(error instanceof InvalidRecordError)) throw error;
          if (!this.config.dropInvalidMessage) {
            rejections.push({ record, reason: error });
            continue;
          }
          this.logger.warn(
            { topic: record.topic, partition: record.partition, offset: record.offset },
            `dropping invalid record (drop.invalid.message=true): ${error.message}`,
          );
        }
        mapped.push({ record, tracker, op });
      }
      if (rejections.length > 0) throw new RecordRejectedError(rejections);
    } catch (error) {
      for (const [versions, before] of saved) Object.assign(versions, before);
      throw error;
    }
    return mapped;
  }

  /** Create missing indices and look up versions for positionless deletes, before buffering. */
  private async prepare(mapped: readonly Mapped[]): Promise<void> {
    const lookups: WriteOp[] = [];
    for (const { record, op } of mapped) {
      if (op === undefined) continue;
      if (!this.ensuredIndices.has(op.index)) await this.ensureIndex(op, record.topic);
      if (op.lookupVersion) lookups.push(op);
    }
    if (lookups.length === 0) return;
    const found = await withRetries(
      `Looking up the versions of ${lookups.length} documents to delete`,
      this.retryPolicy,
      (timeoutMs) => this.transport.versions(lookups, timeoutMs),
      this.abort.signal,
    );
    lookups.forEach((op, i) => {
      op.version = found[i];
    });
  }

  private async ensureIndex(op: WriteOp, topic: string): Promise<void> {
    const { config } = this;
    if (config.indexAutoCreate) {
      const mappings = schemaIgnored(config, topic) ? undefined : indexMappings(op.schema);
      const settings: Record<string, unknown> = {
        number_of_shards: config.indexShards,
        number_of_replicas: config.indexReplicas,
      };
      if (config.indexGcDeletes !== undefined) settings.gc_deletes = config.indexGcDeletes;
      const exists = await withRetries(
        `Checking index '${op.index}'`,
        this.retryPolicy,
        (timeoutMs) => this.transport.indexExists(op.index, timeoutMs),
        this.abort.signal,
      );
      if (!exists) {
        const created = await withRetries(
          `Creating index '${op.index}'`,
          this.retryPolicy,
          (timeoutMs) =>
            this.transport.createIndex(
              op.index,
              mappings ? { settings, mappings } : { settings },
              timeoutMs,
            ),
          this.abort.signal,
        );
        if (created) {
          this.logger.info(
            { index: op.index, mapped: mappings !== undefined },
            `created index ${op.index}`,
          );
        }
      }
    }
    this.ensuredIndices.add(op.index);
  }

  /** One bulk request (with its retries), then errant reports, then confirmation. */
  private async writeBatch(batch: PendingWrite[]): Promise<void> {
    if (batch.some((write) => write.op.unavailable !== undefined)) await this.complete(batch);
    const rejected = await this.writer.write(batch);
    for (const write of batch) {
      if (write.unsent && !write.superseded) this.warnUnsent(write.op, write.unsent);
    }
    // Reported together: the runtime writes them to the dead-letter topic as one append.
    await Promise.all(rejected.map((rejection) => this.rejected(rejection)));
    for (const write of batch) {
      write.tracker.complete(write.slot);
      this.released(write);
    }
  }

  /**
   * Fill the unavailable fields of the batch's writes. The documents they read (their own; for a
   * primary-key update's create also the old key's) are fetched from Elasticsearch once, then the
   * batch's writes are played over them in order with Elasticsearch's version rule (a write older
   * than the document is refused and changes nothing — a replay), so a write reads the document
   * as it will be when its turn comes. A key update's create takes its own document when that is
   * already at least as new (a replay), else the old key's unless that one is newer (the old key
   * was re-inserted since). Fields found nowhere stay out of the document, with a warning.
   */
  private async complete(batch: PendingWrite[]): Promise<void> {
    const wanted = new Map<string, IndexRef>();
    const fields = new Set<string>();
    for (const { op } of batch) {
      if (op.unavailable === undefined) continue;
      wanted.set(refKey(op), { index: op.index, id: op.id });
      if (op.movedFrom !== undefined) {
        const ref = { index: op.index, id: op.movedFrom };
        wanted.set(refKey(ref), ref);
      }
      for (const field of op.unavailable) fields.add(field);
    }
    // The wanted documents as they stand at each point of the batch.
    const state = new Map<string, DocState>();
    for (const key of wanted.keys())
      state.set(key, { exists: false, source: undefined, version: undefined });
    const transport = this.transport;
    if (transport.sources) {
      const refs = [...wanted.values()];
      const found = await withRetries(
        `Reading ${refs.length} documents for values the source did not send`,
        this.retryPolicy,
        (timeoutMs) => transport.sources!(refs, [...fields], timeoutMs),
        this.abort.signal,
      );
      refs.forEach((ref, i) => {
        const doc = found[i];
        if (doc) state.set(refKey(ref), { exists: true, source: doc.source, version: doc.version });
      });
    }
    for (const write of batch) {
      const { op } = write;
      const key = refKey(op);
      const before = state.get(key);
      if (op.unavailable !== undefined) {
        const own = before!;
        const old =
          op.movedFrom === undefined
            ? undefined
            : state.get(refKey({ index: op.index, id: op.movedFrom }))!;
        let base: Row | undefined;
        if (old === undefined) {
          base = own.exists ? own.source : undefined;
        } else if (own.exists && !olderThan(own.version, op.version)) {
          base = own.source;
        } else if (old.exists && !olderThan(op.version, old.version)) {
          base = old.source;
        }
        const doc: Row = { ...op.doc };
        const missing: string[] = [];
        for (const field of op.unavailable) {
          const value = base?.[field];
          if (value === undefined) missing.push(field);
          else doc[field] = value;
        }
        // A write older than the document is refused anyway: nothing to warn about. Neither is
        // one Elasticsearch refuses for a newer delete it remembers (a replay of a key moved on
        // since): the warning waits for the answer (warnUnsent).
        if (missing.length > 0 && !olderThan(op.version, own.version)) {
          write.unsent = {
            fields: missing,
            stored: own.exists ? String(own.version) : null,
            ...(old !== undefined
              ? {
                  movedFrom: op.movedFrom,
                  movedFromStored: old.exists ? String(old.version) : null,
                }
              : {}),
          };
        }
        write.text = `${actionLine(op)}${toJson(doc)}\n`;
        play(state, key, op, doc);
      } else if (before !== undefined) {
        play(state, key, op, undefined);
      }
    }
  }

  /** A document written without values the source did not send (see complete()). */
  private warnUnsent(op: WriteOp, unsent: UnsentValues): void {
    const { fields } = unsent;
    this.logger.warn(
      { index: op.index, id: op.id, version: String(op.version), ...unsent },
      `document '${op.id}' of index '${op.index}': the source did not send ${fields.join(', ')} (unchanged TOAST) and no stored document has ${fields.length > 1 ? 'them' : 'it'}; written without`,
    );
  }

  private async rejected(rejection: Rejected<PendingWrite>): Promise<void> {
    const { entry, status, error } = rejection;
    const failure = new DocumentRejectedError(entry.op.index, entry.op.id, status, error);
    const behavior = this.config.malformedDocuments;
    if (behavior === 'fail') throw failure;
    if (behavior === 'warn') {
      const { record } = entry;
      this.logger.warn(
        { topic: record.topic, partition: record.partition, offset: record.offset },
        `${failure.message} (behavior.on.malformed.documents=warn: reported as errant)`,
      );
    }
    // Resolves once the dead letter is durable; under errors.tolerance=none it throws and the
    // task fails, as it should.
    await this.context.reportErrant(entry.record, failure);
  }
}

/** A document as known while completing a batch (version undefined: unknown or unversioned). */
interface DocState {
  exists: boolean;
  source: Row | undefined;
  version: unknown;
}

/** Apply a write to the known state of its document, as Elasticsearch would (external_gte). */
function play(state: Map<string, DocState>, key: string, op: WriteOp, doc: Row | undefined): void {
  const current = state.get(key)!;
  if (olderThan(op.version, current.version)) return; // refused: the document is newer
  switch (op.action) {
    case 'delete':
      state.set(key, { exists: false, source: undefined, version: op.version });
      break;
    case 'index':
      state.set(key, {
        exists: true,
        source: doc ?? (parseExactJson(op.source ?? '{}') as Row),
        version: op.version,
      });
      break;
    default:
      // A partial update (write.method=upsert): the fields it has replace the stored ones.
      state.set(key, { ...current, exists: true, source: undefined });
      break;
  }
}

/** a < b for versions; unknown (unversioned) versions are never older. */
function olderThan(a: unknown, b: unknown): boolean {
  if (typeof a !== 'number' && typeof a !== 'bigint') return false;
  if (typeof b !== 'number' && typeof b !== 'bigint') return false;
  return a < b;
}
