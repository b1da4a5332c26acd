// Errors of the Kafki log, each naming what it is about (topic, broker, size limit).

import { InvalidInputError, KafkiError, RetriableError } from '../api/errors.ts';

export class TopicNotFoundError extends InvalidInputError {
  constructor(readonly topic: string) {
    super('LOG_TOPIC_NOT_FOUND', `topic "${topic}" does not exist; create it first`);
  }
}

export class RecordTooLargeError extends InvalidInputError {
  constructor(
    readonly topic: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      'LOG_RECORD_TOO_LARGE',
      `a record of ${size} bytes for topic "${topic}" exceeds the limit of ${limit} bytes`,
    );
  }
}

export class OffsetOutOfRangeError extends InvalidInputError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly range: { start: number; end: number },
  ) {
    super(
      'LOG_OFFSET_OUT_OF_RANGE',
      `offset ${offset} of ${topic}/${partition} is outside the stored range [${range.start}, ${range.end}]`,
    );
  }
}

export class PartitionNotAssignedError extends KafkiError {
  constructor(
    readonly groupId: string,
    readonly topic: string,
    readonly partition: number,
  ) {
    super(
      'LOG_PARTITION_NOT_ASSIGNED',
      `group "${groupId}": ${topic}/${partition} is not assigned to this member (it was rebalanced away)`,
      { retriable: false },
    );
  }
}

export class BrokerUnreachableError extends RetriableError {
  constructor(
    readonly brokers: readonly string[],
    cause?: unknown,
  ) {
    super('LOG_BROKER_UNREACHABLE', `cannot reach Kafka at ${brokers.join(', ')}`, cause);
  }
}

export class LogStorageError extends KafkiError {
  constructor(message: string, cause?: unknown) {
    super('LOG_STORAGE', message, { retriable: false, cause });
  }
}
