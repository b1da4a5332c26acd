// When appends become durable: schedules fsyncs under the FsyncPolicy and resolves each waiter
// once a round (a target's sync()) that started after its write completed has finished. One
// round per target (a partition) runs at a time; waiters that arrive during a round are covered
// by a later one, so concurrent appends share fsyncs (group commit) and are acknowledged in
// write order.
//
// What durability rests on (Linux semantics; POSIX calls it synchronized I/O data integrity
// completion):
// - fdatasync(fd) returns once the file's written data and the metadata needed to read it back
//   are on stable storage, the file size included when appends grew the file (ext4 and XFS
//   commit the new i_size in their journal; only timestamps may be left behind). So appending
//   to a file that is not preallocated is safe with fdatasync: no fsync needed.
// - A write through a descriptor opened with O_DSYNC returns with that same completion for the
//   bytes it wrote (the kernel syncs the written range and the metadata). It is used only when
//   every earlier write of the partition is durable already (see writeThroughNow), so the durable
//   prefix of the log then ends where that write ends.
// - A new segment file is created and its directory fsynced before anything is written into it.
// - A failed write or fsync is not retried (the kernel may have dropped the dirty pages): the
//   partition stops taking appends, and recovery on the next open cuts the tail back to the
//   last batch whose CRC matches, fdatasyncing what it keeps before anyone can read it.
//
// When the next round starts:
// - 'always': as soon as there is a waiter and no round is running (a write that lands during a
//   round starts the next round the moment the running one finishes).
// - { intervalMs }: when at least SYNC_NOW_BYTES are waiting, like 'always'; otherwise once the
//   oldest waiter has waited intervalMs, so a trickle of small appends shares one fsync per
//   interval. A fixed tick would also hold back bulk writes: an append could not resolve before
//   the next tick however much data was waiting, so a producer with N appends in flight could
//   never exceed N appends per interval, with the disk idle in between. Waiting only pays while
//   the fsync's fixed cost (a journal commit and a device cache flush, ~1 ms) is large next to
//   writing out what is pending; past about a megabyte it no longer is, and waiting longer
//   would only add latency.

import { WRITE_THROUGH_FLAG } from './fs-util.ts';
import type { FsyncPolicy } from './options.ts';

/** Something whose completed writes one sync() makes durable (a partition's dirty segments). */
export interface Syncable {
  sync(): Promise<void>;
}

/** Under an interval policy, this many waiting bytes start an fsync without waiting for the interval. */
export const SYNC_NOW_BYTES = 1024 * 1024;

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface TargetState {
  syncing: boolean;
  /** A caller wants the next round now, not after the interval (close). */
  urgent: boolean;
  waiting: Waiter[];
  /** Bytes written by the waiters not yet covered by a round. */
  waitingBytes: number;
  /** When the oldest of them started waiting (performance.now()). */
  waitingSince: number;
  timer: NodeJS.Timeout | undefined;
}

export class DurabilityScheduler {
  private readonly states = new Map<Syncable, TargetState>();
  private closed = false;
  private readonly expedited = new WeakSet<Syncable>();
  /**
   * Whether writes may go through an O_DSYNC descriptor on this platform (see writeThroughNow):
   * such a write returns durable, as `dd oflag=dsync` writes, in one syscall and one trip
   * through the thread pool, where write() + fdatasync() take two.
   */
  readonly writeThrough: boolean = WRITE_THROUGH_FLAG !== undefined;

  constructor(private readonly policy: FsyncPolicy) {}

  /**
   * Whether a write of `bytes` about to be issued for target should go through O_DSYNC: only
   * when target is idle (no round running or waiting, so everything it wrote before is durable
   * and the durable prefix will end where this write ends), and only when the policy would
   * flush this write at once anyway — always under 'always', from SYNC_NOW_BYTES under an
   * interval. A producer with one append in flight thus pays one syscall per append. With
   * several in flight, writes land while a round runs; they are plain writes that the next round
   * fsyncs together (their copy into the page cache overlapping the running fsync).
   */
  writeThroughNow(target: Syncable, bytes: number): boolean {
    return (
      this.writeThrough &&
      this.isIdle(target) &&
      (this.policy === 'always' || bytes >= SYNC_NOW_BYTES)
    );
  }

  /**
   * Resolves once everything target has written so far is durable. bytes: how much the write
   * just completed added (an interval policy flushes early once enough is waiting).
   */
  whenDurable(target: Syncable, bytes = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      const state = this.stateOf(target);
      if (state.waiting.length === 0) state.waitingSince = performance.now();
      state.waiting.push({ resolve, reject });
      state.waitingBytes += bytes;
      if (!state.syncing) this.schedule(target, state);
    });
  }

  /** No round is running or waiting for target: everything it wrote so far is durable. */
  isIdle(target: Syncable): boolean {
    return !this.states.has(target);
  }

  /**
   * From now on target's writes are flushed as soon as possible whatever the policy (it is
   * closing: its pending appends should not wait out an interval).
   */
  expedite(target: Syncable): void {
    this.expedited.add(target);
    const state = this.states.get(target);
    if (state !== undefined && !state.syncing && state.waiting.length > 0) {
      this.round(target, state);
    }
  }

  /** Fsyncs target as soon as possible whatever the policy (used on close). */
  syncNow(target: Syncable): Promise<void> {
    const state = this.stateOf(target);
    state.urgent = true;
    const done = new Promise<void>((resolve, reject) => {
      if (state.waiting.length === 0) state.waitingSince = performance.now();
      state.waiting.push({ resolve, reject });
    });
    if (!state.syncing) this.round(target, state);
    return done;
  }

  /** Stops the interval timers (the log is closing; its partitions flushed with syncNow). */
  close(): void {
    this.closed = true;
    for (const state of this.states.values()) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
  }

  private stateOf(target: Syncable): TargetState {
    let state = this.states.get(target);
    if (state === undefined) {
      state = {
        syncing: false,
        urgent: false,
        waiting: [],
        waitingBytes: 0,
        waitingSince: 0,
        timer: undefined,
      };
      this.states.set(target, state);
    }
    return state;
  }

  /** With waiters and no round running: starts a round now or arms the interval timer. */
  private schedule(target: Syncable, state: TargetState): void {
    if (
      this.policy === 'always' ||
      state.urgent ||
      state.waitingBytes >= SYNC_NOW_BYTES ||
      this.expedited.has(target)
    ) {
      this.round(target, state);
      return;
    }
    const due = state.waitingSince + this.policy.intervalMs - performance.now();
    if (due <= 0 || this.closed) {
      this.round(target, state);
    } else if (state.timer === undefined) {
      state.timer = setTimeout(() => {
        state.timer = undefined;
        if (!state.syncing && state.waiting.length > 0) this.round(target, state);
      }, Math.ceil(due));
    }
  }

  private round(target: Syncable, state: TargetState): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    const waiters = state.waiting;
    state.waiting = [];
    state.waitingBytes = 0;
    state.syncing = true;
    state.urgent = false;
    target.sync().then(
      () => {
        for (const waiter of waiters) waiter.resolve();
        this.afterRound(target, state);
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
        this.afterRound(target, state);
      },
    );
  }

  private afterRound(target: Syncable, state: TargetState): void {
    state.syncing = false;
    if (state.waiting.length === 0) {
      this.states.delete(target);
    } else {
      this.schedule(target, state);
    }
  }
}
