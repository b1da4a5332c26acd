// Errors of the transform module. Config problems carry every per-key error so the caller can
// report them all at once; data problems are per record and never retriable (the same record
// fails the same way), so errors.tolerance and the dead-letter queue decide what happens.

import type { FieldError } from '../api/config.ts';
import { InvalidInputError } from '../api/errors.ts';

export class TransformConfigError extends InvalidInputError {
  readonly errors: readonly FieldError[];

  constructor(errors: readonly FieldError[]) {
    super(
      'TRANSFORM_CONFIG_INVALID',
      `Transform configuration is invalid and contains the following ${errors.length} error(s):\n` +
        errors.map((error) => `${error.field}: ${error.message}`).join('\n'),
    );
    this.errors = errors;
  }
}

/** Kafka Connect's DataException: a record the transform cannot handle. */
export class TransformDataError extends InvalidInputError {
  constructor(message: string, cause?: unknown) {
    super('TRANSFORM_DATA', message, cause);
  }
}
