// TopicSpec ↔ Kafka topic configs (pure).

import { InvalidInputError } from '../../api/errors.ts';
import type { CleanupPolicy, TopicSpec } from '../log.ts';

export interface ConfigEntry {
  name: string;
  value: string;
}

function invalid(spec: TopicSpec, what: string): never {
  throw new InvalidInputError('LOG_INVALID_TOPIC_SPEC', `topic "${spec.name}": ${what}`);
}

function integer(spec: TopicSpec, field: string, value: number, min: number): string {
  if (!Number.isSafeInteger(value) || value < min)
    invalid(spec, `${field} must be an integer >= ${min}, got ${value}`);
  return String(value);
}

/** Checks what Kafka would otherwise reject with a less precise message. */
export function validateTopicSpec(spec: TopicSpec): void {
  if (typeof spec.name !== 'string' || spec.name === '') invalid(spec, 'the name is empty');
  if (!Number.isSafeInteger(spec.partitions) || spec.partitions < 1) {
    invalid(spec, `partitions must be a positive integer, got ${spec.partitions}`);
  }
  if (spec.cleanupPolicy !== 'delete' && spec.cleanupPolicy !== 'compact') {
    invalid(spec, `cleanupPolicy must be 'delete' or 'compact', got ${String(spec.cleanupPolicy)}`);
  }
  if (
    spec.replicationFactor !== undefined &&
    (!Number.isSafeInteger(spec.replicationFactor) || spec.replicationFactor < 1)
  ) {
    invalid(spec, `replicationFactor must be a positive integer, got ${spec.replicationFactor}`);
  }
}

/** The topic configs a TopicSpec sets; absent fields keep the broker's defaults. */
export function topicConfigEntries(spec: TopicSpec): ConfigEntry[] {
  const entries: ConfigEntry[] = [{ name: 'cleanup.policy', value: spec.cleanupPolicy }];
  const add = (name: string, value: string) => entries.push({ name, value });
  if (spec.retentionMs !== undefined)
    add('retention.ms', integer(spec, 'retentionMs', spec.retentionMs, -1));
  if (spec.retentionBytes !== undefined) {
    add('retention.bytes', integer(spec, 'retentionBytes', spec.retentionBytes, -1));
  }
  if (spec.deleteRetentionMs !== undefined) {
    add('delete.retention.ms', integer(spec, 'deleteRetentionMs', spec.deleteRetentionMs, 0));
  }
  if (spec.segmentBytes !== undefined)
    add('segment.bytes', integer(spec, 'segmentBytes', spec.segmentBytes, 1));
  if (spec.segmentMs !== undefined)
    add('segment.ms', integer(spec, 'segmentMs', spec.segmentMs, 1));
  if (spec.minCleanableDirtyRatio !== undefined) {
    const ratio = spec.minCleanableDirtyRatio;
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
      invalid(spec, `minCleanableDirtyRatio must be within [0, 1], got ${ratio}`);
    }
    add('min.cleanable.dirty.ratio', String(ratio));
  }
  return entries;
}

/** Kafka's cleanup.policy ("delete", "compact" or "compact,delete"): compaction wins. */
export function cleanupPolicyOf(value: string | undefined): CleanupPolicy {
  const policies = (value ?? 'delete').split(',').map((policy) => policy.trim());
  return policies.includes('compact') ? 'compact' : 'delete';
}
