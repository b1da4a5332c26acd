import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Logger } from '../../../runtime/api/logger.ts';
import type { KafkiLog, ReadOptions, StoredRecord } from '../../../runtime/log/log.ts';
import { positionKey, readBack } from '../../../runtime/worker/errant-originals.ts';

const noop = () => {};
const logger: Logger = { error: noop, warn: noop, info: noop, debug: noop, child: () => logger };

/**
 * A log of `size` records per partition (offsets below `retainedFrom` deleted) that answers at
 * most `piece` records per read, as a log with byte limits does; it counts its reads.
 */
function fakeLog(size: number, retainedFrom: number, piece: number) {
  const reads: string[] = [];
  const log: Pick<KafkiLog, 'read'> = {
    async read(topic: string, partition: number, offset: number, options?: ReadOptions) {
      reads.push(`${topic}/${partition}@${offset}+${options?.maxRecords}`);
      if (topic === 'broken') throw new Error('disk gone');
      const out: StoredRecord[] = [];
      const limit = Math.min(options?.maxRecords ?? piece, piece);
      for (let at = Math.max(offset, retainedFrom); at < size && out.length < limit; at++) {
        out.push({
          topic,
          partition,
          offset: at,
          key: null,
          value: Buffer.from(`${topic}/${partition}@${at}`),
          headers: {},
          timestamp: 0,
        });
      }
      return out;
    },
  };
  return { log, reads };
}

describe('reading errant originals back', () => {
  it('reads nearby offsets of a partition in one span, far ones apart, and follows pieces', async () => {
    const { log, reads } = fakeLog(10_000, 0, 400);
    const positions = [
      ...[5, 1, 700, 350].map((offset) => ({ topic: 't', partition: 0, offset })),
      { topic: 't', partition: 0, offset: 5000 },
      { topic: 't', partition: 1, offset: 5 },
      { topic: 'u', partition: 0, offset: 5 },
    ];
    const found = await readBack(log, positions, logger);
    assert.deepEqual(
      [...found.keys()].sort(),
      positions.map(positionKey).sort(),
      'every wanted record, and only those',
    );
    for (const position of positions) {
      assert.equal(
        found.get(positionKey(position))!.value!.toString(),
        `${position.topic}/${position.partition}@${position.offset}`,
      );
    }
    // t/0: 1..700 is one span (answered in two pieces of ≤400), 5000 a span of its own.
    assert.deepEqual(reads, ['t/0@1+700', 't/0@401+300', 't/0@5000+1', 't/1@5+1', 'u/0@5+1']);
  });

  it('leaves out what the log no longer has or cannot read', async () => {
    const { log } = fakeLog(100, 50, 1000);
    const found = await readBack(
      log,
      [
        { topic: 't', partition: 0, offset: 10 },
        { topic: 't', partition: 0, offset: 60 },
        { topic: 't', partition: 0, offset: 200 },
        { topic: 'broken', partition: 0, offset: 1 },
      ],
      logger,
    );
    assert.deepEqual([...found.keys()], [positionKey({ topic: 't', partition: 0, offset: 60 })]);
  });
});
