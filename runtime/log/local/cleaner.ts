// Schedules compaction: a background timer looks at every compact-policy partition, and a roll
// (a new sealed segment) asks for its partition right away. One pass runs at a time, so the
// cleaner never takes more than one core's worth of I/O and CPU away from appends and reads.

import { compactPartition } from './compactor.ts';
import type { CompactionResult } from './compactor.ts';
import type { LocalLogLogger } from './options.ts';
import type { PartitionLog } from './partition-log.ts';

export interface CleanerSettings {
  intervalMs: number;
  indexIntervalBytes: number;
  now: () => number;
  logger: LocalLogLogger;
  /** Every partition of the log (the cleaner skips those that are not compacted). */
  partitions: () => Iterable<PartitionLog>;
  /** Observes each completed pass (tests, metrics). */
  onCompacted?: (log: PartitionLog, result: CompactionResult) => void;
}

export class LogCleaner {
  private readonly pending = new Set<PartitionLog>();
  private running: Promise<void> | undefined;
  private current: PartitionLog | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly settings: CleanerSettings) {}

  start(): void {
    this.timer = setInterval(() => {
      for (const log of this.settings.partitions()) this.trigger(log);
    }, this.settings.intervalMs);
    // Background work only: it must not keep the process alive.
    this.timer.unref();
  }

  trigger(log: PartitionLog): void {
    if (this.stopped || log.config.cleanupPolicy !== 'compact') return;
    this.pending.add(log);
    if (this.running === undefined) {
      this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
    }
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && this.pending.size > 0) {
        const log = this.pending.values().next().value!;
        this.pending.delete(log);
        this.current = log;
        try {
          const result = await compactPartition(log, {
            now: this.settings.now(),
            indexIntervalBytes: this.settings.indexIntervalBytes,
            shouldStop: () => this.stopped,
          });
          if (result !== undefined) this.settings.onCompacted?.(log, result);
        } catch (error) {
          // A partition deleted or closed mid-pass is expected; anything else is worth a warning
          // (the pass is retried at the next trigger; nothing was lost: see compactor.ts).
          if (!log.isClosed) {
            this.settings.logger.warn(
              { topic: log.topic, partition: log.partition, error: String(error) },
              'compaction pass failed',
            );
          }
        } finally {
          this.current = undefined;
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  /** Runs a pass on each of logs that needs one, and resolves when they are done. */
  async runNow(logs: Iterable<PartitionLog>): Promise<void> {
    for (const log of logs) this.trigger(log);
    while (this.running !== undefined) await this.running;
  }

  /** Forgets partitions that are going away; waits if one of them is being compacted. */
  async forget(logs: readonly PartitionLog[]): Promise<void> {
    for (const log of logs) this.pending.delete(log);
    if (this.current !== undefined && logs.includes(this.current)) await this.running;
  }

  /** Stops the timer and waits for the pass in progress (it stops at the next group). */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}
