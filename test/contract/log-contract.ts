// The contract every Kafki log backend passes unchanged: ordering per partition, per-key
// partition stability, durable offsets across a restart, group reassignment, compaction and
// tombstones, and clear errors. Each backend's test file calls describeLogContract().

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GroupConsumer, KafkiLog, StoredRecord, TopicSpec } from '../../runtime/log/log.ts';
import { partitionForKey } from '../../runtime/log/partitioner.ts';
import {
  OffsetOutOfRangeError,
  RecordTooLargeError,
  TopicNotFoundError,
} from '../../runtime/log/errors.ts';
import { uniqueName, waitFor } from '../helpers/wait.ts';

export interface LogUnderTest {
  /** Open the backend; called again after close() to simulate a restart over the same storage. */
  open(): Promise<KafkiLog>;
  /** Upper bound for background compaction to show its result (Kafka's cleaner is slow). */
  compactionTimeoutMs: number;
}

const text = (buffer: Buffer | null) => (buffer === null ? null : buffer.toString('utf8'));

function topicSpec(overrides: Partial<TopicSpec> = {}): TopicSpec {
  return { name: uniqueName('contract'), partitions: 1, cleanupPolicy: 'delete', ...overrides };
}

async function readAll(
  log: KafkiLog,
  topic: string,
  partition: number,
  from = 0,
): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  const range = (await log.offsets(topic)).find((r) => r.partition === partition);
  if (!range) throw new Error(`no partition ${partition}`);
  let offset = Math.max(from, range.start);
  while (offset < range.end) {
    const batch = await log.read(topic, partition, offset, { maxRecords: 1000 });
    if (batch.length === 0) break;
    out.push(...batch);
    offset = batch[batch.length - 1]!.offset + 1;
  }
  return out;
}

async function pollUntil(
  consumer: GroupConsumer,
  seen: StoredRecord[],
  done: () => boolean,
  description: string,
): Promise<void> {
  await waitFor(
    description,
    async () => {
      seen.push(...(await consumer.poll({ maxWaitMs: 200 })));
      return done();
    },
    { timeoutMs: 60_000, intervalMs: 0 },
  );
}

