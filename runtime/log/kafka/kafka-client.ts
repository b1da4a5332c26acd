// The only module that imports kafkajs (and its LZ4 codec). Everything else in runtime/log/kafka/
// sees the narrow, typed surface exported here.
//
// Besides kafkajs's public API (admin, idempotent producer, group consumer) this module uses three
// internals of kafkajs 2.2.4, the last release (the project is unmaintained, so they will not move):
//   - a "raw" Cluster (the same object the producer/consumer/admin use internally, created through
//     the client's private factory so it shares its configuration): leader lookup, ListOffsets,
//     OffsetFetch, and a dedicated fetch connection per broker;
//   - the Fetch v11 request encoder, sent on that connection with our own response decoder
//     (fetch-decoder.ts), because kafkajs's decoder drops record-batch boundaries and so cannot step
//     over batches that compaction emptied;
//   - its compression codec registry, to decompress fetched batches with the same codecs it
//     produces with.
// Each is looked up and checked when a client is created, so a different kafkajs fails at open.

import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer,
  ConsumerConfig,
  EachBatchPayload,
  IHeaders,
  KafkaMessage,
  LogEntry,
  Message,
  Producer,
  RecordMetadata,
  RetryOptions,
} from 'kafkajs';
import { LogStorageError } from '../errors.ts';

export type {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  KafkaMessage,
  Message,
  Producer,
  RecordMetadata,
};

const { Kafka, CompressionTypes, CompressionCodecs, ConfigResourceTypes, logLevel } = kafkajs;
const requireFromHere = createRequire(import.meta.url);

/** pino-compatible: each method takes structured fields first, then the message. */
export interface KafkaLogger {
  error(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  debug(fields: object, message?: string): void;
}

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export type KafkaCompression = 'none' | 'gzip' | 'lz4';

export interface KafkaClientConfig {
  brokers: readonly string[];
  clientId: string;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  retry: RetryOptions;
  logger?: KafkaLogger;
  logLevel: KafkaLogLevel;
}

const levels: Record<KafkaLogLevel, number> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

// We bound the idempotent producer's retries on purpose (an unreachable broker must fail an append
// with BrokerUnreachableError, not retry forever); kafkajs warns about that on every producer.
const expectedWarnings = [
  'Limiting retries for the idempotent producer may invalidate EoS guarantees',
];

function logCreatorFor(logger: KafkaLogger | undefined) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      if (!logger) return;
      const { message, timestamp: _timestamp, logger: _source, ...fields } = log;
      if (level === logLevel.WARN && expectedWarnings.includes(message)) return;
      const entry = { component: 'kafkajs', namespace, ...fields };
      if (level === logLevel.ERROR) logger.error(entry, message);
      else if (level === logLevel.WARN) logger.warn(entry, message);
      else if (level === logLevel.INFO) logger.info(entry, message);
      else logger.debug(entry, message);
    };
}

// ---- kafkajs internals (2.2.4) -------------------------------------------------------------------

/** A request as kafkajs's Connection sends it. */
interface ProtocolRequest {
  request: { apiKey: number; apiVersion: number; apiName: string; encode(): Promise<unknown> };
  response: {
    decode(payload: Buffer): Promise<unknown>;
    parse(decoded: unknown): Promise<unknown>;
  };
  requestTimeout: number;
  logResponseError?: boolean;
}

interface RawBroker {
  nodeId: number;
  metadata(topics: string[]): Promise<{
    topicMetadata: { topic: string; partitionMetadata: RawPartitionMetadata[] }[];
  }>;
  connectionPool: { host: string; port: number; send(request: ProtocolRequest): Promise<unknown> };
  listOffsets(request: {
    replicaId?: number;
    isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; timestamp: number }[] }[];
  }): Promise<{
    responses: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }>;
  offsetFetch(request: {
    groupId: string;
    topics: { topic: string; partitions: { partition: number }[] }[];
  }): Promise<{
    responses: {
      topic: string;
      partitions: { partition: number; offset: string; errorCode?: number }[];
    }[];
  }>;
}

export interface RawPartitionMetadata {
  partitionId: number;
  leader: number;
  partitionErrorCode: number;
}

interface RawCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  getNodeIds(): string[];
  findBroker(request: { nodeId: number }): Promise<RawBroker>;
  findGroupCoordinator(request: { groupId: string }): Promise<RawBroker>;
  refreshMetadata(): Promise<void>;
}

type CreateCluster = (options: {
  allowAutoTopicCreation: boolean;
  metadataMaxAge: number;
  isolationLevel: number;
}) => RawCluster;

