// Errors only the local backend raises. Shared log errors (topic not found, record too large,
// offset out of range, storage failure) live in ../errors.ts and are used as they are.

import { InvalidInputError, KafkiError } from '../../api/errors.ts';

/** Another process (or another LocalLog in this one) has the data directory open. */
export class DataDirLockedError extends KafkiError {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      'LOG_LOCAL_DIR_LOCKED',
      `the local log directory ${dataDir} is in use by process ${holderPid}; stop it first ` +
        `(if pid ${holderPid} is not a Kafki process, remove ${dataDir}/.lock)`,
      { retriable: false },
    );
  }
}

export class InvalidTopicError extends InvalidInputError {
  constructor(
    readonly topic: string,
    reason: string,
  ) {
    super('LOG_INVALID_TOPIC', `topic "${topic}": ${reason}`);
  }
}

export class PartitionNotFoundError extends InvalidInputError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly partitions: number,
  ) {
    super(
      'LOG_PARTITION_NOT_FOUND',
      `topic "${topic}" has no partition ${partition} (it has ${partitions})`,
    );
  }
}

/** A record the topic can never take as it is (e.g. a null key on a compacted topic). */
export class InvalidRecordError extends InvalidInputError {
  constructor(
    readonly topic: string,
    reason: string,
  ) {
    super('LOG_INVALID_RECORD', `topic "${topic}": ${reason}`);
  }
}

export class LocalLogOptionsError extends InvalidInputError {
  constructor(reason: string) {
    super('LOG_LOCAL_OPTIONS', `local log options: ${reason}`);
  }
}

export class LogClosedError extends KafkiError {
  constructor(readonly dataDir: string) {
    super('LOG_CLOSED', `the local log at ${dataDir} is closed`, { retriable: false });
  }
}
