// Offsets of the PostgreSQL source: where a restarted task resumes, and which LSN may be
// acknowledged to the replication slot.
//
// Partition: {server: <topic.prefix>}. Offset (version 1), per record:
//   lsn            WAL position of the event (change LSN; message LSN for heartbeats)
//   lsn_proc       every transaction committed before this LSN is fully emitted up to this record:
//                  the position that may be acknowledged to the slot once the record is durable
//   lsn_commit     end LSN of the last commit received before the event (Debezium's lsn_commit)
//   txId, ts_usec  the event's transaction id and commit time (µs)
//   tx_commit_lsn  LSN of the commit record of the event's transaction (its identity on replay)
//   tx_event       position among the transaction's messages that share `lsn` (a COPY batch writes
//                  many rows under one LSN); records of one message that are not its last carry
//                  the position before the message, so a replay re-emits the whole message
//   snapshot_completed  whether the initial snapshot phase finished (or was not wanted)
//   incremental    the incremental snapshot in progress (incremental-snapshot.ts), JSON text, or
//                  null
//
// Snapshot records (snapshot.ts) carry the streaming position the stream resumes from after the
// snapshot — the fields above, so a crash mid-snapshot loses nothing of what was streamed before —
// plus `snapshot: true`, `snapshot_lsn` (the snapshot's consistent point) and
// `last_snapshot_record`; the last one also says snapshot_completed: true.
//
// Resume: streaming restarts at the stored lsn_proc (the server starts at the slot's
// confirmed_flush_lsn when that is later), replays whole transactions from there, and the task
// drops what it already delivered: transactions committed before tx_commit_lsn, and inside that
// transaction the messages at or before (lsn, tx_event). Duplicates are therefore limited to the
// records that were in flight (not yet durable) at a crash.

import type { DurableOffset, SourceOffset, SourcePartition } from '../../runtime/api/index.ts';

export const offsetVersion = 1;

export interface PostgresOffset {
  offset_version: number;
  lsn: number;
  lsn_proc: number;
  lsn_commit: number | null;
  txId: number | null;
  ts_usec: number;
  tx_commit_lsn: number | null;
  tx_event: number;
  snapshot_completed: boolean;
  /** The incremental snapshot in progress (JSON text), or null. */
  incremental: string | null;
}

/** tx_event of a transaction's END record: after every change of the transaction. */
export const endOfTransaction = Number.MAX_SAFE_INTEGER;

export function sourcePartition(topicPrefix: string): SourcePartition {
  return { server: topicPrefix };
}

function numberOr(value: unknown, fallback: number | null): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return fallback;
}

/**
 * Ours say so explicitly; a Debezium-shaped offset is in a snapshot while `snapshot` is true and
 * its `last_snapshot_record` is not.
 */
function snapshotCompleted(stored: SourceOffset): boolean {
  if (typeof stored.snapshot_completed === 'boolean') return stored.snapshot_completed;
  return stored.snapshot !== true || stored.last_snapshot_record === true;
}

/** A stored offset (ours, or a Debezium-shaped one with lsn/txId/ts_usec only) → typed. */
export function parseOffset(stored: SourceOffset | null): PostgresOffset | null {
  if (stored === null) return null;
  const lsn = numberOr(stored.lsn, null);
  if (lsn === null) return null;
  // Without lsn_proc (a Debezium-shaped offset), only a commit position is safe to resume from;
  // 0 lets the server start at the slot's confirmed_flush_lsn.
  const lsnProc = numberOr(stored.lsn_proc, null) ?? numberOr(stored.lsn_commit, null) ?? 0;
  return {
    offset_version: numberOr(stored.offset_version, 0) ?? 0,
    lsn,
    lsn_proc: lsnProc,
    lsn_commit: numberOr(stored.lsn_commit, null),
    txId: numberOr(stored.txId, null),
    ts_usec: numberOr(stored.ts_usec, 0) ?? 0,
    tx_commit_lsn: numberOr(stored.tx_commit_lsn, null),
    tx_event: numberOr(stored.tx_event, 0) ?? 0,
    snapshot_completed: snapshotCompleted(stored),
    incremental: typeof stored.incremental === 'string' ? stored.incremental : null,
  };
}

