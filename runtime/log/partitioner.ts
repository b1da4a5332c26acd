// Key → partition, identical to Kafka's default partitioner (murmur2 of the key bytes), so a key
// lands in the same partition on both backends and in any Java or kafkajs producer.

const seed = 0x9747b28c;
const m = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit int. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (seed ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4]! & 0xff) |
      ((data[i4 + 1]! & 0xff) << 8) |
      ((data[i4 + 2]! & 0xff) << 16) |
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length4 * 4;
  const left = length % 4;
  if (left === 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (left >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (left >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition for a key, as Kafka computes it: toPositive(murmur2(key)) % partitions. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * Chooses partitions for a batch: explicit partition first, then the key hash; keyless records
 * of one batch stay together in one partition (sticky), rotating between batches.
 */
export class Partitioner {
  private nextKeyless = 0;

  partitionsFor(
    records: readonly { key: Uint8Array | null; partition?: number }[],
    partitions: number,
  ): number[] {
    const keyless = this.nextKeyless++ % partitions;
    return records.map((record) => {
      if (record.partition !== undefined) {
        if (
          !Number.isInteger(record.partition) ||
          record.partition < 0 ||
          record.partition >= partitions
        ) {
          throw new RangeError(
            `partition ${record.partition} does not exist (the topic has ${partitions})`,
          );
        }
        return record.partition;
      }
      // One partition: every key lands there, so the hash is skipped.
      return record.key === null || partitions === 1
        ? keyless
        : partitionForKey(record.key, partitions);
    });
  }
}
