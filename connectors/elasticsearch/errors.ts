// Typed errors of the Elasticsearch sink and the classification of Elasticsearch's answers.
// Retry, tolerance and dead-lettering decide on these codes and on `retriable`, never on text.
//
// Request level: connection errors, timeouts, 429 and 5xx may succeed later (retried with
// backoff, up to max.retries; 429 for as long as it lasts); anything else (401, 403, 400 on the request itself…) will not.
// Item level (one document of a bulk request): 2xx applied; 409 on a versioned write means
// Elasticsearch already holds this version or a newer one (a replay or reordering), so it counts
// as applied; 404 on a delete means there was nothing to delete; 429/5xx are retried; 400 and the
// parsing/mapping exceptions mean Elasticsearch refuses this document (malformed, handled per
// behavior.on.malformed.documents); anything else fails the task.

import { KafkiError } from '../../runtime/api/index.ts';

export const ErrorCodes = {
  /** Elasticsearch unreachable or overloaded after max.retries retries. */
  writeFailed: 'ELASTICSEARCH_WRITE_FAILED',
  /** Elasticsearch refused a document (mapping conflict, unparsable field…). */
  documentRejected: 'ELASTICSEARCH_DOCUMENT_REJECTED',
  /** A record the sink cannot turn into a write (null key, null value with fail, bad index name). */
  invalidRecord: 'ELASTICSEARCH_INVALID_RECORD',
  /** The buffer stayed full for flush.timeout.ms (put) or a flush did not finish in time (stop). */
  flushTimeout: 'ELASTICSEARCH_FLUSH_TIMEOUT',
  /** The connector configuration cannot work (e.g. an unusable topic→index mapping). */
  invalidConfig: 'ELASTICSEARCH_INVALID_CONFIG',
  /** Index creation was refused. */
  indexCreation: 'ELASTICSEARCH_INDEX_CREATION',
} as const;

/** Elasticsearch's error object, as in a bulk item or an error response body. */
export interface EsErrorCause {
  type?: string;
  reason?: string | null;
  caused_by?: EsErrorCause;
  [detail: string]: unknown;
}

export type ItemOutcome = 'applied' | 'retry' | 'malformed' | 'fatal';

const malformedTypes = new Set([
  'mapper_parsing_exception',
  'document_parsing_exception',
  'illegal_argument_exception',
  'action_request_validation_exception',
  'strict_dynamic_mapping_exception',
  'json_parse_exception',
  'x_content_parse_exception',
  'parsing_exception',
  'mapper_exception',
  'invalid_type_name_exception',
]);

/** What one bulk item's answer means for the record behind it. */
export function classifyItem(
  op: 'index' | 'delete' | 'update',
  status: number,
  error: EsErrorCause | undefined,
  versioned: boolean,
): ItemOutcome {
  if (status >= 200 && status < 300) return 'applied';
  // A delete of a missing document (or one already deleted at this version) changes nothing.
  if (op === 'delete' && status === 404 && error === undefined) return 'applied';
  if (status === 409 && error?.type === 'version_conflict_engine_exception') {
    // External versioning: Elasticsearch holds this version or a newer one already.
    return versioned ? 'applied' : 'retry';
  }
  if (status === 429 || status >= 500) return 'retry';
  if (status === 400 || (error?.type !== undefined && malformedTypes.has(error.type))) {
    return 'malformed';
  }
  return 'fatal';
}

/** One line with the type and reason of an Elasticsearch error and its causes. */
export function describeCause(cause: EsErrorCause | undefined): string {
  if (!cause) return 'no reason given';
  const parts: string[] = [];
  let current: EsErrorCause | undefined = cause;
  for (let depth = 0; current && depth < 4; depth++) {
    parts.push(`${current.type ?? 'error'}: ${current.reason ?? ''}`.trim());
    current = current.caused_by;
  }
  return parts.join(' (caused by ') + ')'.repeat(parts.length - 1);
}

/** A document Elasticsearch refused; reported to the dead-letter topic or failing the task. */
export class DocumentRejectedError extends KafkiError {
  readonly index: string;
  readonly documentId: string;
  readonly status: number;
  readonly esError: EsErrorCause | undefined;

  constructor(index: string, id: string, status: number, error: EsErrorCause | undefined) {
    super(
      ErrorCodes.documentRejected,
      `Elasticsearch rejected document '${id}' of index '${index}' (status ${status}): ${describeCause(error)}`,
    );
    this.index = index;
    this.documentId = id;
    this.status = status;
    this.esError = error;
  }
}

/** A record that cannot become a write; behaves like a converter error (dead letter or fail). */
export class InvalidRecordError extends KafkiError {
  constructor(message: string) {
    super(ErrorCodes.invalidRecord, message);
  }
}
