// Flat string maps (Kafka Connect's config format) against a JSON Schema: coerce each value to the
// type its key declares, fill defaults, then let ajv check the rest (enum, pattern, bounds,
// required). Every problem is reported at once, per key, in Kafka Connect's wording.

import type { ErrorObject } from 'ajv';
import type {
  ConfigPropertySchema,
  ConfigSchema,
  FieldError,
  ParsedConfig,
} from '../api/config.ts';
import type { SchemaCompiler } from './json-schema.ts';

export interface FlatConfigResult {
  values: ParsedConfig;
  errors: FieldError[];
  /** Keys the schema does not declare (Kafka Connect accepts them; callers warn). */
  unknownKeys: string[];
}

type Coerced =
  { ok: true; value: string | number | boolean | string[] } | { ok: false; message: string };

const integerPattern = /^[+-]?\d+$/;

/** Kafka Connect's type names, used in messages and in ConfigKeyInfo.type. */
export function kafkaTypeName(property: ConfigPropertySchema): string {
  if (property['x-secret'] === true) return 'PASSWORD';
  switch (property.type) {
    case 'integer':
      return typeof property['x-kafka-type'] === 'string' ? property['x-kafka-type'] : 'INT';
    case 'number':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'array':
      return 'LIST';
    default:
      return 'STRING';
  }
}

/** A JSON file may hold typed values (worker config); a REST body holds strings. Both coerce. */
export function coerceValue(property: ConfigPropertySchema, input: unknown): Coerced {
  switch (property.type) {
    case 'integer': {
      if (typeof input === 'number' && Number.isSafeInteger(input))
        return { ok: true, value: input };
      const text = typeof input === 'string' ? input.trim() : undefined;
      if (text !== undefined && integerPattern.test(text) && Number.isSafeInteger(Number(text))) {
        return { ok: true, value: Number(text) };
      }
      return { ok: false, message: `Not a number of type ${kafkaTypeName(property)}` };
    }
    case 'number': {
      if (typeof input === 'number' && Number.isFinite(input)) return { ok: true, value: input };
      const text = typeof input === 'string' ? input.trim() : '';
      const value = Number(text);
      if (text !== '' && Number.isFinite(value)) return { ok: true, value };
      return { ok: false, message: 'Not a number of type DOUBLE' };
    }
    case 'boolean': {
      if (typeof input === 'boolean') return { ok: true, value: input };
      const text = typeof input === 'string' ? input.trim().toLowerCase() : '';
      if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
      return { ok: false, message: 'Expected value to be either true or false' };
    }
    case 'array': {
      if (Array.isArray(input) && input.every((item) => typeof item === 'string')) {
        return { ok: true, value: input as string[] };
      }
      if (typeof input !== 'string')
        return { ok: false, message: 'Expected a comma-separated list' };
      const items = input
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
      return { ok: true, value: items };
    }
    default:
      if (typeof input === 'string') return { ok: true, value: input };
      if (typeof input === 'number' || typeof input === 'boolean') {
        return { ok: true, value: String(input) };
      }
      return { ok: false, message: 'Expected a string' };
  }
}

export function displayValue(property: ConfigPropertySchema | undefined, input: unknown): string {
  if (property?.['x-secret'] === true) return '[hidden]';
  return typeof input === 'string' ? input : JSON.stringify(input);
}

function fieldOf(error: ErrorObject): string | undefined {
  if (error.keyword === 'required') {
    return (error.params as { missingProperty?: string }).missingProperty;
  }
  const [first] = error.instancePath.split('/').slice(1);
  return first === undefined ? undefined : first.replaceAll('~1', '/').replaceAll('~0', '~');
}

function describe(error: ErrorObject, property: ConfigPropertySchema | undefined): string {
  switch (error.keyword) {
    case 'enum':
      return `String must be one of: ${(property?.enum ?? []).join(', ')}`;
    case 'minimum':
      return `Value must be at least ${String((error.params as { limit: number }).limit)}`;
    case 'maximum':
      return `Value must be no more than ${String((error.params as { limit: number }).limit)}`;
    case 'pattern':
      return `Value must match the pattern ${String((error.params as { pattern: string }).pattern)}`;
    case 'minLength':
      return 'Value must not be empty';
    case 'format':
      return `Value is not a valid ${String((error.params as { format: string }).format)}`;
    default:
      return error.message ?? error.keyword;
  }
}

/**
 * Parse a flat config against a schema. `input` values are strings (REST) or, for JSON files,
 * already typed. Keys the schema does not declare are passed through as strings and listed.
 */
export function parseFlatConfig(
  schema: ConfigSchema,
  input: Readonly<Record<string, unknown>>,
  compiler: SchemaCompiler,
): FlatConfigResult {
  const values: ParsedConfig = {};
  const errors: FieldError[] = [];
  const unknownKeys: string[] = [];
  const badKeys = new Set<string>();

  for (const [key, raw] of Object.entries(input)) {
    const property = schema.properties[key];
    if (!property) {
      unknownKeys.push(key);
      values[key] = typeof raw === 'string' ? raw : JSON.stringify(raw);
      continue;
    }
    const coerced = coerceValue(property, raw);
    if (coerced.ok) {
      values[key] = coerced.value;
    } else {
      badKeys.add(key);
      errors.push({
        field: key,
        message: `Invalid value ${displayValue(property, raw)} for configuration ${key}: ${coerced.message}`,
      });
    }
  }
  for (const [key, property] of Object.entries(schema.properties)) {
    if (values[key] === undefined && !badKeys.has(key) && property.default !== undefined) {
      values[key] = Array.isArray(property.default) ? [...property.default] : property.default;
    }
  }

  const validate = compiler.compile(schema);
  // Unknown keys are not the schema's business here (even with additionalProperties: false the
  // caller decides whether they are errors), and badly typed keys already have their error.
  const checked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (schema.properties[key] || schema.additionalProperties === false) checked[key] = value;
  }
  if (!validate(checked)) {
    for (const error of validate.errors ?? []) {
      const field = fieldOf(error);
      if (field !== undefined && badKeys.has(field)) continue;
      if (error.keyword === 'additionalProperties') {
        const extra = (error.params as { additionalProperty: string }).additionalProperty;
        errors.push({ field: extra, message: `Unknown configuration ${extra}` });
        continue;
      }
      const property = field === undefined ? undefined : schema.properties[field];
      if (error.keyword === 'required' && field !== undefined) {
        errors.push({
          field,
          message: `Missing required configuration "${field}" which has no default value.`,
        });
        continue;
      }
      const shown = field === undefined ? undefined : input[field];
      errors.push({
        field: field ?? '',
        message:
          field === undefined
            ? describe(error, undefined)
            : `Invalid value ${displayValue(property, shown ?? values[field])} for configuration ${field}: ${describe(error, property)}`,
      });
    }
  }
  return { values, errors, unknownKeys };
}

/** A copy safe to log or return: x-secret values replaced by "[hidden]", as Kafka Connect does. */
export function maskSecrets<T extends Record<string, unknown>>(
  schema: ConfigSchema | undefined,
  config: T,
): T {
  if (!schema) return config;
  let masked: Record<string, unknown> | undefined;
  for (const key of Object.keys(config)) {
    if (schema.properties[key]?.['x-secret'] === true && config[key] !== undefined) {
      masked ??= { ...config };
      masked[key] = '[hidden]';
    }
  }
  return (masked ?? config) as T;
}
