// Typed errors shared by the runtime and the connectors. Every error carries a stable code and
// whether retrying can help; retry, tolerance and dead-lettering decide on `retriable`, never on
// message text. Errors are thrown once with their cause attached, not logged and rethrown.

import type { SinkRecord } from './record.ts';

export class KafkiError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(
    code: string,
    message: string,
    options: { retriable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A transient failure: the same call may succeed later (network blip, leader change, 429). */
export class RetriableError extends KafkiError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { retriable: true, cause });
  }
}

/** Input that will never be accepted as it is (bad config, oversized record, unsupported type). */
export class InvalidInputError extends KafkiError {
  constructor(code: string, message: string, cause?: unknown) {
    super(code, message, { retriable: false, cause });
  }
}

/** One record a sink refuses, and why (the reason goes to the dead-letter headers). */
export interface RecordRejection {
  /** The very object the runtime handed to put(). */
  readonly record: SinkRecord;
  readonly reason: Error;
}

/**
 * Thrown by SinkTask.put() when specific records of the batch can never be written as they are
 * (a value the sink cannot map, a document the destination refuses). This is the only put()
 * failure the runtime treats as being about records: it applies errors.tolerance to the records
 * named here (all: dead-lettered with their reasons in the headers; none: the task fails), then
 * puts the other records of the batch again, so put() must either have written nothing of the
 * batch or be safe to call again with the rest of it. Any other non-retriable error from put()
 * is about the sink, not a record, and fails the task whatever errors.tolerance says.
 *
 * A sink that learns of a rejection later (after put() returned) calls
 * SinkTaskContext.reportErrant instead.
 */
export class RecordRejectedError extends KafkiError {
  readonly rejections: readonly RecordRejection[];

  constructor(rejections: readonly RecordRejection[], message?: string) {
    const first = rejections[0];
    // Where the first record was read from (its original coordinates, whatever its topic now).
    const at = first
      ? `${first.record.originalTopic ?? first.record.topic}/${first.record.originalPartition ?? first.record.partition}@${first.record.originalOffset ?? first.record.offset}`
      : '';
    super(
      'RECORD_REJECTED',
      message ??
        (first
          ? `${rejections.length} record(s) rejected; the first (${at}): ${first.reason.message}`
          : 'no record rejected'),
      { retriable: false, ...(first ? { cause: first.reason } : {}) },
    );
    this.rejections = rejections;
  }
}

export function isRetriable(error: unknown): boolean {
  return error instanceof KafkiError ? error.retriable : false;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
