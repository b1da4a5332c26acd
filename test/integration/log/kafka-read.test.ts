// The kafka backend's read() and offsets(): limits, long polls that neither return early nor block
// each other, the range error below the start (after records were deleted) and above the end.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../../runtime/api/errors.ts';
import { OffsetOutOfRangeError } from '../../../runtime/log/errors.ts';
import { KafkaLog } from '../../../runtime/log/kafka/index.ts';
import { createKafkaClient } from '../../../runtime/log/kafka/kafka-client.ts';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName } from '../../helpers/wait.ts';

const brokers = serviceAddresses().kafkaBrokers;

describe('kafka log: read and offsets', () => {
  let log: KafkaLog;
  let topic: string;
  before(async () => {
    log = await KafkaLog.open({ brokers, clientId: 'kafki-test-read' });
    topic = uniqueName('kafka_read');
    await log.createTopic({ name: topic, partitions: 2, cleanupPolicy: 'delete' });
    await log.append(
      topic,
      Array.from({ length: 100 }, (_, i) => ({
        key: null,
        value: Buffer.alloc(100, i),
        partition: 0,
      })),
    );
  });
  after(async () => {
    await log.deleteTopic(topic).catch(() => undefined);
    await log.close();
  });

  it('honours maxRecords and maxBytes (at least one record)', async () => {
    assert.deepEqual(
      (await log.read(topic, 0, 10, { maxRecords: 7 })).map((r) => r.offset),
      [10, 11, 12, 13, 14, 15, 16],
    );
    assert.equal((await log.read(topic, 0, 10, { maxBytes: 250 })).length, 2);
    assert.equal((await log.read(topic, 0, 10, { maxBytes: 1 })).length, 1);
    assert.equal((await log.read(topic, 0, 0)).length, 100);
  });

  it('reports start and end per partition', async () => {
    assert.deepEqual(await log.offsets(topic), [
      { partition: 0, start: 0, end: 100 },
      { partition: 1, start: 0, end: 0 },
    ]);
  });

  it('returns [] at the end without waiting by default, and after maxWaitMs when asked to wait', async () => {
    let started = Date.now();
    assert.deepEqual(await log.read(topic, 1, 0), []);
    assert.ok(Date.now() - started < 1000, 'no wait by default');
    started = Date.now();
    assert.deepEqual(await log.read(topic, 1, 0, { maxWaitMs: 700 }), []);
    const waited = Date.now() - started;
    assert.ok(waited >= 650 && waited < 5000, `waited ${waited} ms`);
  });

  it('serves other reads while a long poll waits', async () => {
    const other = uniqueName('kafka_read_other');
    await log.createTopic({ name: other, partitions: 1, cleanupPolicy: 'delete' });
    const slow = log.read(topic, 1, 0, { maxWaitMs: 8000 });
    const waiting = log.read(other, 0, 0, { maxWaitMs: 8000 });
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 200));
    const started = Date.now();
    await log.append(other, [{ key: null, value: Buffer.from('wake') }]);
    const woken = await waiting;
    assert.equal(woken[0]?.value?.toString(), 'wake');
    assert.ok(Date.now() - started < 3000, 'the second long poll was not queued behind the first');
    // And a plain read is not held up either.
    assert.equal((await log.read(topic, 0, 99)).length, 1);
    await log.append(topic, [{ key: null, value: Buffer.from('end'), partition: 1 }]);
    assert.equal((await slow)[0]?.value?.toString(), 'end');
    await log.deleteTopic(other);
  });

  it('fails with OffsetOutOfRangeError above the end and below the start', async () => {
    await assert.rejects(log.read(topic, 0, 101), (error: unknown) => {
      assert.ok(error instanceof OffsetOutOfRangeError);
      assert.deepEqual(error.range, { start: 0, end: 100 });
      return true;
    });
    // Move the start: records before offset 40 are deleted (what retention does).
    const admin = createKafkaClient({
      brokers,
      clientId: 'kafki-test-read-admin',
      connectionTimeoutMs: 3000,
      requestTimeoutMs: 30_000,
      retry: { retries: 3 },
      logLevel: 'nothing',
    }).admin();
    await admin.connect();
    try {
      await admin.fetchTopicMetadata({ topics: [topic] }); // deleteTopicRecords needs it loaded
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '40' }] });
    } finally {
      await admin.disconnect();
    }
    assert.deepEqual((await log.offsets(topic))[0], { partition: 0, start: 40, end: 100 });
    await assert.rejects(log.read(topic, 0, 39), (error: unknown) => {
      assert.ok(error instanceof OffsetOutOfRangeError);
      assert.match(error.message, /offset 39 .* outside the stored range \[40, 100\]/);
      return true;
    });
    assert.equal((await log.read(topic, 0, 40, { maxRecords: 1 }))[0]?.offset, 40);
  });

  it('refuses a partition the topic does not have and a negative offset', async () => {
    await assert.rejects(log.read(topic, 2, 0), InvalidInputError);
    await assert.rejects(log.read(topic, 0, -1), InvalidInputError);
  });
});
