// One member of an in-process consumer group. Positions live in memory; a newly assigned
// partition starts at the group's committed offset (durable, see group-offsets.ts), else at the
// partition's start or end (startFrom), and a position that fell out of the stored range
// (retention) is reset the same way, like Kafka's auto.offset.reset.

import { InvalidInputError } from '../../api/errors.ts';
import { OffsetOutOfRangeError, PartitionNotAssignedError } from '../errors.ts';
import type {
  GroupConsumer,
  PartitionOffset,
  ReadOptions,
  RebalanceEvent,
  StoredRecord,
  TopicPartition,
} from '../log.ts';
import { partitionKey } from './assignor.ts';
import type { GroupMember } from './group-coordinator.ts';
import type { GroupOffsetStore } from './group-offsets.ts';
import type { LocalLogLogger } from './options.ts';
import type { PartitionLog } from './partition-log.ts';
import { ChangeSignal, waitForAny } from './signal.ts';

/** Kafka's max.poll.records. */
export const DEFAULT_POLL_RECORDS = 500;
export const DEFAULT_READ_BYTES = 1024 * 1024;

export interface ConsumerSettings {
  memberId: string;
  groupId: string;
  topics: readonly string[];
  startFrom: 'earliest' | 'latest';
  partition: (topic: string, partition: number) => PartitionLog | undefined;
  offsets: GroupOffsetStore;
  leave: (member: LocalGroupConsumer) => void;
  logger: LocalLogLogger;
}

interface Owned {
  key: string;
  topic: string;
  partition: number;
  position: number | undefined;
  /** Bumped by seek(): a read that started before it is discarded. */
  epoch: number;
}

export class LocalGroupConsumer implements GroupConsumer, GroupMember {
  readonly memberId: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  private readonly owned = new Map<string, Owned>();
  private readonly listeners: Array<(event: RebalanceEvent) => void> = [];
  private readonly wake = new ChangeSignal();
  private closed = false;
  private polls: Promise<unknown> = Promise.resolve();
  private rotation = 0;

  constructor(private readonly settings: ConsumerSettings) {
    this.memberId = settings.memberId;
    this.groupId = settings.groupId;
    this.topics = [...settings.topics];
  }

  assignment(): TopicPartition[] {
    return [...this.owned.values()].map(({ topic, partition }) => ({ topic, partition }));
  }

  applyAssignment(partitions: readonly TopicPartition[]): void {
    const target = new Map(partitions.map((tp) => [partitionKey(tp.topic, tp.partition), tp]));
    const revoked: TopicPartition[] = [];
    for (const [key, owned] of this.owned) {
      if (!target.has(key)) {
        this.owned.delete(key);
        revoked.push({ topic: owned.topic, partition: owned.partition });
      }
    }
    const assigned: TopicPartition[] = [];
    for (const [key, tp] of target) {
      if (this.owned.has(key)) continue;
      this.owned.set(key, {
        key,
        topic: tp.topic,
        partition: tp.partition,
        position: this.settings.offsets.committed(this.groupId, tp.topic, tp.partition),
        epoch: 0,
      });
      assigned.push({ topic: tp.topic, partition: tp.partition });
    }
    if (revoked.length === 0 && assigned.length === 0) return;
    this.wake.notify();
    for (const listener of this.listeners) this.notify(listener, { assigned, revoked });
  }

  private notify(listener: (event: RebalanceEvent) => void, event: RebalanceEvent): void {
    try {
      listener(event);
    } catch (error) {
      // The listener is the application's; its failure must not break the group's rebalance.
      this.settings.logger.warn(
        { groupId: this.groupId, error: String(error) },
        'a rebalance listener threw',
      );
    }
  }

  /**
   * Called on every assignment change. A listener added while the member already owns
   * partitions (the first assignment happens when it joins) is called at once with them as
   * `assigned`, so it never misses the initial assignment.
   */
  onRebalance(listener: (event: RebalanceEvent) => void): void {
    this.listeners.push(listener);
    if (this.owned.size > 0) this.notify(listener, { assigned: this.assignment(), revoked: [] });
  }

  seek(position: PartitionOffset): void {
    const owned = this.owned.get(partitionKey(position.topic, position.partition));
    if (owned === undefined) {
      throw new PartitionNotAssignedError(this.groupId, position.topic, position.partition);
    }
    if (!Number.isSafeInteger(position.offset) || position.offset < 0) {
      throw new InvalidInputError('LOG_INVALID_OFFSET', `cannot seek to offset ${position.offset}`);
    }
    owned.position = position.offset;
    owned.epoch++;
    this.wake.notify();
  }

