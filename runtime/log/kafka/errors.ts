// kafkajs errors → Kafki's typed log errors. kafkajs wraps a protocol error in retry errors
// (KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError) with the original as `cause`, so the
// Kafka error type is looked up along the cause chain.

import { InvalidInputError, KafkiError, RetriableError } from '../../api/errors.ts';
import { BrokerUnreachableError, LogStorageError, TopicNotFoundError } from '../errors.ts';

interface ErrorLike {
  name?: unknown;
  type?: unknown;
  code?: unknown;
  retriable?: unknown;
  message?: unknown;
  cause?: unknown;
}

function chain(error: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let current: unknown = error;
  while (current !== null && typeof current === 'object' && out.length < 10) {
    out.push(current as ErrorLike);
    current = (current as ErrorLike).cause;
  }
  return out;
}

/** The Kafka protocol error type (e.g. 'UNKNOWN_TOPIC_OR_PARTITION') anywhere in the cause chain. */
export function kafkaErrorType(error: unknown): string | undefined {
  for (const link of chain(error)) if (typeof link.type === 'string') return link.type;
  return undefined;
}

const connectionErrorNames = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
]);
const connectionErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
]);

/** True when the error means the brokers could not be reached (refused, timed out, closed). */
export function isConnectionFailure(error: unknown): boolean {
  return chain(error).some(
    (link) =>
      (typeof link.name === 'string' && connectionErrorNames.has(link.name)) ||
      (typeof link.code === 'string' && connectionErrorCodes.has(link.code)),
  );
}

export const rebalanceErrorTypes = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'NOT_COORDINATOR_FOR_GROUP',
]);

const invalidRequestTypes = new Set([
  'INVALID_CONFIG',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_REPLICA_ASSIGNMENT',
  'INVALID_TOPIC_EXCEPTION',
  'POLICY_VIOLATION',
  'INVALID_REQUEST',
  'INVALID_SESSION_TIMEOUT',
  'INVALID_GROUP_ID',
]);

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface ErrorContext {
  brokers: readonly string[];
  topic?: string;
  /** What we were doing, for the message: "append to topic x". */
  operation: string;
}

/** A typed Kafki error for any failure of a kafkajs call. */
export function mapKafkaError(error: unknown, context: ErrorContext): KafkiError {
  if (error instanceof KafkiError) return error;
  const type = kafkaErrorType(error);
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION' && context.topic !== undefined) {
    return new TopicNotFoundError(context.topic);
  }
  if (type !== undefined && invalidRequestTypes.has(type)) {
    return new InvalidInputError(
      'LOG_INVALID_REQUEST',
      `Kafka refused to ${context.operation}: ${message(error)} (${type})`,
      error,
    );
  }
  if (isConnectionFailure(error)) return new BrokerUnreachableError(context.brokers, error);
  const retriable = chain(error).some(
    (link) => link.retriable === true || link.name === 'KafkaJSNumberOfRetriesExceeded',
  );
  if (retriable) {
    return new RetriableError(
      'LOG_KAFKA_RETRIABLE',
      `Kafka could not ${context.operation} for now: ${message(error)}`,
      error,
    );
  }
  return new LogStorageError(`Kafka could not ${context.operation}: ${message(error)}`, error);
}
