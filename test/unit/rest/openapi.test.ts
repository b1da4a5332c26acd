// The OpenAPI document: served at /openapi.json, lists exactly the routes the server has, and
// every $ref resolves to a component built from schemas/rest.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildOpenApiDocument } from '../../../runtime/rest/openapi.ts';
import { allRoutes } from '../../../runtime/rest/routes/index.ts';
import { restSchemas } from '../../../runtime/rest/schemas.ts';
import { startTestServer, type TestServer } from './harness.ts';

interface Operation {
  operationId: string;
  parameters: Array<{ name: string; in: string; required: boolean }>;
  requestBody?: unknown;
  responses: Record<string, unknown>;
  security?: unknown[];
}
interface Document {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes?: unknown };
  security?: unknown;
}

function collectRefs(value: unknown, refs: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => collectRefs(item, refs));
  else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') refs.push(inner);
      else collectRefs(inner, refs);
    }
  }
  return refs;
}

const expectedOperations = [
  'GET /',
  'GET /metrics',
  'GET /openapi.json',
  'GET /connectors',
  'POST /connectors',
  'GET /connectors/{name}',
  'DELETE /connectors/{name}',
  'GET /connectors/{name}/config',
  'PUT /connectors/{name}/config',
  'PATCH /connectors/{name}/config',
  'GET /connectors/{name}/status',
  'GET /connectors/{name}/tasks',
  'GET /connectors/{name}/tasks/{id}/status',
  'POST /connectors/{name}/restart',
  'POST /connectors/{name}/tasks/{id}/restart',
  'PUT /connectors/{name}/pause',
  'PUT /connectors/{name}/resume',
  'PUT /connectors/{name}/stop',
  // Our extension: signals for source tasks (incremental snapshots).
  'POST /connectors/{name}/signals',
  'GET /connectors/{name}/topics',
  'PUT /connectors/{name}/topics/reset',
  'GET /connectors/{name}/offsets',
  'PATCH /connectors/{name}/offsets',
  'DELETE /connectors/{name}/offsets',
  'GET /connector-plugins',
  'GET /connector-plugins/{plugin}/config',
  'PUT /connector-plugins/{plugin}/config/validate',
];

describe('OpenAPI document', () => {
  let server: TestServer;
  let document: Document;

  before(async () => {
    server = await startTestServer();
    const reply = await server.request('GET', '/openapi.json');
    assert.equal(reply.status, 200);
    document = reply.json as Document;
  });
  after(async () => {
    await server.close();
  });

  it('is OpenAPI 3.1 with the worker version', () => {
    assert.equal(document.openapi, '3.1.0');
    assert.equal(document.info.version, '0.1.0-fake');
  });

  it('has exactly the Kafka Connect operations (plus metrics, signals and itself)', () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    assert.deepEqual(operations.sort(), [...expectedOperations].sort());
    const ids = Object.values(document.paths).flatMap((methods) =>
      Object.values(methods).map((op) => op.operationId),
    );
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  it('every $ref resolves to a component, and every schemas/rest file is a component', () => {
    const names = Object.keys(document.components.schemas);
    assert.deepEqual(
      names.sort(),
      restSchemas()
        .map((s) => s.title)
        .sort(),
    );
    for (const ref of collectRefs(document)) {
      assert.match(ref, /^#\/components\/schemas\//);
      assert.ok(names.includes(ref.slice('#/components/schemas/'.length)), `unresolved ${ref}`);
    }
    assert.equal(JSON.stringify(document).includes('"$id"'), false);
  });

  it('documents path and query parameters and request bodies', () => {
    const restart = document.paths['/connectors/{name}/restart']?.post;
    assert.deepEqual(
      restart?.parameters.map((p) => `${p.in}:${p.name}:${p.required}`),
      ['path:name:true', 'query:includeTasks:false', 'query:onlyFailed:false'],
    );
    assert.ok(document.paths['/connectors']?.post?.requestBody);
    assert.ok(document.paths['/connectors/{name}/config']?.put?.requestBody);
    assert.deepEqual(Object.keys(restart?.responses ?? {}).sort(), [
      '202',
      '204',
      '400',
      '404',
      '409',
      '500',
    ]);
  });

  it('declares bearer auth only when the server has a token, and keeps /openapi.json public', () => {
    assert.equal(document.security, undefined);
    const secured = buildOpenApiDocument(allRoutes, {
      version: '1',
      bearerAuth: true,
    }) as unknown as Document;
    assert.deepEqual(secured.security, [{ bearerAuth: [] }]);
    assert.ok(secured.components.securitySchemes);
    assert.deepEqual(secured.paths['/openapi.json']?.get?.security, []);
    assert.ok(secured.paths['/connectors']?.get?.responses['401']);
  });

  it('GET /metrics serves the metrics text with its content type', async () => {
    const reply = await server.request('GET', '/metrics');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(reply.text, /^kafki_connectors 2$/m);
  });
});