  async commit(offsets: readonly PartitionOffset[]): Promise<void> {
    for (const { topic, partition, offset } of offsets) {
      if (!this.owned.has(partitionKey(topic, partition))) {
        throw new PartitionNotAssignedError(this.groupId, topic, partition);
      }
      if (!Number.isSafeInteger(offset) || offset < 0) {
        throw new InvalidInputError(
          'LOG_INVALID_OFFSET',
          `group "${this.groupId}": cannot commit offset ${offset} for ${topic}/${partition}`,
        );
      }
    }
    await this.settings.offsets.commit(this.groupId, offsets);
  }

  /** Polls run one at a time: two overlapping polls would hand out the same records twice. */
  poll(options: ReadOptions = {}): Promise<StoredRecord[]> {
    const result = this.polls.then(() => this.pollOnce(options));
    this.polls = result.catch(() => {});
    return result;
  }

  private async pollOnce(options: ReadOptions): Promise<StoredRecord[]> {
    const maxRecords = options.maxRecords ?? DEFAULT_POLL_RECORDS;
    const maxBytes = options.maxBytes ?? DEFAULT_READ_BYTES;
    const deadline = Date.now() + (options.maxWaitMs ?? 0);
    let recheck = true;
    for (;;) {
      if (this.closed) return [];
      const records = await this.fetch(maxRecords, maxBytes);
      if (records.length > 0 || this.closed) return records;
      // Data that became visible while fetching would not wake the wait below: look first
      // (once per wait, so a position that cannot advance never spins).
      if (recheck && this.hasDataBeyondPositions()) {
        recheck = false;
        continue;
      }
      recheck = true;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      const signals = [this.wake];
      for (const owned of this.owned.values()) {
        const log = this.settings.partition(owned.topic, owned.partition);
        if (log !== undefined) signals.push(log.dataSignal);
      }
      await waitForAny(signals, remaining);
    }
  }

  private hasDataBeyondPositions(): boolean {
    for (const owned of this.owned.values()) {
      const log = this.settings.partition(owned.topic, owned.partition);
      if (log === undefined || log.isClosed) continue;
      if (owned.position === undefined || owned.position < log.endOffset) return true;
    }
    return false;
  }

  /** A position inside the partition's stored range, resolving startFrom and resets. */
  private positionIn(owned: Owned, log: PartitionLog): number {
    const position = owned.position;
    if (position !== undefined && position >= log.startOffset && position <= log.endOffset) {
      return position;
    }
    owned.position = this.settings.startFrom === 'earliest' ? log.startOffset : log.endOffset;
    return owned.position;
  }

  private async fetch(maxRecords: number, maxBytes: number): Promise<StoredRecord[]> {
    const entries = [...this.owned.values()];
    const taken: Array<{ owned: Owned; epoch: number; records: StoredRecord[] }> = [];
    let count = 0;
    let bytes = 0;
    // Start at a different partition each time so one busy partition cannot starve the others.
    const start = entries.length === 0 ? 0 : this.rotation++ % entries.length;
    for (let i = 0; i < entries.length && count < maxRecords && bytes < maxBytes; i++) {
      const owned = entries[(start + i) % entries.length]!;
      const log = this.settings.partition(owned.topic, owned.partition);
      if (log === undefined || log.isClosed) continue;
      const position = this.positionIn(owned, log);
      if (position >= log.endOffset) continue;
      const epoch = owned.epoch;
      let result;
      try {
        result = await log.read(position, {
          maxRecords: maxRecords - count,
          maxBytes: Math.max(1, maxBytes - bytes),
        });
      } catch (error) {
        // Retention moved the start past the position meanwhile: the next fetch resets it.
        if (error instanceof OffsetOutOfRangeError) continue;
        throw error;
      }
      if (this.owned.get(owned.key) !== owned || owned.epoch !== epoch) continue;
      owned.position = result.nextOffset;
      taken.push({ owned, epoch, records: result.records });
      count += result.records.length;
      bytes += result.bytes;
    }
    // Only partitions still owned, and not moved by seek(), since they were read.
    const out: StoredRecord[] = [];
    for (const { owned, epoch, records } of taken) {
      if (this.owned.get(owned.key) === owned && owned.epoch === epoch) out.push(...records);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.settings.leave(this);
    this.wake.notify();
    await this.polls;
  }
}
