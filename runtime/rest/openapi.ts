// The OpenAPI 3.1 document, built from the route list and the schemas under schemas/rest: the
// routes validate requests with exactly the schemas the document shows.

import { documentedResponses, type RouteSpec } from './route.ts';
import { restSchemas, type JsonSchema } from './schemas.ts';

export interface OpenApiOptions {
  version: string;
  /** Whether the server was started with rest.auth.token. */
  bearerAuth: boolean;
}

type OpenApiDocument = Record<string, unknown>;

const componentPrefix = '#/components/schemas/';

function componentNames(): Map<string, string> {
  return new Map(restSchemas().map((schema) => [schema.$id, schema.title]));
}

/** A copy of a JSON Schema with $id/$schema removed and every $ref pointing into components. */
function toComponentSchema(schema: unknown, base: string, names: Map<string, string>): unknown {
  if (Array.isArray(schema)) return schema.map((item) => toComponentSchema(item, base, names));
  if (schema === null || typeof schema !== 'object') return schema;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$id' || key === '$schema') continue;
    if (key === '$ref' && typeof value === 'string') {
      const target = new URL(value, base).href;
      const name = names.get(target);
      if (name === undefined) throw new Error(`OpenAPI: unresolved $ref ${value} (from ${base})`);
      result.$ref = componentPrefix + name;
    } else {
      result[key] = toComponentSchema(value, base, names);
    }
  }
  return result;
}

function parameters(route: RouteSpec, names: Map<string, string>, base: string): unknown[] {
  const result: unknown[] = [];
  for (const [location, schema] of [
    ['path', route.params],
    ['query', route.querystring],
  ] as const) {
    if (!schema) continue;
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((schema.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      const { description, ...propertySchema } = property;
      result.push({
        name,
        in: location,
        required: location === 'path' || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: toComponentSchema(propertySchema, base, names),
        ...(property.type === 'array' ? { style: 'form', explode: true } : {}),
      });
    }
  }
  return result;
}

export function buildOpenApiDocument(
  routes: readonly RouteSpec[],
  options: OpenApiOptions,
): OpenApiDocument {
  const names = componentNames();
  const base = restSchemas()[0]?.$id ?? 'https://kafki.dev/schemas/rest/';
  const schemas: Record<string, unknown> = {};
  for (const schema of restSchemas()) {
    schemas[schema.title] = toComponentSchema(schema, schema.$id, names);
  }
  const errorResponse = (description: string): unknown => ({
    description,
    content: { 'application/json': { schema: { $ref: `${componentPrefix}ErrorMessage` } } },
  });

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(documentedResponses(route))) {
      responses[status] = {
        description: response.description,
        ...(response.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(response.headers).map(([header, spec]) => [
                  header,
                  { description: spec.description, schema: { type: 'string' } },
                ]),
              ),
            }
          : {}),
        ...(response.schema
          ? {
              content: {
                [response.mediaType ?? 'application/json']: {
                  schema: toComponentSchema(response.schema, base, names),
                },
              },
            }
          : {}),
      };
    }
    if (options.bearerAuth && !route.public) {
      responses['401'] = errorResponse(
        'Missing or wrong bearer token, or no valid client certificate.',
      );
    }
    responses['500'] = errorResponse('Unexpected failure; the message says what went wrong.');

    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      parameters: parameters(route, names, base),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': { schema: toComponentSchema(route.body, base, names) },
              },
            },
          }
        : {}),
      responses,
      ...(route.public ? { security: [] } : {}),
    };
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Kafki REST API',
      version: options.version,
      description:
        "Kafka Connect's REST API: same paths, bodies, status codes and error shape " +
        '{"error_code": <status>, "message": "..."}.',
    },
    tags: [
      { name: 'server', description: 'The worker itself' },
      { name: 'connectors', description: 'Connectors, their tasks, status and offsets' },
      { name: 'connector-plugins', description: 'Installed plugins and config validation' },
    ],
    paths,
    components: {
      schemas,
      ...(options.bearerAuth
        ? { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } }
        : {}),
    },
    ...(options.bearerAuth ? { security: [{ bearerAuth: [] }] } : {}),
  };
}