type FetchRequestV11 = (request: {
  replicaId: number;
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  isolationLevel: number;
  topics: {
    topic: string;
    partitions: { partition: number; fetchOffset: string; maxBytes: number }[];
  }[];
}) => ProtocolRequest['request'];

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

function loadInternal<T>(path: string): T {
  const loaded: unknown = requireFromHere(path);
  if (typeof loaded !== 'function') {
    throw new LogStorageError(
      `kafkajs internal ${path} is missing; the kafka log needs kafkajs 2.2.x`,
    );
  }
  return loaded as T;
}

function clusterFactory(client: InstanceType<typeof Kafka>): CreateCluster {
  const symbol = Object.getOwnPropertySymbols(client).find(
    (candidate) => candidate.description === 'private:Kafka:createCluster',
  );
  const factory: unknown =
    symbol === undefined ? undefined : (client as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== 'function') {
    throw new LogStorageError(
      'kafkajs no longer exposes its cluster factory; the kafka log needs kafkajs 2.2.x',
    );
  }
  return factory as CreateCluster;
}

// ---- compression -------------------------------------------------------------------------------

let lz4: { registered: true } | { registered: false; error: unknown } | undefined;

/**
 * Registers kafkajs-lz4 in kafkajs's codec registry, for writing and for reading LZ4 batches (other
 * clients may write them). It wraps the native `lz4` module, built at install time; when that is
 * missing, only writing with LZ4 fails (clearly) and reading an LZ4 batch fails with
 * LogStorageError.
 */
export function registerLz4(): { registered: true } | { registered: false; error: unknown } {
  if (!lz4) {
    try {
      const LZ4Codec = requireFromHere('kafkajs-lz4') as new () => { codec: () => Codec };
      (CompressionCodecs as Record<number, () => Codec>)[CompressionTypes.LZ4] =
        new LZ4Codec().codec;
      lz4 = { registered: true };
    } catch (error) {
      lz4 = { registered: false, error };
    }
  }
  return lz4;
}

export function compressionType(compression: KafkaCompression): number {
  if (compression === 'gzip') return CompressionTypes.GZIP;
  if (compression === 'lz4') return CompressionTypes.LZ4;
  return CompressionTypes.None;
}

/** Decompress a fetched batch's records with kafkajs's codec for that compression type. */
export async function decompress(codecId: number, data: Buffer): Promise<Buffer> {
  const factory = (CompressionCodecs as Record<number, (() => Codec) | undefined>)[codecId];
  if (!factory)
    throw new LogStorageError(`unknown compression codec ${codecId} in a fetched batch`);
  let codec: Codec;
  try {
    codec = factory();
  } catch (error) {
    // kafkajs throws KafkaJSNotImplemented for codecs nobody registered (snappy, zstd).
    throw new LogStorageError(
      `cannot read a batch compressed with codec ${codecId}: ${String(error)}`,
      error,
    );
  }
  return codec.decompress(data);
}

// ---- the client --------------------------------------------------------------------------------

export const ISOLATION_READ_UNCOMMITTED = 0;
export const EARLIEST_TIMESTAMP = -2;
export const LATEST_TIMESTAMP = -1;
export const TOPIC_RESOURCE = ConfigResourceTypes.TOPIC;

export interface RawFetchRequest {
  topic: string;
  partition: number;
  offset: number;
  maxWaitMs: number;
  maxBytes: number;
}

/** A cluster connection of our own: metadata, offsets, group offsets, and one fetch connection. */
export class RawConnection {
  constructor(
    private readonly cluster: RawCluster,
    private readonly fetchRequest: FetchRequestV11,
    private readonly requestTimeoutMs: number,
  ) {}

  async connect(): Promise<void> {
    await this.cluster.connect();
    // connect() reaches one seed broker; the metadata names the others (and their node ids).
    await this.cluster.refreshMetadata();
  }

  disconnect(): Promise<void> {
    return this.cluster.disconnect();
  }

  /** Partition metadata of one topic; throws kafkajs's UNKNOWN_TOPIC_OR_PARTITION when absent. */
  async partitions(topic: string): Promise<RawPartitionMetadata[]> {
    // Asked of one broker directly: kafkajs's cluster.metadata() turns every failure into null.
    const broker = await this.anyBroker();
    const { topicMetadata } = await broker.metadata([topic]);
    return topicMetadata.find((entry) => entry.topic === topic)?.partitionMetadata ?? [];
  }

