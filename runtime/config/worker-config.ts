// The worker configuration: a JSON file of flat keys (schemas/worker.schema.json), values typed or
// strings, `${env:…}`/`${file:…}` references resolved on load. Validated with the same parser as
// connector configs, every error at once. This module and config-providers.ts are the only places
// that read process.env.

import { readFile } from 'node:fs/promises';
import workerSchemaJson from '../../schemas/worker.schema.json' with { type: 'json' };
import { InvalidInputError } from '../api/errors.ts';
import type { ConfigSchema, FieldError, ParsedConfig } from '../api/config.ts';
import { ConfigResolver, defaultConfigProviderSettings } from './config-providers.ts';
import type { ConfigProviderSettings } from './config-providers.ts';
import { maskSecrets, parseFlatConfig } from './flat-config.ts';
import { SchemaCompiler } from './json-schema.ts';

export const workerSchema = workerSchemaJson as unknown as ConfigSchema;

export interface WorkerConfig {
  /** Shown as worker_id in statuses. */
  readonly workerId: string;
  readonly groupId: string;
  readonly log: {
    readonly backend: 'local' | 'kafka';
    readonly dir: string;
    /** 'always', or fsync every N ms. */
    readonly fsync: 'always' | number;
    readonly bootstrapServers: readonly string[];
    readonly compression: 'none' | 'gzip' | 'lz4';
    readonly replicationFactor: number;
  };
  readonly storage: {
    readonly configTopic: string;
    readonly offsetTopic: string;
    readonly statusTopic: string;
    readonly offsetPartitions: number;
    readonly statusPartitions: number;
  };
  readonly tasks: {
    readonly offsetFlushIntervalMs: number;
    readonly shutdownGracefulTimeoutMs: number;
    readonly producerBufferMemory: number;
    readonly consumerMaxPollRecords: number;
    readonly consumerFetchMaxBytes: number;
    readonly topicCreationDefaultPartitions: number;
  };
  readonly converters: {
    readonly key: string;
    readonly value: string;
    readonly keySchemasEnable: boolean;
    readonly valueSchemasEnable: boolean;
  };
  readonly rest: {
    readonly listeners: string;
    readonly advertisedUrl: string | undefined;
    readonly authToken: string | undefined;
    readonly sslKeyLocation: string | undefined;
    readonly sslCertificateLocation: string | undefined;
    readonly sslKeyPassword: string | undefined;
    readonly sslCaLocation: string | undefined;
    readonly sslClientAuth: 'none' | 'requested' | 'required';
  };
  readonly redisUrl: string | undefined;
  /** Distributed mode: membership and lease timing. */
  readonly cluster: {
    readonly sessionTimeoutMs: number;
    readonly heartbeatIntervalMs: number;
  };
  readonly logLevel: string;
  readonly configProviders: ConfigProviderSettings;
  /** Every key after validation with defaults applied, for keys without a typed field above. */
  readonly values: Readonly<ParsedConfig>;
}

export class WorkerConfigError extends InvalidInputError {
  constructor(
    readonly source: string,
    readonly errors: readonly FieldError[],
  ) {
    super(
      'WORKER_CONFIG_INVALID',
      `worker config ${source} is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}):\n` +
        errors.map((error) => `  ${error.field}: ${error.message}`).join('\n'),
    );
  }
}

const str = (values: ParsedConfig, key: string): string | undefined => {
  const value = values[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
};
const num = (values: ParsedConfig, key: string): number => values[key] as number;
const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** host:port of a listener URL, Kafka Connect's worker_id form. */
function hostPort(url: string): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
    return `${parsed.hostname}:${port}`;
  } catch {
    return url;
  }
}

/**
 * A member renews its membership and leases every heartbeat; three heartbeats must fit in a
 * session, or one slow renewal would make a live member look dead.
 */
function clusterTimingErrors(values: ParsedConfig): FieldError[] {
  const session = values['session.timeout.ms'];
  const heartbeat = values['heartbeat.interval.ms'];
  if (typeof session !== 'number' || typeof heartbeat !== 'number') return [];
  if (heartbeat * 3 <= session) return [];
  return [
    {
      field: 'heartbeat.interval.ms',
      message: `${heartbeat} is too long for session.timeout.ms=${session}: keep it at a third of the session timeout or less`,
    },
  ];
}

export interface LoadWorkerConfigOptions {
  /** Environment for ${env:…} references. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Shown in error messages. */
  source?: string;
}

