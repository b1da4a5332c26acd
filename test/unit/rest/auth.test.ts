// Bearer-token auth over plain HTTP (TLS and mTLS are in test/integration/rest/tls.test.ts), and
// the parsing of the REST worker settings.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseListener, restServerConfig } from '../../../runtime/rest/rest-config.ts';
import { startTestServer, type TestServer } from './harness.ts';

describe('bearer token', () => {
  let server: TestServer;
  const token = 's3cret-token';

  before(async () => {
    server = await startTestServer({ authToken: token });
  });
  after(async () => {
    await server.close();
  });

  it('refuses requests without the token with 401 in the error shape', async () => {
    const headerSets: Array<Record<string, string>> = [
      {},
      { Authorization: 'Bearer wrong' },
      { Authorization: `Basic ${token}` },
      { Authorization: 'Bearer ' },
    ];
    for (const headers of headerSets) {
      const reply = await server.request('GET', '/connectors', { headers });
      assert.equal(reply.status, 401, JSON.stringify(headers));
      assert.equal((reply.json as { error_code: number }).error_code, 401);
      assert.equal(reply.headers.get('www-authenticate'), 'Bearer realm="kafki"');
    }
    const missing = await server.request('GET', '/connectors');
    assert.match((missing.json as { message: string }).message, /Missing bearer token/);
    assert.equal(server.herder.calls.filter((c) => c.method === 'connectors').length, 0);
  });

  it('guards writes, metrics and unknown routes too', async () => {
    assert.equal(
      (await server.request('POST', '/connectors', { body: { name: 'a', config: {} } })).status,
      401,
    );
    assert.equal((await server.request('GET', '/metrics')).status, 401);
    assert.equal((await server.request('GET', '/nothing')).status, 401);
    assert.equal(server.herder.calls.filter((c) => c.method === 'createConnector').length, 0);
  });

  it('accepts the right token (scheme case-insensitive)', async () => {
    const reply = await server.request('GET', '/connectors', {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(reply.status, 200);
    const lower = await server.request('GET', '/', {
      headers: { Authorization: `bearer ${token}` },
    });
    assert.equal(lower.status, 200);
  });

  it('leaves /openapi.json open', async () => {
    const reply = await server.request('GET', '/openapi.json');
    assert.equal(reply.status, 200);
  });
});

describe('REST worker settings', () => {
  it('parses listeners', () => {
    assert.deepEqual(parseListener('http://127.0.0.1:8083'), {
      protocol: 'http',
      host: '127.0.0.1',
      port: 8083,
    });
    assert.deepEqual(parseListener('https://:8443'), {
      protocol: 'https',
      host: '0.0.0.0',
      port: 8443,
    });
    assert.deepEqual(parseListener('HTTP://[::1]:0/'), { protocol: 'http', host: '::1', port: 0 });
    assert.deepEqual(parseListener('http://localhost'), {
      protocol: 'http',
      host: 'localhost',
      port: 8083,
    });
    assert.throws(() => parseListener('http://a:1,https://b:2'), /exactly one listener/);
    assert.throws(() => parseListener('ftp://a:1'), /not a listener URL/);
    assert.throws(() => parseListener('http://a:70000'), /out of range/);
  });

  it('defaults to http://127.0.0.1:8083 without auth or TLS', () => {
    assert.deepEqual(restServerConfig({}), {
      listener: { protocol: 'http', host: '127.0.0.1', port: 8083 },
    });
  });

  it('builds the TLS settings and refuses incomplete ones', () => {
    const tls = restServerConfig({
      listeners: 'https://127.0.0.1:8443',
      'rest.auth.token': 't',
      'ssl.key.location': '/k.pem',
      'ssl.certificate.location': '/c.pem',
      'ssl.ca.location': '/ca.pem',
      'ssl.client.auth': 'required',
    });
    assert.equal(tls.authToken, 't');
    assert.deepEqual(tls.tls, {
      keyLocation: '/k.pem',
      certificateLocation: '/c.pem',
      caLocation: '/ca.pem',
      clientAuth: 'required',
    });
    assert.throws(() => restServerConfig({ listeners: 'https://:8443' }), /ssl\.key\.location/);
    assert.throws(
      () =>
        restServerConfig({
          listeners: 'https://:8443',
          'ssl.key.location': 'k',
          'ssl.certificate.location': 'c',
          'ssl.client.auth': 'required',
        }),
      /ssl\.ca\.location/,
    );
    assert.throws(() => restServerConfig({ 'ssl.client.auth': 'required' }), /https/);
    assert.throws(
      () => restServerConfig({ 'ssl.client.auth': 'maybe' }),
      /none, requested or required/,
    );
  });
});
