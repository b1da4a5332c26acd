// Options of the kafka backend, with the defaults applied in one place.

import { InvalidInputError } from '../../api/errors.ts';
import {
  registerLz4,
  type KafkaCompression,
  type KafkaLogger,
  type KafkaLogLevel,
} from './kafka-client.ts';

export type { KafkaCompression, KafkaLogger, KafkaLogLevel };

export interface KafkaConsumerOptions {
  /** The group drops a member that has not heartbeated for this long. Default 30 s. */
  sessionTimeoutMs?: number;
  /** How often a member heartbeats (and so how fast it notices a rebalance). Default 1 s. */
  heartbeatIntervalMs?: number;
  /** How long the group waits for members to rejoin during a rebalance. Default 60 s. */
  rebalanceTimeoutMs?: number;
  /** Long-poll time of the background fetch loop; bounds how long close() waits. Default 500 ms. */
  fetchMaxWaitMs?: number;
  /** Bytes fetched per partition per request. Default 1 MiB. */
  fetchMaxBytesPerPartition?: number;
  /** The buffer between the fetch loop and poll(): fetching pauses above either bound. */
  maxBufferedRecords?: number;
  maxBufferedBytes?: number;
}

export interface KafkaLogOptions {
  /** host:port of one or more brokers. */
  brokers: readonly string[];
  clientId?: string;
  /** Compression of appended batches. Default 'none'; 'lz4' needs the kafkajs-lz4 package. */
  compression?: KafkaCompression;
  /** TCP connect timeout per broker. Default 3 s. */
  connectionTimeoutMs?: number;
  /** Per-request timeout (a long-poll read adds its wait to it). Default 30 s. */
  requestTimeoutMs?: number;
  /** Retries of a failed request before the call fails (exponential backoff from 100 ms). Default 3. */
  retries?: number;
  /** Replication factor of created topics when the TopicSpec names none. Default: the broker's. */
  replicationFactor?: number;
  /** Receives kafkajs's own log lines (pino-compatible). Absent: kafkajs stays silent. */
  logger?: KafkaLogger;
  /** Default 'warn' with a logger, 'nothing' without. */
  logLevel?: KafkaLogLevel;
  /**
   * Upper bound of one record batch (records of one partition in one produce request), before
   * compression. The topic's max.message.bytes lowers it. Default 1 MiB.
   */
  maxBatchBytes?: number;
  /** Bytes asked for per read() fetch. Default 1 MiB. */
  fetchMaxBytes?: number;
  /** Reads running at once; each has its own fetch connection so long polls do not queue. Default 4. */
  maxConcurrentReads?: number;
  /** How long topic metadata (partitions, leaders, size limit) is cached. Default 30 s. */
  metadataMaxAgeMs?: number;
  consumer?: KafkaConsumerOptions;
}

export interface ResolvedKafkaLogOptions {
  brokers: readonly string[];
  clientId: string;
  compression: KafkaCompression;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  retries: number;
  replicationFactor: number | undefined;
  logger: KafkaLogger | undefined;
  logLevel: KafkaLogLevel;
  maxBatchBytes: number;
  fetchMaxBytes: number;
  maxConcurrentReads: number;
  metadataMaxAgeMs: number;
  consumer: Required<KafkaConsumerOptions>;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidInputError(
      'LOG_INVALID_OPTIONS',
      `kafka log option ${name} must be > 0, got ${value}`,
    );
  }
  return value;
}

function compression(value: KafkaCompression | undefined): KafkaCompression {
  const chosen = value ?? 'none';
  if (chosen !== 'none' && chosen !== 'gzip' && chosen !== 'lz4') {
    throw new InvalidInputError(
      'LOG_INVALID_OPTIONS',
      `kafka log option compression must be none, gzip or lz4, got ${String(chosen)}`,
    );
  }
  const lz4 = chosen === 'lz4' ? registerLz4() : undefined;
  if (lz4 && !lz4.registered) {
    throw new InvalidInputError(
      'LOG_INVALID_OPTIONS',
      `kafka log option compression=lz4 needs the kafkajs-lz4 package and its native lz4 build: ${String(lz4.error)}`,
      lz4.error,
    );
  }
  return chosen;
}

export function resolveOptions(options: KafkaLogOptions): ResolvedKafkaLogOptions {
  const brokers = options.brokers.map((broker) => broker.trim()).filter((broker) => broker !== '');
  if (brokers.length === 0) {
    throw new InvalidInputError('LOG_INVALID_OPTIONS', 'kafka log option brokers lists no broker');
  }
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new InvalidInputError(
      'LOG_INVALID_OPTIONS',
      `kafka log option retries must be >= 0, got ${retries}`,
    );
  }
  const consumer = options.consumer ?? {};
  const sessionTimeoutMs = positive('consumer.sessionTimeoutMs', consumer.sessionTimeoutMs, 30_000);
  const heartbeatIntervalMs = positive(
    'consumer.heartbeatIntervalMs',
    consumer.heartbeatIntervalMs,
    Math.min(1000, Math.floor(sessionTimeoutMs / 3)),
  );
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw new InvalidInputError(
      'LOG_INVALID_OPTIONS',
      `kafka log option consumer.heartbeatIntervalMs (${heartbeatIntervalMs}) must be below sessionTimeoutMs (${sessionTimeoutMs})`,
    );
  }
  return {
    brokers,
    clientId: options.clientId ?? 'kafki',
    compression: compression(options.compression),
    connectionTimeoutMs: positive('connectionTimeoutMs', options.connectionTimeoutMs, 3000),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 30_000),
    retries,
    replicationFactor: options.replicationFactor,
    logger: options.logger,
    logLevel: options.logLevel ?? (options.logger ? 'warn' : 'nothing'),
    maxBatchBytes: positive('maxBatchBytes', options.maxBatchBytes, 1024 * 1024),
    fetchMaxBytes: positive('fetchMaxBytes', options.fetchMaxBytes, 1024 * 1024),
    maxConcurrentReads: positive('maxConcurrentReads', options.maxConcurrentReads, 4),
    metadataMaxAgeMs: positive('metadataMaxAgeMs', options.metadataMaxAgeMs, 30_000),
    consumer: {
      sessionTimeoutMs,
      heartbeatIntervalMs,
      rebalanceTimeoutMs: positive(
        'consumer.rebalanceTimeoutMs',
        consumer.rebalanceTimeoutMs,
        60_000,
      ),
      fetchMaxWaitMs: positive('consumer.fetchMaxWaitMs', consumer.fetchMaxWaitMs, 500),
      fetchMaxBytesPerPartition: positive(
        'consumer.fetchMaxBytesPerPartition',
        consumer.fetchMaxBytesPerPartition,
        1024 * 1024,
      ),
      maxBufferedRecords: positive(
        'consumer.maxBufferedRecords',
        consumer.maxBufferedRecords,
        10_000,
      ),
      maxBufferedBytes: positive(
        'consumer.maxBufferedBytes',
        consumer.maxBufferedBytes,
        16 * 1024 * 1024,
      ),
    },
  };
}