/** Validate an already parsed JSON object (e.g. built by a test or the CLI). */
export async function parseWorkerConfig(
  input: Readonly<Record<string, unknown>>,
  options: LoadWorkerConfigOptions = {},
): Promise<WorkerConfig> {
  const source = options.source ?? 'object';
  const env = options.env ?? process.env;
  // References in the worker config itself resolve with the default providers (the provider
  // settings are worker keys, so they cannot govern their own file).
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(input)) {
    if (typeof value === 'string') strings[key] = value;
  }
  const resolver = new ConfigResolver(defaultConfigProviderSettings, env);
  const resolved = await resolver.resolve(strings);
  const merged: Record<string, unknown> = { ...input, ...resolved.config };
  const parsed = parseFlatConfig(workerSchema, merged, new SchemaCompiler());
  const errors = [...resolved.errors, ...parsed.errors, ...clusterTimingErrors(parsed.values)];
  if (errors.length > 0) throw new WorkerConfigError(source, errors);

  const v = parsed.values;
  const listeners = str(v, 'listeners') ?? 'http://127.0.0.1:8083';
  const advertisedUrl = str(v, 'rest.advertised.url');
  const fsync = str(v, 'log.fsync') ?? 'always';
  return {
    workerId: str(v, 'worker.id') ?? hostPort(advertisedUrl ?? listeners.split(',')[0]!.trim()),
    groupId: str(v, 'group.id') ?? 'kafki-cluster',
    log: {
      backend: str(v, 'log.backend') === 'kafka' ? 'kafka' : 'local',
      dir: str(v, 'log.dir') ?? './kafki-data',
      fsync: fsync === 'always' ? 'always' : Number(fsync),
      bootstrapServers: list(str(v, 'bootstrap.servers')),
      compression: (str(v, 'log.compression') ?? 'lz4') as WorkerConfig['log']['compression'],
      replicationFactor: num(v, 'replication.factor'),
    },
    storage: {
      configTopic: str(v, 'config.storage.topic')!,
      offsetTopic: str(v, 'offset.storage.topic')!,
      statusTopic: str(v, 'status.storage.topic')!,
      offsetPartitions: num(v, 'offset.storage.partitions'),
      statusPartitions: num(v, 'status.storage.partitions'),
    },
    tasks: {
      offsetFlushIntervalMs: num(v, 'offset.flush.interval.ms'),
      shutdownGracefulTimeoutMs: num(v, 'task.shutdown.graceful.timeout.ms'),
      producerBufferMemory: num(v, 'producer.buffer.memory'),
      consumerMaxPollRecords: num(v, 'consumer.max.poll.records'),
      consumerFetchMaxBytes: num(v, 'consumer.fetch.max.bytes'),
      topicCreationDefaultPartitions: num(v, 'topic.creation.default.partitions'),
    },
    converters: {
      key: str(v, 'key.converter')!,
      value: str(v, 'value.converter')!,
      keySchemasEnable: v['key.converter.schemas.enable'] as boolean,
      valueSchemasEnable: v['value.converter.schemas.enable'] as boolean,
    },
    rest: {
      listeners,
      advertisedUrl,
      authToken: str(v, 'rest.auth.token'),
      sslKeyLocation: str(v, 'ssl.key.location'),
      sslCertificateLocation: str(v, 'ssl.certificate.location'),
      sslKeyPassword: str(v, 'ssl.key.password'),
      sslCaLocation: str(v, 'ssl.ca.location'),
      sslClientAuth: (str(v, 'ssl.client.auth') ?? 'none') as 'none' | 'requested' | 'required',
    },
    redisUrl: str(v, 'redis.url'),
    cluster: {
      sessionTimeoutMs: num(v, 'session.timeout.ms'),
      heartbeatIntervalMs: num(v, 'heartbeat.interval.ms'),
    },
    logLevel: str(v, 'log.level') ?? 'info',
    configProviders: {
      enabled: list(str(v, 'config.providers')),
      envAllowlistPattern: str(v, 'config.providers.env.allowlist.pattern') ?? '.*',
      fileAllowedPaths: list(str(v, 'config.providers.file.allowed.paths')),
    },
    values: Object.freeze({ ...v }),
  };
}

/** Read, resolve and validate a worker config JSON file. Throws WorkerConfigError listing every problem. */
export async function loadWorkerConfig(
  path: string,
  options: LoadWorkerConfigOptions = {},
): Promise<WorkerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new WorkerConfigError(path, [
      {
        field: '',
        message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      },
    ]);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new WorkerConfigError(path, [
      { field: '', message: `not valid JSON: ${(error as Error).message}` },
    ]);
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new WorkerConfigError(path, [
      { field: '', message: 'must be a JSON object of flat keys' },
    ]);
  }
  return parseWorkerConfig(input as Record<string, unknown>, { ...options, source: path });
}

/** The worker config with secrets masked, safe to log. */
export function loggableWorkerConfig(config: WorkerConfig): Readonly<ParsedConfig> {
  return maskSecrets(workerSchema, config.values);
}
