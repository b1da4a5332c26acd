// A dead letter carries its record as stored in the log: key, value and headers byte for byte.
// A sink may report a copy of a record it was handed (it let the original go to save memory while
// its write was in flight), so the runtime reads the original back. The records of one report
// group are read back together: per partition, in spans of nearby offsets, one read per span.
// Read one by one, a bulk response's thousand rejections cost a thousand reads, each decoding
// (and checking) a whole record batch of the log for one record.

import type { Logger } from '../api/logger.ts';
import type { KafkiLog, StoredRecord } from '../log/log.ts';

export interface LogPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Offsets further apart than this are read separately rather than with the records between. */
const maxSpan = 1000;

export const positionKey = (at: LogPosition): string => `${at.partition}:${at.offset}:${at.topic}`;

/**
 * The stored records at `positions`, by positionKey. A position the log no longer has (retention)
 * or could not read is missing from the answer: the caller decides what to dead-letter instead.
 */
export async function readBack(
  log: Pick<KafkiLog, 'read'>,
  positions: readonly LogPosition[],
  logger: Logger,
): Promise<Map<string, StoredRecord>> {
  const partitions = new Map<string, { topic: string; partition: number; offsets: number[] }>();
  for (const { topic, partition, offset } of positions) {
    const key = `${partition}:${topic}`;
    let entry = partitions.get(key);
    if (entry === undefined) partitions.set(key, (entry = { topic, partition, offsets: [] }));
    entry.offsets.push(offset);
  }
  const wanted = new Set(positions.map(positionKey));
  const found = new Map<string, StoredRecord>();
  for (const { topic, partition, offsets } of partitions.values()) {
    offsets.sort((a, b) => a - b);
    for (let first = 0; first < offsets.length;) {
      let last = first;
      while (last + 1 < offsets.length && offsets[last + 1]! - offsets[first]! < maxSpan) last++;
      const to = offsets[last]!;
      try {
        // The log may answer a span in pieces (its byte limits): read on until `to`.
        for (let next = offsets[first]!; next <= to;) {
          const records = await log.read(topic, partition, next, { maxRecords: to - next + 1 });
          if (records.length === 0) break;
          for (const record of records) {
            const key = positionKey(record);
            if (wanted.has(key)) found.set(key, record);
          }
          next = Math.max(next + 1, records.at(-1)!.offset + 1);
        }
      } catch (error) {
        logger.debug(
          { err: error, records: `${topic}/${partition}@${offsets[first]}..${to}` },
          'reading errant records back from the log failed',
        );
      }
      first = last + 1;
    }
  }
  return found;
}
