// read() and offsets(): stateless positional reads, one Fetch request per call on the partition
// leader, no consumer group involved.
//
// Why not a kafkajs consumer: kafkajs has no assign(); a consumer needs a group, a join (hundreds of
// milliseconds to seconds), a seek that only applies on its next internal fetch, and it pushes
// records instead of answering "what is at offset N". A read is instead one Fetch v11 sent on a
// fetch connection of our own (kafka-client.ts): exact offsets, the broker's long poll
// (max_wait_ms with min_bytes=1), and the broker's own OFFSET_OUT_OF_RANGE below the start or above
// the end. Each read in flight holds one of a few connections, because a broker answers requests on
// one connection in order: a 10 s long poll would otherwise hold up every other read.

import { InvalidInputError } from '../../api/errors.ts';
import { LogStorageError, OffsetOutOfRangeError } from '../errors.ts';
import type { PartitionRange, ReadOptions, StoredRecord } from '../log.ts';
import { isConnectionFailure, mapKafkaError } from './errors.ts';
import { decodeFetchResponse, takeRecords } from './fetch-decoder.ts';
import {
  decompress,
  EARLIEST_TIMESTAMP,
  LATEST_TIMESTAMP,
  type KafkaClient,
  type RawConnection,
} from './kafka-client.ts';
import type { Topics } from './topics.ts';

export interface ReaderConfig {
  brokers: readonly string[];
  fetchMaxBytes: number;
  maxConcurrentReads: number;
  metadataMaxAgeMs: number;
}

// Kafka error codes a fetch can answer with.
const OFFSET_OUT_OF_RANGE = 1;
/** Stale leadership or metadata: refresh and try again. */
const RETRY_WITH_FRESH_METADATA = new Set([
  3, // UNKNOWN_TOPIC_OR_PARTITION
  5, // LEADER_NOT_AVAILABLE
  6, // NOT_LEADER_OR_FOLLOWER
  56, // KAFKA_STORAGE_ERROR
  74, // FENCED_LEADER_EPOCH
  75, // UNKNOWN_LEADER_EPOCH
]);
const MAX_ATTEMPTS = 3;

/** A few fetch connections, created on demand; a read waits when all are busy. */
class FetchConnections {
  private readonly idle: RawConnection[] = [];
  private readonly waiting: ((connection: RawConnection | undefined) => void)[] = [];
  private open = 0;
  private closed = false;

  constructor(
    private readonly create: () => RawConnection,
    private readonly max: number,
  ) {}

  async acquire(): Promise<RawConnection> {
    if (this.closed) throw new InvalidInputError('LOG_CLOSED', 'the kafka log is closed');
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.open < this.max) {
      this.open++;
      const connection = this.create();
      try {
        await connection.connect();
      } catch (error) {
        this.open--;
        this.wakeOne();
        throw error;
      }
      return connection;
    }
    const handed = await new Promise<RawConnection | undefined>((resolve) =>
      this.waiting.push(resolve),
    );
    return handed ?? this.acquire();
  }

  release(connection: RawConnection, broken: boolean): void {
    if (broken || this.closed) {
      this.open--;
      void connection.disconnect().catch(() => undefined);
      this.wakeOne();
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter(connection);
    else this.idle.push(connection);
  }

  /** Lets a waiting read open a connection of its own (one was dropped). */
  private wakeOne(): void {
    this.waiting.shift()?.(undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter(undefined);
    const idle = this.idle.splice(0);
    this.open -= idle.length;
    await Promise.all(idle.map((connection) => connection.disconnect().catch(() => undefined)));
  }
}

function nonNegativeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError(
      'LOG_INVALID_READ',
      `${name} must be a non-negative integer, got ${value}`,
    );
  }
}

export class Reader {
  private readonly connections: FetchConnections;

  constructor(
    client: KafkaClient,
    private readonly topics: Topics,
    private readonly main: RawConnection,
    private readonly config: ReaderConfig,
  ) {
    this.connections = new FetchConnections(
      () => client.rawConnection(config.metadataMaxAgeMs),
      config.maxConcurrentReads,
    );
  }

  private fail(error: unknown, operation: string, topic: string): never {
    throw mapKafkaError(error, { brokers: this.config.brokers, operation, topic });
  }

