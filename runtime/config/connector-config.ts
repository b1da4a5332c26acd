// Connector configs: the framework keys every connector shares (schemas/connector-common, plus
// connector-source or connector-sink) merged with the plugin's own schema, and the typed view of
// the framework keys the worker runs on.

import commonSchemaJson from '../../schemas/connector-common.schema.json' with { type: 'json' };
import sinkSchemaJson from '../../schemas/connector-sink.schema.json' with { type: 'json' };
import sourceSchemaJson from '../../schemas/connector-source.schema.json' with { type: 'json' };
import type { ConfigSchema, FieldError, ParsedConfig } from '../api/config.ts';
import type { ConnectorKind } from '../api/connector.ts';

export const commonConnectorSchema = commonSchemaJson as unknown as ConfigSchema;
export const sourceConnectorSchema = sourceSchemaJson as unknown as ConfigSchema;
export const sinkConnectorSchema = sinkSchemaJson as unknown as ConfigSchema;

/**
 * Key families Kafka Connect defines by prefix (one key per transform alias, per converter
 * option…). They are not "unknown" keys even though no schema lists them one by one.
 */
export const frameworkKeyPrefixes = [
  'transforms.',
  'predicates.',
  'key.converter.',
  'value.converter.',
  'header.converter.',
  'producer.override.',
  'consumer.override.',
  'admin.override.',
  'topic.creation.',
  'errors.',
] as const;

export function isFrameworkPrefixedKey(key: string): boolean {
  return frameworkKeyPrefixes.some((prefix) => key.startsWith(prefix));
}

const schemaKeywords = new Set([
  '$id',
  '$schema',
  'title',
  'description',
  'type',
  'properties',
  'required',
]);

const mergedCache = new WeakMap<ConfigSchema, Map<ConnectorKind, ConfigSchema>>();

/**
 * Framework keys first, then the plugin's: a plugin may redeclare a framework key to narrow it
 * (e.g. tasks.max maximum 1). Root-level keywords of the plugin schema (allOf, if/then,
 * dependentRequired…) are kept for cross-field rules.
 */
export function mergeConnectorSchema(kind: ConnectorKind, plugin: ConfigSchema): ConfigSchema {
  let byKind = mergedCache.get(plugin);
  if (!byKind) {
    byKind = new Map();
    mergedCache.set(plugin, byKind);
  }
  const cached = byKind.get(kind);
  if (cached) return cached;
  const framework = kind === 'source' ? sourceConnectorSchema : sinkConnectorSchema;
  const extras: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(plugin)) {
    if (!schemaKeywords.has(keyword)) extras[keyword] = value;
  }
  const merged: ConfigSchema = {
    ...extras,
    type: 'object',
    properties: {
      ...commonConnectorSchema.properties,
      ...framework.properties,
      ...plugin.properties,
    },
    required: [
      ...new Set([
        ...(commonConnectorSchema.required ?? []),
        ...(framework.required ?? []),
        ...(plugin.required ?? []),
      ]),
    ],
  };
  byKind.set(kind, merged);
  return merged;
}

/** The framework keys, typed. Converter and tolerance defaults come from the worker. */
export interface FrameworkConfig {
  readonly name: string;
  readonly connectorClass: string;
  readonly tasksMax: number;
  readonly keyConverter: string | undefined;
  readonly valueConverter: string | undefined;
  readonly keySchemasEnable: boolean | undefined;
  readonly valueSchemasEnable: boolean | undefined;
  readonly transforms: readonly string[];
  readonly errors: {
    readonly tolerance: 'none' | 'all';
    readonly retryTimeoutMs: number;
    readonly retryDelayMaxMs: number;
    readonly logEnable: boolean;
    readonly deadLetterTopic: string | undefined;
    readonly deadLetterContextHeaders: boolean;
    readonly deadLetterReplicationFactor: number;
  };
  readonly topics: readonly string[];
  readonly topicsRegex: string | undefined;
  readonly topicCreationPartitions: number | undefined;
}

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

export function frameworkConfig(values: ParsedConfig): FrameworkConfig {
  return {
    name: String(values.name ?? ''),
    connectorClass: String(values['connector.class'] ?? ''),
    tasksMax: typeof values['tasks.max'] === 'number' ? values['tasks.max'] : 1,
    keyConverter: optionalString(values['key.converter']),
    valueConverter: optionalString(values['value.converter']),
    keySchemasEnable: values['key.converter.schemas.enable'] as boolean | undefined,
    valueSchemasEnable: values['value.converter.schemas.enable'] as boolean | undefined,
    transforms: (values.transforms as string[] | undefined) ?? [],
    errors: {
      tolerance: values['errors.tolerance'] === 'all' ? 'all' : 'none',
      retryTimeoutMs: (values['errors.retry.timeout'] as number | undefined) ?? 0,
      retryDelayMaxMs: (values['errors.retry.delay.max.ms'] as number | undefined) ?? 60_000,
      logEnable: values['errors.log.enable'] === true,
      deadLetterTopic: optionalString(values['errors.deadletterqueue.topic.name']),
      deadLetterContextHeaders: values['errors.deadletterqueue.context.headers.enable'] !== false,
      deadLetterReplicationFactor:
        (values['errors.deadletterqueue.topic.replication.factor'] as number | undefined) ?? 3,
    },
    topics: (values.topics as string[] | undefined) ?? [],
    topicsRegex: optionalString(values['topics.regex']),
    topicCreationPartitions: values['topic.creation.default.partitions'] as number | undefined,
  };
}

/** Rules that span keys, as Kafka Connect's SinkConnectorConfig.validate states them. */
export function frameworkCrossFieldErrors(kind: ConnectorKind, values: ParsedConfig): FieldError[] {
  const errors: FieldError[] = [];
  if (kind === 'sink') {
    const topics = (values.topics as string[] | undefined) ?? [];
    const regex = optionalString(values['topics.regex']);
    if (topics.length > 0 && regex !== undefined) {
      const message = 'topics and topics.regex are mutually exclusive options, but both are set.';
      errors.push({ field: 'topics', message }, { field: 'topics.regex', message });
    } else if (topics.length === 0 && regex === undefined) {
      const message = 'Must configure one of topics or topics.regex';
      errors.push({ field: 'topics', message }, { field: 'topics.regex', message });
    }
    const dlq = optionalString(values['errors.deadletterqueue.topic.name']);
    if (dlq !== undefined && topics.includes(dlq)) {
      errors.push({
        field: 'errors.deadletterqueue.topic.name',
        message: `The DLQ topic '${dlq}' may not be included in the list of topics ('topics=${topics.join(',')}') consumed by the connector`,
      });
    }
  }
  return errors;
}
