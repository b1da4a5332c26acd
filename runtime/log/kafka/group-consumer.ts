// A member of a Kafka consumer group through kafkajs, bridged from kafkajs's push model (eachBatch)
// to the pull model of GroupConsumer.poll().
//
// Bounded memory: eachBatch returns only once the RecordBuffer has room, puts in what fits (at
// least one record) and resolves the offset of the last record it took, so kafkajs fetches the
// rest again later: the buffer never holds more than its bounds plus one record. While it waits it
// keeps heartbeating; a rebalance surfaces there as an error kafkajs handles by rejoining.
//
// Rebalances (kafkajs uses the eager protocol: every member gives up everything and rejoins):
// - REBALANCING (the member starts rejoining): poll() stops returning records, commit() waits;
// - GROUP_JOIN (the new assignment): records of revoked partitions are dropped from the buffer,
//   partitions kept are sought to where this member got to (kafkajs would restart them from the
//   last commit), listeners hear what was assigned and revoked, then poll() resumes.
// Batches of the previous generation still queued inside kafkajs are dropped: a kept partition has
// a pending seek (kafkajs marks its in-flight batches stale), a revoked one is no longer assigned,
// and records below the position already buffered are skipped.

import { InvalidInputError, RetriableError, type KafkiError } from '../../api/errors.ts';
import { PartitionNotAssignedError } from '../errors.ts';
import type {
  GroupConsumer,
  GroupConsumerOptions,
  LogHeaders,
  PartitionOffset,
  ReadOptions,
  RebalanceEvent,
  StoredRecord,
  TopicPartition,
} from '../log.ts';
import { kafkaErrorType, mapKafkaError, rebalanceErrorTypes } from './errors.ts';
import type {
  Consumer,
  EachBatchPayload,
  KafkaClient,
  KafkaLogger,
  KafkaMessage,
} from './kafka-client.ts';
import type { KafkaConsumerOptions } from './options.ts';
import { RecordBuffer } from './record-buffer.ts';
import { Signal } from './signal.ts';

export interface GroupConsumerConfig extends Required<KafkaConsumerOptions> {
  brokers: readonly string[];
  logger: KafkaLogger | undefined;
  onClose?: (consumer: KafkaGroupConsumer) => void;
}

const key = (topic: string, partition: number) => `${partition}:${topic}`;

function toStored(topic: string, partition: number, message: KafkaMessage): StoredRecord {
  const headers: LogHeaders = {};
  if (message.headers) {
    for (const [name, value] of Object.entries(message.headers)) {
      const last = Array.isArray(value) ? value[value.length - 1] : value;
      if (last !== undefined) headers[name] = Buffer.isBuffer(last) ? last : Buffer.from(last);
    }
  }
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key,
    value: message.value,
    headers,
    timestamp: Number(message.timestamp),
  };
}

function nonNegativeInteger(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError(
      'LOG_INVALID_OFFSET',
      `${what} must be a non-negative integer, got ${value}`,
    );
  }
}

export class KafkaGroupConsumer implements GroupConsumer {
  private readonly buffer: RecordBuffer;
  private assigned = new Map<string, TopicPartition>();
  /** Per partition: the offset after the last record buffered or sought to. */
  private readonly nextOffsets = new Map<string, number>();
  private rebalancing = true;
  /** Bumped on every rebalance step, so a waiting eachBatch knows its batch went stale. */
  private generation = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private failure: KafkiError | undefined;
  private readonly listeners: ((event: RebalanceEvent) => void)[] = [];
  private readonly arrived = new Signal();
  private readonly room = new Signal();
  private readonly joined = new Signal();
  private running: Promise<void> = Promise.resolve();

  private constructor(
    readonly groupId: string,
    private readonly consumer: Consumer,
    private readonly config: GroupConsumerConfig,
  ) {
    this.buffer = new RecordBuffer(config.maxBufferedRecords, config.maxBufferedBytes);
  }

