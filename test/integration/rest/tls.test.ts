// HTTPS, mutual TLS and the bearer token on a real listener, with certificates made by openssl:
// mTLS (ssl.client.auth=required) refuses a client without a certificate and one whose
// certificate comes from another CA, and accepts one signed by ssl.ca.location.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RestClient, RestClientError } from '../../../runtime/cli/rest-client.ts';
import { restServerConfig } from '../../../runtime/rest/rest-config.ts';
import { startRestServer, type RestServer } from '../../../runtime/rest/server.ts';
import { FakeHerder } from '../../helpers/fake-herder.ts';
import { fakeMetrics, recordingLogger } from '../../unit/rest/harness.ts';
import { createTestPki, type TestPki } from './certificates.ts';
import { startTestWorker } from './test-worker.ts';

async function start(settings: Record<string, string>): Promise<RestServer> {
  return startRestServer({
    herder: new FakeHerder(),
    metrics: fakeMetrics,
    logger: recordingLogger(),
    config: restServerConfig({ listeners: 'https://127.0.0.1:0', ...settings }),
  });
}

async function refused(client: RestClient, pattern: RegExp): Promise<void> {
  await assert.rejects(client.get('/connectors'), (error: unknown) => {
    assert.ok(error instanceof RestClientError);
    assert.equal(
      error.status,
      0,
      `expected a TLS failure, got HTTP ${error.status}: ${error.message}`,
    );
    assert.match(error.message, pattern);
    return true;
  });
}

describe('REST over TLS', () => {
  let pki: TestPki;

  before(() => {
    pki = createTestPki();
  });
  after(() => pki.remove());

  describe('https without client authentication', () => {
    let server: RestServer;
    before(async () => {
      server = await start({
        'ssl.key.location': pki.serverKeyEncrypted,
        'ssl.key.password': pki.serverKeyPassword,
        'ssl.certificate.location': pki.serverCert,
      });
    });
    after(() => server.close());

    it('serves https (encrypted key) to a client that trusts the CA', async () => {
      assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const reply = await new RestClient({ url: server.url, cacert: pki.caCert }).get('/');
      assert.equal(reply.status, 200);
      assert.equal((reply.body as { version: string }).version, '0.1.0-fake');
    });

    it('a client that does not trust the CA refuses the server', async () => {
      await refused(
        new RestClient({ url: server.url }),
        /self-signed|unable to verify|unable to get local issuer/i,
      );
    });

    it('plain http to the https port gets no API answer', async () => {
      const response = await fetch(server.url.replace('https:', 'http:') + '/connectors').catch(
        (error: unknown) => error,
      );
      assert.ok(response instanceof Error || !(response as Response).ok);
    });
  });

  describe('mutual TLS (ssl.client.auth=required)', () => {
    let server: RestServer;
    before(async () => {
      server = await start({
        'ssl.key.location': pki.serverKey,
        'ssl.certificate.location': pki.serverCert,
        'ssl.ca.location': pki.caCert,
        'ssl.client.auth': 'required',
      });
    });
    after(() => server.close());

    it('refuses a client without a certificate', async () => {
      await refused(
        new RestClient({ url: server.url, cacert: pki.caCert }),
        /certificate|socket hang up|ECONNRESET/i,
      );
    });

    it('refuses a client whose certificate comes from another CA', async () => {
      const client = new RestClient({
        url: server.url,
        cacert: pki.caCert,
        cert: pki.otherClientCert,
        key: pki.otherClientKey,
      });
      await refused(client, /unknown ca|certificate|socket hang up|ECONNRESET/i);
    });

    it('accepts a client certificate signed by the CA', async () => {
      const client = new RestClient({
        url: server.url,
        cacert: pki.caCert,
        cert: pki.clientCert,
        key: pki.clientKey,
      });
      const reply = await client.get('/connectors');
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, []);
    });
  });

  describe('ssl.client.auth=requested', () => {
    let server: RestServer;
    before(async () => {
      server = await start({
        'ssl.key.location': pki.serverKey,
        'ssl.certificate.location': pki.serverCert,
        'ssl.ca.location': pki.caCert,
        'ssl.client.auth': 'requested',
      });
    });
    after(() => server.close());

    it('accepts a client without a certificate and one with a trusted certificate', async () => {
      assert.equal(
        (await new RestClient({ url: server.url, cacert: pki.caCert }).get('/')).status,
        200,
      );
      const client = new RestClient({
        url: server.url,
        cacert: pki.caCert,
        cert: pki.clientCert,
        key: pki.clientKey,
      });
      assert.equal((await client.get('/')).status, 200);
    });

    it('answers 401 in the error shape to a certificate from another CA', async () => {
      const client = new RestClient({
        url: server.url,
        cacert: pki.caCert,
        cert: pki.otherClientCert,
        key: pki.otherClientKey,
      });
      await assert.rejects(client.get('/connectors'), (error: unknown) => {
        assert.ok(error instanceof RestClientError);
        assert.equal(error.status, 401);
        assert.match(error.message, /Client certificate is not trusted/);
        return true;
      });
    });
  });

  describe('mutual TLS and a bearer token together', () => {
    let server: RestServer;
    before(async () => {
      server = await start({
        'ssl.key.location': pki.serverKey,
        'ssl.certificate.location': pki.serverCert,
        'ssl.ca.location': pki.caCert,
        'ssl.client.auth': 'required',
        'rest.auth.token': 'the-token',
      });
    });
    after(() => server.close());

    const options = (): { url: string; cacert: string; cert: string; key: string } => ({
      url: server.url,
      cacert: pki.caCert,
      cert: pki.clientCert,
      key: pki.clientKey,
    });

    it('a valid certificate without the token gets 401', async () => {
      await assert.rejects(new RestClient(options()).get('/connectors'), (error: unknown) => {
        assert.ok(error instanceof RestClientError);
        assert.equal(error.status, 401);
        return true;
      });
    });

    it('a valid certificate with the token gets through; /openapi.json needs no token', async () => {
      assert.equal(
        (await new RestClient({ ...options(), token: 'the-token' }).get('/connectors')).status,
        200,
      );
      assert.equal((await new RestClient(options()).get('/openapi.json')).status, 200);
    });
  });

  it('a real worker configured through its worker config serves mTLS + bearer', async () => {
    const worker = await startTestWorker({
      listeners: 'https://127.0.0.1:0',
      'ssl.key.location': pki.serverKey,
      'ssl.certificate.location': pki.serverCert,
      'ssl.ca.location': pki.caCert,
      'ssl.client.auth': 'required',
      'rest.auth.token': 'worker-token',
    });
    try {
      assert.match(worker.url, /^https:/);
      const trusted = {
        url: worker.url,
        cacert: pki.caCert,
        cert: pki.clientCert,
        key: pki.clientKey,
      };
      const reply = await new RestClient({ ...trusted, token: 'worker-token' }).get(
        '/connector-plugins',
      );
      assert.equal(reply.status, 200);
      assert.ok((reply.body as unknown[]).length >= 2);
      await assert.rejects(new RestClient(trusted).get('/connectors'), { status: 401 });
      await refused(
        new RestClient({ url: worker.url, cacert: pki.caCert, token: 'worker-token' }),
        /certificate|socket hang up|ECONNRESET/i,
      );
    } finally {
      await worker.close();
    }
  });

  it('refuses to start with unreadable key files, naming the setting', async () => {
    await assert.rejects(
      start({
        'ssl.key.location': '/nonexistent/key.pem',
        'ssl.certificate.location': pki.serverCert,
      }),
      /ssl\.key\.location: cannot read \/nonexistent\/key\.pem/,
    );
  });
});
