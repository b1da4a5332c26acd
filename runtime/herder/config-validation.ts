// The validate operation: a connector config against the framework schema merged with its plugin's,
// answered in Kafka Connect's ConfigInfos shape with every error at once, per key. Config provider
// references are resolved for the check (a bad one is an error on its key) but never stored
// resolved. The plugin's live checks (validateLive) run only once the schema check passed.

import type {
  ConfigPropertySchema,
  ConfigSchema,
  FieldError,
  ParsedConfig,
} from '../api/config.ts';
import type { ConnectorPlugin } from '../api/connector.ts';
import type { Logger } from '../api/logger.ts';
import type { ConfigResolver } from '../config/config-providers.ts';
import {
  commonConnectorSchema,
  frameworkCrossFieldErrors,
  isFrameworkPrefixedKey,
  mergeConnectorSchema,
} from '../config/connector-config.ts';
import { kafkaTypeName, maskSecrets, parseFlatConfig } from '../config/flat-config.ts';
import type { SchemaCompiler } from '../config/json-schema.ts';
import type { ConverterRegistry } from '../converters/registry.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { TransformSupport } from '../worker/transform-chain.ts';
import type { ConfigInfos, ConfigKeyInfo } from './herder.ts';

export interface ValidationResult {
  infos: ConfigInfos;
  plugin: ConnectorPlugin | undefined;
  /** Parsed with references resolved; only meaningful when error_count is 0. */
  parsed: ParsedConfig;
  unknownKeys: string[];
}

export interface ConfigValidatorDeps {
  plugins: PluginRegistry;
  converters: ConverterRegistry;
  transforms: TransformSupport;
  resolver: ConfigResolver;
  compiler: SchemaCompiler;
  logger: Logger;
}

