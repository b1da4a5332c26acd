// POST /connectors/{name}/signals (our extension): the body schema, the herder call, and the
// status codes for each refusal; replies are checked against the OpenAPI contract.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { BadRequestError } from '../../../runtime/herder/errors.ts';
import { sourceConfig, startTestServer, type TestServer } from './harness.ts';

const executeSnapshot = {
  type: 'execute-snapshot',
  data: { 'data-collections': ['public.orders'], type: 'incremental' },
};

describe('REST POST /connectors/{name}/signals', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });
  beforeEach(async () => {
    server.herder.connectorsByName.clear();
    server.herder.signals.length = 0;
    server.herder.calls.length = 0;
    const reply = await server.request('POST', '/connectors', {
      body: { name: 'orders', config: sourceConfig },
    });
    assert.equal(reply.status, 201);
  });

  it('hands the signal to the herder and answers 202 with a message', async () => {
    const reply = await server.request('POST', '/connectors/orders/signals', {
      body: { id: 'sig-1', ...executeSnapshot },
    });
    assert.equal(reply.status, 202);
    assert.match((reply.json as { message: string }).message, /execute-snapshot/);
    assert.deepEqual(server.herder.signals, [
      { name: 'orders', signal: { id: 'sig-1', ...executeSnapshot } },
    ]);
  });

  it('refuses a body without a type, with unknown fields, or with non-object data (400)', async () => {
    for (const body of [
      { data: {} },
      { type: '' },
      { type: 'log', extra: 1 },
      { type: 'log', data: ['x'] },
    ]) {
      const reply = await server.request('POST', '/connectors/orders/signals', { body });
      assert.equal(reply.status, 400, JSON.stringify(body));
    }
    assert.equal(server.herder.signals.length, 0);
  });

  it('404 for an unknown connector, 409 when it is not running', async () => {
    const missing = await server.request('POST', '/connectors/nope/signals', {
      body: executeSnapshot,
    });
    assert.equal(missing.status, 404);
    await server.request('PUT', '/connectors/orders/stop');
    const stopped = await server.request('POST', '/connectors/orders/signals', {
      body: executeSnapshot,
    });
    assert.equal(stopped.status, 409);
    assert.match((stopped.json as { message: string }).message, /STOPPED/);
  });

  it('400 with the reason when the tasks take no signals or refuse this one', async () => {
    const sink = await server.request('POST', '/connectors', {
      body: {
        name: 'sink',
        config: { 'connector.class': 'org.kafki.FakeSinkConnector', topics: 'lines' },
      },
    });
    assert.equal(sink.status, 201);
    const noSignals = await server.request('POST', '/connectors/sink/signals', {
      body: executeSnapshot,
    });
    assert.equal(noSignals.status, 400);
    assert.match((noSignals.json as { message: string }).message, /no signal support/);

    server.herder.failNext('sendSignal', new BadRequestError('unknown signal type "explode"'));
    const refused = await server.request('POST', '/connectors/orders/signals', {
      body: { type: 'explode' },
    });
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.json, { error_code: 400, message: 'unknown signal type "explode"' });
  });
});
