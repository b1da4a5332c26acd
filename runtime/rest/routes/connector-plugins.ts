// /connector-plugins: what this worker can run, each plugin's config definition, and validation.

import { toRawConfig, type WireConfig } from '../dto.ts';
import { defineRoute, respond, type RouteSpec } from '../route.ts';
import { schemaRef } from '../schemas.ts';
import { badRequest, body, bodyOf, failure } from './common.ts';

interface PluginParams {
  plugin: string;
}

const tag = 'connector-plugins';

const pluginParams = {
  type: 'object',
  required: ['plugin'],
  properties: {
    plugin: { type: 'string', description: 'The connector class or one of its aliases.' },
  },
};

const unknownPlugin = failure('No connector plugin with this class or alias.');

export const connectorPluginRoutes: RouteSpec[] = [
  defineRoute<Record<string, never>, { connectorsOnly: boolean }>({
    method: 'GET',
    url: '/connector-plugins',
    operationId: 'listConnectorPlugins',
    summary: 'Installed plugins (connectorsOnly=false adds transforms, predicates, converters)',
    tag,
    querystring: {
      type: 'object',
      properties: { connectorsOnly: { type: 'boolean', default: true } },
    },
    responses: {
      200: bodyOf('The plugins.', { type: 'array', items: schemaRef('plugin-info') }),
    },
    handler: async ({ herder }, { query }) =>
      respond(200, await herder.plugins({ connectorsOnly: query.connectorsOnly })),
  }),

  defineRoute<PluginParams>({
    method: 'GET',
    url: '/connector-plugins/:plugin/config',
    operationId: 'getConnectorPluginConfig',
    summary: 'The configuration keys a plugin accepts',
    tag,
    params: pluginParams,
    responses: {
      200: bodyOf('One definition per key.', {
        type: 'array',
        items: schemaRef('config-key-info'),
      }),
      404: unknownPlugin,
    },
    handler: async ({ herder }, { params }) =>
      respond(200, await herder.pluginConfig(params.plugin)),
  }),

  defineRoute<PluginParams, Record<string, never>, WireConfig>({
    method: 'PUT',
    url: '/connector-plugins/:plugin/config/validate',
    operationId: 'validateConnectorConfig',
    summary: 'Validate a configuration: always 200, errors are in error_count and per key',
    tag,
    params: pluginParams,
    body: schemaRef('connector-config'),
    responses: {
      200: body('The validation result.', 'config-infos'),
      400: badRequest,
      404: unknownPlugin,
    },
    handler: async ({ herder }, { params, body: config }) =>
      respond(200, await herder.validateConfig(params.plugin, toRawConfig(config))),
  }),
];
