// Starts the REST server on an ephemeral port over a FakeHerder, and checks every response
// against the OpenAPI contract: the status must be documented for the route and the body must
// match the schema documented for that status.

import assert from 'node:assert/strict';
import type { Logger } from '../../../runtime/api/logger.ts';
import { parseListener, type RestServerConfig } from '../../../runtime/rest/rest-config.ts';
import { documentedResponses, type RouteSpec } from '../../../runtime/rest/route.ts';
import { allRoutes } from '../../../runtime/rest/routes/index.ts';
import { createRestAjv, schemaRef } from '../../../runtime/rest/schemas.ts';
import { startRestServer } from '../../../runtime/rest/server.ts';
import { FakeHerder } from '../../helpers/fake-herder.ts';

export interface LoggedLine {
  level: string;
  context: object | undefined;
  message: string | undefined;
}

export function recordingLogger(lines: LoggedLine[] = []): Logger & { lines: LoggedLine[] } {
  const log =
    (level: string) =>
    (contextOrMessage: object | string, message?: string): void => {
      if (typeof contextOrMessage === 'string')
        lines.push({ level, context: undefined, message: contextOrMessage });
      else lines.push({ level, context: contextOrMessage, message });
    };
  const logger = {
    lines,
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: log('debug'),
    child: () => logger,
  };
  return logger;
}

export const fakeMetrics = {
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
  text: (): string =>
    '# HELP kafki_connectors Connectors on this worker\n# TYPE kafki_connectors gauge\nkafki_connectors 2\n',
};

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body (undefined when empty). */
  json: unknown;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as it is, with Content-Type application/json unless headers say otherwise. */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Skip the contract check (for replies the contract does not describe, like 401 without auth). */
  unchecked?: boolean;
}

const ajv = createRestAjv();
const errorValidator = ajv.compile(schemaRef('error'));

function routeFor(method: string, path: string): RouteSpec | undefined {
  return allRoutes.find((route) => {
    if (route.method !== method) return false;
    const pattern = new RegExp(`^${route.url.replace(/:[A-Za-z0-9_]+/g, '[^/]+')}/?$`);
    return pattern.test(path);
  });
}

export function checkContract(method: string, path: string, reply: Reply): void {
  const route = routeFor(method, path.split('?')[0] as string);
  if (
    !route ||
    reply.status === 500 ||
    reply.status === 401 ||
    reply.status === 415 ||
    reply.status === 413
  ) {
    if (reply.status >= 400) {
      assert.ok(errorValidator(reply.json), `error body ${reply.text} must match ErrorMessage`);
      assert.equal((reply.json as { error_code: number }).error_code, reply.status);
    }
    return;
  }
  const documented = documentedResponses(route)[reply.status];
  assert.ok(
    documented,
    `${method} ${route.url} answered ${reply.status}, which the OpenAPI document does not list`,
  );
  if (documented.schema) {
    const validate = ajv.compile(documented.schema);
    const body = documented.mediaType?.startsWith('text/') ? reply.text : reply.json;
    assert.ok(
      validate(body),
      `${method} ${path} ${reply.status} body does not match its schema: ${ajv.errorsText(validate.errors)}\n${reply.text}`,
    );
  } else {
    assert.equal(reply.text, '', `${method} ${path} ${reply.status} must have no body`);
  }
}

export interface TestServer {
  herder: FakeHerder;
  url: string;
  logger: ReturnType<typeof recordingLogger>;
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

export async function startTestServer(config: Partial<RestServerConfig> = {}): Promise<TestServer> {
  const herder = new FakeHerder();
  const logger = recordingLogger();
  const server = await startRestServer({
    herder,
    metrics: fakeMetrics,
    logger,
    config: { listener: parseListener('http://127.0.0.1:0'), ...config },
  });
  const request = async (
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<Reply> => {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (
      body !== undefined &&
      !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')
    ) {
      headers['Content-Type'] = 'application/json';
    }
    const response = await fetch(server.url + path, { method, headers, body });
    const text = await response.text();
    let json: unknown;
    if (text !== '' && (response.headers.get('content-type') ?? '').includes('json'))
      json = JSON.parse(text);
    const reply = { status: response.status, headers: response.headers, text, json };
    if (!options.unchecked) checkContract(method, path, reply);
    return reply;
  };
  return { herder, url: server.url, logger, request, close: () => server.close() };
}

export const sourceConfig = {
  'connector.class': 'org.kafki.FakeSourceConnector',
  'tasks.max': '2',
  file: '/tmp/in.txt',
  topic: 'lines',
};
