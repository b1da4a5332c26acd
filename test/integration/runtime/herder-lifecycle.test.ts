// Connector and task lifecycles through the herder: states as Kafka Connect reports them, pause,
// resume, stop, restart, failure with trace, a restarted worker resuming every connector, secrets
// and config providers, offsets.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import { BadRequestError } from '../../../runtime/herder/errors.ts';
import type { Herder } from '../../../runtime/herder/herder.ts';
import { waitFor } from '../../helpers/wait.ts';
import { startRuntime, tempDir } from './harness.ts';
import { probe } from './test-plugins.ts';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function dataDir(prefix: string): string {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return join(dir, 'data');
}

async function states(herder: Herder, name: string): Promise<string> {
  const status = await herder.connectorStatus(name);
  return [status.connector.state, ...status.tasks.map((task) => task.state)].join(',');
}

const waitState = (herder: Herder, name: string, expected: string) =>
  waitFor(`${name} to be ${expected}`, async () => (await states(herder, name)) === expected, {
    timeoutMs: 20_000,
    intervalMs: 20,
  });

describe('herder: lifecycle', () => {
  it('runs a pipeline, pauses, resumes, stops and restarts with Kafka Connect states', async () => {
    const runtime = await startRuntime(dataDir('lifecycle'));
    const { herder } = runtime;
    try {
      probe('gen1').count = 300;
      await herder.createConnector('gen1', { 'connector.class': 'generator', topic: 'numbers' });
      await herder.createConnector('col1', { 'connector.class': 'collector', topics: 'numbers' });
      assert.equal(await states(herder, 'gen1'), 'RUNNING,RUNNING');
      await waitFor('300 records at the sink', async () => probe('col1').received.length === 300);
      const first = probe('col1').received[0]!;
      // Through the log and back with the default JsonConverter: bigint exact, headers carried.
      assert.deepEqual(first.value, { n: 0, big: 9007199254740993n });
      assert.equal(first.key, 'k0');
      assert.deepEqual(first.headers, { origin: 'generator' });

      await herder.pauseConnector('col1');
      assert.equal(await states(herder, 'col1'), 'PAUSED,PAUSED');
      probe('gen1').count = 600;
      await waitFor('the source to emit more', async () => probe('gen1').emitted === 600);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(probe('col1').received.length, 300, 'a paused sink receives nothing');
      await herder.resumeConnector('col1');
      assert.equal(await states(herder, 'col1'), 'RUNNING,RUNNING');
      await waitFor('600 records after resume', async () => probe('col1').received.length === 600);

      await herder.stopConnector('gen1');
      const stopped = await herder.connectorStatus('gen1');
      assert.equal(stopped.connector.state, 'STOPPED');
      assert.deepEqual(stopped.tasks, []);
      assert.deepEqual((await herder.connectorInfo('gen1')).tasks, []);
      await herder.resumeConnector('gen1');
      assert.equal(await states(herder, 'gen1'), 'RUNNING,RUNNING');

      const restarting = await herder.restartConnector('gen1', {
        includeTasks: true,
        onlyFailed: false,
      });
      assert.equal(restarting.connector.state, 'RESTARTING');
      assert.deepEqual(
        restarting.tasks.map((task) => task.state),
        ['RESTARTING'],
      );
      await waitState(herder, 'gen1', 'RUNNING,RUNNING');
      // onlyFailed with nothing failed restarts nothing.
      const none = await herder.restartConnector('gen1', { includeTasks: true, onlyFailed: true });
      assert.equal(none.connector.state, 'RUNNING');

      assert.deepEqual(await herder.connectorTopics('gen1'), ['numbers']);
      assert.deepEqual(await herder.connectorTopics('col1'), ['numbers']);
      assert.deepEqual((await herder.connectorOffsets('gen1')).offsets, [
        { partition: { generator: 'g' }, offset: { next: 600 } },
      ]);
      assert.deepEqual((await herder.connectorOffsets('col1')).offsets, [
        {
          partition: { kafka_topic: 'numbers', kafka_partition: 0 },
          offset: { kafka_offset: 600 },
        },
      ]);
      // Offsets reached the task only after they were stored.
      assert.deepEqual(probe('gen1').committed.at(-1), {
        sourcePartition: { generator: 'g' },
        sourceOffset: { next: 600 },
      });

      const metrics = await runtime.metrics.text();
      assert.match(
        metrics,
        /kafki_task_records_out_total\{connector="col1",task="0",worker_id="test-worker:8083"\} 600/,
      );
      await waitFor('the lag gauge to reach 0', async () =>
        /kafki_sink_offset_lag\{connector="col1",task="0",worker_id="test-worker:8083"\} 0\n/.test(
          await runtime.metrics.text(),
        ),
      );
      assert.match(runtime.metrics.contentType, /text\/plain/);

      await herder.deleteConnector('gen1');
      assert.deepEqual(await herder.connectors(), ['col1']);
    } finally {
      await runtime.close();
    }
  });

  it('fails a task with its trace, and a restart after the cause is fixed resumes without loss', async () => {
    const runtime = await startRuntime(dataDir('failure'));
    const { herder } = runtime;
    try {
      probe('gen2').count = 200;
      probe('col2').rejectWhen = (record) => (record.value as { n: number }).n === 150;
      await herder.createConnector('gen2', { 'connector.class': 'generator', topic: 'nums2' });
      await herder.createConnector('col2', {
        'connector.class': 'collector',
        topics: 'nums2',
        'consumer.override.ignored': 'x',
      });
      await waitState(herder, 'col2', 'RUNNING,FAILED');
      const task = await herder.taskStatus('col2', 0);
      assert.match(task.trace ?? '', /the destination rejected a record/);
      assert.match(task.trace ?? '', /InvalidInputError/);
      const delivered = probe('col2').received.length;
      assert.ok(delivered < 200);

      probe('col2').rejectWhen = undefined;
      const restarting = await herder.restartConnector('col2', {
        includeTasks: true,
        onlyFailed: true,
      });
      assert.equal(restarting.connector.state, 'RUNNING', 'only the failed task restarts');
      assert.deepEqual(
        restarting.tasks.map((t) => t.state),
        ['RESTARTING'],
      );
      await waitFor(
        'every record after the restart',
        async () =>
          new Set(probe('col2').received.map((r) => (r.value as { n: number }).n)).size === 200,
      );

      // A connector whose start() fails is FAILED with the reason, and has no tasks.
      await herder.createConnector('broken', {
        'connector.class': 'generator',
        topic: 'x',
        'fail.start': 'true',
      });
      const broken = await herder.connectorStatus('broken');
      assert.equal(broken.connector.state, 'FAILED');
      assert.match(broken.connector.trace ?? '', /the connector refused to start/);
      assert.deepEqual(broken.tasks, []);
    } finally {
      await runtime.close();
    }
  });

  it('retries a retriable put with backoff, then dead-letters rejected records under errors.tolerance=all', async () => {
    const dir = dataDir('dlq');
    const runtime = await startRuntime(dir);
    const { herder } = runtime;
    try {
      probe('gen3').count = 100;
      probe('col3').retriablePutFailures = 2;
      probe('col3').errantWhen = (record) => (record.value as { n: number }).n % 10 === 3;
      probe('col3').rejectRecordWhen = (record) => (record.value as { n: number }).n === 50;
      await herder.createConnector('gen3', { 'connector.class': 'generator', topic: 'nums3' });
      await herder.createConnector('col3', {
        'connector.class': 'collector',
        topics: 'nums3',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': 'nums3-dlq',
        'errors.retry.delay.max.ms': '50',
        'errors.log.enable': 'true',
      });
      await waitFor('the good records', async () => probe('col3').received.length === 89);
      assert.equal(await states(herder, 'col3'), 'RUNNING,RUNNING');
      const dlq = await waitFor('11 dead letters', async () => {
        const ranges = await LogReader.range(runtime, 'nums3-dlq');
        return ranges >= 11 && (await LogReader.all(runtime, 'nums3-dlq'));
      });
      assert.equal(dlq.length, 11);
      const fifty = dlq.find((record) => JSON.parse(record.value!.toString()).payload.n === 50)!;
      const text = (name: string) => fifty.headers[name]?.toString();
      assert.equal(text('__connect.errors.topic'), 'nums3');
      assert.equal(text('__connect.errors.partition'), '0');
      assert.equal(text('__connect.errors.offset'), '50');
      assert.equal(text('__connect.errors.connector.name'), 'col3');
      assert.equal(text('__connect.errors.task.id'), '0');
      assert.equal(text('__connect.errors.stage'), 'TASK_PUT');
      assert.equal(text('__connect.errors.exception.class.name'), 'InvalidInputError');
      assert.equal(text('__connect.errors.exception.message'), 'the destination rejected a record');
      assert.match(text('__connect.errors.exception.stacktrace') ?? '', /InvalidInputError/);
      assert.equal(text('origin'), 'generator', 'original headers are kept');
      const errant = dlq.filter(
        (record) =>
          record.headers['__connect.errors.exception.message']?.toString() === 'mapping conflict',
      );
      assert.equal(errant.length, 10);

      const metrics = await runtime.metrics.text();
      assert.match(
        metrics,
        /kafki_task_deadletter_records_total\{connector="col3",task="0",[^}]*\} 11/,
      );
      assert.match(metrics, /kafki_task_retries_total\{connector="col3",task="0",[^}]*\} [2-9]/);
      assert.ok(
        runtime.logs.some(
          (entry) => entry.level === 'warn' && entry.message?.includes('tolerated a record error'),
        ),
      );
    } finally {
      await runtime.close();
    }
  });

  it('dead-letters records the converter cannot read, with the stage in the headers', async () => {
    const runtime = await startRuntime(dataDir('converter'));
    const { herder } = runtime;
    try {
      const log = (runtime as unknown as { herder: { deps: { log: LocalLog } } }).herder.deps.log;
      await log.createTopic({ name: 'raw', partitions: 1, cleanupPolicy: 'delete' });
      await log.append('raw', [
        { key: null, value: Buffer.from('{"schema":null,"payload":{"ok":1}}') },
        { key: null, value: Buffer.from('not json at all') },
        { key: null, value: Buffer.from('{"plain":"json"}') },
        { key: null, value: Buffer.from('{"schema":null,"payload":{"ok":2}}') },
      ]);
      await herder.createConnector('conv', {
        'connector.class': 'collector',
        topics: 'raw',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': 'raw-dlq',
      });
      await waitFor('the two readable records', async () => probe('conv').received.length === 2);
      const dlq = await waitFor('two dead letters', async () => {
        const records = await LogReader.all(runtime, 'raw-dlq').catch(() => []);
        return records.length === 2 && records;
      });
      assert.deepEqual(
        dlq.map((r) => r.headers['__connect.errors.stage']?.toString()),
        ['VALUE_CONVERTER', 'VALUE_CONVERTER'],
      );
      assert.deepEqual(
        dlq.map((r) => r.value?.toString()),
        ['not json at all', '{"plain":"json"}'],
      );
      assert.match(
        dlq[1]!.headers['__connect.errors.exception.message']!.toString(),
        /requires "schema" and "payload"/,
      );
      assert.equal(
        dlq[1]!.headers['__connect.errors.class.name']?.toString(),
        'org.apache.kafka.connect.json.JsonConverter',
      );

      // With errors.tolerance=none the same input fails the task.
      await herder.createConnector('strict', { 'connector.class': 'collector', topics: 'raw' });
      await waitState(herder, 'strict', 'RUNNING,FAILED');
      assert.match(
        (await herder.taskStatus('strict', 0)).trace ?? '',
        /Tolerance exceeded in error handler \(stage VALUE_CONVERTER\)/,
      );
    } finally {
      await runtime.close();
    }
  });

  it('resumes every connector after a worker restart: configs, target states, offsets', async () => {
    const dir = dataDir('restart');
    let runtime = await startRuntime(dir);
    probe('gen4').count = 250;
    await runtime.herder.createConnector('gen4', {
      'connector.class': 'generator',
      topic: 'nums4',
    });
    await runtime.herder.createConnector('col4', {
      'connector.class': 'collector',
      topics: 'nums4',
    });
    await runtime.herder.createConnector(
      'idle',
      { 'connector.class': 'collector', topics: 'nums4' },
      'PAUSED',
    );
    await runtime.herder.createConnector(
      'off',
      { 'connector.class': 'collector', topics: 'nums4' },
      'STOPPED',
    );
    await waitFor('250 records', async () => probe('col4').received.length === 250);
    await runtime.close();

    probe('gen4').count = 400;
    probe('gen4').emitted = 0;
    runtime = await startRuntime(dir);
    try {
      const { herder } = runtime;
      assert.deepEqual(await herder.connectors(), ['col4', 'gen4', 'idle', 'off']);
      assert.equal(await states(herder, 'gen4'), 'RUNNING,RUNNING');
      assert.equal(await states(herder, 'idle'), 'PAUSED,PAUSED');
      assert.equal(await states(herder, 'off'), 'STOPPED');
      await waitFor('the next 150 records', async () => probe('col4').received.length === 400);
      assert.equal(probe('gen4').emitted, 150, 'the source resumed from its stored offset');
      const numbers = probe('col4').received.map((r) => (r.value as { n: number }).n);
      assert.deepEqual(
        numbers,
        Array.from({ length: 400 }, (_, i) => i),
        'no gap, no duplicate, in order',
      );
      assert.equal(probe('idle').received.length, 0);
    } finally {
      await runtime.close();
    }
  });

  it('alters and resets offsets only when STOPPED', async () => {
    const runtime = await startRuntime(dataDir('offsets'));
    const { herder } = runtime;
    try {
      probe('gen5').count = 50;
      await herder.createConnector('gen5', { 'connector.class': 'generator', topic: 'nums5' });
      await herder.createConnector('col5', { 'connector.class': 'collector', topics: 'nums5' });
      await waitFor('50 records', async () => probe('col5').received.length === 50);
      await assert.rejects(
        herder.alterConnectorOffsets('gen5', {
          offsets: [{ partition: { generator: 'g' }, offset: { next: 10 } }],
        }),
        (error: unknown) =>
          error instanceof BadRequestError && /must be in the STOPPED state/.test(error.message),
      );
      await herder.stopConnector('gen5');
      await herder.stopConnector('col5');
      await assert.rejects(herder.alterConnectorOffsets('gen5', { offsets: [] }), BadRequestError);
      assert.equal(
        await herder.alterConnectorOffsets('gen5', {
          offsets: [{ partition: { generator: 'g' }, offset: { next: 45 } }],
        }),
        'The offsets for this connector have been altered successfully',
      );
      assert.equal(
        await herder.resetConnectorOffsets('col5'),
        'The offsets for this connector have been reset successfully',
      );
      assert.deepEqual((await herder.connectorOffsets('col5')).offsets, [
        { partition: { kafka_topic: 'nums5', kafka_partition: 0 }, offset: { kafka_offset: 0 } },
      ]);
      probe('col5').received.length = 0;
      probe('gen5').emitted = 0;
      await herder.resumeConnector('col5');
      await herder.resumeConnector('gen5');
      await waitFor(
        'the topic replayed from the start plus the regenerated tail',
        async () => probe('col5').received.length === 55,
      );
      assert.equal(probe('gen5').emitted, 5, 'the source resumed at the altered offset');
      await herder.stopConnector('col5');
      await herder.alterConnectorOffsets('col5', {
        offsets: [
          { partition: { kafka_topic: 'nums5', kafka_partition: 0 }, offset: { kafka_offset: 30 } },
        ],
      });
      assert.deepEqual((await herder.connectorOffsets('col5')).offsets[0]!.offset, {
        kafka_offset: 30,
      });
    } finally {
      await runtime.close();
    }
  });

  it('keeps secrets out of GET answers, logs and the config topic; resolves ${file:} at task start', async () => {
    const dir = dataDir('secrets');
    const secretsFile = join(dir, '..', 'secrets.properties');
    writeFileSync(secretsFile, 'token=s3cr3t-from-file\n');
    const runtime = await startRuntime(dir);
    const { herder } = runtime;
    try {
      await herder.createConnector('sec', {
        'connector.class': 'collector',
        topics: 'nums-secret',
        'secret.token': '${file:' + secretsFile + ':token}',
      });
      await herder.createConnector('plain', {
        'connector.class': 'collector',
        topics: 'nums-secret',
        'secret.token': 'inline-secret',
      });
      await waitFor(
        'the tasks to start',
        async () =>
          probe('sec').sinkConfig !== undefined && probe('plain').sinkConfig !== undefined,
      );
      assert.equal(
        probe('sec').sinkConfig!['secret.token'],
        's3cr3t-from-file',
        'the task sees the resolved value',
      );
      assert.equal((await herder.connectorConfig('sec'))['secret.token'], '[hidden]');
      assert.equal((await herder.connectorInfo('plain')).config['secret.token'], '[hidden]');
      assert.equal((await herder.taskConfigs('plain'))[0]!.config['secret.token'], '[hidden]');
      // GET → edit → PUT keeps the stored secret.
      const edited = { ...(await herder.connectorConfig('plain')), 'tasks.max': '1' };
      await herder.putConnectorConfig('plain', edited);
      await waitFor(
        'the task restarted',
        async () => (await states(herder, 'plain')) === 'RUNNING,RUNNING',
      );
      assert.equal(probe('plain').sinkConfig!['secret.token'], 'inline-secret');

      const configTopic = await LogReader.all(runtime, 'kafki-configs');
      const stored = configTopic.map((record) => record.value?.toString() ?? '').join('\n');
      assert.ok(
        !stored.includes('s3cr3t-from-file'),
        'the resolved secret is never stored (task configs included)',
      );
      assert.ok(stored.includes('${file:'), 'the reference is stored');
      assert.ok(!JSON.stringify(runtime.logs).includes('s3cr3t-from-file'));
      assert.ok(!JSON.stringify(runtime.logs).includes('inline-secret'));
    } finally {
      await runtime.close();
    }
  });
});