  private async anyBroker(): Promise<RawBroker> {
    let nodeIds = this.cluster.getNodeIds();
    if (nodeIds.length === 0) {
      await this.cluster.refreshMetadata();
      nodeIds = this.cluster.getNodeIds();
    }
    let lastError: unknown = new Error('the cluster metadata names no broker');
    for (const nodeId of nodeIds) {
      try {
        return await this.cluster.findBroker({ nodeId: Number(nodeId) });
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  async listOffsets(
    leader: number,
    topic: string,
    partitions: readonly number[],
    timestamp: number,
  ): Promise<Map<number, number>> {
    const broker = await this.cluster.findBroker({ nodeId: leader });
    const { responses } = await broker.listOffsets({
      replicaId: -1,
      isolationLevel: ISOLATION_READ_UNCOMMITTED,
      topics: [{ topic, partitions: partitions.map((partition) => ({ partition, timestamp })) }],
    });
    const out = new Map<number, number>();
    for (const response of responses) {
      for (const { partition, offset } of response.partitions) out.set(partition, Number(offset));
    }
    return out;
  }

  async committedOffsets(
    groupId: string,
    topic: string,
    partitions: readonly number[],
  ): Promise<Map<number, number>> {
    const coordinator = await this.cluster.findGroupCoordinator({ groupId });
    const { responses } = await coordinator.offsetFetch({
      groupId,
      topics: [{ topic, partitions: partitions.map((partition) => ({ partition })) }],
    });
    const out = new Map<number, number>();
    for (const response of responses) {
      if (response.topic !== topic) continue;
      for (const { partition, offset } of response.partitions) {
        const value = Number(offset);
        if (value >= 0) out.set(partition, value);
      }
    }
    return out;
  }

  /**
   * One Fetch v11 for one partition on its leader's fetch connection; resolves with the raw
   * response payload (decoded by fetch-decoder.ts). Long-polls up to maxWaitMs for one byte.
   */
  async fetch(leader: number, request: RawFetchRequest): Promise<Buffer> {
    const broker = await this.cluster.findBroker({ nodeId: leader });
    const payload = await broker.connectionPool.send({
      request: this.fetchRequest({
        replicaId: -1,
        maxWaitTime: request.maxWaitMs,
        minBytes: 1,
        maxBytes: request.maxBytes,
        isolationLevel: ISOLATION_READ_UNCOMMITTED,
        topics: [
          {
            topic: request.topic,
            partitions: [
              {
                partition: request.partition,
                fetchOffset: String(request.offset),
                maxBytes: request.maxBytes,
              },
            ],
          },
        ],
      }),
      response: {
        decode: async (raw) => raw,
        parse: async (decoded) => decoded,
      },
      requestTimeout: request.maxWaitMs + this.requestTimeoutMs,
    });
    if (!Buffer.isBuffer(payload)) throw new LogStorageError('a fetch response was not a buffer');
    return payload;
  }
}

export interface KafkaClient {
  readonly brokers: readonly string[];
  admin(): Admin;
  producer(): Producer;
  /** A consumer on a client of its own (kafkajs shares a committed-offset cache per client). */
  consumer(config: ConsumerConfig): Consumer;
  rawConnection(metadataMaxAgeMs: number): RawConnection;
}

export function createKafkaClient(config: KafkaClientConfig): KafkaClient {
  registerLz4();
  const make = () =>
    new Kafka({
      clientId: config.clientId,
      brokers: [...config.brokers],
      connectionTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      retry: config.retry,
      logLevel: levels[config.logLevel],
      logCreator: logCreatorFor(config.logger),
    });
  const shared = make();
  // Both checked here, so a kafkajs with other internals fails at open, not on the first read.
  const createCluster = clusterFactory(shared);
  const fetchRequest = loadInternal<FetchRequestV11>(
    'kafkajs/src/protocol/requests/fetch/v11/request.js',
  );
  return {
    brokers: config.brokers,
    admin: () => shared.admin({ retry: config.retry }),
    producer: () =>
      shared.producer({
        idempotent: true,
        // One in-flight request per broker connection: kafkajs assigns idempotent sequence
        // numbers per request, so ordering relies on it (it also holds a per-broker lock).
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: config.retry,
        // We always set an explicit partition (runtime/log/partitioner.ts).
        createPartitioner:
          () =>
          ({ message }) =>
            message.partition ?? 0,
      }),
    consumer: (consumerConfig) => make().consumer(consumerConfig),
    rawConnection: (metadataMaxAgeMs) =>
      new RawConnection(
        createCluster({
          allowAutoTopicCreation: false,
          metadataMaxAge: metadataMaxAgeMs,
          isolationLevel: ISOLATION_READ_UNCOMMITTED,
        }),
        fetchRequest,
        config.requestTimeoutMs,
      ),
  };
}
