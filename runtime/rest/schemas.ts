// The REST body and entity schemas, loaded from schemas/rest/*.schema.json: the single source the
// routes validate requests with, the OpenAPI document is built from, and the tests check
// responses against. Each file has an absolute $id and a title (its OpenAPI component name).

import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020, type Options as AjvOptions } from 'ajv/dist/2020.js';

export type JsonSchema = Record<string, unknown>;

export interface RestSchema extends JsonSchema {
  $id: string;
  title: string;
}

const schemaDirectory = new URL('../../schemas/rest/', import.meta.url);
const idBase = 'https://kafki.dev/schemas/rest/';

let loaded: RestSchema[] | undefined;

/** Every schema under schemas/rest, read once. */
export function restSchemas(): RestSchema[] {
  loaded ??= readdirSync(schemaDirectory)
    .filter((file) => file.endsWith('.schema.json'))
    .sort()
    .map((file) => {
      const schema = JSON.parse(readFileSync(new URL(file, schemaDirectory), 'utf8')) as JsonSchema;
      if (schema.$id !== idBase + file || typeof schema.title !== 'string') {
        throw new Error(`schemas/rest/${file}: $id must be ${idBase}${file} and title must be set`);
      }
      return schema as RestSchema;
    });
  return loaded;
}

/** A $ref to schemas/rest/<name>.schema.json, checked to exist. */
export function schemaRef(name: string): JsonSchema {
  const id = `${idBase}${name}.schema.json`;
  if (!restSchemas().some((schema) => schema.$id === id)) {
    throw new Error(`no REST schema schemas/rest/${name}.schema.json`);
  }
  return { $ref: id };
}

/** An ajv (JSON Schema 2020-12) that knows every REST schema by its $id. */
export function createRestAjv(options: AjvOptions = {}): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: false, strict: false, ...options });
  for (const schema of restSchemas()) ajv.addSchema(schema);
  return ajv;
}