/** Reads whole topics through the runtime's log (tests only). */
const LogReader = {
  log(runtime: object): LocalLog {
    return (runtime as { herder: { deps: { log: LocalLog } } }).herder.deps.log;
  },
  async range(runtime: object, topic: string): Promise<number> {
    const ranges = await LogReader.log(runtime)
      .offsets(topic)
      .catch(() => []);
    return ranges.reduce((sum, range) => sum + range.end - range.start, 0);
  },
  async all(runtime: object, topic: string) {
    const log = LogReader.log(runtime);
    const out = [];
    for (const range of await log.offsets(topic)) {
      let offset = range.start;
      while (offset < range.end) {
        const batch = await log.read(topic, range.partition, offset, { maxRecords: 1000 });
        if (batch.length === 0) break;
        out.push(...batch);
        offset = batch.at(-1)!.offset + 1;
      }
    }
    return out;
  },
};

describe('herder: transforms', () => {
  it('runs the configured single message transforms in the pumps', async () => {
    const runtime = await startRuntime(dataDir('transforms'));
    const { herder } = runtime;
    try {
      probe('gen6').count = 20;
      await herder.createConnector('gen6', {
        'connector.class': 'generator',
        topic: 'raw6',
        transforms: 'route',
        'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
        'transforms.route.regex': 'raw(.*)',
        'transforms.route.replacement': 'routed$1',
      });
      await herder.createConnector('col6', { 'connector.class': 'collector', topics: 'routed6' });
      await waitFor('the routed records', async () => probe('col6').received.length === 20);
      assert.deepEqual(await herder.connectorTopics('gen6'), ['routed6']);
      const plugins = await herder.plugins({ connectorsOnly: false });
      assert.ok(
        plugins.some(
          (p) =>
            p.class === 'org.apache.kafka.connect.transforms.RegexRouter' &&
            p.type === 'transformation',
        ),
      );
    } finally {
      await runtime.close();
    }
  });
});

