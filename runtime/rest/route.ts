// A REST route as data: method, path, request schemas, documented responses and a handler that
// makes one herder call and says what to answer. The server registers these with fastify and the
// OpenAPI document is built from the same list, so the two cannot drift.

import type { Herder } from '../herder/herder.ts';
import type { JsonSchema } from './schemas.ts';

/** Where GET /metrics reads the Prometheus text exposition from. */
export interface MetricsSource {
  readonly contentType: string;
  text(): string | Promise<string>;
}

/** What a handler may call: the herder for everything about connectors, plus the two extras. */
export interface RouteContext {
  herder: Herder;
  metrics: MetricsSource;
  openApiDocument(): object;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Default application/json. */
  contentType?: string;
}

export interface RouteRequest<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

export interface ResponseSpec {
  description: string;
  /** Omitted for responses without a body (204, 202 without content). */
  schema?: JsonSchema;
  /** Default application/json. */
  mediaType?: string;
  headers?: Record<string, { description: string }>;
}

interface RouteSpecBase {
  method: HttpMethod;
  /** fastify syntax: /connectors/:name */
  url: string;
  operationId: string;
  summary: string;
  tag: string;
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
  responses: Record<number, ResponseSpec>;
  /** Reachable without the bearer token (only the API description is). */
  public?: boolean;
}

export interface TypedRouteSpec<P, Q, B> extends RouteSpecBase {
  handler(context: RouteContext, request: RouteRequest<P, Q, B>): Promise<RouteResult>;
}

/** A route with its request types erased, as the server and the OpenAPI builder see it. */
export type RouteSpec = TypedRouteSpec<unknown, unknown, unknown>;

/**
 * Declares a route. P, Q and B are what the params, querystring and body schemas guarantee once
 * ajv has validated the request; the handler may rely on them.
 */
export function defineRoute<P = Record<string, never>, Q = Record<string, never>, B = undefined>(
  spec: TypedRouteSpec<P, Q, B>,
): RouteSpec {
  return {
    ...spec,
    handler: (context, request) => spec.handler(context, request as RouteRequest<P, Q, B>),
  };
}

const invalidRequest: ResponseSpec = {
  description: 'The request does not match its schema (malformed JSON, missing or mistyped field).',
  schema: { $ref: 'https://kafki.dev/schemas/rest/error.schema.json' },
};

/** The route's responses, plus the 400 every route that validates input can answer. */
export function documentedResponses(route: RouteSpec): Record<number, ResponseSpec> {
  const validates = route.params ?? route.querystring ?? route.body;
  return validates && !route.responses[400]
    ? { ...route.responses, 400: invalidRequest }
    : route.responses;
}

export function respond(
  status: number,
  body?: unknown,
  headers?: Record<string, string>,
): RouteResult {
  return { status, body, headers };
}
