// The contract every single message transform (SMT) and predicate implements. A plugin reads its
// options once, reporting every problem per key, and hands back a plain synchronous function; the
// chain calls those functions per record. Functions never mutate their input: they return the
// same record (unchanged), a new record (shallow copy with the changed parts), or null (drop).

import type { ConnectRecord } from '../api/record.ts';
import type { OptionReader } from './options.ts';

/** One configured transform: the changed record, the same record, or null to drop it. */
export type RecordTransform = <R extends ConnectRecord>(record: R) => R | null;

/** One configured predicate: whether a transform applies to this record. */
export type RecordPredicate = (record: ConnectRecord) => boolean;

interface PluginBase {
  /** The canonical class name (Kafka Connect's, Debezium's, or io.kafki.*). */
  readonly className: string;
  /** Other names accepted in `.type`: short aliases and older class names. */
  readonly aliases: readonly string[];
  readonly version: string;
  /** One line for the README and for error messages. */
  readonly summary: string;
}

export interface TransformPlugin extends PluginBase {
  readonly kind: 'transformation';
  /**
   * Read the options and build the transform. Problems are reported through `options` (every
   * problem, not just the first); the returned function is only used when there were none.
   */
  create(options: OptionReader): RecordTransform;
}

export interface PredicatePlugin extends PluginBase {
  readonly kind: 'predicate';
  create(options: OptionReader): RecordPredicate;
}

export type SmtPlugin = TransformPlugin | PredicatePlugin;

/** Kafka Connect's version string for plugins we ship; one for the whole module. */
export const TRANSFORMS_VERSION = '1.0.0';
