// Bad input against the herder API: every refusal is a typed error with a message that says what
// is wrong and where; nothing is stored or started.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  AlreadyExistsError,
  BadRequestError,
  InvalidConfigError,
  NotFoundError,
} from '../../../runtime/herder/errors.ts';
import type { Herder } from '../../../runtime/herder/herder.ts';
import { startRuntime, tempDir } from './harness.ts';

function rejectsInvalid(promise: Promise<unknown>, check: (error: InvalidConfigError) => void) {
  return assert.rejects(promise, (error: unknown) => {
    assert.ok(
      error instanceof InvalidConfigError,
      `expected InvalidConfigError, got ${String(error)}`,
    );
    assert.ok(error instanceof BadRequestError);
    check(error);
    return true;
  });
}

const errorsOf = (error: InvalidConfigError, field: string) =>
  error.infos.configs.find((entry) => entry.value.name === field)?.value.errors ?? [];

describe('herder: bad input', () => {
  const dir = tempDir('validation');
  let runtime: Awaited<ReturnType<typeof startRuntime>>;
  let herder: Herder;
  before(async () => {
    runtime = await startRuntime(join(dir, 'data'), { env: { KAFKI_TOPIC: 'from-env' } });
    herder = runtime.herder;
  });
  after(async () => {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unknown connector class and lists the available ones', async () => {
    await rejectsInvalid(
      herder.createConnector('x', { 'connector.class': 'com.example.Nope' }),
      (error) => {
        assert.match(
          error.message,
          /Connector configuration is invalid and contains the following 1 error\(s\)/,
        );
        assert.match(
          error.message,
          /Failed to find any class that implements Connector and which name matches com\.example\.Nope/,
        );
        assert.match(
          error.message,
          /org\.apache\.kafka\.connect\.file\.FileStreamSourceConnector \(aliases: FileStreamSource, file-source\)/,
        );
        assert.equal(errorsOf(error, 'connector.class').length, 1);
      },
    );
    assert.deepEqual(await herder.connectors(), []);
  });

  it('reports a missing required option, a wrong type and a malformed value all at once', async () => {
    await rejectsInvalid(
      herder.createConnector('x', {
        'connector.class': 'FileStreamSource',
        file: join(dir, 'in.txt'),
        'tasks.max': 'two',
        'batch.size': '-5',
        format: 'xml',
      }),
      (error) => {
        assert.equal(error.errorCount, 4);
        assert.deepEqual(errorsOf(error, 'topic'), [
          'Missing required configuration "topic" which has no default value.',
        ]);
        assert.deepEqual(errorsOf(error, 'tasks.max'), [
          'Invalid value two for configuration tasks.max: Not a number of type INT',
        ]);
        assert.deepEqual(errorsOf(error, 'batch.size'), [
          'Invalid value -5 for configuration batch.size: Value must be at least 1',
        ]);
        assert.deepEqual(errorsOf(error, 'format'), [
          'Invalid value xml for configuration format: String must be one of: json, string',
        ]);
      },
    );
  });

  it('accepts an unknown option with a warning in the logs', async () => {
    await herder.createConnector('with-extra', {
      'connector.class': 'FileStreamSource',
      file: join(dir, 'in.txt'),
      topic: 't',
      'no.such.option': 'x',
      'transforms.none.ignored': 'prefixed keys are not unknown',
    });
    const warning = runtime.logs.find(
      (entry) => entry.level === 'warn' && /no schema declares/.test(entry.message ?? ''),
    );
    assert.deepEqual((warning?.context as { keys?: string[] }).keys, ['no.such.option']);
    assert.equal((await herder.connectorConfig('with-extra'))['no.such.option'], 'x');
    await herder.deleteConnector('with-extra');
  });

  it('refuses a duplicate name with AlreadyExistsError', async () => {
    const config = { 'connector.class': 'FileStreamSource', file: join(dir, 'in.txt'), topic: 't' };
    await herder.createConnector('dup', config);
    await assert.rejects(herder.createConnector('dup', config), (error: unknown) => {
      assert.ok(error instanceof AlreadyExistsError);
      assert.equal(error.message, 'Connector dup already exists');
      return true;
    });
    await herder.deleteConnector('dup');
  });

  it('answers NotFoundError for an unknown connector on every per-connector operation', async () => {
    const calls: Array<() => Promise<unknown>> = [
      () => herder.connectorInfo('ghost'),
      () => herder.connectorConfig('ghost'),
      () => herder.connectorStatus('ghost'),
      () => herder.taskStatus('ghost', 0),
      () => herder.taskConfigs('ghost'),
      () => herder.patchConnectorConfig('ghost', { a: 'b' }),
      () => herder.deleteConnector('ghost'),
      () => herder.pauseConnector('ghost'),
      () => herder.resumeConnector('ghost'),
      () => herder.stopConnector('ghost'),
      () => herder.restartConnector('ghost', { includeTasks: false, onlyFailed: false }),
      () => herder.restartTask('ghost', 0),
      () => herder.connectorOffsets('ghost'),
      () => herder.connectorTopics('ghost'),
    ];
    for (const call of calls) {
      await assert.rejects(
        call(),
        (error: unknown) =>
          error instanceof NotFoundError && /Connector ghost not found/.test(error.message),
      );
    }
    await assert.rejects(
      herder.pluginConfig('Nope'),
      (error: unknown) =>
        error instanceof NotFoundError && /Available connector classes/.test(error.message),
    );
  });

  it('refuses a bad ${env:} reference, naming the key and the reference', async () => {
    await rejectsInvalid(
      herder.createConnector('env', {
        'connector.class': 'FileStreamSource',
        file: join(dir, 'in.txt'),
        topic: '${env:KAFKI_MISSING_VARIABLE}',
      }),
      (error) => {
        assert.deepEqual(errorsOf(error, 'topic'), [
          'Cannot resolve ${env:KAFKI_MISSING_VARIABLE} in configuration topic: environment variable KAFKI_MISSING_VARIABLE is not set',
        ]);
        assert.equal(error.errorCount, 1);
      },
    );
    // A good reference is accepted and stored unresolved.
    await herder.createConnector('env', {
      'connector.class': 'FileStreamSource',
      file: join(dir, 'in.txt'),
      topic: '${env:KAFKI_TOPIC}',
    });
    assert.equal((await herder.connectorConfig('env')).topic, '${env:KAFKI_TOPIC}');
    await herder.deleteConnector('env');
  });

  it('checks sink topics, names, and transforms nobody installed', async () => {
    await rejectsInvalid(
      herder.createConnector('s', {
        'connector.class': 'FileStreamSink',
        file: join(dir, 'o.txt'),
        topics: 'a',
        'topics.regex': 'b.*',
      }),
      (error) => assert.match(errorsOf(error, 'topics')[0]!, /mutually exclusive/),
    );
    await rejectsInvalid(
      herder.createConnector('s', {
        'connector.class': 'FileStreamSink',
        file: join(dir, 'o.txt'),
      }),
      (error) =>
        assert.match(
          errorsOf(error, 'topics.regex')[0]!,
          /Must configure one of topics or topics.regex/,
        ),
    );
    await rejectsInvalid(
      herder.createConnector('s', {
        'connector.class': 'FileStreamSink',
        file: join(dir, 'o.txt'),
        topics: 'a',
        transforms: 'unwrap',
        'transforms.unwrap.type': 'com.example.NoSuchTransform',
      }),
      (error) => assert.match(errorsOf(error, 'transforms.unwrap.type')[0]!, /could not be found/),
    );
    await assert.rejects(
      herder.createConnector('a', { 'connector.class': 'FileStreamSink', name: 'b' }),
      BadRequestError,
    );
    await assert.rejects(
      herder.createConnector('  ', { 'connector.class': 'FileStreamSink' }),
      /Connector name is required/,
    );
    await rejectsInvalid(
      herder.createConnector('s', {
        'connector.class': 'FileStreamSink',
        file: '/nonexistent-dir/o.txt',
        topics: 'a',
      }),
      (error) => assert.match(errorsOf(error, 'file')[0]!, /cannot write in \/nonexistent-dir/),
    );
  });

  it("answers validate in Kafka Connect's ConfigInfos format, secrets hidden", async () => {
    const infos = await herder.validateConfig('collector', {
      topics: 't',
      'tasks.max': 'x',
      'secret.token': 'hunter2',
    });
    assert.equal(infos.name, 'collector');
    assert.equal(infos.error_count, 1);
    assert.deepEqual(infos.groups.slice(0, 3), ['Common', 'Transforms', 'Error Handling']);
    const tasksMax = infos.configs.find((entry) => entry.definition.name === 'tasks.max')!;
    assert.deepEqual(tasksMax.definition, {
      name: 'tasks.max',
      type: 'INT',
      required: false,
      default_value: '1',
      importance: 'HIGH',
      documentation: 'Maximum number of tasks to use for this connector.',
      group: 'Common',
      order: 3,
      width: 'SHORT',
      display_name: 'Tasks max',
      dependents: [],
    });
    assert.deepEqual(tasksMax.value.errors, [
      'Invalid value x for configuration tasks.max: Not a number of type INT',
    ]);
    const secret = infos.configs.find((entry) => entry.definition.name === 'secret.token')!;
    assert.equal(secret.definition.type, 'PASSWORD');
    assert.equal(secret.value.value, '[hidden]');
    assert.ok(!JSON.stringify(infos).includes('hunter2'));
    const tolerance = infos.configs.find((entry) => entry.definition.name === 'errors.tolerance')!;
    assert.deepEqual(tolerance.value.recommended_values, ['none', 'all']);
    assert.equal(tolerance.value.value, 'none');

    await assert.rejects(
      herder.validateConfig('collector', { 'connector.class': 'FileStreamSink' }),
      BadRequestError,
    );
    await assert.rejects(herder.validateConfig('Nope', {}), NotFoundError);
    const keys = await herder.pluginConfig('FileStreamSink');
    assert.ok(keys.some((key) => key.name === 'file' && key.required));
    assert.ok(keys.some((key) => key.name === 'errors.deadletterqueue.topic.name'));
    const plugins = await herder.plugins({ connectorsOnly: false });
    assert.ok(
      plugins.some(
        (p) =>
          p.class === 'org.apache.kafka.connect.file.FileStreamSinkConnector' && p.type === 'sink',
      ),
    );
    assert.ok(
      plugins.some(
        (p) => p.class === 'org.apache.kafka.connect.json.JsonConverter' && p.type === 'converter',
      ),
    );
    assert.ok(
      (await herder.plugins({ connectorsOnly: true })).every(
        (p) => p.type === 'source' || p.type === 'sink',
      ),
    );
  });
});