function stringDefault(property: ConfigPropertySchema): string | null {
  const value = property.default;
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** ConfigKeyInfo from a schema property, with Kafka Connect's spellings (HIGH, LONG, …). */
export function configKeyInfo(
  name: string,
  property: ConfigPropertySchema,
  required: boolean,
): ConfigKeyInfo {
  return {
    name,
    type: kafkaTypeName(property),
    required: required && property.default === undefined,
    default_value: stringDefault(property),
    importance: (property['x-importance'] ?? 'medium').toUpperCase(),
    documentation: property.description ?? '',
    group: property['x-group'] ?? null,
    order: property['x-order'] ?? -1,
    width: (property['x-width'] ?? 'none').toUpperCase(),
    display_name: property['x-display-name'] ?? name,
    dependents: [],
  };
}

/** Keys in group order (first appearance), then x-order within a group. */
function orderedKeys(schema: ConfigSchema): { keys: string[]; groups: string[] } {
  const groups: string[] = [];
  for (const property of Object.values(schema.properties)) {
    const group = property['x-group'];
    if (group !== undefined && !groups.includes(group)) groups.push(group);
  }
  const position = (key: string) => {
    const property = schema.properties[key]!;
    const group = property['x-group'];
    return [
      group === undefined ? groups.length : groups.indexOf(group),
      property['x-order'] ?? Number.MAX_SAFE_INTEGER,
    ];
  };
  const keys = Object.keys(schema.properties).sort((a, b) => {
    const [ga, oa] = position(a);
    const [gb, ob] = position(b);
    return ga! - gb! || oa! - ob!;
  });
  return { keys, groups };
}

export class ConfigValidator {
  constructor(private readonly deps: ConfigValidatorDeps) {}

  /** The definitions GET /connector-plugins/{plugin}/config lists: framework + plugin keys. */
  configKeys(plugin: ConnectorPlugin): ConfigKeyInfo[] {
    const schema = mergeConnectorSchema(plugin.kind, plugin.configSchema);
    const required = new Set(schema.required ?? []);
    return orderedKeys(schema).keys.map((key) =>
      configKeyInfo(key, schema.properties[key]!, required.has(key)),
    );
  }

  async validate(config: Readonly<Record<string, string>>): Promise<ValidationResult> {
    const { plugins, resolver, compiler } = this.deps;
    const className = config['connector.class'];
    const plugin = className === undefined ? undefined : plugins.find(className);
    const schema = plugin
      ? mergeConnectorSchema(plugin.kind, plugin.configSchema)
      : commonConnectorSchema;

    const errors: FieldError[] = [];
    if (className === undefined || className.trim() === '') {
      errors.push({
        field: 'connector.class',
        message: `Missing required configuration "connector.class" which has no default value. ${plugins.describeAvailable()}`,
      });
    } else if (!plugin) {
      errors.push({
        field: 'connector.class',
        message: `Failed to find any class that implements Connector and which name matches ${className}. ${plugins.describeAvailable()}`,
      });
    }

    const resolved = await resolver.resolve(config);
    errors.push(...resolved.errors);
    const unresolved = new Set(resolved.errors.map((error) => error.field));
    // A key whose reference did not resolve is checked no further: its value is unknown.
    const checkable: Record<string, string> = {};
    for (const [key, value] of Object.entries(resolved.config))
      if (!unresolved.has(key)) checkable[key] = value;
    const parsed = parseFlatConfig(schema, checkable, compiler);
    errors.push(
      ...parsed.errors.filter(
        (error) =>
          !unresolved.has(error.field) &&
          !(error.field === 'connector.class' && errors.some((e) => e.field === 'connector.class')),
      ),
    );
    if (plugin) errors.push(...frameworkCrossFieldErrors(plugin.kind, parsed.values));
    errors.push(
      ...this.deps.converters.problems(parsed.values),
      ...this.deps.transforms.problems(parsed.values),
    );

    if (errors.length === 0 && plugin) {
      const live = await plugin
        .createConnector()
        .validateLive?.(parsed.values)
        .catch((error: unknown): FieldError[] => [
          {
            field: 'connector.class',
            message: `validation by the connector failed: ${(error as Error).message}`,
          },
        ]);
      errors.push(...(live ?? []));
    }

    const unknownKeys = parsed.unknownKeys.filter((key) => !isFrameworkPrefixedKey(key));
    if (unknownKeys.length > 0) {
      this.deps.logger.warn(
        { connector: config.name, keys: unknownKeys },
        'connector config has keys no schema declares; they are passed through unchanged',
      );
    }
    return {
      infos: this.infos(className ?? '', schema, config, errors),
      plugin,
      parsed: parsed.values,
      unknownKeys,
    };
  }

  private infos(
    name: string,
    schema: ConfigSchema,
    config: Readonly<Record<string, string>>,
    errors: FieldError[],
  ): ConfigInfos {
    const required = new Set(schema.required ?? []);
    const { keys, groups } = orderedKeys(schema);
    const shown = maskSecrets(schema, { ...config });
    const byField = new Map<string, string[]>();
    for (const error of errors) {
      const list = byField.get(error.field) ?? [];
      list.push(error.message);
      byField.set(error.field, list);
    }
    const configs: ConfigInfos['configs'] = keys.map((key) => {
      const property = schema.properties[key]!;
      return {
        definition: configKeyInfo(key, property, required.has(key)),
        value: {
          name: key,
          value: shown[key] ?? stringDefault(property),
          recommended_values: (property.enum ?? []).map(String),
          errors: byField.get(key) ?? [],
          visible: true,
        },
      };
    });
    // Errors on keys outside the schema (transforms.<alias>.type, a root-level rule) still show.
    for (const [field, messages] of byField) {
      if (schema.properties[field]) continue;
      configs.push({
        definition: configKeyInfo(
          field,
          { type: 'string', 'x-group': field.startsWith('transforms.') ? 'Transforms' : 'Common' },
          false,
        ),
        value: {
          name: field,
          value: shown[field] ?? null,
          recommended_values: [],
          errors: messages,
          visible: true,
        },
      });
    }
    return { name, error_count: errors.length, groups, configs };
  }
}

/** Kafka Connect's message for a refused create/update. */
export function invalidConfigMessage(infos: ConfigInfos): string {
  const messages = infos.configs.flatMap((entry) => entry.value.errors);
  return (
    `Connector configuration is invalid and contains the following ${messages.length} error(s):\n` +
    messages.join('\n') +
    '\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`'
  );
}
