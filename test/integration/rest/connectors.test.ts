// The REST API of a real standalone worker, driven over HTTP with the built-in file connectors:
// create, status, pause/resume, restart, stop, offsets, a sink fed by the source, validation,
// metrics and delete; plus the error answers (unknown class, duplicate, unknown connector).

import assert from 'node:assert/strict';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConnectorOffsets, ConnectorStateInfo } from '../../../runtime/herder/herder.ts';
import { waitFor } from '../../helpers/wait.ts';
import { startTestWorker, type TestWorker } from './test-worker.ts';

const sourceClass = 'org.apache.kafka.connect.file.FileStreamSourceConnector';

describe('REST API of a standalone worker', () => {
  let worker: TestWorker;
  let input: string;
  let output: string;

  before(async () => {
    worker = await startTestWorker();
    input = join(worker.dir, 'in.txt');
    output = join(worker.dir, 'out.txt');
    await writeFile(input, 'alpha\nbeta\n');
  });
  after(async () => {
    await worker?.close();
  });

  const sourceConfig = (): Record<string, string> => ({
    'connector.class': 'FileStreamSource',
    file: input,
    topic: 'lines',
    format: 'string',
    'poll.interval.ms': '50',
  });

  async function status(name: string): Promise<ConnectorStateInfo> {
    const reply = await worker.request('GET', `/connectors/${name}/status`);
    assert.equal(reply.status, 200, reply.text);
    return reply.json as ConnectorStateInfo;
  }

  async function waitForState(
    name: string,
    state: string,
    taskState: string | null = state,
  ): Promise<ConnectorStateInfo> {
    return waitFor(
      `${name} ${state}`,
      async () => {
        const current = await status(name);
        const tasksOk =
          taskState === null ||
          (current.tasks.length > 0 && current.tasks.every((t) => t.state === taskState));
        return current.connector.state === state && tasksOk ? current : undefined;
      },
      { timeoutMs: 20_000 },
    );
  }

  it('GET / and GET /connector-plugins describe the worker', async () => {
    const root = await worker.request('GET', '/');
    assert.equal(root.status, 200);
    assert.equal((root.json as { kafka_cluster_id: string }).kafka_cluster_id, 'kafki-local');
    const plugins = await worker.request('GET', '/connector-plugins');
    const classes = (plugins.json as Array<{ class: string; type: string }>).map((p) => p.class);
    for (const expected of [
      'org.apache.kafka.connect.file.FileStreamSinkConnector',
      sourceClass,
      'io.kafki.connectors.elasticsearch.ElasticsearchSinkConnector',
    ]) {
      assert.ok(classes.includes(expected), `${expected} in ${classes.join(', ')}`);
    }
    assert.ok(
      (plugins.json as Array<{ type: string }>).every(
        (p) => p.type === 'source' || p.type === 'sink',
      ),
      'connectorsOnly (the default) lists connectors only',
    );
    const all = await worker.request('GET', '/connector-plugins?connectorsOnly=false');
    assert.ok((all.json as Array<{ type: string }>).some((plugin) => plugin.type === 'converter'));
    const definition = await worker.request('GET', '/connector-plugins/FileStreamSource/config');
    assert.equal(definition.status, 200);
    assert.ok((definition.json as Array<{ name: string }>).some((key) => key.name === 'file'));
  });

  it('validate answers 200 with the per-field errors', async () => {
    const reply = await worker.request(
      'PUT',
      '/connector-plugins/FileStreamSource/config/validate',
      {
        body: { 'connector.class': 'FileStreamSource', topic: 'lines' },
      },
    );
    assert.equal(reply.status, 200, reply.text);
    const result = reply.json as {
      error_count: number;
      configs: Array<{ value: { name: string; errors: string[] } }>;
    };
    assert.ok(result.error_count >= 1);
    const file = result.configs.find((config) => config.value.name === 'file');
    assert.ok(file && file.value.errors.length > 0, 'the missing file key has an error');
  });

  it('creates a source connector: 201 + Location, then it runs and commits offsets', async () => {
    const created = await worker.request('POST', '/connectors', {
      body: { name: 'src', config: sourceConfig() },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('location'), '/connectors/src');
    assert.equal((created.json as { type: string }).type, 'source');

    const running = await waitForState('src', 'RUNNING');
    assert.equal(running.connector.worker_id, 'it-worker:8083');
    assert.deepEqual((await worker.request('GET', '/connectors')).json, ['src']);

    const offsets = await waitFor('source offsets', async () => {
      const reply = await worker.request('GET', '/connectors/src/offsets');
      const body = reply.json as ConnectorOffsets;
      return body.offsets.length > 0 ? body : undefined;
    });
    assert.ok(offsets.offsets[0]?.offset);
    const tasks = await worker.request('GET', '/connectors/src/tasks');
    assert.equal((tasks.json as unknown[]).length, 1);
    const task = await worker.request('GET', '/connectors/src/tasks/0/status');
    assert.equal((task.json as { state: string }).state, 'RUNNING');
  });

  it('a sink created with PUT …/config (201) receives what the source read', async () => {
    const created = await worker.request('PUT', '/connectors/sink/config', {
      body: {
        'connector.class': 'FileStreamSink',
        file: output,
        topics: 'lines',
        format: 'string',
      },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('location'), '/connectors/sink');
    await appendFile(input, 'gamma\n');
    await waitFor(
      'the sink file',
      async () => {
        const text = await readFile(output, 'utf8').catch(() => '');
        return text.includes('alpha') && text.includes('gamma') ? text : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const topics = await worker.request('GET', '/connectors/src/topics');
    assert.equal(topics.status, 200);
    assert.deepEqual(topics.json, { src: { topics: ['lines'] } });

    const updated = await worker.request('PUT', '/connectors/sink/config', {
      body: {
        'connector.class': 'FileStreamSink',
        file: output,
        topics: 'lines',
        format: 'string',
        name: 'sink',
      },
    });
    assert.equal(updated.status, 200, updated.text);
    const patched = await worker.request('PATCH', '/connectors/sink/config', {
      body: { format: null },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal('format' in (patched.json as { config: Record<string, string> }).config, false);
  });

  it('expand=status&expand=info lists both connectors with both expansions', async () => {
    const reply = await worker.request('GET', '/connectors?expand=status&expand=info');
    const body = reply.json as Record<
      string,
      { status?: ConnectorStateInfo; info?: { type: string } }
    >;
    assert.deepEqual(Object.keys(body).sort(), ['sink', 'src']);
    assert.equal(body.sink?.info?.type, 'sink');
    assert.equal(body.src?.status?.name, 'src');
  });

  it('pause (202) and resume (202) change the state', async () => {
    assert.equal((await worker.request('PUT', '/connectors/src/pause')).status, 202);
    await waitForState('src', 'PAUSED');
    assert.equal((await worker.request('PUT', '/connectors/src/resume')).status, 202);
    await waitForState('src', 'RUNNING');
  });

  it('restart: 204 legacy, 202 with includeTasks', async () => {
    assert.equal((await worker.request('POST', '/connectors/src/restart')).status, 204);
    const reply = await worker.request('POST', '/connectors/src/restart?includeTasks=true');
    assert.equal(reply.status, 202, reply.text);
    assert.equal((reply.json as ConnectorStateInfo).name, 'src');
    await waitForState('src', 'RUNNING');
    assert.equal((await worker.request('POST', '/connectors/src/tasks/0/restart')).status, 204);
    await waitForState('src', 'RUNNING');
  });

  it('offsets can be altered and reset only when STOPPED', async () => {
    const notStopped = await worker.request('DELETE', '/connectors/src/offsets');
    assert.equal(notStopped.status, 400, notStopped.text);
    assert.equal((await worker.request('PUT', '/connectors/src/stop')).status, 204);
    await waitForState('src', 'STOPPED', null);

    const current = (await worker.request('GET', '/connectors/src/offsets'))
      .json as ConnectorOffsets;
    const partition = current.offsets[0]?.partition;
    assert.ok(partition);
    const altered = await worker.request('PATCH', '/connectors/src/offsets', {
      body: { offsets: [{ partition, offset: null }] },
    });
    assert.equal(altered.status, 200, altered.text);
    assert.deepEqual((await worker.request('GET', '/connectors/src/offsets')).json, {
      offsets: [],
    });
    const reset = await worker.request('DELETE', '/connectors/src/offsets');
    assert.equal(reset.status, 200, reset.text);
    assert.match((reset.json as { message: string }).message, /reset/i);
  });

  it('refuses an unknown connector class with 400 listing the classes', async () => {
    const reply = await worker.request('POST', '/connectors', {
      body: { name: 'bad', config: { 'connector.class': 'com.example.Nope', topic: 'x' } },
    });
    assert.equal(reply.status, 400, reply.text);
    assert.match((reply.json as { message: string }).message, /FileStreamSourceConnector/);
    assert.equal((await worker.request('GET', '/connectors/bad')).status, 404);
  });

  it('refuses a duplicate with 409, a name mismatch and malformed JSON with 400', async () => {
    const duplicate = await worker.request('POST', '/connectors', {
      body: { name: 'src', config: sourceConfig() },
    });
    assert.equal(duplicate.status, 409, duplicate.text);
    const mismatch = await worker.request('PUT', '/connectors/src/config', {
      body: { ...sourceConfig(), name: 'other' },
    });
    assert.equal(mismatch.status, 400);
    const malformed = await worker.request('POST', '/connectors', { rawBody: '{"name":' });
    assert.equal(malformed.status, 400);
    assert.match((malformed.json as { message: string }).message, /Malformed JSON/);
  });

  it('GET /metrics serves Prometheus text', async () => {
    const reply = await worker.request('GET', '/metrics');
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(reply.text, /^# TYPE kafki_/m);
  });

  it('delete: 204, then 404 everywhere', async () => {
    assert.equal((await worker.request('DELETE', '/connectors/sink')).status, 204);
    assert.equal((await worker.request('DELETE', '/connectors/src')).status, 204);
    assert.deepEqual((await worker.request('GET', '/connectors')).json, []);
    const missing = await worker.request('GET', '/connectors/src/status');
    assert.equal(missing.status, 404);
    assert.equal((missing.json as { error_code: number }).error_code, 404);
  });
});
