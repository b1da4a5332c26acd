// The kafka backend's group consumer: kafkajs's push model bridged to poll() with a bounded
// buffer, records of revoked partitions never returned, kept partitions resumed where the member
// got to, seek, commit checks, rebalance listeners, startFrom and a prompt leave on close().

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../../runtime/api/errors.ts';
import { PartitionNotAssignedError } from '../../../runtime/log/errors.ts';
import type { GroupConsumer, RebalanceEvent, StoredRecord } from '../../../runtime/log/log.ts';
import { KafkaLog, type KafkaLogOptions } from '../../../runtime/log/kafka/index.ts';
import type { KafkaGroupConsumer } from '../../../runtime/log/kafka/group-consumer.ts';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName, waitFor } from '../../helpers/wait.ts';

const open = (options: Partial<KafkaLogOptions> = {}) =>
  KafkaLog.open({
    brokers: serviceAddresses().kafkaBrokers,
    clientId: 'kafki-test-consumer',
    ...options,
  });

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
const id = (r: StoredRecord) => `${r.partition}:${r.offset}`;
const owns = (consumer: GroupConsumer, r: StoredRecord) =>
  consumer.assignment().some((tp) => tp.topic === r.topic && tp.partition === r.partition);

async function fill(log: KafkaLog, topic: string, partitions: number, perPartition: number) {
  for (let partition = 0; partition < partitions; partition++) {
    await log.append(
      topic,
      Array.from({ length: perPartition }, (_, i) => ({
        key: null,
        value: Buffer.from(`${partition}-${i}`),
        partition,
      })),
    );
  }
}

