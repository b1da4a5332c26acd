// /connector-plugins over HTTP against the fake herder.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from './harness.ts';

describe('REST /connector-plugins', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it('lists connector plugins only by default, everything with connectorsOnly=false', async () => {
    const connectors = await server.request('GET', '/connector-plugins');
    assert.equal(connectors.status, 200);
    assert.deepEqual(
      (connectors.json as Array<{ class: string }>).map((p) => p.class),
      ['org.kafki.FakeSourceConnector', 'org.kafki.FakeSinkConnector'],
    );
    assert.deepEqual(server.herder.calls.at(-1)?.args, [{ connectorsOnly: true }]);
    const all = await server.request('GET', '/connector-plugins?connectorsOnly=false');
    assert.equal((all.json as unknown[]).length, 3);
    assert.deepEqual(server.herder.calls.at(-1)?.args, [{ connectorsOnly: false }]);
  });

  it('GET /connector-plugins/{plugin}/config answers the key definitions; 404 for an unknown plugin', async () => {
    const reply = await server.request('GET', '/connector-plugins/FakeSource/config');
    assert.equal(reply.status, 200);
    assert.equal((reply.json as Array<{ name: string }>)[0]?.name, 'file');
    const missing = await server.request('GET', '/connector-plugins/Nope/config');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { error_code: 404, message: 'Unknown plugin Nope' });
  });

  it('PUT …/config/validate answers 200 with error_count, valid or not', async () => {
    const invalid = await server.request('PUT', '/connector-plugins/FakeSource/config/validate', {
      body: { 'connector.class': 'org.kafki.FakeSourceConnector', 'tasks.max': 1 },
    });
    assert.equal(invalid.status, 200);
    const result = invalid.json as {
      error_count: number;
      configs: Array<{ value: { errors: string[] } }>;
    };
    assert.equal(result.error_count, 1);
    assert.match(result.configs[0]?.value.errors[0] ?? '', /file/);
    assert.deepEqual(server.herder.calls.at(-1)?.args, [
      'FakeSource',
      { 'connector.class': 'org.kafki.FakeSourceConnector', 'tasks.max': '1' },
    ]);

    const valid = await server.request('PUT', '/connector-plugins/FakeSource/config/validate', {
      body: { file: '/tmp/x' },
    });
    assert.equal((valid.json as { error_count: number }).error_count, 0);
  });

  it('validate: a connector.class naming another plugin is a 400', async () => {
    const reply = await server.request('PUT', '/connector-plugins/FakeSource/config/validate', {
      body: { 'connector.class': 'FakeSink' },
    });
    assert.equal(reply.status, 400);
    assert.match(
      (reply.json as { message: string }).message,
      /does not match request type FakeSource/,
    );
  });
});
