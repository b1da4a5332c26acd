// A source task reads from the outside world and hands records to the runtime in batches.
//
// Delivery contract (at-least-once): the runtime appends each polled batch to the Kafki log and,
// only once those records are durable there and their offsets are stored, calls commit() with the
// latest durable offset per source partition. A task acknowledges its upstream (e.g. the
// PostgreSQL slot) only from commit() — never on receipt.

import type { ParsedConfig, RawConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { SourceOffset, SourcePartition, SourceRecord } from './record.ts';

export interface SourceTaskContext {
  readonly connectorName: string;
  readonly taskId: number;
  readonly logger: Logger;
  /** The last committed offset of a source partition (null: never committed). */
  offset(partition: SourcePartition): Promise<SourceOffset | null>;
  /** Progress and facts shown in the task's status and metrics (e.g. snapshot rows done/total). */
  reportProgress(progress: Record<string, string | number | boolean>): void;
  /** The task's own typed config (task config parsed with the plugin schema). */
  readonly config: ParsedConfig;
}

export interface DurableOffset {
  sourcePartition: SourcePartition;
  sourceOffset: SourceOffset;
}

/**
 * A signal for a running source task (our REST extension `POST /connectors/{name}/signals`),
 * Debezium's signal shape: `type` (e.g. "execute-snapshot"), `data` (the signal's JSON object),
 * `id` (set by the runtime when the request has none).
 */
export interface TaskSignal {
  id?: string;
  type: string;
  data?: { [key: string]: unknown } | null;
}

export interface SourceTask {
  start(config: RawConfig, context: SourceTaskContext): Promise<void>;
  /**
   * The next batch; [] when nothing arrived. Must return within about a second even when idle
   * (the runtime uses the gaps to commit, pause and stop), and promptly when `signal` aborts.
   */
  poll(signal: AbortSignal): Promise<SourceRecord[]>;
  /** Offsets (one per source partition, the latest) now durable in the log and offset store. */
  commit(offsets: readonly DurableOffset[]): Promise<void>;
  stop(): Promise<void>;
  /**
   * Optional: act on a signal (start an incremental snapshot…). Resolves once the signal is
   * accepted (not necessarily acted on yet); throws InvalidInputError for a signal the task
   * refuses. A task without this method takes no signals.
   */
  signal?(signal: TaskSignal): Promise<void>;
}
