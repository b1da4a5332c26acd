// Every /connectors endpoint over HTTP against the fake herder: status codes, bodies and headers
// as Kafka Connect answers them; each reply is also checked against the OpenAPI contract.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { sourceConfig, startTestServer, type TestServer } from './harness.ts';

describe('REST /connectors', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.herder.connectorsByName.clear();
    server.herder.calls.length = 0;
  });

  async function create(
    name = 'lines',
    config: Record<string, string> = sourceConfig,
  ): Promise<void> {
    const reply = await server.request('POST', '/connectors', { body: { name, config } });
    assert.equal(reply.status, 201, reply.text);
  }

  it('GET / answers the server info', async () => {
    const reply = await server.request('GET', '/');
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json, {
      version: '0.1.0-fake',
      commit: 'abc123',
      kafka_cluster_id: 'local-fake',
    });
  });

  it('POST /connectors creates: 201, Location, ConnectorInfo with the name added to the config', async () => {
    const reply = await server.request('POST', '/connectors', {
      body: { name: '  lines ', config: { ...sourceConfig, 'tasks.max': 2 } },
    });
    assert.equal(reply.status, 201);
    assert.equal(reply.headers.get('location'), '/connectors/lines');
    assert.deepEqual(reply.json, {
      name: 'lines',
      config: { ...sourceConfig, 'tasks.max': '2', name: 'lines' },
      tasks: [
        { connector: 'lines', task: 0 },
        { connector: 'lines', task: 1 },
      ],
      type: 'source',
    });
    const call = server.herder.calls.find((c) => c.method === 'createConnector');
    assert.deepEqual(call?.args, ['lines', { ...sourceConfig, name: 'lines' }, undefined]);
  });

  it('POST /connectors passes initial_state to the herder', async () => {
    const reply = await server.request('POST', '/connectors', {
      body: { name: 'paused', config: sourceConfig, initial_state: 'PAUSED' },
    });
    assert.equal(reply.status, 201);
    const status = await server.request('GET', '/connectors/paused/status');
    assert.equal((status.json as { connector: { state: string } }).connector.state, 'PAUSED');
  });

  it('POST /connectors URL-encodes the Location of an unusual name', async () => {
    const reply = await server.request('POST', '/connectors', {
      body: { name: 'a b/c', config: sourceConfig },
    });
    assert.equal(reply.status, 201);
    assert.equal(reply.headers.get('location'), '/connectors/a%20b%2Fc');
    const info = await server.request('GET', '/connectors/a%20b%2Fc');
    assert.equal(info.status, 200);
    assert.equal((info.json as { name: string }).name, 'a b/c');
  });

  it('GET /connectors lists names; ?expand=status and ?expand=info (repeatable) expand them', async () => {
    await create('a');
    await create('b');
    assert.deepEqual((await server.request('GET', '/connectors')).json, ['a', 'b']);

    const status = await server.request('GET', '/connectors?expand=status');
    assert.equal(status.status, 200);
    const byName = status.json as Record<string, { status?: { name: string }; info?: unknown }>;
    assert.deepEqual(Object.keys(byName).sort(), ['a', 'b']);
    assert.equal(byName.a?.status?.name, 'a');
    assert.equal(byName.a?.info, undefined);

    const both = (await server.request('GET', '/connectors?expand=status&expand=INFO'))
      .json as Record<string, { status?: unknown; info?: { config: Record<string, string> } }>;
    assert.ok(both.b?.status);
    assert.equal(both.b?.info?.config.file, sourceConfig.file);

    const unknown = await server.request('GET', '/connectors?expand=everything');
    assert.deepEqual(unknown.json, { a: {}, b: {} });
  });

  it('GET /connectors?expand skips a connector deleted during the request', async () => {
    await create('a');
    await create('gone');
    server.herder.failNext(
      'connectorStatus',
      new (await import('../../../runtime/herder/errors.ts')).NotFoundError('gone'),
    );
    const reply = await server.request('GET', '/connectors?expand=status');
    assert.equal(reply.status, 200);
    assert.equal(Object.keys(reply.json as object).length, 1);
  });

  it('GET /connectors/{name} and /config answer the info and the config', async () => {
    await create();
    const info = await server.request('GET', '/connectors/lines');
    assert.equal(info.status, 200);
    assert.equal((info.json as { type: string }).type, 'source');
    const config = await server.request('GET', '/connectors/lines/config');
    assert.equal(config.status, 200);
    assert.deepEqual(config.json, { ...sourceConfig, name: 'lines' });
  });

  it('PUT /connectors/{name}/config: 201 + Location when created, 200 when updated', async () => {
    const created = await server.request('PUT', '/connectors/lines/config', { body: sourceConfig });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), '/connectors/lines');
    const updated = await server.request('PUT', '/connectors/lines/config', {
      body: { ...sourceConfig, 'tasks.max': '3', name: 'lines' },
    });
    assert.equal(updated.status, 200);
    assert.equal(updated.headers.get('location'), null);
    assert.equal((updated.json as { tasks: unknown[] }).tasks.length, 3);
  });

  it('PATCH /connectors/{name}/config merges and removes null keys', async () => {
    await create();
    const reply = await server.request('PATCH', '/connectors/lines/config', {
      body: { topic: 'other', 'tasks.max': 1, file: null },
    });
    assert.equal(reply.status, 200);
    const config = (reply.json as { config: Record<string, string> }).config;
    assert.equal(config.topic, 'other');
    assert.equal(config['tasks.max'], '1');
    assert.equal('file' in config, false);
    const call = server.herder.calls.find((c) => c.method === 'patchConnectorConfig');
    assert.deepEqual(call?.args, ['lines', { topic: 'other', 'tasks.max': '1', file: null }]);
  });

  it('DELETE /connectors/{name}: 204, then 404', async () => {
    await create();
    const reply = await server.request('DELETE', '/connectors/lines');
    assert.equal(reply.status, 204);
    assert.equal(reply.text, '');
    assert.equal((await server.request('GET', '/connectors/lines')).status, 404);
  });

  it('GET status, tasks and one task status', async () => {
    await create();
    server.herder.setTaskState('lines', 1, 'FAILED', 'Error: disk full\n    at read (file.ts:1:1)');
    const status = await server.request('GET', '/connectors/lines/status');
    assert.equal(status.status, 200);
    assert.deepEqual(status.json, {
      name: 'lines',
      connector: { state: 'RUNNING', worker_id: '127.0.0.1:8083' },
      tasks: [
        { id: 0, state: 'RUNNING', worker_id: '127.0.0.1:8083' },
        {
          id: 1,
          state: 'FAILED',
          worker_id: '127.0.0.1:8083',
          trace: 'Error: disk full\n    at read (file.ts:1:1)',
        },
      ],
      type: 'source',
    });
    const tasks = await server.request('GET', '/connectors/lines/tasks');
    assert.equal(tasks.status, 200);
    assert.deepEqual(
      (tasks.json as Array<{ id: unknown }>).map((t) => t.id),
      [
        { connector: 'lines', task: 0 },
        { connector: 'lines', task: 1 },
      ],
    );
    const task = await server.request('GET', '/connectors/lines/tasks/1/status');
    assert.equal(task.status, 200);
    assert.equal((task.json as { state: string }).state, 'FAILED');
    assert.deepEqual(server.herder.calls.at(-1), { method: 'taskStatus', args: ['lines', 1] });
  });

  it('POST restart: 204 for the legacy form, 202 + status with includeTasks/onlyFailed', async () => {
    await create();
    server.herder.setTaskState('lines', 0, 'FAILED', 'boom');
    const legacy = await server.request('POST', '/connectors/lines/restart');
    assert.equal(legacy.status, 204);
    assert.deepEqual(server.herder.calls.at(-1), {
      method: 'restartConnector',
      args: ['lines', { includeTasks: false, onlyFailed: false }],
    });

    const withTasks = await server.request(
      'POST',
      '/connectors/lines/restart?includeTasks=true&onlyFailed=true',
    );
    assert.equal(withTasks.status, 202);
    const states = (withTasks.json as { tasks: Array<{ state: string }> }).tasks.map(
      (t) => t.state,
    );
    assert.deepEqual(states, ['RESTARTING', 'RUNNING']);
    assert.deepEqual(server.herder.calls.at(-1)?.args, [
      'lines',
      { includeTasks: true, onlyFailed: true },
    ]);

    const onlyTasks = await server.request('POST', '/connectors/lines/restart?includeTasks=true');
    assert.equal(onlyTasks.status, 202);
  });

  it('POST restart accepts a JSON content type with an empty body (curl -H without -d)', async () => {
    await create();
    const reply = await server.request('POST', '/connectors/lines/restart', {
      rawBody: '',
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(reply.status, 204);
  });

  it('POST /connectors/{name}/tasks/{id}/restart: 204', async () => {
    await create();
    server.herder.setTaskState('lines', 1, 'FAILED', 'boom');
    const reply = await server.request('POST', '/connectors/lines/tasks/1/restart');
    assert.equal(reply.status, 204);
    assert.deepEqual(server.herder.calls.at(-1), { method: 'restartTask', args: ['lines', 1] });
  });

  it('PUT pause and resume: 202; stop: 204', async () => {
    await create();
    assert.equal((await server.request('PUT', '/connectors/lines/pause')).status, 202);
    assert.equal(
      (
        (await server.request('GET', '/connectors/lines/status')).json as {
          connector: { state: string };
        }
      ).connector.state,
      'PAUSED',
    );
    assert.equal((await server.request('PUT', '/connectors/lines/resume')).status, 202);
    assert.equal(
      (
        (await server.request('GET', '/connectors/lines/status')).json as {
          connector: { state: string };
        }
      ).connector.state,
      'RUNNING',
    );
    const stop = await server.request('PUT', '/connectors/lines/stop');
    assert.equal(stop.status, 204);
    assert.equal(
      (
        (await server.request('GET', '/connectors/lines/status')).json as {
          connector: { state: string };
        }
      ).connector.state,
      'STOPPED',
    );
  });

  it('GET topics answers {name: {topics}}; PUT topics/reset 202', async () => {
    await create();
    const connector = server.herder.connectorsByName.get('lines');
    assert.ok(connector);
    connector.topics = ['lines'];
    const topics = await server.request('GET', '/connectors/lines/topics');
    assert.equal(topics.status, 200);
    assert.deepEqual(topics.json, { lines: { topics: ['lines'] } });
    assert.equal((await server.request('PUT', '/connectors/lines/topics/reset')).status, 202);
    assert.deepEqual((await server.request('GET', '/connectors/lines/topics')).json, {
      lines: { topics: [] },
    });
  });

  it('offsets: GET, PATCH and DELETE on a stopped connector', async () => {
    await create();
    assert.equal((await server.request('PUT', '/connectors/lines/stop')).status, 204);
    const offsets = {
      offsets: [{ partition: { filename: '/tmp/in.txt' }, offset: { position: 42 } }],
    };
    const altered = await server.request('PATCH', '/connectors/lines/offsets', { body: offsets });
    assert.equal(altered.status, 200);
    assert.match((altered.json as { message: string }).message, /altered successfully/);
    const read = await server.request('GET', '/connectors/lines/offsets');
    assert.equal(read.status, 200);
    assert.deepEqual(read.json, offsets);
    const reset = await server.request('DELETE', '/connectors/lines/offsets');
    assert.equal(reset.status, 200);
    assert.match((reset.json as { message: string }).message, /reset successfully/);
    assert.deepEqual((await server.request('GET', '/connectors/lines/offsets')).json, {
      offsets: [],
    });
  });

  it('a trailing slash reaches the same route', async () => {
    await create();
    assert.equal((await server.request('GET', '/connectors/')).status, 200);
    assert.equal((await server.request('GET', '/connectors/lines/status/')).status, 200);
  });
});
