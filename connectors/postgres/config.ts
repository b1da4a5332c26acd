// The typed configuration of the PostgreSQL source. The JSON Schema in
// schemas/connectors/postgres-source.schema.json is the one source of truth for keys, types and
// defaults; this module turns a parsed (or raw string) config into the object engine code uses,
// filling defaults from that schema, and checks the rules a JSON Schema cannot express.

import schemaJson from '../../schemas/connectors/postgres-source.schema.json' with { type: 'json' };
import {
  InvalidInputError,
  type ConfigSchema,
  type FieldError,
  type ParsedConfig,
  type RawConfig,
} from '../../runtime/api/index.ts';
import { KeyColumnOverrides, parseRegexList } from '../../runtime/cdc/filters.ts';
import { PostgresErrorCode } from './errors.ts';
import type {
  BinaryHandlingMode,
  DecimalHandlingMode,
  HstoreHandlingMode,
  IntervalHandlingMode,
  TimePrecisionMode,
  TypeModes,
} from './type-mapping.ts';

export const postgresSourceSchema = schemaJson as unknown as ConfigSchema;

export type PublicationAutocreateMode = 'all_tables' | 'filtered' | 'disabled';
export type SnapshotMode = 'initial' | 'always' | 'initial_only' | 'no_data' | 'when_needed';
export type SslMode = 'disable' | 'require' | 'verify-full';
export type SkippableOperation = 'c' | 'u' | 'd' | 't';

export interface PostgresSourceConfig {
  hostname: string;
  port: number;
  user: string;
  password: string;
  database: string;
  sslMode: SslMode;
  connectTimeoutMs: number;
  topicPrefix: string;
  heartbeatTopicPrefix: string;
  transactionTopic: string;
  slotName: string;
  slotDropOnStop: boolean;
  slotDropOnDelete: boolean;
  publicationName: string;
  publicationAutocreateMode: PublicationAutocreateMode;
  statusUpdateIntervalMs: number;
  schemaIncludeList: string | undefined;
  schemaExcludeList: string | undefined;
  tableIncludeList: string | undefined;
  tableExcludeList: string | undefined;
  columnIncludeList: string | undefined;
  columnExcludeList: string | undefined;
  messageKeyColumns: string | undefined;
  skippedOperations: ReadonlySet<SkippableOperation>;
  tombstonesOnDelete: boolean;
  provideTransactionMetadata: boolean;
  typeModes: TypeModes;
  snapshotMode: SnapshotMode;
  snapshotMaxThreads: number;
  snapshotChunkSize: number;
  /** signal.data.collection as [schema, table], when set. */
  signalTable: readonly [string, string] | undefined;
  incrementalChunkSize: number;
  heartbeatIntervalMs: number;
  heartbeatActionQuery: string | undefined;
  /** Tries again at start while the slot is in use (Debezium's slot.max.retries). */
  slotMaxRetries: number;
  slotRetryDelayMs: number;
  maxBatchSize: number;
  maxQueueSize: number;
  maxQueueSizeInBytes: number;
  pollIntervalMs: number;
  reconnectBackoffMaxMs: number;
  maxRetries: number;
  lagCheckIntervalMs: number;
}

type Value = ParsedConfig[string];

function defaultOf(key: string): Value {
  return postgresSourceSchema.properties[key]?.default;
}

function raw(values: ParsedConfig | RawConfig, key: string): Value {
  const value = (values as ParsedConfig)[key];
  return value === undefined || value === '' ? defaultOf(key) : value;
}

function text(values: ParsedConfig | RawConfig, key: string): string {
  const value = raw(values, key);
  return value === undefined ? '' : String(value);
}

function optionalText(values: ParsedConfig | RawConfig, key: string): string | undefined {
  const value = raw(values, key);
  if (value === undefined) return undefined;
  const result = Array.isArray(value) ? value.join(',') : String(value);
  return result.trim() === '' ? undefined : result;
}

function integer(values: ParsedConfig | RawConfig, key: string): number {
  const value = Number(raw(values, key));
  if (!Number.isInteger(value)) {
    throw new InvalidInputError(
      PostgresErrorCode.config,
      `${key} must be an integer, got ${String(raw(values, key))}`,
    );
  }
  return value;
}

