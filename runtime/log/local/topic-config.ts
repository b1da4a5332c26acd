// Topic names and settings: validation of a TopicSpec and the effective settings of a topic
// (its spec, with the backend's defaults for what it leaves out).

import type { CleanupPolicy, TopicSpec } from '../log.ts';
import { InvalidTopicError } from './errors.ts';
import type { TopicDefaults } from './options.ts';

export interface TopicConfig extends TopicDefaults {
  name: string;
  partitions: number;
  cleanupPolicy: CleanupPolicy;
}

/** Segment positions are 32-bit in the index, and a segment may overrun segmentBytes by one batch. */
const MAX_SEGMENT_BYTES = 2 ** 31 - 1;
const MAX_PARTITIONS = 10_000;

/**
 * Kafka's legal topic names. A leading dot is refused as well: the data directory keeps its own
 * files (.lock, .groups) next to the topic directories.
 */
export function validateTopicName(name: string): void {
  if (typeof name !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(name)) {
    throw new InvalidTopicError(
      String(name),
      'a name is 1 to 249 characters of ASCII letters, digits, ".", "_" and "-"',
    );
  }
  if (name.startsWith('.')) {
    throw new InvalidTopicError(name, 'a name may not start with "." (reserved by the local log)');
  }
}

function check(name: string, ok: boolean, reason: string): void {
  if (!ok) throw new InvalidTopicError(name, reason);
}

const isInt = (value: unknown): value is number => Number.isSafeInteger(value);

export function validateTopicSpec(spec: TopicSpec): void {
  validateTopicName(spec.name);
  const { name } = spec;
  check(
    name,
    isInt(spec.partitions) && spec.partitions >= 1 && spec.partitions <= MAX_PARTITIONS,
    `partitions must be an integer from 1 to ${MAX_PARTITIONS}`,
  );
  check(
    name,
    spec.cleanupPolicy === 'delete' || spec.cleanupPolicy === 'compact',
    `cleanupPolicy must be 'delete' or 'compact'`,
  );
  for (const key of ['retentionMs', 'retentionBytes'] as const) {
    const value = spec[key];
    check(name, value === undefined || (isInt(value) && value >= -1), `${key} must be -1 or ≥ 0`);
  }
  for (const key of ['deleteRetentionMs', 'segmentMs'] as const) {
    const value = spec[key];
    check(name, value === undefined || (isInt(value) && value >= 0), `${key} must be ≥ 0`);
  }
  check(
    name,
    spec.segmentBytes === undefined ||
      (isInt(spec.segmentBytes) &&
        spec.segmentBytes >= 1 &&
        spec.segmentBytes <= MAX_SEGMENT_BYTES),
    `segmentBytes must be an integer from 1 to ${MAX_SEGMENT_BYTES}`,
  );
  const ratio = spec.minCleanableDirtyRatio;
  check(
    name,
    ratio === undefined || (typeof ratio === 'number' && ratio >= 0 && ratio <= 1),
    'minCleanableDirtyRatio must be between 0 and 1',
  );
}

export function effectiveTopicConfig(spec: TopicSpec, defaults: TopicDefaults): TopicConfig {
  return {
    name: spec.name,
    partitions: spec.partitions,
    cleanupPolicy: spec.cleanupPolicy,
    segmentBytes: Math.min(spec.segmentBytes ?? defaults.segmentBytes, MAX_SEGMENT_BYTES),
    segmentMs: spec.segmentMs ?? defaults.segmentMs,
    retentionMs: spec.retentionMs ?? defaults.retentionMs,
    retentionBytes: spec.retentionBytes ?? defaults.retentionBytes,
    deleteRetentionMs: spec.deleteRetentionMs ?? defaults.deleteRetentionMs,
    minCleanableDirtyRatio: spec.minCleanableDirtyRatio ?? defaults.minCleanableDirtyRatio,
  };
}
