// Which segments retention removes (delete-policy topics). Pure, so the policy is tested on
// numbers: whole sealed segments only, oldest first, like Kafka.

export interface RetentionCandidate {
  size: number;
  /** Largest record timestamp in the segment. */
  maxTimestamp: number;
}

export interface RetentionSettings {
  retentionBytes: number;
  retentionMs: number;
}

/**
 * How many of the oldest sealed segments to delete. totalBytes is the whole partition (the
 * active segment included), as Kafka counts it: a segment goes when the partition would still
 * hold at least retentionBytes without it, or when its newest record is older than retentionMs.
 */
export function segmentsToDelete(
  sealed: readonly RetentionCandidate[],
  totalBytes: number,
  settings: RetentionSettings,
  now: number,
): number {
  let count = 0;
  let excess = settings.retentionBytes >= 0 ? totalBytes - settings.retentionBytes : -Infinity;
  for (const segment of sealed) {
    const overSize = excess - segment.size >= 0;
    const expired = settings.retentionMs >= 0 && now - segment.maxTimestamp > settings.retentionMs;
    if (!overSize && !expired) break;
    excess -= segment.size;
    count++;
  }
  return count;
}
