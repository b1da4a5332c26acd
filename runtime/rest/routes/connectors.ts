// /connectors: create, read, reconfigure, delete, status, lifecycle, topics and offsets. Each
// handler is one herder call (or a few for ?expand) and the Kafka Connect response for it.

import type { RawConfig } from '../../api/config.ts';
import { BadRequestError, NotFoundError } from '../../herder/errors.ts';
import type {
  ConnectorInfo,
  ConnectorSignal,
  ConnectorStateInfo,
  Herder,
} from '../../herder/herder.ts';
import {
  toConfigPatch,
  toRawConfig,
  type AlterOffsetsBody,
  type CreateConnectorBody,
  type WireConfig,
  type WireConfigPatch,
} from '../dto.ts';
import { defineRoute, respond, type RouteSpec } from '../route.ts';
import { schemaRef } from '../schemas.ts';
import {
  badRequest,
  body,
  bodyOf,
  conflict,
  connectorNameParams,
  empty,
  failure,
  notFound,
  taskParams,
} from './common.ts';

interface NameParams {
  name: string;
}

interface TaskParams {
  name: string;
  id: number;
}

const tag = 'connectors';

function location(name: string): Record<string, string> {
  return { Location: `/connectors/${encodeURIComponent(name)}` };
}

/** As Kafka Connect: a 'name' inside the config must be the connector's name, and is added if absent. */
function withConfigName(name: string, config: RawConfig, where: string): RawConfig {
  const inConfig = config.name;
  if (inConfig !== undefined && inConfig !== name) {
    throw new BadRequestError(
      `Connector name configuration (${inConfig}) doesn't match connector name in the ${where} (${name})`,
    );
  }
  return { ...config, name };
}

