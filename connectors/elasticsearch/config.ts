// The typed configuration of the Elasticsearch sink, read from the validated config the runtime
// hands over (schemas/connectors/elasticsearch-sink.schema.json declares keys, types and
// defaults). Values are read leniently (a string "5" or "true" is accepted too) so a task also
// works from a raw map, and cross-key rules the JSON Schema cannot state are checked here.

import type { FieldError, ParsedConfig } from '../../runtime/api/index.ts';
import { parseTopicIndexMap } from './index-name.ts';
import { defaultPlaceholder } from './unavailable-values.ts';

export type NullValueBehavior = 'ignore' | 'delete' | 'fail';
export type MalformedBehavior = 'ignore' | 'warn' | 'fail';
export type WriteMethod = 'insert' | 'upsert';
export type VersionFallback = 'offset' | 'none';
export type UnavailableValues = 'resolve' | 'keep';

export interface ElasticsearchSinkConfig {
  readonly urls: readonly string[];
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly compression: boolean;
  readonly connectionTimeoutMs: number;
  readonly readTimeoutMs: number;

  readonly batchSize: number;
  readonly bulkSizeBytes: number;
  readonly maxInFlightRequests: number;
  readonly maxBufferedRecords: number;
  readonly maxBufferedBytes: number;
  readonly lingerMs: number;
  readonly flushTimeoutMs: number;
  readonly maxRetries: number;
  readonly retryBackoffMs: number;

  readonly keyIgnore: boolean;
  readonly schemaIgnore: boolean;
  readonly topicKeyIgnore: ReadonlySet<string>;
  readonly topicSchemaIgnore: ReadonlySet<string>;
  readonly dropInvalidMessage: boolean;
  readonly nullValues: NullValueBehavior;
  readonly malformedDocuments: MalformedBehavior;
  readonly writeMethod: WriteMethod;
  /** How to treat the source's placeholder for unchanged TOASTed values. */
  readonly unavailableValues: UnavailableValues;
  /** The placeholder (unavailable.value.placeholder); undefined: no detection. */
  readonly unavailablePlaceholder: string | undefined;

  readonly versionHeader: string | undefined;
  readonly versionField: string | undefined;
  readonly versionFallback: VersionFallback;

  readonly topicToIndex: ReadonlyMap<string, string>;
  readonly indexAutoCreate: boolean;
  readonly indexShards: number;
  readonly indexReplicas: number;
  readonly indexGcDeletes: string | undefined;
}

type Value = ParsedConfig[string];

function text(value: Value): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

function list(value: Value): string[] {
  if (value === undefined || value === '') return [];
  const items = Array.isArray(value) ? value : String(value).split(',');
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

class Reader {
  readonly errors: FieldError[] = [];

  constructor(private readonly values: ParsedConfig) {}

  string(key: string, fallback: string): string {
    return text(this.values[key]) ?? fallback;
  }

  optionalString(key: string): string | undefined {
    const value = text(this.values[key]);
    return value === undefined || value === '' ? undefined : value;
  }

  integer(key: string, fallback: number, minimum = 0): number {
    const raw = this.values[key];
    if (raw === undefined || raw === '') return fallback;
    const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isSafeInteger(value) || value < minimum) {
      this.errors.push({ field: key, message: `${key} must be an integer of at least ${minimum}` });
      return fallback;
    }
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const raw = this.values[key];
    if (raw === undefined || raw === '') return fallback;
    if (typeof raw === 'boolean') return raw;
    const value = String(raw).trim().toLowerCase();
    if (value === 'true' || value === 'false') return value === 'true';
    this.errors.push({ field: key, message: `${key} must be true or false` });
    return fallback;
  }

  /** Kafka Connect's enum validators are case-insensitive (Confluent documents IGNORE/DELETE…). */
  choice<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const raw = text(this.values[key]);
    if (raw === undefined || raw === '') return fallback;
    const value = raw.trim().toLowerCase() as T;
    if (allowed.includes(value)) return value;
    this.errors.push({ field: key, message: `${key} must be one of: ${allowed.join(', ')}` });
    return fallback;
  }

  list(key: string): string[] {
    return list(this.values[key]);
  }
}

