// The sink pump's delivery contract, end to end through a standalone runtime: dead letters keep
// the original record whenever the sink reports it, only record-level failures are tolerated
// (a put() that fails for another reason fails the task, nothing is dead-lettered), preCommit()
// runs on a timer so an idle task commits what its sink confirmed late and fails promptly when
// the sink found a failure, and records carry their original log coordinates through transforms
// that rename topics.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { KafkiError } from '../../../runtime/api/index.ts';
import type { Herder } from '../../../runtime/herder/herder.ts';
import type { LocalLog } from '../../../runtime/log/local/local-log.ts';
import type { StoredRecord } from '../../../runtime/log/log.ts';
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

function logOf(runtime: object): LocalLog {
  return (runtime as { herder: { deps: { log: LocalLog } } }).herder.deps.log;
}

/** Every record of a topic ([] when it does not exist). */
async function readTopic(runtime: object, topic: string): Promise<StoredRecord[]> {
  const log = logOf(runtime);
  const out: StoredRecord[] = [];
  for (const range of await log.offsets(topic).catch(() => [])) {
    let offset = range.start;
    while (offset < range.end) {
      const batch = await log.read(topic, range.partition, offset, { maxRecords: 1000 });
      if (batch.length === 0) break;
      out.push(...batch);
      offset = batch.at(-1)!.offset + 1;
    }
  }
  return out;
}

/** The committed sink position of each topic/partition, as the REST offsets endpoint shows it. */
async function committed(herder: Herder, connector: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const entry of (await herder.connectorOffsets(connector)).offsets) {
    const partition = entry.partition as { kafka_topic: string; kafka_partition: number };
    const offset = entry.offset as { kafka_offset: number };
    out[`${partition.kafka_topic}/${partition.kafka_partition}`] = offset.kafka_offset;
  }
  return out;
}

const n = (record: { value: unknown }) => (record.value as { n: number }).n;
const payload = (bytes: Buffer | null) =>
  (JSON.parse(bytes!.toString()) as { payload: unknown }).payload;

