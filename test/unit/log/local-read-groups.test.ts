import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionNotAssignedError } from '../../../runtime/log/errors.ts';
import type { RebalanceEvent, StoredRecord } from '../../../runtime/log/log.ts';
import { assignPartitions } from '../../../runtime/log/local/assignor.ts';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import { RECORD_OVERHEAD_BYTES } from '../../../runtime/log/local/record-batch.ts';
import { tempDir, text } from './local-helpers.ts';

async function openWith(topic: string, partitions = 1) {
  const dataDir = await tempDir('read');
  const log = await LocalLog.open({ dataDir });
  await log.createTopic({ name: topic, partitions, cleanupPolicy: 'delete' });
  return log;
}

describe('read', () => {
  it('honours maxRecords and maxBytes, and always returns at least one record', async () => {
    const log = await openWith('t');
    try {
      const value = Buffer.alloc(100 - RECORD_OVERHEAD_BYTES, 1); // 100 bytes per record, no key
      await log.append(
        't',
        Array.from({ length: 50 }, () => ({ key: null, value })),
      );
      assert.equal((await log.read('t', 0, 0, { maxRecords: 7 })).length, 7);
      assert.deepEqual(
        (await log.read('t', 0, 10, { maxBytes: 350 })).map((r) => r.offset),
        [10, 11, 12],
      );
      assert.equal((await log.read('t', 0, 20, { maxBytes: 1 })).length, 1, 'at least one');
      assert.equal((await log.read('t', 0, 45)).length, 5);
      assert.deepEqual(await log.read('t', 0, 50), [], 'reading at the end returns nothing');
    } finally {
      await log.close();
    }
  });

  it('a long poll is woken by the append, not by its timeout', async () => {
    const log = await openWith('t');
    try {
      const started = Date.now();
      const waiting = log.read('t', 0, 0, { maxWaitMs: 30_000 });
      setTimeout(() => void log.append('t', [{ key: null, value: Buffer.from('now') }]), 100);
      const records = await waiting;
      assert.equal(text(records[0]!.value), 'now');
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await log.close();
    }
  });

  it('close resolves pending long polls and consumer polls', async () => {
    const log = await openWith('t');
    const consumer = await log.consumer({ groupId: 'g', topics: ['t'], startFrom: 'latest' });
    const read = log.read('t', 0, 0, { maxWaitMs: 60_000 });
    const poll = consumer.poll({ maxWaitMs: 60_000 });
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await log.close();
    assert.deepEqual(await read, []);
    assert.deepEqual(await poll, []);
    assert.ok(Date.now() - started < 5_000);
  });
});

describe('consumer groups', () => {
  it('the assignor balances partitions (max − min ≤ 1) and keeps previous owners where it can', () => {
    const counts = (topic: string) => ({ a: 7, b: 5 })[topic];
    for (const size of [1, 2, 3, 5, 8, 13]) {
      const members = Array.from({ length: size }, (_, i) => ({
        memberId: `m${i}`,
        topics: ['a', 'b'],
      }));
      const loads = [...assignPartitions(members, counts, new Map()).values()].map((p) => p.length);
      assert.equal(
        loads.reduce((x, y) => x + y),
        12,
      );
      assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `${size} members: ${loads}`);
    }
    const two = [
      { memberId: 'x', topics: ['a'] },
      { memberId: 'y', topics: ['a'] },
    ];
    const first = assignPartitions(two, counts, new Map());
    const owners = new Map<string, string>();
    for (const [member, partitions] of first) {
      for (const tp of partitions) owners.set(`${tp.topic}/${tp.partition}`, member);
    }
    const withThird = assignPartitions([...two, { memberId: 'z', topics: ['a'] }], counts, owners);
    const moved = [...withThird.entries()]
      .flatMap(([member, partitions]) =>
        partitions.map((tp) => owners.get(`a/${tp.partition}`) !== member),
      )
      .filter(Boolean).length;
    assert.ok(moved <= 3, `${moved} partitions moved to make room for one member`);
  });

  it('tells listeners what moved, resumes from commits, seeks, and refuses foreign commits', async () => {
    const log = await openWith('t', 4);
    try {
      await log.append(
        't',
        Array.from({ length: 40 }, (_, i) => ({
          key: null,
          value: Buffer.from(String(i)),
          partition: i % 4,
        })),
      );
      const a = await log.consumer({ groupId: 'g', topics: ['t'], startFrom: 'earliest' });
      const events: RebalanceEvent[] = [];
      a.onRebalance((event) => events.push(event));
      assert.equal(events.length, 1, 'a late listener learns the current assignment');
      assert.equal(events[0]!.assigned.length, 4);

      const b = await log.consumer({ groupId: 'g', topics: ['t'], startFrom: 'earliest' });
      assert.equal(events.length, 2);
      assert.equal(events[1]!.revoked.length, 2);
      assert.deepEqual(events[1]!.assigned, []);
      const mine = a.assignment().map((tp) => tp.partition);
      const theirs = b.assignment().map((tp) => tp.partition);
      assert.deepEqual([...mine, ...theirs].sort(), [0, 1, 2, 3]);

      const seen: StoredRecord[] = [];
      while (seen.length < 20) seen.push(...(await a.poll({ maxWaitMs: 100 })));
      assert.ok(
        seen.every((r) => mine.includes(r.partition)),
        'only its own partitions',
      );

      await assert.rejects(
        a.commit([{ topic: 't', partition: theirs[0]!, offset: 1 }]),
        (error: unknown) => error instanceof PartitionNotAssignedError,
      );
      a.seek({ topic: 't', partition: mine[0]!, offset: 5 });
      const again = await a.poll({ maxWaitMs: 100 });
      assert.deepEqual(
        again.map((r) => [r.partition, r.offset]),
        [5, 6, 7, 8, 9].map((offset) => [mine[0], offset]),
      );
      await a.commit([{ topic: 't', partition: mine[0]!, offset: 7 }]);
      await a.close();
      assert.equal(b.assignment().length, 4, 'b took over');
      const resumed = await b.poll({ maxRecords: 100, maxWaitMs: 100 });
      const fromCommit = resumed.filter((r) => r.partition === mine[0]).map((r) => r.offset);
      assert.deepEqual(fromCommit, [7, 8, 9], 'b resumes at the committed offset');
      await b.close();
      assert.deepEqual(await log.committedOffsets('g', 't'), [
        { topic: 't', partition: mine[0], offset: 7 },
      ]);
    } finally {
      await log.close();
    }
  });
});
