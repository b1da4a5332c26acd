// errors.tolerance in one place: a record-level failure either fails the task (none) or is
// counted, optionally logged, and — for sinks with a dead-letter topic — dead-lettered (all).
// Errors are thrown once, with their cause, never logged and rethrown.

import type { Logger } from '../api/logger.ts';
import { KafkiError } from '../api/errors.ts';
import type { StoredRecord } from '../log/log.ts';
import type { TaskMetrics } from '../metrics/worker-metrics.ts';
import type { DeadLetterQueue } from './dead-letter-queue.ts';

/** Kafka Connect's stage names (they appear in the __connect.errors.stage header). */
export type ErrorStage =
  | 'KEY_CONVERTER'
  | 'VALUE_CONVERTER'
  | 'HEADER_CONVERTER'
  | 'TRANSFORMATION'
  | 'TASK_POLL'
  | 'TASK_PUT'
  | 'KAFKA_PRODUCE'
  | 'KAFKA_CONSUME';

export class ToleranceExceededError extends KafkiError {
  constructor(
    readonly stage: ErrorStage,
    cause: unknown,
  ) {
    super(
      'TOLERANCE_EXCEEDED',
      `Tolerance exceeded in error handler (stage ${stage}): ${cause instanceof Error ? cause.message : String(cause)}`,
      { retriable: false, cause },
    );
  }
}

export interface RecordFailure {
  stage: ErrorStage;
  className: string;
  error: Error;
  /** Sinks: the record as read from the log. Sources: undefined (nothing to dead-letter). */
  original?: StoredRecord;
  /** Where the record was, for the log line (never its content). */
  where: string;
}

export class ErrorHandler {
  constructor(
    private readonly options: {
      tolerance: 'none' | 'all';
      logEnable: boolean;
      logger: Logger;
      metrics: TaskMetrics;
      deadLetterQueue?: DeadLetterQueue;
    },
  ) {}

  get tolerant(): boolean {
    return this.options.tolerance === 'all';
  }

  /**
   * Apply the tolerance to a batch of failures. With `none` this throws ToleranceExceededError for
   * the first one. With `all` it resolves once the dead letters are durable, so the positions of
   * the failed records are committed only after their dead-letter copies are safe.
   */
  async handle(failures: readonly RecordFailure[]): Promise<void> {
    if (failures.length === 0) return;
    this.options.metrics.errors(failures.length);
    if (!this.tolerant) {
      const first = failures[0]!;
      throw new ToleranceExceededError(first.stage, first.error);
    }
    this.options.metrics.skipped(failures.length);
    if (this.options.logEnable) {
      for (const failure of failures) {
        this.options.logger.warn(
          {
            stage: failure.stage,
            class: failure.className,
            record: failure.where,
            err: failure.error,
          },
          'tolerated a record error (errors.tolerance=all)',
        );
      }
    }
    const queue = this.options.deadLetterQueue;
    const letters = failures.flatMap((failure) =>
      failure.original
        ? [
            {
              original: failure.original,
              stage: failure.stage,
              className: failure.className,
              error: failure.error,
            },
          ]
        : [],
    );
    if (queue && letters.length > 0) {
      await queue.send(letters);
      this.options.metrics.deadLettered(letters.length);
    }
  }
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
