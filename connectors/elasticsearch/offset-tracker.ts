// Which log positions are safe to commit. Per partition, the offsets of the records handed to
// Elasticsearch are kept in arrival (= offset) order with a done flag; requests complete out of
// order (several lanes), so the safe position is the offset of the first record not yet confirmed,
// or the consumed position when every record put so far is confirmed. Records that needed no
// write (skipped tombstones, truncate events) are never tracked: nothing to wait for.
//
// Partitions and offsets are the records' original log coordinates (SinkRecord.originalTopic,
// originalPartition, originalOffset): the positions the runtime consumed and commits, whatever a
// transform did to the record's topic.
//
// A partition taken away (close) gets a fresh tracker when it comes back; completions of requests
// that were still in flight for the old one land on the old object and change nothing.

import type { TopicPartition, TopicPartitionOffset } from '../../runtime/api/index.ts';
import type { PartitionVersions } from './document-mapper.ts';

export class PartitionTracker {
  /** How this partition's records are versioned (for tombstones); same lifetime as the tracker. */
  readonly versions: PartitionVersions = { lastPosition: undefined, scale: undefined };
  private offsets: number[] = [];
  private done: boolean[] = [];
  /** Index in `offsets` of the first record not known to be done. */
  private head = 0;
  /** Slot numbers keep counting across compactions: slot - base = index. */
  private base = 0;
  private pendingCount = 0;

  /** Track a record; returns its slot, to pass to complete(). */
  add(offset: number): number {
    this.offsets.push(offset);
    this.done.push(false);
    this.pendingCount++;
    return this.base + this.offsets.length - 1;
  }

  complete(slot: number): void {
    const index = slot - this.base;
    if (index < 0 || index >= this.done.length || this.done[index]) return;
    this.done[index] = true;
    this.pendingCount--;
  }

  get pending(): number {
    return this.pendingCount;
  }

  /** The position to commit given the consumed one: never past a record not yet confirmed. */
  safeOffset(consumed: number): number {
    while (this.head < this.offsets.length && this.done[this.head]) this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.offsets.length) this.compact();
    if (this.head < this.offsets.length) return Math.min(this.offsets[this.head]!, consumed);
    return consumed;
  }

  private compact(): void {
    this.offsets = this.offsets.slice(this.head);
    this.done = this.done.slice(this.head);
    this.base += this.head;
    this.head = 0;
  }
}

const key = (tp: TopicPartition) => `${tp.partition}:${tp.topic}`;

export class OffsetTracker {
  private readonly partitions = new Map<string, PartitionTracker>();

  /** The tracker of a partition, created on first use. */
  partition(tp: TopicPartition): PartitionTracker {
    const k = key(tp);
    let tracker = this.partitions.get(k);
    if (!tracker) {
      tracker = new PartitionTracker();
      this.partitions.set(k, tracker);
    }
    return tracker;
  }

  /** Forget a partition (close): its records will be read again from the last commit. */
  close(tp: TopicPartition): PartitionTracker | undefined {
    const k = key(tp);
    const tracker = this.partitions.get(k);
    this.partitions.delete(k);
    return tracker;
  }

  /** Positions safe to commit for the consumed ones (both in original log coordinates). */
  safe(consumed: readonly TopicPartitionOffset[]): TopicPartitionOffset[] {
    return consumed.map((position) => {
      const tracker = this.partitions.get(key(position));
      if (!tracker) return { ...position };
      return { ...position, offset: tracker.safeOffset(position.offset) };
    });
  }
}