describe('kafka log: group consumer', () => {
  let log: KafkaLog;
  before(async () => {
    log = await open();
  });
  after(async () => {
    await log.close();
  });

  it('never returns records of revoked partitions and resumes kept ones where it got to', async () => {
    const topic = uniqueName('kafka_group_revoke');
    const groupId = uniqueName('group');
    await log.createTopic({ name: topic, partitions: 4, cleanupPolicy: 'delete' });
    await fill(log, topic, 4, 100);

    const a = await log.consumer({ groupId, topics: [topic], startFrom: 'earliest' });
    const eventsA: RebalanceEvent[] = [];
    a.onRebalance((event) => eventsA.push(event));
    const seenA: StoredRecord[] = [];
    // a takes everything, returns a little, and keeps the rest buffered.
    await waitFor('a to own 4 partitions and buffer records', async () => {
      if (seenA.length < 20) seenA.push(...(await a.poll({ maxRecords: 20 - seenA.length })));
      return a.assignment().length === 4 && (a as KafkaGroupConsumer).buffered().records >= 300;
    });
    assert.equal(seenA.length, 20);

    const b = await log.consumer({ groupId, topics: [topic], startFrom: 'earliest' });
    const seenB: StoredRecord[] = [];
    await waitFor(
      'the group to settle on 2 + 2',
      async () => {
        seenB.push(...(await b.poll({ maxWaitMs: 100 })));
        return a.assignment().length === 2 && b.assignment().length === 2;
      },
      { timeoutMs: 60_000, intervalMs: 0 },
    );
    assert.deepEqual(eventsA[0]?.revoked, []);
    assert.equal(eventsA[0]?.assigned.length, 4);
    assert.equal(eventsA[1]?.revoked.length, 2);
    assert.deepEqual(eventsA[1]?.assigned, []);

    const afterA: StoredRecord[] = [];
    await waitFor(
      'all 400 records to be read by the group',
      async () => {
        afterA.push(...(await a.poll({ maxWaitMs: 100 })));
        seenB.push(...(await b.poll({ maxWaitMs: 100 })));
        return new Set([...seenA, ...afterA, ...seenB].map(id)).size >= 400;
      },
      { timeoutMs: 60_000, intervalMs: 0 },
    );
    assert.ok(afterA.length > 0);
    assert.ok(
      afterA.every((r) => owns(a, r)),
      'a returned a record of a partition it gave up',
    );
    assert.ok(seenB.every((r) => owns(b, r)));
    // a resumed its kept partitions after what it had returned: no record twice, none skipped.
    const returnedByA = [...seenA, ...afterA].filter((r) => owns(a, r));
    assert.equal(new Set(returnedByA.map(id)).size, returnedByA.length, 'a repeated records');
    for (const { partition } of a.assignment()) {
      const offsets = returnedByA.filter((r) => r.partition === partition).map((r) => r.offset);
      assert.deepEqual(
        offsets,
        Array.from({ length: 100 }, (_, i) => i),
      );
    }
    await b.close();
    await a.close();
  });

  it('keeps its buffer bounded while nobody polls, and its membership alive', async () => {
    const bounded = await open({
      consumer: {
        maxBufferedRecords: 50,
        fetchMaxBytesPerPartition: 2048,
        // The broker's smallest (group.min.session.timeout.ms).
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
      },
    });
    try {
      const topic = uniqueName('kafka_group_bounded');
      await bounded.createTopic({ name: topic, partitions: 1, cleanupPolicy: 'delete' });
      // One record batch of 100 KB: kafkajs fetches it whole, whatever the per-partition limit.
      await bounded.append(
        topic,
        Array.from({ length: 1000 }, (_, i) => ({ key: null, value: Buffer.alloc(100, i % 256) })),
      );
      const consumer = (await bounded.consumer({
        groupId: uniqueName('group'),
        topics: [topic],
        startFrom: 'earliest',
      })) as KafkaGroupConsumer;
      const events: RebalanceEvent[] = [];
      consumer.onRebalance((event) => events.push(event));
      await waitFor('the buffer to fill', async () => consumer.buffered().records >= 50);
      // Idle for longer than the session timeout: heartbeats keep the member in the group.
      await sleep(7000);
      assert.ok(consumer.buffered().records <= 51, `buffered ${consumer.buffered().records}`);
      assert.equal(events.length, 1, 'no rebalance while idle');

      const seen: StoredRecord[] = [];
      await waitFor(
        'all 1000 records',
        async () => {
          seen.push(...(await consumer.poll({ maxWaitMs: 200 })));
          return seen.length >= 1000;
        },
        { timeoutMs: 60_000, intervalMs: 0 },
      );
      assert.deepEqual(
        seen.map((r) => r.offset),
        Array.from({ length: 1000 }, (_, i) => i),
      );
      await consumer.commit([{ topic, partition: 0, offset: 1000 }]);
      assert.deepEqual(await bounded.committedOffsets(consumer.groupId, topic), [
        { topic, partition: 0, offset: 1000 },
      ]);
      await consumer.close();
    } finally {
      await bounded.close();
    }
  });

  it('reports a failed join on poll()', async () => {
    const invalid = await open({ consumer: { sessionTimeoutMs: 1000, heartbeatIntervalMs: 300 } });
    try {
      const topic = uniqueName('kafka_group_invalid');
      await invalid.createTopic({ name: topic, partitions: 1, cleanupPolicy: 'delete' });
      const consumer = await invalid.consumer({
        groupId: uniqueName('group'),
        topics: [topic],
        startFrom: 'earliest',
      });
      const deadline = Date.now() + 30_000;
      let failure: unknown;
      while (failure === undefined && Date.now() < deadline) {
        await consumer.poll({ maxWaitMs: 100 }).catch((error: unknown) => (failure = error));
      }
      assert.ok(failure instanceof InvalidInputError, String(failure));
      assert.match(failure.message, /session timeout is not within the range/);
      await assert.rejects(consumer.poll(), InvalidInputError);
      await consumer.close();
    } finally {
      await invalid.close();
    }
  });

  it('seeks within its partitions and refuses seeks and commits for others', async () => {
    const topic = uniqueName('kafka_group_seek');
    await log.createTopic({ name: topic, partitions: 2, cleanupPolicy: 'delete' });
    await fill(log, topic, 2, 50);
    const consumer = await log.consumer({
      groupId: uniqueName('group'),
      topics: [topic],
      startFrom: 'earliest',
    });
    const seen: StoredRecord[] = [];
    await waitFor(
      'all 100 records',
      async () => {
        seen.push(...(await consumer.poll({ maxWaitMs: 200 })));
        return seen.length >= 100;
      },
      { timeoutMs: 60_000, intervalMs: 0 },
    );
    consumer.seek({ topic, partition: 1, offset: 45 });
    const again: StoredRecord[] = [];
    await waitFor(
      'the records after the seek',
      async () => {
        again.push(...(await consumer.poll({ maxWaitMs: 200 })));
        return again.length >= 5;
      },
      { timeoutMs: 30_000, intervalMs: 0 },
    );
    assert.deepEqual(again.map(id), ['1:45', '1:46', '1:47', '1:48', '1:49']);
    assert.throws(
      () => consumer.seek({ topic, partition: 2, offset: 0 }),
      PartitionNotAssignedError,
    );
    await assert.rejects(
      consumer.commit([
        { topic, partition: 0, offset: 50 },
        { topic: uniqueName('other'), partition: 0, offset: 1 },
      ]),
      PartitionNotAssignedError,
    );
    assert.deepEqual(await log.committedOffsets(consumer.groupId, topic), [], 'nothing committed');
    await consumer.close();
  });

  it('starts from the end with startFrom latest', async () => {
    const topic = uniqueName('kafka_group_latest');
    await log.createTopic({ name: topic, partitions: 1, cleanupPolicy: 'delete' });
    await fill(log, topic, 1, 10);
    const consumer = await log.consumer({
      groupId: uniqueName('group'),
      topics: [topic],
      startFrom: 'latest',
    });
    // The starting offset is resolved on the first fetch after the join.
    await waitFor('an assignment', async () => {
      await consumer.poll({ maxWaitMs: 100 });
      return consumer.assignment().length === 1;
    });
    await sleep(1000);
    await log.append(topic, [{ key: null, value: Buffer.from('new') }]);
    const seen: StoredRecord[] = [];
    await waitFor(
      'the new record',
      async () => {
        seen.push(...(await consumer.poll({ maxWaitMs: 200 })));
        return seen.length > 0;
      },
      { timeoutMs: 30_000, intervalMs: 0 },
    );
    assert.deepEqual(
      seen.map((r) => r.value?.toString()),
      ['new'],
    );
    await consumer.close();
  });

  it('leaves the group on close(), so the partitions move at once, not after the session timeout', async () => {
    const topic = uniqueName('kafka_group_close');
    const groupId = uniqueName('group');
    await log.createTopic({ name: topic, partitions: 2, cleanupPolicy: 'delete' });
    const a = await log.consumer({ groupId, topics: [topic], startFrom: 'earliest' });
    const b = await log.consumer({ groupId, topics: [topic], startFrom: 'earliest' });
    const revokedB: RebalanceEvent[] = [];
    b.onRebalance((event) => revokedB.push(event));
    await waitFor(
      'one partition each',
      async () => {
        await Promise.all([a.poll({ maxWaitMs: 100 }), b.poll({ maxWaitMs: 100 })]);
        return a.assignment().length === 1 && b.assignment().length === 1;
      },
      { timeoutMs: 60_000, intervalMs: 0 },
    );
    const started = Date.now();
    await b.close();
    const closing = Date.now() - started;
    assert.ok(closing < 5000, `close took ${closing} ms`);
    assert.deepEqual(b.assignment(), []);
    assert.equal(revokedB[revokedB.length - 1]?.revoked.length, 1, 'close revokes');
    await waitFor(
      'a to own both partitions',
      async () => {
        await a.poll({ maxWaitMs: 100 });
        return a.assignment().length === 2;
      },
      { timeoutMs: 60_000, intervalMs: 0 },
    );
    // The session timeout is 30 s: the handover came from the member leaving.
    assert.ok(Date.now() - started < 15_000, `handover took ${Date.now() - started} ms`);
    await assert.rejects(b.poll(), /closed/);
    await a.close();
  });
});
