// The worker itself: version info, Prometheus metrics, and the API description.

import { defineRoute, respond, type RouteSpec } from '../route.ts';
import { body, bodyOf } from './common.ts';

const tag = 'server';

export const serverRoutes: RouteSpec[] = [
  defineRoute({
    method: 'GET',
    url: '/',
    operationId: 'serverInfo',
    summary: 'Worker version and the Kafka cluster id',
    tag,
    responses: { 200: body('The worker.', 'server-info') },
    handler: async ({ herder }) => respond(200, await herder.serverInfo()),
  }),

  defineRoute({
    method: 'GET',
    url: '/metrics',
    operationId: 'metrics',
    summary: 'Worker, connector and task metrics in the Prometheus text format',
    tag,
    responses: {
      200: {
        description: 'Prometheus text exposition.',
        mediaType: 'text/plain',
        schema: { type: 'string' },
      },
    },
    handler: async ({ metrics }) => ({
      status: 200,
      body: await metrics.text(),
      contentType: metrics.contentType,
    }),
  }),

  defineRoute({
    method: 'GET',
    url: '/openapi.json',
    operationId: 'openApiDocument',
    summary: 'This API as an OpenAPI 3.1 document (needs no token)',
    tag,
    public: true,
    responses: { 200: bodyOf('The OpenAPI document.', { type: 'object' }) },
    handler: async ({ openApiDocument }) => respond(200, openApiDocument()),
  }),
];
