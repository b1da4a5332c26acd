// append(): partitions chosen by Kafki's Partitioner (so keys land where the local backend and Java
// clients put them), sent with explicit partitions through kafkajs's idempotent producer with
// acks=all, offsets computed per record from each partition's base offset.
//
// Kafka accepts exactly one record batch per partition in a produce request, and a batch no larger
// than the topic's max.message.bytes. So an append is cut into rounds: round r carries the r-th
// slice (≤ maxBatchBytes, records in input order) of every partition, all partitions in one send()
// (one produce request per broker). A typical append fits in one round. The broker gives each
// slice consecutive offsets from its base offset, which is how every record gets its own.

import { InvalidInputError } from '../../api/errors.ts';
import { LogStorageError, RecordTooLargeError } from '../errors.ts';
import type { AppendedRecord, LogRecord } from '../log.ts';
import { Partitioner } from '../partitioner.ts';
import { kafkaErrorType, mapKafkaError } from './errors.ts';
import type { KafkaClient, Message, Producer, RecordMetadata } from './kafka-client.ts';
import { RECORD_BATCH_OVERHEAD, recordSizeBound, singleRecordBatchSize } from './record-size.ts';
import type { Topics } from './topics.ts';

export interface AppendConfig {
  brokers: readonly string[];
  /** kafkajs compression type id. */
  compression: number;
  maxBatchBytes: number;
  requestTimeoutMs: number;
}

interface ProducerHandle {
  producer: Producer;
  ready: Promise<void>;
  inFlight: number;
  retired: boolean;
}

interface Slice {
  partition: number;
  indexes: number[];
  bytes: number;
}

export class Appender {
  private readonly partitioner = new Partitioner();
  private handle: ProducerHandle | undefined;
  private readonly producedTopics = new Set<string>();
  private closed = false;

  constructor(
    private readonly client: KafkaClient,
    private readonly topics: Topics,
    private readonly config: AppendConfig,
  ) {}

  async append(topic: string, records: readonly LogRecord[]): Promise<AppendedRecord[]> {
    if (records.length === 0) return [];
    const [info, limit] = await Promise.all([
      this.topics.info(topic),
      this.topics.maxMessageBytes(topic),
    ]);
    const sizes = this.checkSizes(topic, records, limit);
    let partitions: number[];
    try {
      partitions = this.partitioner.partitionsFor(records, info.leaders.length);
    } catch (error) {
      throw new InvalidInputError(
        'LOG_PARTITION_NOT_FOUND',
        `append to topic "${topic}": ${error instanceof Error ? error.message : String(error)}`,
        error,
      );
    }

    const rounds = this.slice(partitions, sizes, Math.min(this.config.maxBatchBytes, limit));
    const now = String(Date.now());
    const appended = new Array<AppendedRecord>(records.length);
    for (const round of rounds) {
      const messages: Message[] = [];
      for (const slice of round) {
        for (const index of slice.indexes)
          messages.push(toMessage(records[index]!, slice.partition, now));
      }
      const bytes = Math.max(...round.map((slice) => slice.bytes));
      const metadata = await this.send(topic, messages, bytes, limit);
      for (const slice of round) {
        const base = baseOffset(metadata, topic, slice.partition);
        slice.indexes.forEach((index, i) => {
          appended[index] = { partition: slice.partition, offset: base + i };
        });
      }
    }
    return appended;
  }