describe('herder: source delivery failures', () => {
  it('fails on a record the log refuses and never stores an offset past it', async () => {
    const runtime = await startRuntime(dataDir('too-large'));
    const { herder } = runtime;
    try {
      Object.assign(probe('huge'), { count: 400, batchSize: 100, hugeAt: 150 });
      await herder.createConnector('huge', { 'connector.class': 'generator', topic: 'huge' });
      await waitState(herder, 'huge', 'RUNNING,FAILED');
      assert.match(
        (await herder.taskStatus('huge', 0)).trace ?? '',
        /RecordTooLargeError|exceeds the limit/,
      );
      const offsets = (await herder.connectorOffsets('huge')).offsets;
      const stored = (offsets[0]?.offset as { next?: number } | undefined)?.next ?? 0;
      assert.ok(stored <= 100, `the stored offset ${stored} is past the refused record 150`);

      Object.assign(probe('huge-ok'), { count: 400, batchSize: 100, hugeAt: 150 });
      await herder.createConnector('huge-ok', {
        'connector.class': 'generator',
        topic: 'huge-ok',
        'errors.tolerance': 'all',
      });
      await herder.createConnector('huge-sink', {
        'connector.class': 'collector',
        topics: 'huge-ok',
      });
      await waitFor(
        'the 399 other records',
        async () => probe('huge-sink').received.length === 399,
      );
      assert.equal(await states(herder, 'huge-ok'), 'RUNNING,RUNNING');
      assert.ok(
        !probe('huge-sink').received.some((record) => (record.value as { n: number }).n === 150),
      );
    } finally {
      await runtime.close();
    }
  });
});

