// The one ajv setup for every config schema (worker, framework, plugins): JSON Schema 2020-12,
// all errors at once, and Kafka Connect's per-key metadata declared as known annotations so
// strict mode still catches typos in real keywords.

import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/** The x-* annotations of runtime/api/config.ts; ajv ignores them, the validate endpoint reads them. */
export const configAnnotations = [
  'x-importance',
  'x-group',
  'x-order',
  'x-display-name',
  'x-width',
  'x-secret',
] as const;

// ajv-formats is CommonJS; depending on the loader its plugin is the default export or under it.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  ajv.addVocabulary([...configAnnotations]);
  addFormats(ajv);
  return ajv;
}

/** Compiled validators keyed by schema object: plugin schemas are compiled once per process. */
export class SchemaCompiler {
  private readonly ajv = createAjv();
  private readonly cache = new WeakMap<object, ValidateFunction>();

  compile(schema: object): ValidateFunction {
    let validate = this.cache.get(schema);
    if (!validate) {
      // $id would make a second compile of an equal schema collide in ajv's registry.
      const { $id: _id, $schema: _schema, ...anonymous } = schema as Record<string, unknown>;
      validate = this.ajv.compile(anonymous);
      this.cache.set(schema, validate);
    }
    return validate;
  }
}
