import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { murmur2, partitionForKey, Partitioner } from '../../../runtime/log/partitioner.ts';

test("murmur2 matches the values Kafka's Java implementation produces", () => {
  // Test vectors from Kafka's UtilsTest.testMurmur2.
  const vectors: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [input, expected] of vectors)
    assert.equal(murmur2(Buffer.from(input)), expected, input);
});

test("the partition of a key is the one kafkajs's default partitioner picks", () => {
  const kafkajsPartitioner = Partitioners.DefaultPartitioner();
  for (let i = 0; i < 500; i++) {
    const key = Buffer.from(`key-${i}-${'x'.repeat(i % 7)}`);
    for (const partitions of [1, 3, 8, 12]) {
      const expected = kafkajsPartitioner({
        topic: 't',
        partitionMetadata: Array.from({ length: partitions }, (_, id) => ({
          partitionId: id,
          leader: 0,
          partitionErrorCode: 0,
          replicas: [0],
          isr: [0],
        })),
        message: { key, value: null },
      });
      assert.equal(
        partitionForKey(key, partitions),
        expected,
        `${key.toString()} over ${partitions}`,
      );
    }
  }
});

test('explicit partitions win, keyless records of a batch stick together, bad partitions fail', () => {
  const partitioner = new Partitioner();
  const first = partitioner.partitionsFor(
    [{ key: null }, { key: null }, { key: null, partition: 2 }],
    4,
  );
  assert.equal(first[0], first[1]);
  assert.equal(first[2], 2);
  const second = partitioner.partitionsFor([{ key: null }], 4);
  assert.notEqual(second[0], first[0]);
  assert.throws(
    () => partitioner.partitionsFor([{ key: null, partition: 4 }], 4),
    /partition 4 does not exist/,
  );
});
