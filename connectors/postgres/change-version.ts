// The source version (SOURCE_VERSION_HEADER) of PostgreSQL events: the commit LSN of the change's
// transaction × 2^10, plus the change's rank within that transaction.
//
// The commit LSN orders transactions the way PostgreSQL committed them (a change's own LSN does
// not: a transaction open across the snapshot has changes below the snapshot's LSN). The rank
// orders the changes of one transaction, so that a sink replaying a transaction after a crash
// never lets an earlier change undo a later one: when one transaction deletes key B and then
// moves key A to B, the replayed delete of B is older than the moved document, and is refused
// instead of removing it (and with it the values the source did not send again: unchanged TOAST).
//
// The rank is twice the row message's index in the transaction (every insert, update, delete and
// truncate message counts, captured or not, so a replay computes the same ranks), plus one for
// the second event of a primary-key update (delete of the old key, then create of the new one).
// It stops growing at 2^10 - 1 (from the 512th message on): later changes of a big transaction share that version and are
// ordered by the log alone (a sink applies same-version writes in order, external_gte). Snapshot
// reads carry their consistent point with rank 0.
//
// LSNs are JavaScript numbers here (exact up to 2^53), so versions stay below 2^63, the bound of
// Elasticsearch's (signed 64-bit) versions.

import { SOURCE_VERSION_HEADER } from '../../runtime/api/index.ts';
import type { RecordHeaders } from '../../runtime/api/index.ts';

export const rankBits = 10;
const rankCount = 2 ** rankBits;
/** Below this LSN, LSN × 2^10 + rank is an exact JavaScript number. */
const exactLsnLimit = 2 ** (53 - rankBits);

/** The version of the change ranked `rank` in the transaction committed at `lsn`. */
export function sourceVersion(lsn: number, rank = 0): string {
  const clamped = Math.min(rank, rankCount - 1);
  if (lsn < exactLsnLimit) return String(lsn * rankCount + clamped);
  return String(BigInt(lsn) * BigInt(rankCount) + BigInt(clamped));
}

export function versionHeaders(lsn: number, rank = 0): RecordHeaders {
  return { [SOURCE_VERSION_HEADER]: sourceVersion(lsn, rank) };
}

/** The version headers of one transaction's changes, as its row messages arrive. */
export class TransactionVersions {
  private commitLsn = 0;
  private messages = 0;
  /** The headers last asked for, and their rank: reused while the rank stays the same. */
  private cachedRank = -1;
  private cached: RecordHeaders = versionHeaders(0);

  begin(commitLsn: number): void {
    this.commitLsn = commitLsn;
    this.messages = 0;
    this.cachedRank = -1;
  }

  /** A row message (insert, update, delete, truncate) arrived: its events get the next rank. */
  message(): void {
    this.messages++;
  }

  /** The headers of the current message's event (`second`: the create of a key update). */
  headers(second = false): RecordHeaders {
    const rank = Math.min(Math.max(0, 2 * (this.messages - 1) + (second ? 1 : 0)), rankCount - 1);
    if (rank !== this.cachedRank) {
      this.cached = versionHeaders(this.commitLsn, rank);
      this.cachedRank = rank;
    }
    return this.cached;
  }
}