describe('sink delivery', () => {
  it('dead-letters records reported errant after later batches with their original key, value and headers', async () => {
    const runtime = await startRuntime(dataDir('async-errant'));
    const { herder } = runtime;
    try {
      Object.assign(probe('ae-gen'), { count: 30, batchSize: 10 });
      probe('ae-sink').errantWhen = (record) => n(record) % 10 === 4;
      await herder.createConnector('ae-gen', { 'connector.class': 'generator', topic: 'ae' });
      await herder.createConnector('ae-sink', {
        'connector.class': 'async-collector',
        topics: 'ae',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': 'ae-dlq',
        'errors.deadletterqueue.context.headers.enable': 'true',
      });
      // Two rounds, so that the first round's records are confirmed after later batches.
      await waitFor('30 records put', async () => probe('ae-sink').held.length === 30);
      const putsBefore = probe('ae-sink').putCalls;
      probe('ae-gen').count = 60;
      await waitFor('60 records put', async () => probe('ae-sink').held.length === 60);
      assert.ok(probe('ae-sink').putCalls > putsBefore, 'later batches were put');
      assert.equal((await committed(herder, 'ae-sink'))['ae/0'] ?? 0, 0, 'nothing confirmed');

      await probe('ae-sink').confirm!();
      assert.equal(probe('ae-sink').received.length, 54);
      const dlq = await waitFor('6 dead letters', async () => {
        const records = await readTopic(runtime, 'ae-dlq');
        return records.length === 6 && records;
      });
      assert.deepEqual(
        dlq.map((record) => (payload(record.value) as { n: number }).n),
        [4, 14, 24, 34, 44, 54],
      );
      for (const letter of dlq) {
        const value = payload(letter.value) as { n: number };
        // The original bytes: key and value as the source wrote them, headers kept.
        assert.equal(payload(letter.key), `k${value.n % 7}`);
        assert.equal(letter.headers.origin?.toString(), 'generator');
        assert.equal(letter.headers['__connect.errors.topic']?.toString(), 'ae');
        assert.equal(letter.headers['__connect.errors.offset']?.toString(), String(value.n));
        assert.equal(letter.headers['__connect.errors.stage']?.toString(), 'TASK_PUT');
        assert.equal(
          letter.headers['__connect.errors.exception.message']?.toString(),
          'rejected after put() returned',
        );
      }
      // The same bytes as the originals in the log.
      const originals = await readTopic(runtime, 'ae');
      assert.deepEqual(dlq[0]!.value, originals[4]!.value);
      assert.deepEqual(dlq[0]!.key, originals[4]!.key);

      // No record arrives any more, yet what the sink confirmed is committed (on the timer).
      await waitFor('the confirmed positions committed while idle', async () => {
        return (await committed(herder, 'ae-sink'))['ae/0'] === 60;
      });
      assert.equal(await states(herder, 'ae-sink'), 'RUNNING,RUNNING');
    } finally {
      await runtime.close();
    }
  });

  it('writes errant reports made together as one dead-letter append, in the order reported', async () => {
    const runtime = await startRuntime(dataDir('errant-together'));
    const { herder } = runtime;
    const log = logOf(runtime);
    const append = log.append.bind(log);
    let dlqAppends = 0;
    log.append = (topic, records) => {
      if (topic === 'et-dlq') dlqAppends++;
      return append(topic, records);
    };
    try {
      Object.assign(probe('et-gen'), { count: 60, batchSize: 20 });
      probe('et-sink').errantWhen = (record) => n(record) % 10 === 3 || n(record) % 10 === 4;
      await herder.createConnector('et-gen', { 'connector.class': 'generator', topic: 'et' });
      await herder.createConnector('et-sink', {
        'connector.class': 'async-collector',
        topics: 'et',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': 'et-dlq',
      });
      await waitFor('60 records put', async () => probe('et-sink').held.length === 60);
      await probe('et-sink').confirmTogether!();
      assert.equal(probe('et-sink').received.length, 48);
      const dlq = await readTopic(runtime, 'et-dlq');
      const expected = [3, 4, 13, 14, 23, 24, 33, 34, 43, 44, 53, 54];
      assert.deepEqual(
        dlq.map((record) => (payload(record.value) as { n: number }).n),
        expected,
      );
      // The copies were read back from the log: the original bytes, not a re-serialization.
      const originals = await readTopic(runtime, 'et');
      for (const [i, letter] of dlq.entries()) {
        assert.deepEqual(letter.value, originals[expected[i]!]!.value);
      }
      assert.equal(dlqAppends, 1, 'one append for the 12 reports');
      await waitFor('everything committed', async () => {
        return (await committed(herder, 'et-sink'))['et/0'] === 60;
      });
    } finally {
      await runtime.close();
    }
  });

  it('fails an idle task promptly when its sink finds a failure after the last put()', async () => {
    const runtime = await startRuntime(dataDir('async-failure'));
    const { herder } = runtime;
    try {
      Object.assign(probe('af-gen'), { count: 20 });
      await herder.createConnector('af-gen', { 'connector.class': 'generator', topic: 'af' });
      await herder.createConnector('af-sink', {
        'connector.class': 'async-collector',
        topics: 'af',
      });
      await waitFor('20 records put', async () => probe('af-sink').held.length === 20);
      const calls = probe('af-sink').preCommitCalls;
      await waitFor('preCommit() called while idle', async () => {
        return probe('af-sink').preCommitCalls >= calls + 2;
      });
      probe('af-sink').asyncFailure = new KafkiError(
        'TEST_WRITE_FAILED',
        'a write failed after put() returned',
      );
      await waitState(herder, 'af-sink', 'RUNNING,FAILED');
      const trace = (await herder.taskStatus('af-sink', 0)).trace ?? '';
      assert.match(trace, /a write failed after put\(\) returned/);
      // Nothing confirmed, nothing committed.
      assert.equal((await committed(herder, 'af-sink'))['af/0'] ?? 0, 0);
    } finally {
      await runtime.close();
    }
  });

  it('fails the task on a put() error that names no record, even under errors.tolerance=all', async () => {
    const runtime = await startRuntime(dataDir('plain-failure'));
    const { herder } = runtime;
    try {
      Object.assign(probe('pf-gen'), { count: 50, batchSize: 10 });
      probe('pf-sink').rejectWhen = (record) => n(record) === 25;
      await herder.createConnector('pf-gen', { 'connector.class': 'generator', topic: 'pf' });
      await herder.createConnector('pf-sink', {
        'connector.class': 'collector',
        topics: 'pf',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': 'pf-dlq',
      });
      await waitState(herder, 'pf-sink', 'RUNNING,FAILED');
      const trace = (await herder.taskStatus('pf-sink', 0)).trace ?? '';
      assert.match(trace, /the destination rejected a record/);
      assert.doesNotMatch(trace, /Tolerance exceeded/);
      assert.deepEqual(await readTopic(runtime, 'pf-dlq'), [], 'no healthy record dead-lettered');
      // Nothing of the failed batch was taken as delivered: everything not received is re-read.
      const received = new Set(probe('pf-sink').received.map(n));
      assert.ok(!received.has(25));
      const position = (await committed(herder, 'pf-sink'))['pf/0'] ?? 0;
      assert.ok(position <= 25, `committed ${position}, past the failed batch`);

      probe('pf-sink').rejectWhen = undefined;
      await herder.restartConnector('pf-sink', { includeTasks: true, onlyFailed: true });
      await waitFor(
        'every record after the restart',
        async () => new Set(probe('pf-sink').received.map(n)).size === 50,
      );
      assert.deepEqual(await readTopic(runtime, 'pf-dlq'), []);
    } finally {
      await runtime.close();
    }
  });

  it('applies errors.tolerance to the records a RecordRejectedError names, and puts the rest', async () => {
    const runtime = await startRuntime(dataDir('record-rejected'));
    const { herder } = runtime;
    try {
      Object.assign(probe('rr-gen'), { count: 40, batchSize: 40 });
      await herder.createConnector('rr-gen', { 'connector.class': 'generator', topic: 'rr' });
      probe('rr-all').rejectRecordWhen = (record) => n(record) % 10 === 7;
      await herder.createConnector('rr-all', {
        'connector.class': 'collector',
        topics: 'rr',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': 'rr-dlq',
      });
      await waitFor('36 records', async () => probe('rr-all').received.length === 36);
      const dlq = await waitFor('4 dead letters', async () => {
        const records = await readTopic(runtime, 'rr-dlq');
        return records.length === 4 && records;
      });
      assert.deepEqual(
        dlq.map((record) => (payload(record.value) as { n: number }).n),
        [7, 17, 27, 37],
      );
      assert.equal(
        dlq[0]!.headers['__connect.errors.exception.class.name']?.toString(),
        'InvalidInputError',
      );
      assert.deepEqual(
        probe('rr-all').received.map(n),
        Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 10 !== 7),
        'the rest of the batch, once, in order',
      );
      await waitFor(
        'everything committed',
        async () => (await committed(herder, 'rr-all'))['rr/0'] === 40,
      );

      // errors.tolerance=none: the same rejection fails the task.
      probe('rr-none').rejectRecordWhen = (record) => n(record) === 7;
      await herder.createConnector('rr-none', { 'connector.class': 'collector', topics: 'rr' });
      await waitState(herder, 'rr-none', 'RUNNING,FAILED');
      assert.match(
        (await herder.taskStatus('rr-none', 0)).trace ?? '',
        /Tolerance exceeded in error handler \(stage TASK_PUT\).*the destination rejected a record/,
      );
    } finally {
      await runtime.close();
    }
  });

  it('commits by the original coordinates when a transform renames the topic', async () => {
    const runtime = await startRuntime(dataDir('renamed'));
    const { herder } = runtime;
    try {
      Object.assign(probe('rn-gen'), { count: 25, batchSize: 10 });
      probe('rn-sink').errantWhen = (record) => n(record) === 12;
      await herder.createConnector('rn-gen', { 'connector.class': 'generator', topic: 'orders' });
      await herder.createConnector('rn-sink', {
        'connector.class': 'async-collector',
        topics: 'orders',
        transforms: 'route',
        'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
        'transforms.route.regex': '(.*)',
        'transforms.route.replacement': 'renamed-$1',
        'errors.tolerance': 'all',
        'errors.deadletterqueue.topic.name': 'rn-dlq',
      });
      await waitFor('25 records put', async () => probe('rn-sink').held.length === 25);
      for (const [i, record] of probe('rn-sink').held.entries()) {
        assert.equal(record.topic, 'renamed-orders');
        assert.equal(record.originalTopic, 'orders');
        assert.equal(record.originalPartition, 0);
        assert.equal(record.originalOffset, i);
        assert.equal(record.offset, i);
      }
      assert.equal((await committed(herder, 'rn-sink'))['orders/0'] ?? 0, 0);
      assert.equal((await committed(herder, 'rn-sink'))['renamed-orders/0'], undefined);
      await probe('rn-sink').confirm!();
      await waitFor(
        'the original topic committed',
        async () => (await committed(herder, 'rn-sink'))['orders/0'] === 25,
      );
      const dlq = await readTopic(runtime, 'rn-dlq');
      assert.equal(dlq.length, 1);
      assert.equal(dlq[0]!.headers['__connect.errors.topic']?.toString(), 'orders');
      assert.equal(dlq[0]!.headers['__connect.errors.offset']?.toString(), '12');
      assert.equal((payload(dlq[0]!.value) as { n: number }).n, 12);
    } finally {
      await runtime.close();
    }
  });
});
