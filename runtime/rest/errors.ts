// Errors the REST layer itself raises, before a request reaches the herder.

import { InvalidInputError, KafkiError } from '../api/errors.ts';

/** The request body is not JSON. Kafka Connect answers some of these with 500; we say 400. */
export class MalformedJsonError extends InvalidInputError {
  constructor(detail: string) {
    super('MALFORMED_JSON', `Malformed JSON in request body: ${detail}`);
  }
}

/** The body, path or query does not match the route's JSON Schema. */
export class RequestValidationError extends InvalidInputError {
  constructor(message: string) {
    super('INVALID_REQUEST', message);
  }
}

/** No valid bearer token or client certificate. */
export class UnauthorizedError extends KafkiError {
  constructor(message: string) {
    super('UNAUTHORIZED', message);
  }
}

/** An HTTP-level refusal with its own status (unsupported media type, body too large…). */
export class HttpError extends KafkiError {
  readonly status: number;

  constructor(status: number, message: string) {
    super('HTTP', message);
    this.status = status;
  }
}
