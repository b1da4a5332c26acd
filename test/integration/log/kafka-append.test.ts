// The kafka backend's append(): per-record offsets from each partition's base offset (checked by
// reading back), input order across partitions and across the batches an append is cut into,
// pipelined appends, compression codecs, and recovery from kafkajs's stale "target topics".

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../../runtime/api/errors.ts';
import type { LogRecord, StoredRecord } from '../../../runtime/log/log.ts';
import { partitionForKey } from '../../../runtime/log/partitioner.ts';
import { KafkaLog, type KafkaLogOptions } from '../../../runtime/log/kafka/index.ts';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName } from '../../helpers/wait.ts';

const open = (options: Partial<KafkaLogOptions> = {}) =>
  KafkaLog.open({
    brokers: serviceAddresses().kafkaBrokers,
    clientId: 'kafki-test-append',
    ...options,
  });

async function readPartition(
  log: KafkaLog,
  topic: string,
  partition: number,
): Promise<StoredRecord[]> {
  const range = (await log.offsets(topic)).find((r) => r.partition === partition)!;
  const out: StoredRecord[] = [];
  let offset = range.start;
  while (offset < range.end) {
    const batch = await log.read(topic, partition, offset, { maxRecords: 500 });
    assert.ok(batch.length > 0, `no progress at ${topic}/${partition}@${offset}`);
    out.push(...batch);
    offset = batch[batch.length - 1]!.offset + 1;
  }
  return out;
}

/** Every appended record is found at the offset append() reported, with its own value. */
async function assertAtReportedOffsets(
  log: KafkaLog,
  topic: string,
  records: readonly LogRecord[],
  appended: readonly { partition: number; offset: number }[],
): Promise<void> {
  assert.equal(appended.length, records.length);
  const partitions = new Set(appended.map((a) => a.partition));
  const stored = new Map<string, StoredRecord>();
  for (const partition of partitions) {
    for (const record of await readPartition(log, topic, partition)) {
      stored.set(`${record.partition}:${record.offset}`, record);
    }
  }
  appended.forEach((position, i) => {
    const record = stored.get(`${position.partition}:${position.offset}`);
    assert.ok(record, `record ${i} is not at ${position.partition}:${position.offset}`);
    assert.deepEqual(record.value, records[i]!.value, `record ${i}`);
    assert.deepEqual(record.key, records[i]!.key, `record ${i}`);
  });
}

