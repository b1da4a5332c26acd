// Errors of the operations API; each maps to one HTTP status in the REST error mapper.

import { KafkiError } from '../api/errors.ts';
import type { ConfigInfos } from './herder.ts';

export class NotFoundError extends KafkiError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class AlreadyExistsError extends KafkiError {
  constructor(message: string) {
    super('ALREADY_EXISTS', message);
  }
}

export class BadRequestError extends KafkiError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
  }
}

/** The request cannot run now (rebalance in progress, no leader known); retrying later can work. */
export class ConflictError extends KafkiError {
  constructor(message: string) {
    super('CONFLICT', message, { retriable: true });
  }
}

export class ForbiddenError extends KafkiError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

/**
 * A connector config refused by validation. A BadRequestError (400) whose message lists every
 * error, Kafka Connect's wording; `infos` holds the full per-field report.
 */
export class InvalidConfigError extends BadRequestError {
  constructor(
    message: string,
    readonly errorCount: number,
    readonly infos: ConfigInfos,
  ) {
    super(message);
  }
}
