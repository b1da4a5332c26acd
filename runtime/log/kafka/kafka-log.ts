// The kafka backend of the Kafki log: Apache Kafka through kafkajs. Composes the topic admin, the
// appender (idempotent producer, acks=all), the reader (positional fetches) and group consumers.

import { InvalidInputError } from '../../api/errors.ts';
import type {
  AppendedRecord,
  GroupConsumer,
  GroupConsumerOptions,
  KafkiLog,
  LogRecord,
  PartitionOffset,
  PartitionRange,
  ReadOptions,
  StoredRecord,
  TopicDescription,
  TopicSpec,
} from '../log.ts';
import { Appender } from './append.ts';
import { mapKafkaError } from './errors.ts';
import { KafkaGroupConsumer } from './group-consumer.ts';
import {
  compressionType,
  createKafkaClient,
  type KafkaClient,
  type RawConnection,
} from './kafka-client.ts';
import { resolveOptions, type KafkaLogOptions, type ResolvedKafkaLogOptions } from './options.ts';
import { Reader } from './reader.ts';
import { Topics } from './topics.ts';

export type { KafkaLogOptions };

export class KafkaLog implements KafkiLog {
  readonly backend = 'kafka' as const;
  private readonly topics: Topics;
  private readonly appender: Appender;
  private readonly reader: Reader;
  private readonly consumers = new Set<KafkaGroupConsumer>();
  private closed = false;

  private constructor(
    private readonly client: KafkaClient,
    private readonly admin: ReturnType<KafkaClient['admin']>,
    private readonly main: RawConnection,
    private readonly options: ResolvedKafkaLogOptions,
  ) {
    this.topics = new Topics(admin, main, {
      brokers: options.brokers,
      metadataMaxAgeMs: options.metadataMaxAgeMs,
      replicationFactor: options.replicationFactor,
      requestTimeoutMs: options.requestTimeoutMs,
    });
    this.appender = new Appender(client, this.topics, {
      brokers: options.brokers,
      compression: compressionType(options.compression),
      maxBatchBytes: options.maxBatchBytes,
      requestTimeoutMs: options.requestTimeoutMs,
    });
    this.reader = new Reader(client, this.topics, main, {
      brokers: options.brokers,
      fetchMaxBytes: options.fetchMaxBytes,
      maxConcurrentReads: options.maxConcurrentReads,
      metadataMaxAgeMs: options.metadataMaxAgeMs,
    });
  }

  /** Connects to the brokers; fails fast with BrokerUnreachableError naming them. */
  static async open(options: KafkaLogOptions): Promise<KafkaLog> {
    const resolved = resolveOptions(options);
    const client = createKafkaClient({
      brokers: resolved.brokers,
      clientId: resolved.clientId,
      connectionTimeoutMs: resolved.connectionTimeoutMs,
      requestTimeoutMs: resolved.requestTimeoutMs,
      retry: { retries: resolved.retries, initialRetryTime: 100, maxRetryTime: 2000 },
      logger: resolved.logger,
      logLevel: resolved.logLevel,
    });
    const admin = client.admin();
    const main = client.rawConnection(resolved.metadataMaxAgeMs);
    try {
      await Promise.all([admin.connect(), main.connect()]);
    } catch (error) {
      await Promise.all([
        admin.disconnect().catch(() => undefined),
        main.disconnect().catch(() => undefined),
      ]);
      throw mapKafkaError(error, { brokers: resolved.brokers, operation: 'connect' });
    }
    return new KafkaLog(client, admin, main, resolved);
  }

  private ensureOpen(): void {
    if (this.closed) throw new InvalidInputError('LOG_CLOSED', 'the kafka log is closed');
  }

  async createTopic(spec: TopicSpec): Promise<'created' | 'exists'> {
    this.ensureOpen();
    return this.topics.create(spec);
  }

  async describeTopic(name: string): Promise<TopicDescription | undefined> {
    this.ensureOpen();
    return this.topics.describe(name);
  }

  async listTopics(): Promise<string[]> {
    this.ensureOpen();
    return this.topics.list();
  }

  async deleteTopic(name: string): Promise<void> {
    this.ensureOpen();
    await this.topics.delete(name);
    this.appender.forgetTopic(name);
  }

  async append(topic: string, records: readonly LogRecord[]): Promise<AppendedRecord[]> {
    this.ensureOpen();
    return this.appender.append(topic, records);
  }

  async read(
    topic: string,
    partition: number,
    offset: number,
    options?: ReadOptions,
  ): Promise<StoredRecord[]> {
    this.ensureOpen();
    return this.reader.read(topic, partition, offset, options);
  }

  async offsets(topic: string): Promise<PartitionRange[]> {
    this.ensureOpen();
    return this.reader.offsets(topic);
  }

  async consumer(options: GroupConsumerOptions): Promise<GroupConsumer> {
    this.ensureOpen();
    // A missing topic fails here, clearly, instead of inside kafkajs's background join.
    await Promise.all(options.topics.map((topic) => this.topics.info(topic)));
    const consumer = await KafkaGroupConsumer.start(this.client, options, {
      ...this.options.consumer,
      brokers: this.options.brokers,
      logger: this.options.logger,
      onClose: (closed) => this.consumers.delete(closed),
    });
    this.consumers.add(consumer);
    return consumer;
  }

  async committedOffsets(groupId: string, topic: string): Promise<PartitionOffset[]> {
    this.ensureOpen();
    const { leaders } = await this.topics.info(topic);
    let committed: Map<number, number>;
    try {
      committed = await this.main.committedOffsets(
        groupId,
        topic,
        leaders.map((_, partition) => partition),
      );
    } catch (error) {
      throw mapKafkaError(error, {
        brokers: this.options.brokers,
        operation: `read the offsets of group "${groupId}"`,
        topic,
      });
    }
    return [...committed]
      .sort(([a], [b]) => a - b)
      .map(([partition, offset]) => ({ topic, partition, offset }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumers].map((consumer) => consumer.close()));
    await Promise.allSettled([
      this.appender.close(),
      this.reader.close(),
      this.admin.disconnect(),
      this.main.disconnect(),
    ]);
  }
}

export function openKafkaLog(options: KafkaLogOptions): Promise<KafkaLog> {
  return KafkaLog.open(options);
}