  /** Refuses the append before sending anything when one record can never fit. */
  private checkSizes(topic: string, records: readonly LogRecord[], limit: number): number[] {
    const sizes = new Array<number>(records.length);
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      if (
        record.timestamp !== undefined &&
        (!Number.isSafeInteger(record.timestamp) || record.timestamp < 0)
      ) {
        throw new InvalidInputError(
          'LOG_INVALID_RECORD',
          `append to topic "${topic}": record ${i} has an invalid timestamp ${record.timestamp}`,
        );
      }
      const single = singleRecordBatchSize(record);
      // Checked before compression, like Java's producer: what the broker would accept after
      // compression depends on the data, a limit must not.
      if (single > limit) throw new RecordTooLargeError(topic, single, limit);
      sizes[i] = recordSizeBound(record);
    }
    return sizes;
  }

  /** Per partition, consecutive slices of at most maxBytes (at least one record each). */
  private slice(
    partitions: readonly number[],
    sizes: readonly number[],
    maxBytes: number,
  ): Slice[][] {
    const budget = maxBytes - RECORD_BATCH_OVERHEAD;
    const open = new Map<number, Slice[]>();
    partitions.forEach((partition, index) => {
      let slices = open.get(partition);
      if (!slices) open.set(partition, (slices = []));
      const size = sizes[index]!;
      const last = slices[slices.length - 1];
      if (last && last.bytes + size <= budget) {
        last.indexes.push(index);
        last.bytes += size;
      } else {
        slices.push({ partition, indexes: [index], bytes: size });
      }
    });
    const rounds: Slice[][] = [];
    for (const slices of open.values()) {
      slices.forEach((slice, round) => (rounds[round] ??= []).push(slice));
    }
    return rounds;
  }

  private async send(
    topic: string,
    messages: Message[],
    bytes: number,
    limit: number,
  ): Promise<RecordMetadata[]> {
    for (let attempt = 0; ; attempt++) {
      const handle = await this.acquire();
      try {
        const metadata = await handle.producer.send({
          topic,
          messages,
          acks: -1,
          timeout: this.config.requestTimeoutMs,
          compression: this.config.compression,
        });
        this.producedTopics.add(topic);
        return metadata;
      } catch (error) {
        const type = kafkaErrorType(error);
        if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') {
          // Our cached limit was stale (the topic's max.message.bytes was lowered): report the
          // broker's current one.
          this.topics.invalidate(topic);
          const current = await this.topics.maxMessageBytes(topic).catch(() => limit);
          throw new RecordTooLargeError(topic, bytes, current);
        }
        if (type === 'UNKNOWN_TOPIC_OR_PARTITION') {
          this.topics.invalidate(topic);
          // Throws TopicNotFoundError when the topic is really gone.
          await this.topics.info(topic);
          // The topic exists: kafkajs's producer refreshes every topic it ever sent to together,
          // and one of them was deleted. A fresh producer forgets them.
          if (attempt === 0) {
            this.retire(handle);
            continue;
          }
        }
        throw mapKafkaError(error, {
          brokers: this.config.brokers,
          operation: `append to topic "${topic}"`,
          topic,
        });
      } finally {
        this.release(handle);
      }
    }
  }

  /** After deleting a topic we sent to, start a fresh producer (see send()). */
  forgetTopic(topic: string): void {
    if (this.producedTopics.delete(topic) && this.handle) this.retire(this.handle);
  }

  private async acquire(): Promise<ProducerHandle> {
    if (this.closed) throw new InvalidInputError('LOG_CLOSED', 'the kafka log is closed');
    let handle = this.handle;
    if (!handle) {
      const producer = this.client.producer();
      const created: ProducerHandle = {
        producer,
        ready: producer.connect(),
        inFlight: 0,
        retired: false,
      };
      handle = this.handle = created;
      created.ready.catch(() => {
        if (this.handle === created) this.handle = undefined;
      });
    }
    handle.inFlight++;
    try {
      await handle.ready;
    } catch (error) {
      handle.inFlight--;
      throw mapKafkaError(error, {
        brokers: this.config.brokers,
        operation: 'connect the producer',
      });
    }
    return handle;
  }

  private release(handle: ProducerHandle): void {
    handle.inFlight--;
    if (handle.retired && handle.inFlight === 0)
      void handle.producer.disconnect().catch(() => undefined);
  }

  private retire(handle: ProducerHandle): void {
    if (this.handle === handle) this.handle = undefined;
    if (handle.retired) return;
    handle.retired = true;
    this.producedTopics.clear();
    if (handle.inFlight === 0) void handle.producer.disconnect().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await handle.producer.disconnect().catch(() => undefined);
  }
}

function toMessage(record: LogRecord, partition: number, now: string): Message {
  return {
    key: record.key,
    value: record.value,
    partition,
    timestamp: record.timestamp === undefined ? now : String(record.timestamp),
    ...(record.headers ? { headers: record.headers } : {}),
  };
}

function baseOffset(metadata: readonly RecordMetadata[], topic: string, partition: number): number {
  const entry = metadata.find((m) => m.partition === partition && m.topicName === topic);
  const base = Number(entry?.baseOffset);
  if (!entry || !Number.isSafeInteger(base) || base < 0) {
    throw new LogStorageError(`Kafka acknowledged no base offset for ${topic}/${partition}`);
  }
  return base;
}
