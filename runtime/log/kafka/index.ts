// The kafka backend of the Kafki log.

export { KafkaLog, openKafkaLog } from './kafka-log.ts';
export type {
  KafkaCompression,
  KafkaConsumerOptions,
  KafkaLogger,
  KafkaLogLevel,
  KafkaLogOptions,
} from './options.ts';