  /** Connects, subscribes and starts joining; the first assignment arrives in the background. */
  static async start(
    client: KafkaClient,
    options: GroupConsumerOptions,
    config: GroupConsumerConfig,
  ): Promise<KafkaGroupConsumer> {
    if (!options.groupId) throw new InvalidInputError('LOG_INVALID_GROUP', 'groupId is empty');
    if (options.topics.length === 0)
      throw new InvalidInputError('LOG_INVALID_GROUP', 'topics is empty');
    const consumer = client.consumer({
      groupId: options.groupId,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      rebalanceTimeout: config.rebalanceTimeoutMs,
      maxWaitTimeInMs: config.fetchMaxWaitMs,
      maxBytesPerPartition: config.fetchMaxBytesPerPartition,
      allowAutoTopicCreation: false,
    });
    const member = new KafkaGroupConsumer(options.groupId, consumer, config);
    const { GROUP_JOIN, REBALANCING, CRASH } = consumer.events;
    consumer.on(GROUP_JOIN, (event) => member.onJoin(event.payload.memberAssignment));
    consumer.on(REBALANCING, () => member.onRebalancing());
    consumer.on(CRASH, (event) => member.onCrash(event.payload.error, event.payload.restart));
    const operation = `join group "${options.groupId}"`;
    try {
      await consumer.connect();
      await consumer.subscribe({
        topics: [...options.topics],
        fromBeginning: options.startFrom === 'earliest',
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw mapKafkaError(error, { brokers: config.brokers, operation, topic: options.topics[0] });
    }
    member.running = consumer
      .run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: (payload) => member.onBatch(payload),
      })
      .catch((error: unknown) => {
        member.failure = mapKafkaError(error, { brokers: config.brokers, operation });
        member.arrived.notify();
      });
    return member;
  }

  // ---- kafkajs side ------------------------------------------------------------------------------

  private async onBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const generation = this.generation;
    const current = () =>
      !this.closed && isRunning() && !isStale() && this.generation === generation;
    while (!this.buffer.hasRoom()) {
      if (!current()) return;
      await this.room.wait(this.config.heartbeatIntervalMs);
      // Keeps the membership alive while poll() is not called; throws when the group rebalances.
      await heartbeat();
    }
    const partitionKey = key(batch.topic, batch.partition);
    if (!current() || this.rebalancing || !this.assigned.has(partitionKey)) return;

