// Every error path: typed herder errors to status codes, request-level failures (malformed JSON,
// schema violations, name mismatch, unknown route), all in Kafka Connect's {error_code, message}.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { InvalidInputError } from '../../../runtime/api/errors.ts';
import {
  AlreadyExistsError,
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
} from '../../../runtime/herder/errors.ts';
import { mapError } from '../../../runtime/rest/error-mapper.ts';
import { sourceConfig, startTestServer, type TestServer } from './harness.ts';

describe('error mapper', () => {
  const cases: Array<[Error, number]> = [
    [new NotFoundError('x'), 404],
    [new AlreadyExistsError('x'), 409],
    [new BadRequestError('x'), 400],
    [new ConflictError('x'), 409],
    [new ForbiddenError('x'), 403],
    [new InvalidInputError('CONFIG', 'x'), 400],
    [new Error('x'), 500],
    [new TypeError('x'), 500],
  ];
  for (const [error, status] of cases) {
    it(`${error.constructor.name} → ${status}`, () => {
      assert.deepEqual(mapError(error), { status, body: { error_code: status, message: 'x' } });
    });
  }

  it('a non-Error thrown value still gets a message', () => {
    assert.deepEqual(mapError('boom'), { status: 500, body: { error_code: 500, message: 'boom' } });
  });
});