describe('herder: several tasks, patch, source pause', () => {
  it('spreads a topic’s partitions over a sink’s tasks, patches a config and pauses a source', async () => {
    const runtime = await startRuntime(dataDir('tasks'));
    const { herder } = runtime;
    try {
      Object.assign(probe('gen7'), { count: 600, batchSize: 50 });
      await herder.createConnector('gen7', {
        'connector.class': 'generator',
        topic: 'spread',
        'topic.creation.default.partitions': '3',
      });
      await herder.createConnector('col7', {
        'connector.class': 'collector',
        topics: 'spread',
        'tasks.max': '3',
        'test.tasks': '3',
      });
      assert.equal(await states(herder, 'col7'), 'RUNNING,RUNNING,RUNNING,RUNNING');
      await waitFor(
        '600 records over three tasks',
        async () => probe('col7').received.length === 600,
      );
      // Each of the three tasks is given one of the three partitions (a task whose partition
      // holds no record yet sees its assignment at its next poll).
      await waitFor(
        'three partitions opened',
        async () => new Set(probe('col7').opened).size === 3,
      );
      assert.deepEqual([...probe('col7').opened].sort(), ['spread/0', 'spread/1', 'spread/2']);
      // Per key, the order of the source is kept.
      const byKey = new Map<string, number[]>();
      for (const record of probe('col7').received) {
        const list = byKey.get(String(record.key)) ?? [];
        list.push((record.value as { n: number }).n);
        byKey.set(String(record.key), list);
      }
      for (const list of byKey.values())
        assert.deepEqual(
          list,
          [...list].sort((a, b) => a - b),
        );

      const patched = await herder.patchConnectorConfig('col7', {
        'tasks.max': '1',
        'test.tasks': null,
      });
      assert.deepEqual(patched.tasks, [{ connector: 'col7', task: 0 }]);
      assert.equal(patched.config['test.tasks'], undefined);
      assert.equal(await states(herder, 'col7'), 'RUNNING,RUNNING');

      await herder.pauseConnector('gen7');
      assert.equal(await states(herder, 'gen7'), 'PAUSED,PAUSED');
      const emitted = probe('gen7').emitted;
      probe('gen7').count = 1200;
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(probe('gen7').emitted, emitted, 'a paused source is not polled');
      await herder.resumeConnector('gen7');
      await waitFor('the source to go on after resume', async () => probe('gen7').emitted === 1200);
    } finally {
      await runtime.close();
    }
  });
});

describe('herder: topics.regex', () => {
  it('consumes every matching topic, never the internal ones', async () => {
    const runtime = await startRuntime(dataDir('regex'));
    const { herder } = runtime;
    try {
      Object.assign(probe('rx-a'), { count: 30 });
      Object.assign(probe('rx-b'), { count: 20 });
      await herder.createConnector('rx-a', { 'connector.class': 'generator', topic: 'rx-a' });
      await herder.createConnector('rx-b', { 'connector.class': 'generator', topic: 'rx-b' });
      await waitFor(
        'both topics written',
        async () => (await herder.connectorTopics('rx-b')).length === 1,
      );
      await waitFor(
        'both topics written',
        async () => (await herder.connectorTopics('rx-a')).length === 1,
      );
      await herder.createConnector('rx-all', {
        'connector.class': 'collector',
        'topics.regex': 'rx-.*|kafki-.*',
      });
      await waitFor(
        '50 records from two topics',
        async () => probe('rx-all').received.length === 50,
      );
      assert.deepEqual(await herder.connectorTopics('rx-all'), ['rx-a', 'rx-b']);
    } finally {
      await runtime.close();
    }
  });
});