    const expected = this.nextOffsets.get(partitionKey);
    const records: StoredRecord[] = [];
    for (const message of batch.messages) {
      const record = toStored(batch.topic, batch.partition, message);
      if (expected === undefined || record.offset >= expected) records.push(record);
    }
    // Take what fits; kafkajs fetches the rest again from the resolved offset + 1.
    const accepted = records.slice(0, this.buffer.fits(records));
    const lastTaken = accepted[accepted.length - 1]?.offset;
    const last = accepted.length < records.length ? lastTaken! : Number(batch.lastOffset());
    // Never move kafkajs's position back below what the buffer already holds.
    resolveOffset(String(expected === undefined ? last : Math.max(last, expected - 1)));
    if (accepted.length === 0) return;
    this.buffer.push(partitionKey, accepted);
    this.nextOffsets.set(partitionKey, lastTaken! + 1);
    this.arrived.notify();
  }

  private onRebalancing(): void {
    this.rebalancing = true;
    this.generation++;
    this.room.notify();
  }

  private onJoin(memberAssignment: Record<string, number[]>): void {
    const next = new Map<string, TopicPartition>();
    for (const [topic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of partitions) next.set(key(topic, partition), { topic, partition });
    }
    const revoked = [...this.assigned].filter(([k]) => !next.has(k));
    const added = [...next].filter(([k]) => !this.assigned.has(k));
    const gone = new Set(revoked.map(([k]) => k));
    this.buffer.drop((k) => gone.has(k));
    for (const k of gone) this.nextOffsets.delete(k);
    for (const [k, tp] of next) {
      const position = this.nextOffsets.get(k);
      if (position !== undefined && this.assigned.has(k)) {
        this.consumer.seek({ topic: tp.topic, partition: tp.partition, offset: String(position) });
      }
    }
    this.assigned = next;
    this.rebalancing = false;
    this.generation++;
    this.joined.notify();
    this.arrived.notify();
    this.room.notify();
    if (revoked.length > 0 || added.length > 0) {
      this.emit({ assigned: added.map(([, tp]) => tp), revoked: revoked.map(([, tp]) => tp) });
    }
  }

  private onCrash(error: Error, restart: boolean): void {
    // The member left the group: everything is revoked. kafkajs restarts it on retriable errors.
    if (!restart) {
      this.failure = mapKafkaError(error, {
        brokers: this.config.brokers,
        operation: `consume as group "${this.groupId}"`,
      });
    }
    this.rebalancing = true;
    this.revokeAll();
    this.arrived.notify();
  }

  private revokeAll(): void {
    const revoked = [...this.assigned.values()];
    this.assigned = new Map();
    this.buffer.clear();
    this.nextOffsets.clear();
    this.generation++;
    this.room.notify();
    if (revoked.length > 0) this.emit({ assigned: [], revoked });
  }

  private emit(event: RebalanceEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.config.logger?.error({ groupId: this.groupId, error }, 'a rebalance listener failed');
      }
    }
  }

  // ---- GroupConsumer ----------------------------------------------------------------------------

  private ensureOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closed)
      throw new InvalidInputError('LOG_CLOSED', `group consumer "${this.groupId}" is closed`);
  }

  async poll(options: ReadOptions = {}): Promise<StoredRecord[]> {
    this.ensureOpen();
    const maxRecords = options.maxRecords ?? Number.POSITIVE_INFINITY;
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const deadline = Date.now() + (options.maxWaitMs ?? 0);
    for (;;) {
      if (!this.rebalancing && this.buffer.size > 0) {
        const records = this.buffer.take(maxRecords, maxBytes);
        this.room.notify();
        return records;
      }
      if (this.failure) throw this.failure;
      const remaining = deadline - Date.now();
      if (this.closed || remaining <= 0) return [];
      await this.arrived.wait(remaining);
    }
  }

  async commit(offsets: readonly PartitionOffset[]): Promise<void> {
    this.ensureOpen();
    if (offsets.length === 0) return;
    for (const { offset } of offsets) nonNegativeInteger('a committed offset', offset);
    for (let attempt = 0; ; attempt++) {
      await this.settled();
      for (const { topic, partition } of offsets) {
        if (!this.assigned.has(key(topic, partition))) {
          throw new PartitionNotAssignedError(this.groupId, topic, partition);
        }
      }
      try {
        await this.consumer.commitOffsets(
          offsets.map(({ topic, partition, offset }) => ({
            topic,
            partition,
            offset: String(offset),
          })),
        );
        return;
      } catch (error) {
        const type = kafkaErrorType(error);
        if (type === undefined || !rebalanceErrorTypes.has(type)) {
          throw mapKafkaError(error, {
            brokers: this.config.brokers,
            operation: `commit for group "${this.groupId}"`,
          });
        }
        // The group is rebalancing: wait for the new assignment, then commit only what we still own.
        if (attempt >= 2) {
          throw new RetriableError(
            'LOG_GROUP_REBALANCING',
            `group "${this.groupId}" kept rebalancing; commit again later`,
            error,
          );
        }
        this.rebalancing = true;
        await this.joined.wait(this.config.rebalanceTimeoutMs);
      }
    }
  }

  /** Waits while a rebalance is in progress (bounded by the rebalance timeout). */
  private async settled(): Promise<void> {
    const deadline = Date.now() + this.config.rebalanceTimeoutMs;
    while (this.rebalancing && !this.closed && !this.failure) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new RetriableError(
          'LOG_GROUP_REBALANCING',
          `group "${this.groupId}" is still rebalancing`,
        );
      }
      await this.joined.wait(remaining);
    }
    this.ensureOpen();
  }

  seek(position: PartitionOffset): void {
    this.ensureOpen();
    nonNegativeInteger('a seek offset', position.offset);
    const partitionKey = key(position.topic, position.partition);
    if (!this.assigned.has(partitionKey)) {
      throw new PartitionNotAssignedError(this.groupId, position.topic, position.partition);
    }
    this.buffer.drop((k) => k === partitionKey);
    this.nextOffsets.set(partitionKey, position.offset);
    this.consumer.seek({
      topic: position.topic,
      partition: position.partition,
      offset: String(position.offset),
    });
    this.room.notify();
  }

  /** Records and bytes waiting between the fetch loop and poll() (for metrics and tests). */
  buffered(): { records: number; bytes: number } {
    return { records: this.buffer.size, bytes: this.buffer.byteSize };
  }

  assignment(): TopicPartition[] {
    return [...this.assigned.values()].map((tp) => ({ ...tp }));
  }

  onRebalance(listener: (event: RebalanceEvent) => void): void {
    this.listeners.push(listener);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.config.onClose?.(this);
    this.arrived.notify();
    this.room.notify();
    this.joined.notify();
    // kafkajs ignores a stop requested while the first join is still running, so let it finish.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.running,
      new Promise((resolve) => (timer = setTimeout(resolve, this.config.rebalanceTimeoutMs))),
    ]);
    clearTimeout(timer);
    try {
      // Leaves the group, so the partitions move to the other members at once.
      await this.consumer.disconnect();
    } finally {
      this.revokeAll();
    }
  }
}
