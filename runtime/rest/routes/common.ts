// Path parameters and response descriptions the route files share.

import { schemaRef, type JsonSchema } from '../schemas.ts';
import type { ResponseSpec } from '../route.ts';

export const connectorNameParams: JsonSchema = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', description: 'The connector name.' } },
};

export const taskParams: JsonSchema = {
  type: 'object',
  required: ['name', 'id'],
  properties: {
    name: { type: 'string', description: 'The connector name.' },
    id: { type: 'integer', minimum: 0, description: 'The task number (0-based).' },
  },
};

export function body(description: string, schemaName: string): ResponseSpec {
  return { description, schema: schemaRef(schemaName) };
}

export function bodyOf(description: string, schema: JsonSchema): ResponseSpec {
  return { description, schema };
}

export function empty(description: string): ResponseSpec {
  return { description };
}

export function failure(description: string): ResponseSpec {
  return { description, schema: schemaRef('error') };
}

export const notFound = failure('No connector with this name.');
export const badRequest = failure(
  'The request is invalid (malformed JSON, schema violation, bad config).',
);
export const conflict = failure('A rebalance is in progress or the request cannot run now: retry.');