describe('kafka log: append', () => {
  let log: KafkaLog;
  before(async () => {
    log = await open();
  });
  after(async () => {
    await log.close();
  });

  it('reports each record at the partition and offset it was written to, in input order', async () => {
    const topic = uniqueName('kafka_append');
    await log.createTopic({ name: topic, partitions: 4, cleanupPolicy: 'delete' });
    const records: LogRecord[] = Array.from({ length: 300 }, (_, i) => ({
      key: i % 7 === 0 ? null : Buffer.from(`key-${i % 23}`),
      value: Buffer.from(`value-${i}`),
      ...(i % 11 === 0 ? { partition: i % 4 } : {}),
    }));
    const appended = await log.append(topic, records);
    records.forEach((record, i) => {
      if (record.partition !== undefined) assert.equal(appended[i]!.partition, record.partition);
      else if (record.key) assert.equal(appended[i]!.partition, partitionForKey(record.key, 4));
    });
    // Offsets of one partition grow in input order, without gaps.
    for (let partition = 0; partition < 4; partition++) {
      const offsets = appended.filter((a) => a.partition === partition).map((a) => a.offset);
      assert.deepEqual(
        offsets,
        offsets.map((_, i) => i),
      );
    }
    // Keyless records of one append stay together.
    assert.equal(
      new Set(
        appended
          .filter((_, i) => records[i]!.key === null && records[i]!.partition === undefined)
          .map((a) => a.partition),
      ).size,
      1,
    );
    await assertAtReportedOffsets(log, topic, records, appended);
    await log.deleteTopic(topic);
  });

  it('cuts a large append into batches the broker accepts and keeps their order', async () => {
    const small = await open({ maxBatchBytes: 4096 });
    try {
      const topic = uniqueName('kafka_append_split');
      await small.createTopic({ name: topic, partitions: 2, cleanupPolicy: 'delete' });
      const records: LogRecord[] = Array.from({ length: 1000 }, (_, i) => ({
        key: Buffer.from(`k${i % 5}`),
        value: Buffer.alloc(200, i % 256),
        headers: { i: Buffer.from(String(i)) },
      }));
      const appended = await small.append(topic, records);
      await assertAtReportedOffsets(small, topic, records, appended);
      for (let partition = 0; partition < 2; partition++) {
        const stored = await readPartition(small, topic, partition);
        const expected = records
          .map((record, i) => ({ record, i }))
          .filter(({ i }) => appended[i]!.partition === partition)
          .map(({ i }) => String(i));
        assert.deepEqual(
          stored.map((r) => r.headers.i?.toString()),
          expected,
        );
      }
      await small.deleteTopic(topic);
    } finally {
      await small.close();
    }
  });

  it('keeps offsets right when appends are pipelined', async () => {
    const topic = uniqueName('kafka_append_pipelined');
    await log.createTopic({ name: topic, partitions: 3, cleanupPolicy: 'delete' });
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 100 }, (_, i) => ({
        key: Buffer.from(`key-${i}`),
        value: Buffer.from(`${b}:${i}`),
      })),
    );
    const results = await Promise.all(batches.map((batch) => log.append(topic, batch)));
    await assertAtReportedOffsets(log, topic, batches.flat(), results.flat());
    const all = results.flat();
    assert.equal(
      new Set(all.map((a) => `${a.partition}:${a.offset}`)).size,
      800,
      'no offset twice',
    );
    await log.deleteTopic(topic);
  });

  for (const compression of ['gzip', 'lz4'] as const) {
    it(`round-trips ${compression}-compressed batches, reading from inside a batch`, async () => {
      const compressed = await open({ compression });
      try {
        const topic = uniqueName(`kafka_append_${compression}`);
        await compressed.createTopic({ name: topic, partitions: 1, cleanupPolicy: 'delete' });
        const records = Array.from({ length: 500 }, (_, i) => ({
          key: Buffer.from(`k${i}`),
          value: i === 3 ? null : Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`),
          timestamp: 1_700_000_000_000 + i,
        }));
        const appended = await compressed.append(topic, records);
        assert.deepEqual(
          appended.map((a) => a.offset),
          records.map((_, i) => i),
        );
        // Offset 250 sits inside the one compressed batch: the records before it are skipped.
        const middle = await compressed.read(topic, 0, 250, { maxRecords: 3 });
        assert.deepEqual(
          middle.map((r) => [r.offset, r.key?.toString(), r.timestamp]),
          [250, 251, 252].map((i) => [i, `k${i}`, 1_700_000_000_000 + i]),
        );
        const all = await readPartition(compressed, topic, 0);
        assert.equal(all.length, 500);
        assert.equal(all[3]!.value, null);
        assert.equal(all[499]!.value?.toString(), `value-499-${'x'.repeat(499 % 50)}`);
        // Readable by a log that writes uncompressed, too.
        assert.equal((await readPartition(log, topic, 0)).length, 500);
        await compressed.deleteTopic(topic);
      } finally {
        await compressed.close();
      }
    });
  }

  it('refuses a partition the topic does not have, before sending anything', async () => {
    const topic = uniqueName('kafka_append_partition');
    await log.createTopic({ name: topic, partitions: 2, cleanupPolicy: 'delete' });
    await assert.rejects(
      log.append(topic, [
        { key: null, value: Buffer.from('ok'), partition: 1 },
        { key: null, value: Buffer.from('bad'), partition: 2 },
      ]),
      (error: unknown) =>
        error instanceof InvalidInputError && /partition 2 does not exist/.test(error.message),
    );
    assert.deepEqual(await log.offsets(topic), [
      { partition: 0, start: 0, end: 0 },
      { partition: 1, start: 0, end: 0 },
    ]);
    await log.deleteTopic(topic);
  });

  it('keeps appending to other topics after a topic it wrote to was deleted elsewhere', async () => {
    const gone = uniqueName('kafka_append_gone');
    const kept = uniqueName('kafka_append_kept');
    await log.createTopic({ name: gone, partitions: 1, cleanupPolicy: 'delete' });
    await log.createTopic({ name: kept, partitions: 1, cleanupPolicy: 'delete' });
    await log.append(gone, [{ key: null, value: Buffer.from('1') }]);
    const other = await open();
    try {
      await other.deleteTopic(gone);
    } finally {
      await other.close();
    }
    // kafkajs's producer would now fail every send: it refreshes all topics it ever sent to.
    const appended = await log.append(kept, [{ key: null, value: Buffer.from('2') }]);
    assert.deepEqual(appended, [{ partition: 0, offset: 0 }]);
    await log.deleteTopic(kept);
  });
});
