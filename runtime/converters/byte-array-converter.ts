// Kafka Connect's ByteArrayConverter: bytes pass through untouched.

import { InvalidInputError } from '../api/errors.ts';
import type { ConnectSchema, RecordData } from '../api/record.ts';
import type { Converter, ConverterPlugin, SchemaAndValue } from './converter.ts';

const optionalBytes: ConnectSchema = { type: 'bytes', optional: true };

export class ByteArrayConverter implements Converter {
  fromConnect(topic: string, _schema: ConnectSchema | undefined, value: RecordData): Buffer | null {
    if (value === null) return null;
    if (Buffer.isBuffer(value)) return value;
    throw new InvalidInputError(
      'CONVERTER_TYPE',
      `ByteArrayConverter is not compatible with objects of type ${typeof value} (topic ${topic})`,
    );
  }

  toConnect(_topic: string, data: Buffer | null): SchemaAndValue {
    return { schema: optionalBytes, value: data };
  }
}

export const byteArrayConverterPlugin: ConverterPlugin = {
  className: 'org.apache.kafka.connect.converters.ByteArrayConverter',
  aliases: ['ByteArrayConverter', 'bytes'],
  version: '1.0.0',
  create: () => new ByteArrayConverter(),
};