async function expandOne(
  herder: Herder,
  name: string,
  expansions: string[],
): Promise<[string, Record<string, ConnectorStateInfo | ConnectorInfo>] | undefined> {
  const entry: Record<string, ConnectorStateInfo | ConnectorInfo> = {};
  try {
    for (const expansion of expansions) {
      // Kafka Connect matches expansions case-insensitively and ignores unknown ones.
      const kind = expansion.toLowerCase();
      if (kind === 'status') entry.status = await herder.connectorStatus(name);
      else if (kind === 'info') entry.info = await herder.connectorInfo(name);
    }
  } catch (error) {
    // Deleted between the listing and the expansion: leave it out, as Kafka Connect does.
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  return [name, entry];
}

export const connectorRoutes: RouteSpec[] = [
  defineRoute<Record<string, never>, { expand?: string[] }>({
    method: 'GET',
    url: '/connectors',
    operationId: 'listConnectors',
    summary: 'List connector names, or with ?expand=status / ?expand=info their status and info',
    tag,
    querystring: {
      type: 'object',
      properties: {
        expand: {
          type: 'array',
          items: { type: 'string' },
          description: 'status and/or info (repeatable); unknown values are ignored.',
        },
      },
    },
    responses: {
      200: bodyOf('Connector names, or (with expand) an object keyed by connector name.', {
        oneOf: [{ type: 'array', items: { type: 'string' } }, schemaRef('expanded-connectors')],
      }),
    },
    handler: async ({ herder }, { query }) => {
      const names = await herder.connectors();
      if (query.expand === undefined) return respond(200, names);
      const expansions = query.expand;
      const entries = await Promise.all(names.map((name) => expandOne(herder, name, expansions)));
      return respond(200, Object.fromEntries(entries.filter((entry) => entry !== undefined)));
    },
  }),

  defineRoute<Record<string, never>, Record<string, never>, CreateConnectorBody>({
    method: 'POST',
    url: '/connectors',
    operationId: 'createConnector',
    summary: 'Create a connector',
    tag,
    body: schemaRef('create-connector-request'),
    responses: {
      201: {
        ...body('Created.', 'connector-info'),
        headers: { Location: { description: 'The path of the new connector.' } },
      },
      400: badRequest,
      409: failure('A connector with this name exists, or a rebalance is in progress.'),
    },
    handler: async ({ herder }, { body: request }) => {
      const name = request.name.trim();
      if (name === '') throw new BadRequestError('Connector name must not be empty');
      const config = withConfigName(name, toRawConfig(request.config), 'request');
      const info = await herder.createConnector(name, config, request.initial_state);
      return respond(201, info, location(info.name));
    },
  }),

  defineRoute<NameParams>({
    method: 'GET',
    url: '/connectors/:name',
    operationId: 'getConnector',
    summary: 'Connector config, tasks and type',
    tag,
    params: connectorNameParams,
    responses: { 200: body('The connector.', 'connector-info'), 404: notFound },
    handler: async ({ herder }, { params }) =>
      respond(200, await herder.connectorInfo(params.name)),
  }),

  defineRoute<NameParams>({
    method: 'DELETE',
    url: '/connectors/:name',
    operationId: 'deleteConnector',
    summary: 'Stop a connector and its tasks and delete its config',
    tag,
    params: connectorNameParams,
    responses: { 204: empty('Deleted.'), 404: notFound, 409: conflict },
    handler: async ({ herder }, { params }) => {
      await herder.deleteConnector(params.name);
      return respond(204);
    },
  }),

  defineRoute<NameParams>({
    method: 'GET',
    url: '/connectors/:name/config',
    operationId: 'getConnectorConfig',
    summary: 'Connector configuration (secrets masked)',
    tag,
    params: connectorNameParams,
    responses: {
      200: bodyOf('The flat configuration.', {
        type: 'object',
        additionalProperties: { type: 'string' },
      }),
      404: notFound,
    },
    handler: async ({ herder }, { params }) =>
      respond(200, await herder.connectorConfig(params.name)),
  }),

  defineRoute<NameParams, Record<string, never>, WireConfig>({
    method: 'PUT',
    url: '/connectors/:name/config',
    operationId: 'putConnectorConfig',
    summary: 'Create a connector or replace its configuration',
    tag,
    params: connectorNameParams,
    body: schemaRef('connector-config'),
    responses: {
      200: body('Updated.', 'connector-info'),
      201: {
        ...body('Created.', 'connector-info'),
        headers: { Location: { description: 'The path of the new connector.' } },
      },
      400: badRequest,
      409: conflict,
    },
    handler: async ({ herder }, { params, body: config }) => {
      const raw = withConfigName(params.name, toRawConfig(config), 'URL');
      const { created, info } = await herder.putConnectorConfig(params.name, raw);
      return created ? respond(201, info, location(info.name)) : respond(200, info);
    },
  }),

  defineRoute<NameParams, Record<string, never>, WireConfigPatch>({
    method: 'PATCH',
    url: '/connectors/:name/config',
    operationId: 'patchConnectorConfig',
    summary: 'Change some keys of a connector configuration (null removes a key)',
    tag,
    params: connectorNameParams,
    body: schemaRef('connector-config-patch'),
    responses: {
      200: body('Updated.', 'connector-info'),
      400: badRequest,
      404: notFound,
      409: conflict,
    },
    handler: async ({ herder }, { params, body: patch }) => {
      const changes = toConfigPatch(patch);
      const newName = changes.name;
      if (typeof newName === 'string' && newName !== params.name) {
        throw new BadRequestError(
          `Connector name configuration (${newName}) doesn't match connector name in the URL (${params.name})`,
        );
      }
      return respond(200, await herder.patchConnectorConfig(params.name, changes));
    },
  }),

  defineRoute<NameParams>({
    method: 'GET',
    url: '/connectors/:name/status',
    operationId: 'getConnectorStatus',
    summary: 'State of the connector and of each task',
    tag,
    params: connectorNameParams,
    responses: { 200: body('The status.', 'connector-state-info'), 404: notFound },
    handler: async ({ herder }, { params }) =>
      respond(200, await herder.connectorStatus(params.name)),
  }),

  defineRoute<NameParams>({
    method: 'GET',
    url: '/connectors/:name/tasks',
    operationId: 'getConnectorTasks',
    summary: 'Task configurations',
    tag,
    params: connectorNameParams,
    responses: {
      200: bodyOf('One entry per task.', { type: 'array', items: schemaRef('task-info') }),
      404: notFound,
    },
    handler: async ({ herder }, { params }) => respond(200, await herder.taskConfigs(params.name)),
  }),

  defineRoute<TaskParams>({
    method: 'GET',
    url: '/connectors/:name/tasks/:id/status',
    operationId: 'getTaskStatus',
    summary: 'State of one task',
    tag,
    params: taskParams,
    responses: {
      200: body('The task state.', 'task-state-info'),
      404: failure('No such connector or task.'),
    },
    handler: async ({ herder }, { params }) =>
      respond(200, await herder.taskStatus(params.name, params.id)),
  }),

  defineRoute<NameParams, { includeTasks: boolean; onlyFailed: boolean }>({
    method: 'POST',
    url: '/connectors/:name/restart',
    operationId: 'restartConnector',
    summary:
      'Restart the connector, and with includeTasks its tasks (onlyFailed: only FAILED ones)',
    tag,
    params: connectorNameParams,
    querystring: {
      type: 'object',
      properties: {
        includeTasks: { type: 'boolean', default: false, description: 'Also restart the tasks.' },
        onlyFailed: {
          type: 'boolean',
          default: false,
          description: 'Restart only instances that are FAILED.',
        },
      },
    },
    responses: {
      202: body(
        'Restarting; the instances being restarted show RESTARTING.',
        'connector-state-info',
      ),
      204: empty('The connector object was restarted (both flags false: the legacy behaviour).'),
      404: notFound,
      409: conflict,
    },
    handler: async ({ herder }, { params, query }) => {
      const { includeTasks, onlyFailed } = query;
      const status = await herder.restartConnector(params.name, { includeTasks, onlyFailed });
      return includeTasks || onlyFailed ? respond(202, status) : respond(204);
    },
  }),

  defineRoute<TaskParams>({
    method: 'POST',
    url: '/connectors/:name/tasks/:id/restart',
    operationId: 'restartTask',
    summary: 'Restart one task',
    tag,
    params: taskParams,
    responses: {
      204: empty('Restarted.'),
      404: failure('No such connector or task.'),
      409: conflict,
    },
    handler: async ({ herder }, { params }) => {
      await herder.restartTask(params.name, params.id);
      return respond(204);
    },
  }),

  defineRoute<NameParams>({
    method: 'PUT',
    url: '/connectors/:name/pause',
    operationId: 'pauseConnector',
    summary: 'Pause the connector and its tasks (asynchronous, idempotent)',
    tag,
    params: connectorNameParams,
    responses: { 202: empty('Pausing.'), 404: notFound },
    handler: async ({ herder }, { params }) => {
      await herder.pauseConnector(params.name);
      return respond(202);
    },
  }),

  defineRoute<NameParams>({
    method: 'PUT',
    url: '/connectors/:name/resume',
    operationId: 'resumeConnector',
    summary: 'Resume a PAUSED or STOPPED connector (asynchronous, idempotent)',
    tag,
    params: connectorNameParams,
    responses: { 202: empty('Resuming.'), 404: notFound },
    handler: async ({ herder }, { params }) => {
      await herder.resumeConnector(params.name);
      return respond(202);
    },
  }),

  defineRoute<NameParams>({
    method: 'PUT',
    url: '/connectors/:name/stop',
    operationId: 'stopConnector',
    summary: 'Stop the connector and shut its tasks down (required before editing offsets)',
    tag,
    params: connectorNameParams,
    responses: { 204: empty('Stopped.'), 404: notFound },
    handler: async ({ herder }, { params }) => {
      await herder.stopConnector(params.name);
      return respond(204);
    },
  }),

  defineRoute<NameParams, Record<string, never>, ConnectorSignal>({
    method: 'POST',
    url: '/connectors/:name/signals',
    operationId: 'sendConnectorSignal',
    summary:
      'Send a signal to the running tasks of a source connector (Kafki extension), e.g. execute-snapshot for an incremental snapshot',
    tag,
    params: connectorNameParams,
    body: schemaRef('connector-signal'),
    responses: {
      202: body('Accepted: the tasks act on it in order with the data they read.', 'message'),
      400: failure("The connector's tasks take no signals, or refuse this one (the reason)."),
      404: notFound,
      409: failure('The connector is not running, or has no running task.'),
    },
    handler: async ({ herder }, { params, body: signal }) => {
      await herder.sendSignal(params.name, signal);
      return respond(202, { message: `Signal ${signal.type} sent to connector ${params.name}` });
    },
  }),

  defineRoute<NameParams>({
    method: 'GET',
    url: '/connectors/:name/topics',
    operationId: 'getConnectorTopics',
    summary: 'Topics the connector has used',
    tag,
    params: connectorNameParams,
    responses: {
      200: body('The active topics, keyed by connector name.', 'connector-topics'),
      403: failure('Topic tracking is disabled.'),
      404: notFound,
    },
    handler: async ({ herder }, { params }) =>
      respond(200, { [params.name]: { topics: await herder.connectorTopics(params.name) } }),
  }),

  defineRoute<NameParams>({
    method: 'PUT',
    url: '/connectors/:name/topics/reset',
    operationId: 'resetConnectorTopics',
    summary: 'Forget the topics the connector has used',
    tag,
    params: connectorNameParams,
    responses: {
      202: empty('Reset.'),
      403: failure('Topic tracking or its reset is disabled.'),
      404: notFound,
    },
    handler: async ({ herder }, { params }) => {
      await herder.resetConnectorTopics(params.name);
      return respond(202);
    },
  }),

  defineRoute<NameParams>({
    method: 'GET',
    url: '/connectors/:name/offsets',
    operationId: 'getConnectorOffsets',
    summary: 'Committed offsets of the connector',
    tag,
    params: connectorNameParams,
    responses: { 200: body('The offsets.', 'connector-offsets'), 404: notFound },
    handler: async ({ herder }, { params }) =>
      respond(200, await herder.connectorOffsets(params.name)),
  }),

  defineRoute<NameParams, Record<string, never>, AlterOffsetsBody>({
    method: 'PATCH',
    url: '/connectors/:name/offsets',
    operationId: 'alterConnectorOffsets',
    summary: 'Change committed offsets of a STOPPED connector (a null offset clears a partition)',
    tag,
    params: connectorNameParams,
    body: schemaRef('connector-offsets'),
    responses: {
      200: body('Altered.', 'message'),
      400: failure('Empty offsets, or the connector is not STOPPED.'),
      404: notFound,
    },
    handler: async ({ herder }, { params, body: offsets }) => {
      if (offsets.offsets.length === 0) {
        throw new BadRequestError(
          'Partitions / offsets need to be provided for an alter offsets request',
        );
      }
      return respond(200, { message: await herder.alterConnectorOffsets(params.name, offsets) });
    },
  }),

  defineRoute<NameParams>({
    method: 'DELETE',
    url: '/connectors/:name/offsets',
    operationId: 'resetConnectorOffsets',
    summary: 'Remove all committed offsets of a STOPPED connector',
    tag,
    params: connectorNameParams,
    responses: {
      200: body('Reset.', 'message'),
      400: failure('The connector is not STOPPED.'),
      404: notFound,
    },
    handler: async ({ herder }, { params }) =>
      respond(200, { message: await herder.resetConnectorOffsets(params.name) }),
  }),
];
