// Connector configuration: flat string maps on the wire (Kafka Connect's format), validated and
// coerced by the JSON Schema each plugin declares under schemas/.

/** What users send and what the REST API returns: every value a string. */
export type RawConfig = Record<string, string>;

/** After validation: schema types applied (numbers, booleans), defaults filled in. */
export type ParsedConfig = Record<string, string | number | boolean | string[] | undefined>;

/** One problem with one config key, as the validate endpoint reports it. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * A JSON Schema (draft 2020-12 subset, validated with ajv) with Kafka Connect's per-key
 * metadata as annotations: `x-importance` (high|medium|low), `x-group`, `x-order`,
 * `x-display-name`, `x-width`, and `x-secret` (never returned by GET, never logged).
 */
export interface ConfigSchema {
  $id?: string;
  type: 'object';
  properties: Record<string, ConfigPropertySchema>;
  required?: string[];
  [annotation: string]: unknown;
}

export interface ConfigPropertySchema {
  type?: 'string' | 'integer' | 'number' | 'boolean' | 'array';
  description?: string;
  default?: string | number | boolean | string[];
  enum?: Array<string | number | boolean>;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  'x-importance'?: 'high' | 'medium' | 'low';
  'x-group'?: string;
  'x-order'?: number;
  'x-display-name'?: string;
  'x-width'?: 'none' | 'short' | 'medium' | 'long';
  'x-secret'?: boolean;
  [annotation: string]: unknown;
}