export function parseSinkConfig(values: ParsedConfig): {
  config: ElasticsearchSinkConfig;
  errors: FieldError[];
} {
  const read = new Reader(values);
  const urls = read.list('connection.url');
  if (urls.length === 0) {
    read.errors.push({ field: 'connection.url', message: 'connection.url is required' });
  }
  for (const url of urls) {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
    } catch {
      read.errors.push({
        field: 'connection.url',
        message: `'${url}' is not an http:// or https:// URL`,
      });
    }
  }

  // Kafki's own mapping and Confluent's; with external.resource.usage=DISABLED Confluent ignores
  // its mapping, so do we.
  const usage = read.string('external.resource.usage', 'DISABLED').toUpperCase();
  if (!['DISABLED', 'INDEX', 'ALIAS_INDEX'].includes(usage)) {
    read.errors.push({
      field: 'external.resource.usage',
      message: `external.resource.usage ${usage} is not supported (data streams are not); use DISABLED, INDEX or ALIAS_INDEX`,
    });
  }
  const kafki = parseTopicIndexMap(read.list('topic.to.index.map'));
  for (const problem of kafki.problems) {
    read.errors.push({ field: 'topic.to.index.map', message: problem });
  }
  const topicToIndex = new Map(kafki.map);
  if (usage === 'INDEX' || usage === 'ALIAS_INDEX') {
    const confluent = parseTopicIndexMap(read.list('topic.to.external.resource.mapping'));
    for (const problem of confluent.problems) {
      read.errors.push({ field: 'topic.to.external.resource.mapping', message: problem });
    }
    for (const [topic, index] of confluent.map) {
      if (!topicToIndex.has(topic)) topicToIndex.set(topic, index);
    }
  }

  // flush.synchronously is still accepted (and checked to be a boolean) for compatibility, and
  // ignored: offsets follow the records' original coordinates, so transforms that rename topics
  // need it no more (README, "Transforms that rename topics").
  read.boolean('flush.synchronously', false);
  const batchSize = read.integer('batch.size', 2000, 1);
  const bulkSizeBytes = read.integer('bulk.size.bytes', 5 * 1024 * 1024, 1);
  const config: ElasticsearchSinkConfig = {
    urls,
    username: read.optionalString('connection.username'),
    password: read.optionalString('connection.password'),
    compression: read.boolean('connection.compression', false),
    connectionTimeoutMs: read.integer('connection.timeout.ms', 1000, 1),
    readTimeoutMs: read.integer('read.timeout.ms', 3000, 1),

    batchSize,
    bulkSizeBytes,
    maxInFlightRequests: read.integer('max.in.flight.requests', 5, 1),
    maxBufferedRecords: read.integer('max.buffered.records', 20000, 1),
    maxBufferedBytes: read.integer('max.buffered.bytes', 64 * 1024 * 1024, 1),
    lingerMs: read.integer('linger.ms', 1, 0),
    flushTimeoutMs: read.integer('flush.timeout.ms', 180_000, 1),
    maxRetries: read.integer('max.retries', 5, 0),
    retryBackoffMs: read.integer('retry.backoff.ms', 100, 0),

    keyIgnore: read.boolean('key.ignore', false),
    schemaIgnore: read.boolean('schema.ignore', false),
    topicKeyIgnore: new Set(read.list('topic.key.ignore')),
    topicSchemaIgnore: new Set(read.list('topic.schema.ignore')),
    dropInvalidMessage: read.boolean('drop.invalid.message', false),
    nullValues: read.choice('behavior.on.null.values', ['ignore', 'delete', 'fail'], 'fail'),
    malformedDocuments: read.choice(
      'behavior.on.malformed.documents',
      ['ignore', 'warn', 'fail'],
      'fail',
    ),
    writeMethod: read.choice('write.method', ['insert', 'upsert'], 'insert'),
    unavailableValues: read.choice(
      'behavior.on.unavailable.values',
      ['resolve', 'keep'],
      'resolve',
    ),
    unavailablePlaceholder:
      values['unavailable.value.placeholder'] === ''
        ? undefined
        : (read.optionalString('unavailable.value.placeholder') ?? defaultPlaceholder),

    versionHeader: read.optionalString('external.version.header'),
    // An explicit empty value turns the field lookup off; unset means Debezium unwrap's __lsn.
    versionField:
      values['external.version.field'] === ''
        ? undefined
        : (read.optionalString('external.version.field') ?? '__lsn'),
    versionFallback: read.choice('external.version.fallback', ['offset', 'none'], 'offset'),

    topicToIndex,
    indexAutoCreate: read.boolean('index.auto.create', true),
    indexShards: read.integer('index.shards', 1, 1),
    indexReplicas: read.integer('index.replicas', 1, 0),
    indexGcDeletes: read.optionalString('index.gc.deletes'),
  };
  if (config.indexGcDeletes !== undefined && !/^-?\d+(ms|s|m|h|d)?$/.test(config.indexGcDeletes)) {
    read.errors.push({
      field: 'index.gc.deletes',
      message: `index.gc.deletes must be an Elasticsearch time value such as 60s, 10m or 1h`,
    });
  }
  return { config, errors: read.errors };
}

/** Config keys of this connector whose value must never be logged. */
export const secretKeys: readonly string[] = ['connection.password'];