function bool(values: ParsedConfig | RawConfig, key: string): boolean {
  const value = raw(values, key);
  return value === true || value === 'true';
}

function oneOf<T extends string>(
  values: ParsedConfig | RawConfig,
  key: string,
  allowed: readonly T[],
): T {
  const value = text(values, key) as T;
  if (!allowed.includes(value)) {
    throw new InvalidInputError(
      PostgresErrorCode.config,
      `${key} must be one of ${allowed.join(', ')}, got "${value}"`,
    );
  }
  return value;
}

function skippedOperations(value: string): Set<SkippableOperation> {
  const operations = new Set<SkippableOperation>();
  for (const item of value.split(',').map((part) => part.trim().toLowerCase())) {
    if (item === '' || item === 'none') continue;
    if (item === 'c' || item === 'u' || item === 'd' || item === 't') operations.add(item);
    else
      throw new InvalidInputError(
        PostgresErrorCode.config,
        `skipped.operations: unknown operation "${item}" (use c, u, d, t or none)`,
      );
  }
  return operations;
}

/**
 * signal.data.collection → [schema, table]. Debezium writes it `schema.table` (some docs
 * `database.schema.table`: the database part is dropped); a part may be double-quoted.
 */
export function signalTable(value: string | undefined): readonly [string, string] | undefined {
  if (value === undefined) return undefined;
  const parts: string[] = [];
  for (const match of value.trim().matchAll(/"((?:[^"]|"")*)"|([^.]+)/g)) {
    parts.push(match[1] !== undefined ? match[1].replace(/""/g, '"') : match[2]!);
  }
  if (parts.length < 2 || parts.length > 3) {
    throw new InvalidInputError(
      PostgresErrorCode.config,
      `signal.data.collection must be schema.table, got "${value}"`,
    );
  }
  return [parts.at(-2)!, parts.at(-1)!];
}