  async offsets(topic: string): Promise<PartitionRange[]> {
    const { leaders } = await this.topics.info(topic);
    const byLeader = new Map<number, number[]>();
    leaders.forEach((leader, partition) => {
      const partitions = byLeader.get(leader) ?? [];
      partitions.push(partition);
      byLeader.set(leader, partitions);
    });
    const start = new Map<number, number>();
    const end = new Map<number, number>();
    try {
      await Promise.all(
        [...byLeader].flatMap(([leader, partitions]) => [
          this.main.listOffsets(leader, topic, partitions, EARLIEST_TIMESTAMP).then((found) => {
            for (const [partition, offset] of found) start.set(partition, offset);
          }),
          this.main.listOffsets(leader, topic, partitions, LATEST_TIMESTAMP).then((found) => {
            for (const [partition, offset] of found) end.set(partition, offset);
          }),
        ]),
      );
    } catch (error) {
      this.topics.invalidate(topic);
      this.fail(error, `read the offsets of topic "${topic}"`, topic);
    }
    return leaders.map((_, partition) => {
      const first = start.get(partition);
      const next = end.get(partition);
      if (first === undefined || next === undefined) {
        throw new LogStorageError(`Kafka returned no offsets for ${topic}/${partition}`);
      }
      return { partition, start: first, end: next };
    });
  }

  async read(
    topic: string,
    partition: number,
    offset: number,
    options: ReadOptions = {},
  ): Promise<StoredRecord[]> {
    nonNegativeInteger('offset', offset);
    nonNegativeInteger('partition', partition);
    const maxRecords = options.maxRecords ?? Number.POSITIVE_INFINITY;
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const maxWaitMs = options.maxWaitMs ?? 0;
    if (!(maxRecords >= 1))
      throw new InvalidInputError('LOG_INVALID_READ', `maxRecords must be >= 1, got ${maxRecords}`);
    if (!(maxBytes >= 1))
      throw new InvalidInputError('LOG_INVALID_READ', `maxBytes must be >= 1, got ${maxBytes}`);
    nonNegativeInteger('maxWaitMs', maxWaitMs);

    const deadline = Date.now() + maxWaitMs;
    let position = offset;
    let attempts = 0;
    for (;;) {
      const leader = await this.topics.leader(topic, partition);
      const connection = await this.connections
        .acquire()
        .catch((error: unknown) => this.fail(error, `read ${topic}/${partition}`, topic));
      let payload: Buffer;
      try {
        payload = await connection.fetch(leader, {
          topic,
          partition,
          offset: position,
          maxWaitMs: Math.max(0, deadline - Date.now()),
          maxBytes: Math.floor(Math.min(this.config.fetchMaxBytes, maxBytes)),
        });
        this.connections.release(connection, false);
      } catch (error) {
        this.connections.release(connection, true);
        if (isConnectionFailure(error) && ++attempts < MAX_ATTEMPTS) {
          this.topics.invalidate(topic);
          continue;
        }
        this.fail(error, `read ${topic}/${partition}`, topic);
      }

      const response = decodeFetchResponse(payload);
      const data = response.partitions.find((p) => p.topic === topic && p.partition === partition);
      const errorCode = response.errorCode || data?.errorCode || 0;
      if (errorCode === OFFSET_OUT_OF_RANGE) {
        const range = (await this.offsets(topic)).find((r) => r.partition === partition);
        if (!range) throw new LogStorageError(`no offsets for ${topic}/${partition}`);
        // Retention may have moved the start between the fetch and the lookup; only an offset that
        // is still outside the range is the caller's error.
        if (position < range.start || position > range.end || ++attempts >= MAX_ATTEMPTS) {
          throw new OffsetOutOfRangeError(topic, partition, position, {
            start: range.start,
            end: range.end,
          });
        }
        continue;
      }
      if (errorCode !== 0) {
        this.topics.invalidate(topic);
        if (RETRY_WITH_FRESH_METADATA.has(errorCode) && ++attempts < MAX_ATTEMPTS) continue;
        // Throws TopicNotFoundError when the topic is gone.
        await this.topics.info(topic);
        throw new LogStorageError(
          `Kafka answered a fetch of ${topic}/${partition} with error code ${errorCode}`,
        );
      }
      if (!data)
        throw new LogStorageError(`a fetch of ${topic}/${partition} returned no data for it`);

      const { records, next } = await takeRecords(data.batches, {
        topic,
        partition,
        position,
        maxRecords,
        maxBytes,
        decompress,
      });
      if (records.length > 0) return records;
      // Only empty batches (compacted away, or transaction markers): step over them. Otherwise
      // nothing arrived within the wait.
      if (next > position) {
        position = next;
        if (position < data.highWatermark || Date.now() < deadline) continue;
      }
      if (Date.now() >= deadline) return [];
    }
  }

  close(): Promise<void> {
    return this.connections.close();
  }
}
