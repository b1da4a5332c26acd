// Kafka Connect's StringConverter: UTF-8 text. Non-string data is written as its JSON text.

import type { ConnectSchema, RecordData } from '../api/record.ts';
import type { ByteArena } from './byte-arena.ts';
import type { Converter, ConverterPlugin, SchemaAndValue } from './converter.ts';
import { stringifyJson } from './json-codec.ts';

const optionalString: ConnectSchema = { type: 'string', optional: true };

export class StringConverter implements Converter {
  fromConnect(
    _topic: string,
    _schema: ConnectSchema | undefined,
    value: RecordData,
  ): Buffer | null {
    if (value === null) return null;
    if (typeof value === 'string') return Buffer.from(value);
    if (Buffer.isBuffer(value)) return value;
    return Buffer.from(stringifyJson(value));
  }

  fromConnectTo(
    _topic: string,
    _schema: ConnectSchema | undefined,
    value: RecordData,
    arena: ByteArena,
  ): Buffer | null {
    if (value === null) return null;
    if (typeof value === 'string') return arena.concat(null, value, null);
    if (Buffer.isBuffer(value)) return value;
    return arena.concat(null, stringifyJson(value), null);
  }

  toConnect(_topic: string, data: Buffer | null): SchemaAndValue {
    return { schema: optionalString, value: data === null ? null : data.toString('utf8') };
  }
}

export const stringConverterPlugin: ConverterPlugin = {
  className: 'org.apache.kafka.connect.storage.StringConverter',
  aliases: ['StringConverter', 'string'],
  version: '1.0.0',
  create: () => new StringConverter(),
};