/** A parsed config (from the runtime) or a raw string map (tests, tools) → the typed config. */
export function postgresConfig(values: ParsedConfig | RawConfig): PostgresSourceConfig {
  for (const key of ['database.hostname', 'database.user', 'database.dbname', 'topic.prefix']) {
    if (text(values, key) === '')
      throw new InvalidInputError(PostgresErrorCode.config, `${key} is required`);
  }
  const snapshotMode = oneOf(values, 'snapshot.mode', [
    'initial',
    'always',
    'initial_only',
    'no_data',
    'never',
    'when_needed',
  ]);
  return {
    hostname: text(values, 'database.hostname'),
    port: integer(values, 'database.port'),
    user: text(values, 'database.user'),
    password: text(values, 'database.password'),
    database: text(values, 'database.dbname'),
    sslMode: oneOf(values, 'database.sslmode', ['disable', 'require', 'verify-full']),
    connectTimeoutMs: integer(values, 'database.connect.timeout.ms'),
    topicPrefix: text(values, 'topic.prefix'),
    heartbeatTopicPrefix: text(values, 'topic.heartbeat.prefix'),
    transactionTopic: text(values, 'topic.transaction'),
    slotName: text(values, 'slot.name'),
    slotDropOnStop: bool(values, 'slot.drop.on.stop'),
    slotDropOnDelete: bool(values, 'slot.drop.on.delete'),
    publicationName: text(values, 'publication.name'),
    publicationAutocreateMode: oneOf(values, 'publication.autocreate.mode', [
      'all_tables',
      'filtered',
      'disabled',
    ]),
    statusUpdateIntervalMs: integer(values, 'status.update.interval.ms'),
    schemaIncludeList: optionalText(values, 'schema.include.list'),
    schemaExcludeList: optionalText(values, 'schema.exclude.list'),
    tableIncludeList: optionalText(values, 'table.include.list'),
    tableExcludeList: optionalText(values, 'table.exclude.list'),
    columnIncludeList: optionalText(values, 'column.include.list'),
    columnExcludeList: optionalText(values, 'column.exclude.list'),
    messageKeyColumns: optionalText(values, 'message.key.columns'),
    skippedOperations: skippedOperations(text(values, 'skipped.operations')),
    tombstonesOnDelete: bool(values, 'tombstones.on.delete'),
    provideTransactionMetadata: bool(values, 'provide.transaction.metadata'),
    typeModes: {
      decimal: oneOf<DecimalHandlingMode>(values, 'decimal.handling.mode', [
        'precise',
        'double',
        'string',
      ]),
      time: oneOf<TimePrecisionMode>(values, 'time.precision.mode', [
        'adaptive',
        'adaptive_time_microseconds',
        'connect',
      ]),
      binary: oneOf<BinaryHandlingMode>(values, 'binary.handling.mode', [
        'bytes',
        'base64',
        'base64-url-safe',
        'hex',
      ]),
      hstore: oneOf<HstoreHandlingMode>(values, 'hstore.handling.mode', ['json', 'map']),
      interval: oneOf<IntervalHandlingMode>(values, 'interval.handling.mode', [
        'numeric',
        'string',
      ]),
      moneyFractionDigits: integer(values, 'money.fraction.digits'),
      includeUnknownDatatypes: bool(values, 'include.unknown.datatypes'),
      unavailablePlaceholder: text(values, 'unavailable.value.placeholder'),
    },
    snapshotMode: snapshotMode === 'never' ? 'no_data' : snapshotMode,
    snapshotMaxThreads: integer(values, 'snapshot.max.threads'),
    snapshotChunkSize: integer(values, 'snapshot.chunk.size'),
    signalTable: signalTable(optionalText(values, 'signal.data.collection')),
    incrementalChunkSize: integer(values, 'incremental.snapshot.chunk.size'),
    heartbeatIntervalMs: integer(values, 'heartbeat.interval.ms'),
    slotMaxRetries: integer(values, 'slot.max.retries'),
    slotRetryDelayMs: integer(values, 'slot.retry.delay.ms'),
    heartbeatActionQuery: optionalText(values, 'heartbeat.action.query'),
    maxBatchSize: integer(values, 'max.batch.size'),
    maxQueueSize: integer(values, 'max.queue.size'),
    maxQueueSizeInBytes: integer(values, 'max.queue.size.in.bytes'),
    pollIntervalMs: integer(values, 'poll.interval.ms'),
    reconnectBackoffMaxMs: integer(values, 'retriable.restart.connector.wait.ms'),
    maxRetries: integer(values, 'errors.max.retries'),
    lagCheckIntervalMs: integer(values, 'lag.check.interval.ms'),
  };
}

function regexErrors(values: ParsedConfig | RawConfig, key: string): FieldError[] {
  try {
    parseRegexList(optionalText(values, key));
    return [];
  } catch (error) {
    return [
      { field: key, message: `not a valid regular expression list: ${(error as Error).message}` },
    ];
  }
}

/** Rules across keys, and the regexes ajv cannot check; [] when the config is usable. */
export function postgresConfigErrors(values: ParsedConfig | RawConfig): FieldError[] {
  const errors: FieldError[] = [];
  for (const [include, exclude] of [
    ['schema.include.list', 'schema.exclude.list'],
    ['table.include.list', 'table.exclude.list'],
    ['column.include.list', 'column.exclude.list'],
  ] as const) {
    if (
      optionalText(values, include) !== undefined &&
      optionalText(values, exclude) !== undefined
    ) {
      const message = `${include} and ${exclude} are mutually exclusive; set only one`;
      errors.push({ field: include, message }, { field: exclude, message });
    }
    errors.push(...regexErrors(values, include), ...regexErrors(values, exclude));
  }
  try {
    new KeyColumnOverrides(optionalText(values, 'message.key.columns'));
  } catch (error) {
    errors.push({ field: 'message.key.columns', message: (error as Error).message });
  }
  const slot = text(values, 'slot.name');
  if (!/^[a-z0-9_]{1,63}$/.test(slot)) {
    errors.push({
      field: 'slot.name',
      message:
        'a replication slot name may contain only lower-case letters, digits and underscores (at most 63)',
    });
  }
  try {
    postgresConfig(values);
  } catch (error) {
    const message = (error as Error).message;
    const key = message.split(' ')[0] ?? '';
    if (!errors.some((existing) => existing.message === message))
      errors.push({ field: key, message });
  }
  return errors;
}
