// The dead-letter topic of a sink connector: records that failed conversion, transformation or
// delivery, with their original key, value and headers, plus Kafka Connect's `__connect.errors.*`
// context headers saying where the record came from and why it failed.

import type { KafkiLog, LogHeaders, LogRecord, StoredRecord } from '../log/log.ts';
import type { ErrorStage } from './errors.ts';

export const dlqHeaders = {
  topic: '__connect.errors.topic',
  partition: '__connect.errors.partition',
  offset: '__connect.errors.offset',
  connectorName: '__connect.errors.connector.name',
  taskId: '__connect.errors.task.id',
  stage: '__connect.errors.stage',
  className: '__connect.errors.class.name',
  exceptionClassName: '__connect.errors.exception.class.name',
  exceptionMessage: '__connect.errors.exception.message',
  exceptionStacktrace: '__connect.errors.exception.stacktrace',
} as const;

export interface DeadLetter {
  original: StoredRecord;
  stage: ErrorStage;
  /** The converter, transform or task class that failed. */
  className: string;
  error: Error;
}

export interface DeadLetterQueueOptions {
  topic: string;
  contextHeaders: boolean;
  connectorName: string;
  taskId: number;
  partitions: number;
  replicationFactor: number;
}

export class DeadLetterQueue {
  private created = false;

  constructor(
    private readonly log: KafkiLog,
    private readonly options: DeadLetterQueueOptions,
  ) {}

  get topic(): string {
    return this.options.topic;
  }

  /** Resolves once every record is durable in the dead-letter topic. */
  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    if (!this.created) {
      await this.log.createTopic({
        name: this.options.topic,
        partitions: this.options.partitions,
        cleanupPolicy: 'delete',
        replicationFactor: this.options.replicationFactor,
      });
      this.created = true;
    }
    await this.log.append(
      this.options.topic,
      letters.map((letter) => this.record(letter)),
    );
  }

  private record(letter: DeadLetter): LogRecord {
    const headers: LogHeaders = { ...letter.original.headers };
    if (this.options.contextHeaders) {
      const text = (value: string | number) => Buffer.from(String(value));
      headers[dlqHeaders.topic] = text(letter.original.topic);
      headers[dlqHeaders.partition] = text(letter.original.partition);
      headers[dlqHeaders.offset] = text(letter.original.offset);
      headers[dlqHeaders.connectorName] = text(this.options.connectorName);
      headers[dlqHeaders.taskId] = text(this.options.taskId);
      headers[dlqHeaders.stage] = text(letter.stage);
      headers[dlqHeaders.className] = text(letter.className);
      headers[dlqHeaders.exceptionClassName] = text(
        letter.error.name || letter.error.constructor.name,
      );
      headers[dlqHeaders.exceptionMessage] = text(letter.error.message);
      if (letter.error.stack) headers[dlqHeaders.exceptionStacktrace] = text(letter.error.stack);
    }
    return {
      key: letter.original.key,
      value: letter.original.value,
      headers,
      timestamp: letter.original.timestamp,
    };
  }
}