describe('REST error responses', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.herder.connectorsByName.clear();
    server.logger.lines.length = 0;
  });

  const create = (body: unknown) => server.request('POST', '/connectors', { body });

  it('unknown connector → 404 with the herder message, on every per-connector route', async () => {
    const routes: Array<[string, string]> = [
      ['GET', '/connectors/nope'],
      ['DELETE', '/connectors/nope'],
      ['GET', '/connectors/nope/config'],
      ['GET', '/connectors/nope/status'],
      ['GET', '/connectors/nope/tasks'],
      ['GET', '/connectors/nope/tasks/0/status'],
      ['POST', '/connectors/nope/restart'],
      ['POST', '/connectors/nope/tasks/0/restart'],
      ['PUT', '/connectors/nope/pause'],
      ['PUT', '/connectors/nope/resume'],
      ['PUT', '/connectors/nope/stop'],
      ['GET', '/connectors/nope/topics'],
      ['PUT', '/connectors/nope/topics/reset'],
      ['GET', '/connectors/nope/offsets'],
      ['DELETE', '/connectors/nope/offsets'],
    ];
    for (const [method, path] of routes) {
      const reply = await server.request(method, path);
      assert.equal(reply.status, 404, `${method} ${path}`);
      assert.deepEqual(reply.json, { error_code: 404, message: 'Connector nope not found' });
    }
    const patch = await server.request('PATCH', '/connectors/nope/config', { body: { a: 'b' } });
    assert.equal(patch.status, 404);
  });

  it('duplicate create → 409', async () => {
    assert.equal((await create({ name: 'a', config: sourceConfig })).status, 201);
    const reply = await create({ name: 'a', config: sourceConfig });
    assert.equal(reply.status, 409);
    assert.deepEqual(reply.json, { error_code: 409, message: 'Connector a already exists' });
  });

  it('invalid config (unknown class) → 400 with the herder message', async () => {
    const reply = await create({ name: 'a', config: { 'connector.class': 'Nope' } });
    assert.equal(reply.status, 400);
    assert.match(
      (reply.json as { message: string }).message,
      /unknown class Nope; available: org\.kafki\.FakeSourceConnector/,
    );
  });

  it('ConflictError → 409, ForbiddenError → 403, anything else → 500 (and logged)', async () => {
    await create({ name: 'a', config: sourceConfig });
    server.herder.failNext('restartConnector', new ConflictError('Rebalance in progress, retry'));
    const conflict = await server.request('POST', '/connectors/a/restart');
    assert.deepEqual(conflict.json, { error_code: 409, message: 'Rebalance in progress, retry' });

    server.herder.failNext('connectorTopics', new ForbiddenError('Topic tracking is disabled.'));
    const forbidden = await server.request('GET', '/connectors/a/topics');
    assert.deepEqual(forbidden.json, { error_code: 403, message: 'Topic tracking is disabled.' });

    assert.equal(server.logger.lines.filter((l) => l.level === 'error').length, 0);
    server.herder.failNext('connectorStatus', new TypeError('cannot read properties of undefined'));
    const internal = await server.request('GET', '/connectors/a/status');
    assert.equal(internal.status, 500);
    assert.deepEqual(internal.json, {
      error_code: 500,
      message: 'cannot read properties of undefined',
    });
    assert.equal(server.logger.lines.filter((l) => l.level === 'error').length, 1);
  });

  it('offsets on a running connector → 400; empty alter → 400', async () => {
    await create({ name: 'a', config: sourceConfig });
    const running = await server.request('DELETE', '/connectors/a/offsets');
    assert.equal(running.status, 400);
    assert.match((running.json as { message: string }).message, /STOPPED/);
    await server.request('PUT', '/connectors/a/stop');
    const empty = await server.request('PATCH', '/connectors/a/offsets', { body: { offsets: [] } });
    assert.equal(empty.status, 400);
    assert.match((empty.json as { message: string }).message, /need to be provided/);
  });

  it('malformed JSON → 400 that says the JSON is malformed', async () => {
    const reply = await server.request('POST', '/connectors', {
      rawBody: '{"name": "a", "config": {',
    });
    assert.equal(reply.status, 400);
    assert.match((reply.json as { message: string }).message, /^Malformed JSON in request body: /);
    const put = await server.request('PUT', '/connectors/a/config', {
      rawBody: "{'single': 'quotes'}",
    });
    assert.equal(put.status, 400);
    assert.match((put.json as { message: string }).message, /Malformed JSON/);
  });

  it('a __proto__ key is refused as malformed', async () => {
    const reply = await server.request('PUT', '/connectors/a/config', {
      rawBody: '{"__proto__": {"x": "1"}}',
    });
    assert.equal(reply.status, 400);
    assert.match((reply.json as { message: string }).message, /__proto__/);
  });

  it('POST without name or without config → 400 naming the field', async () => {
    const noName = await create({ config: sourceConfig });
    assert.deepEqual(noName.json, {
      error_code: 400,
      message: "Missing required field 'name' in the request body",
    });
    const noConfig = await create({ name: 'a' });
    assert.equal(noConfig.status, 400);
    assert.match((noConfig.json as { message: string }).message, /'config'/);
    const blank = await create({ name: '   ', config: sourceConfig });
    assert.equal(blank.status, 400);
    assert.match((blank.json as { message: string }).message, /must not be empty/);
    const noBody = await server.request('POST', '/connectors');
    assert.equal(noBody.status, 400);
    const array = await create([1, 2]);
    assert.equal(array.status, 400);
    assert.match((array.json as { message: string }).message, /must be a JSON object/);
  });

  it('config values that are objects or arrays → 400; numbers and booleans are accepted', async () => {
    const nested = await create({ name: 'a', config: { ...sourceConfig, nested: { x: 1 } } });
    assert.equal(nested.status, 400);
    assert.match((nested.json as { message: string }).message, /config\.nested/);
    const bad = await create({ name: 'a', config: sourceConfig, initial_state: 'SLEEPING' });
    assert.equal(bad.status, 400);
  });

  it('name in config not matching → 400 (POST, PUT and PATCH)', async () => {
    const post = await create({ name: 'a', config: { ...sourceConfig, name: 'b' } });
    assert.equal(post.status, 400);
    assert.match(
      (post.json as { message: string }).message,
      /\(b\) doesn't match connector name in the request \(a\)/,
    );
    const put = await server.request('PUT', '/connectors/a/config', {
      body: { ...sourceConfig, name: 'b' },
    });
    assert.equal(put.status, 400);
    assert.match(
      (put.json as { message: string }).message,
      /doesn't match connector name in the URL \(a\)/,
    );
    await create({ name: 'a', config: sourceConfig });
    const patch = await server.request('PATCH', '/connectors/a/config', { body: { name: 'b' } });
    assert.equal(patch.status, 400);
  });

  it('a non-integer task id → 400', async () => {
    const reply = await server.request('GET', '/connectors/a/tasks/x/status');
    assert.equal(reply.status, 400);
    assert.match((reply.json as { message: string }).message, /path/);
  });

  it('unknown route or method → 404 in the error shape', async () => {
    const unknown = await server.request('GET', '/nothing/here?x=1');
    assert.deepEqual(unknown.json, {
      error_code: 404,
      message: 'Unknown endpoint: GET /nothing/here',
    });
    const method = await server.request('PATCH', '/connectors');
    assert.equal(method.status, 404);
    assert.equal((method.json as { error_code: number }).error_code, 404);
  });

  it('a non-JSON content type → 415 in the error shape', async () => {
    const reply = await server.request('POST', '/connectors', {
      rawBody: 'name=a',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(reply.status, 415);
    assert.equal((reply.json as { error_code: number }).error_code, 415);
  });
});