export function describeLogContract(backend: string, underTest: LogUnderTest): void {
  describe(`Kafki log contract: ${backend}`, () => {
    let log: KafkiLog;
    before(async () => {
      log = await underTest.open();
    });
    after(async () => {
      await log.close();
    });

    it('creates topics idempotently and describes them', async () => {
      const spec = topicSpec({ partitions: 3, cleanupPolicy: 'compact' });
      assert.equal(await log.createTopic(spec), 'created');
      assert.equal(await log.createTopic(spec), 'exists');
      assert.deepEqual(await log.describeTopic(spec.name), {
        name: spec.name,
        partitions: 3,
        cleanupPolicy: 'compact',
      });
      assert.ok((await log.listTopics()).includes(spec.name));
      assert.equal(await log.describeTopic(uniqueName('missing')), undefined);
      await log.deleteTopic(spec.name);
      await waitFor(
        'the topic to be gone',
        async () => (await log.describeTopic(spec.name)) === undefined,
      );
    });

    it('appends in order and reads back keys, values, headers and timestamps', async () => {
      const spec = topicSpec();
      await log.createTopic(spec);
      const records = Array.from({ length: 250 }, (_, i) => ({
        key: Buffer.from(`k${i % 10}`),
        value: i === 7 ? null : Buffer.from(`value-${i}`),
        headers: { index: Buffer.from(String(i)) },
        timestamp: 1_700_000_000_000 + i,
      }));
      const first = await log.append(spec.name, records.slice(0, 100));
      const second = await log.append(spec.name, records.slice(100));
      assert.deepEqual(
        [...first, ...second].map((a) => a.offset),
        records.map((_, i) => i),
      );
      const stored = await readAll(log, spec.name, 0);
      assert.equal(stored.length, 250);
      stored.forEach((record, i) => {
        assert.equal(record.offset, i);
        assert.equal(text(record.key), `k${i % 10}`);
        assert.equal(text(record.value), i === 7 ? null : `value-${i}`);
        assert.equal(text(record.headers.index ?? null), String(i));
        assert.equal(record.timestamp, 1_700_000_000_000 + i);
      });
      const middle = await log.read(spec.name, 0, 120, { maxRecords: 5 });
      assert.deepEqual(
        middle.map((r) => r.offset),
        [120, 121, 122, 123, 124],
      );
      assert.deepEqual(await log.offsets(spec.name), [{ partition: 0, start: 0, end: 250 }]);
    });

    it("keeps every key in one partition, the one Kafka's partitioner picks, in append order", async () => {
      const spec = topicSpec({ partitions: 6 });
      await log.createTopic(spec);
      for (let round = 0; round < 3; round++) {
        const batch = Array.from({ length: 200 }, (_, k) => ({
          key: Buffer.from(`user-${k}`),
          value: Buffer.from(`${round}`),
        }));
        const appended = await log.append(spec.name, batch);
        appended.forEach((a, i) => assert.equal(a.partition, partitionForKey(batch[i]!.key, 6)));
      }
      const byKey = new Map<string, { partitions: Set<number>; values: string[] }>();
      for (let partition = 0; partition < 6; partition++) {
        for (const record of await readAll(log, spec.name, partition)) {
          const entry = byKey.get(text(record.key)!) ?? { partitions: new Set(), values: [] };
          entry.partitions.add(partition);
          entry.values.push(text(record.value)!);
          byKey.set(text(record.key)!, entry);
        }
      }
      assert.equal(byKey.size, 200);
      for (const [key, entry] of byKey) {
        assert.equal(entry.partitions.size, 1, key);
        assert.deepEqual(entry.values, ['0', '1', '2'], key);
      }
    });

    it('long-polls: a read at the end returns a record appended while it waits', async () => {
      const spec = topicSpec();
      await log.createTopic(spec);
      const waiting = log.read(spec.name, 0, 0, { maxWaitMs: 10_000 });
      await new Promise((resolveDelay) => setTimeout(resolveDelay, 200));
      await log.append(spec.name, [{ key: null, value: Buffer.from('late') }]);
      const records = await waiting;
      assert.equal(text(records[0]?.value ?? null), 'late');
    });

    it('fails clearly on a missing topic, an oversized record and an offset out of range', async () => {
      const missing = uniqueName('missing');
      await assert.rejects(
        log.append(missing, [{ key: null, value: Buffer.from('x') }]),
        (error: unknown) => error instanceof TopicNotFoundError && error.message.includes(missing),
      );
      const spec = topicSpec();
      await log.createTopic(spec);
      await assert.rejects(
        log.append(spec.name, [{ key: null, value: Buffer.alloc(8 * 1024 * 1024, 1) }]),
        (error: unknown) =>
          error instanceof RecordTooLargeError &&
          error.message.includes(spec.name) &&
          /limit of \d+ bytes/.test(error.message),
      );
      await log.append(spec.name, [{ key: null, value: Buffer.from('ok') }]);
      await assert.rejects(
        log.read(spec.name, 0, 1000),
        (error: unknown) => error instanceof OffsetOutOfRangeError,
      );
      assert.equal(
        (await readAll(log, spec.name, 0)).length,
        1,
        'the oversized record was not half-written',
      );
    });

    it('keeps records and committed group offsets across a restart', async () => {
      const spec = topicSpec({ partitions: 2 });
      const groupId = uniqueName('group');
      await log.createTopic(spec);
      await log.append(
        spec.name,
        Array.from({ length: 40 }, (_, i) => ({
          key: Buffer.from(`k${i}`),
          value: Buffer.from(`v${i}`),
        })),
      );
      const consumer = await log.consumer({ groupId, topics: [spec.name], startFrom: 'earliest' });
      const seen: StoredRecord[] = [];
      await pollUntil(consumer, seen, () => seen.length >= 40, 'all 40 records');
      const positions = [0, 1].map((partition) => ({
        topic: spec.name,
        partition,
        offset: Math.max(...seen.filter((r) => r.partition === partition).map((r) => r.offset)) + 1,
      }));
      await consumer.commit(positions);
      await consumer.close();
      const endsBefore = await log.offsets(spec.name);
      await log.close();

      log = await underTest.open();
      assert.deepEqual(await log.offsets(spec.name), endsBefore);
      const committed = await log.committedOffsets(groupId, spec.name);
      assert.deepEqual(
        committed.sort((a, b) => a.partition - b.partition),
        positions,
      );
      const total =
        (await readAll(log, spec.name, 0)).length + (await readAll(log, spec.name, 1)).length;
      assert.equal(total, 40);

      // A member of the same group resumes after the committed offsets: it sees only new records.
      await log.append(spec.name, [
        { key: Buffer.from('k0'), value: Buffer.from('after-restart') },
      ]);
      const resumed = await log.consumer({ groupId, topics: [spec.name], startFrom: 'earliest' });
      const after: StoredRecord[] = [];
      await pollUntil(
        resumed,
        after,
        () => after.length >= 1,
        'the record appended after the restart',
      );
      assert.deepEqual(
        after.map((r) => text(r.value)),
        ['after-restart'],
      );
      await resumed.close();
    });

    it('spreads partitions over the group and hands them over when a member leaves', async () => {
      const spec = topicSpec({ partitions: 4 });
      const groupId = uniqueName('group');
      await log.createTopic(spec);
      const keys = Array.from({ length: 400 }, (_, i) => `key-${i}`);
      await log.append(
        spec.name,
        keys.map((k) => ({ key: Buffer.from(k), value: Buffer.from('1') })),
      );

      const a = await log.consumer({ groupId, topics: [spec.name], startFrom: 'earliest' });
      const b = await log.consumer({ groupId, topics: [spec.name], startFrom: 'earliest' });
      const seenA: StoredRecord[] = [];
      const seenB: StoredRecord[] = [];
      await waitFor(
        'two members sharing four partitions',
        async () => {
          seenA.push(...(await a.poll({ maxWaitMs: 100 })));
          seenB.push(...(await b.poll({ maxWaitMs: 100 })));
          const owned = [...a.assignment(), ...b.assignment()].map((tp) => tp.partition).sort();
          return (
            a.assignment().length === 2 && b.assignment().length === 2 && owned.join() === '0,1,2,3'
          );
        },
        { timeoutMs: 60_000, intervalMs: 0 },
      );
      await waitFor(
        'every first-round record to be read by the group',
        async () => {
          seenA.push(...(await a.poll({ maxWaitMs: 100 })));
          seenB.push(...(await b.poll({ maxWaitMs: 100 })));
          return new Set([...seenA, ...seenB].map((r) => `${r.partition}:${r.offset}`)).size >= 400;
        },
        { timeoutMs: 60_000, intervalMs: 0 },
      );
      // Once settled, each member only gets records of the partitions it owns.
      const ownedByB = new Set(b.assignment().map((tp) => tp.partition));
      await log.append(spec.name, [{ key: Buffer.from(keys[0]!), value: Buffer.from('probe') }]);
      const probeOwner = partitionForKey(Buffer.from(keys[0]!), 4);
      const probe: StoredRecord[] = [];
      await pollUntil(
        ownedByB.has(probeOwner) ? b : a,
        probe,
        () => probe.some((r) => text(r.value) === 'probe'),
        'the probe record at its owner',
      );
      const probeAtOwner = probe.find((r) => text(r.value) === 'probe')!;
      (ownedByB.has(probeOwner) ? seenB : seenA).push(...probe);

      const commitAll = async (consumer: GroupConsumer, seen: StoredRecord[]) => {
        const owned = new Set(consumer.assignment().map((tp) => tp.partition));
        const positions = [...owned].flatMap((partition) => {
          const offsets = seen.filter((r) => r.partition === partition).map((r) => r.offset);
          return offsets.length
            ? [{ topic: spec.name, partition, offset: Math.max(...offsets) + 1 }]
            : [];
        });
        await consumer.commit(positions);
      };
      await commitAll(a, seenA);
      await commitAll(b, seenB);
      await b.close();

      assert.equal(probeAtOwner.partition, probeOwner);
      await log.append(
        spec.name,
        keys.map((k) => ({ key: Buffer.from(k), value: Buffer.from('2') })),
      );
      const second: StoredRecord[] = [];
      await pollUntil(
        a,
        second,
        () => second.filter((r) => text(r.value) === '2').length >= 400,
        'a to take over every partition',
      );
      assert.equal(a.assignment().length, 4);
      // The survivor resumed b's partitions from b's commits: no first-round record comes back.
      assert.equal(
        second.filter((r) => text(r.value) === '1' || text(r.value) === 'probe').length,
        0,
      );
      await a.close();
    });

    it('refuses a commit for a partition the member does not own', async () => {
      const spec = topicSpec({ partitions: 2 });
      const groupId = uniqueName('group');
      await log.createTopic(spec);
      const consumer = await log.consumer({ groupId, topics: [spec.name], startFrom: 'earliest' });
      await waitFor('an assignment', async () => {
        await consumer.poll({ maxWaitMs: 100 });
        return consumer.assignment().length === 2;
      });
      await assert.rejects(
        consumer.commit([{ topic: uniqueName('other'), partition: 0, offset: 1 }]),
      );
      await consumer.close();
    });

    it('compacts keyed topics to the latest value per key and keeps a fresh tombstone', async () => {
      const spec = topicSpec({
        cleanupPolicy: 'compact',
        segmentMs: 100,
        minCleanableDirtyRatio: 0.01,
        deleteRetentionMs: 3_600_000,
      });
      await log.createTopic(spec);
      for (let version = 0; version < 5; version++) {
        await log.append(
          spec.name,
          Array.from({ length: 10 }, (_, k) => ({
            key: Buffer.from(`k${k}`),
            value: Buffer.from(`v${version}`),
          })),
        );
      }
      await log.append(spec.name, [{ key: Buffer.from('k0'), value: null }]);
      await waitFor(
        'compaction of the closed segments',
        async () => {
          // Keep rolling segments so everything above becomes cleanable.
          await log.append(spec.name, [
            { key: Buffer.from('roll'), value: Buffer.from(String(Date.now())) },
          ]);
          const records = (await readAll(log, spec.name, 0)).filter((r) => text(r.key) !== 'roll');
          return records.length === 10 && records;
        },
        { timeoutMs: underTest.compactionTimeoutMs, intervalMs: 500 },
      ).then((records) => {
        const latest = new Map(records.map((r) => [text(r.key), text(r.value)]));
        assert.equal(latest.get('k0'), null, 'k0 is a tombstone');
        for (let k = 1; k < 10; k++) assert.equal(latest.get(`k${k}`), 'v4');
        // Offsets are kept: compaction leaves gaps, never renumbers.
        assert.ok(records.every((r, i) => i === 0 || r.offset > records[i - 1]!.offset));
      });
    });

    it('removes a tombstoned key entirely once the tombstone retention has passed', async () => {
      const spec = topicSpec({
        cleanupPolicy: 'compact',
        segmentMs: 100,
        minCleanableDirtyRatio: 0.01,
        deleteRetentionMs: 100,
      });
      await log.createTopic(spec);
      await log.append(spec.name, [
        { key: Buffer.from('gone'), value: Buffer.from('v0') },
        { key: Buffer.from('kept'), value: Buffer.from('v0') },
      ]);
      await log.append(spec.name, [{ key: Buffer.from('gone'), value: null }]);
      await waitFor(
        'the tombstoned key to disappear',
        async () => {
          await log.append(spec.name, [
            { key: Buffer.from('roll'), value: Buffer.from(String(Date.now())) },
          ]);
          const keys = (await readAll(log, spec.name, 0)).map((r) => text(r.key));
          return !keys.includes('gone') && keys.includes('kept');
        },
        { timeoutMs: underTest.compactionTimeoutMs, intervalMs: 500 },
      );
    });
  });
}
