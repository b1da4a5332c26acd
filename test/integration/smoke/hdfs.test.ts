// Smoke test for the HDFS test service: a file's whole life over WebHDFS with Node's fetch, following
// the NameNode's 307 redirects to the DataNode by hand as the WebHDFS docs describe.
// Assumes the services are up (`npx tsx test/services/cli.ts up hdfs`).
//
// One exception to fetch: the DataNode answers every CREATE/APPEND with an unsolicited
// "HTTP/1.1 100 Continue" before the real status (Hadoop's WebHdfsHandler writes it unconditionally),
// and the fetch of Node 20 (undici) rejects that as "bad response". node:http skips 1xx answers.

import { request } from 'node:http';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName } from '../../helpers/wait.ts';

const user = 'kafki-smoke';

function webhdfs(path: string, op: string, params: Record<string, string> = {}): URL {
  const url = new URL(`/webhdfs/v1${path}`, serviceAddresses().webhdfsUrl);
  url.searchParams.set('op', op);
  url.searchParams.set('user.name', user);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url;
}

async function call(method: string, url: URL, expected = 200): Promise<Response> {
  const response = await fetch(url, {
    method,
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== expected) {
    assert.fail(
      `${method} ${url.pathname}${url.search} answered ${response.status}: ${await response.text()}`,
    );
  }
  return response;
}

async function json(method: string, url: URL): Promise<unknown> {
  return (await call(method, url)).json();
}

/** The NameNode answers CREATE/OPEN with a 307 to a DataNode; the data goes to (or comes from) there. */
async function dataNodeLocation(method: string, url: URL): Promise<URL> {
  const redirect = await call(method, url, 307);
  const location = redirect.headers.get('location');
  assert.ok(location, `${method} ${url.pathname} redirected without a Location header`);
  await redirect.body?.cancel();
  return new URL(location);
}

/** PUT a body to a DataNode with node:http, which, unlike fetch, tolerates the 100 Continue first. */
function putToDataNode(url: URL, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolvePut, rejectPut) => {
    const req = request(
      url,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolvePut({
            status: response.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', rejectPut);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`PUT ${url.pathname} timed out`)));
    req.on('error', rejectPut);
    req.end(body);
  });
}

test('WebHDFS: mkdirs, create, open, rename, list and delete a file', async () => {
  const dir = `/kafki-smoke/${uniqueName('hdfs')}`;
  // Binary-safe: every byte value, then some text.
  const bytes = Buffer.concat([
    Buffer.from(Array.from({ length: 256 }, (_, index) => index)),
    Buffer.from(`written by ${dir} at ${new Date().toISOString()}\n`),
  ]);

  try {
    assert.deepEqual(await json('PUT', webhdfs(dir, 'MKDIRS')), { boolean: true });

    const createAt = await dataNodeLocation(
      'PUT',
      webhdfs(`${dir}/first.bin`, 'CREATE', { overwrite: 'false' }),
    );
    const created = await putToDataNode(createAt, bytes);
    assert.equal(
      created.status,
      201,
      `CREATE on the DataNode answered ${created.status}: ${created.text}`,
    );

    const openAt = await dataNodeLocation('GET', webhdfs(`${dir}/first.bin`, 'OPEN'));
    const opened = await fetch(openAt, { signal: AbortSignal.timeout(10_000) });
    assert.equal(opened.status, 200);
    assert.deepEqual(Buffer.from(await opened.arrayBuffer()), bytes);

    const renamed = await json(
      'PUT',
      webhdfs(`${dir}/first.bin`, 'RENAME', { destination: `${dir}/second.bin` }),
    );
    assert.deepEqual(renamed, { boolean: true });

    const listing = (await json('GET', webhdfs(dir, 'LISTSTATUS'))) as {
      FileStatuses: { FileStatus: { pathSuffix: string; type: string; length: number }[] };
    };
    assert.deepEqual(
      listing.FileStatuses.FileStatus.map(({ pathSuffix, type, length }) => ({
        pathSuffix,
        type,
        length,
      })),
      [{ pathSuffix: 'second.bin', type: 'FILE', length: bytes.length }],
    );

    const deleted = await json('DELETE', webhdfs(dir, 'DELETE', { recursive: 'true' }));
    assert.deepEqual(deleted, { boolean: true });
    await call('GET', webhdfs(dir, 'GETFILESTATUS'), 404).then((response) =>
      response.body?.cancel(),
    );
  } finally {
    // Best effort after a failure; a no-op once the test has deleted it.
    await fetch(webhdfs(dir, 'DELETE', { recursive: 'true' }), { method: 'DELETE' }).catch(
      () => undefined,
    );
  }
});