/**
 * Decides which replayed changes were already delivered. `beginTransaction` with the commit LSN
 * from BEGIN, then `skip` per change message. Once a transaction later than the resume point
 * begins, the filter turns itself off.
 */
export class ResumeFilter {
  private mode: 'none' | 'all' | 'partial' = 'none';

  constructor(private resume: Pick<PostgresOffset, 'lsn' | 'tx_commit_lsn' | 'tx_event'> | null) {}

  get active(): boolean {
    return this.resume !== null;
  }

  beginTransaction(commitLsn: number): void {
    const resume = this.resume;
    if (resume === null || resume.tx_commit_lsn === null) {
      this.resume = null;
      this.mode = 'none';
    } else if (commitLsn < resume.tx_commit_lsn) this.mode = 'all';
    else if (commitLsn === resume.tx_commit_lsn) this.mode = 'partial';
    else {
      this.resume = null;
      this.mode = 'none';
    }
  }

  /** True when the message at (lsn, position among messages sharing lsn) was already delivered. */
  skip(lsn: number, event: number): boolean {
    if (this.mode === 'none') return false;
    if (this.mode === 'all') return true;
    const resume = this.resume!;
    return lsn < resume.lsn || (lsn === resume.lsn && event <= resume.tx_event);
  }

  /** A non-transactional position (keepalive, logical message): nothing to skip after it. */
  outsideTransaction(): void {
    this.mode = 'none';
  }
}

function sameRecord(a: SourceOffset, b: SourceOffset): boolean {
  return a.lsn === b.lsn && a.tx_commit_lsn === b.tx_commit_lsn && a.tx_event === b.tx_event;
}

/**
 * Which LSN may be acknowledged to the slot. It only ever grows, and only from durable offsets:
 * - a durable record allows its own lsn_proc;
 * - positions that follow the last emitted record (a commit's end, a keepalive's WAL end while no
 *   transaction is open) are kept as a pending mark and allowed once that record is durable —
 *   or at once when everything emitted so far is already durable.
 */
export class AckTracker {
  private allowed = 0;
  private lastEmitted: SourceOffset | null = null;
  private lastEmittedDurable = true;
  private pending = 0;
  private held = false;

  constructor(initial: number) {
    this.allowed = initial;
  }

  /** The highest LSN known safe to acknowledge. */
  get safeLsn(): number {
    return this.allowed;
  }

  /** The offset of the last record handed on (where a reconnected stream resumes). */
  get lastEmittedOffset(): SourceOffset | null {
    return this.lastEmitted;
  }

  /** A record was handed to the queue. */
  emitted(offset: SourceOffset): void {
    this.lastEmitted = offset;
    this.lastEmittedDurable = false;
    this.pending = 0;
    this.held = false;
  }

  /**
   * State that only the offsets of later records carry changed (a signal started an incremental
   * snapshot): positions past this point wait until a record emitted from now on is durable, so
   * the slot cannot move past the signal before the state it caused is stored.
   */
  hold(): void {
    this.held = true;
  }

  /** The state needs no record any more (the snapshot ended without one): stop holding. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.lastEmittedDurable && this.pending > this.allowed) this.allowed = this.pending;
  }

  /** Everything before `lsn` has been emitted (all of it before the next record). */
  mark(lsn: number): void {
    if (this.lastEmittedDurable && !this.held) {
      if (lsn > this.allowed) this.allowed = lsn;
    } else if (lsn > this.pending) this.pending = lsn;
  }

  /** The runtime reports these offsets durable. Returns the (possibly new) safe LSN. */
  durable(offsets: readonly DurableOffset[], partition: SourcePartition): number {
    for (const { sourcePartition: p, sourceOffset } of offsets) {
      if (p.server !== partition.server) continue;
      const proc = numberOr(sourceOffset.lsn_proc, null);
      if (proc !== null && proc > this.allowed) this.allowed = proc;
      if (this.lastEmitted && sameRecord(sourceOffset, this.lastEmitted)) {
        this.lastEmittedDurable = true;
        if (this.held) continue;
        if (this.pending > this.allowed) this.allowed = this.pending;
        this.pending = 0;
      }
    }
    return this.allowed;
  }
}
