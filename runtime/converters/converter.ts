// Converters turn record keys and values into log bytes and back (Kafka Connect's Converter).
// They are pure and synchronous: the pumps call them on whole batches, once per record (the source
// pump through fromConnectTo where a converter has it, see byte-arena.ts).

import type { ConnectSchema, RecordData } from '../api/record.ts';
import type { ByteArena } from './byte-arena.ts';

export interface SchemaAndValue {
  schema?: ConnectSchema;
  value: RecordData;
}

export interface Converter {
  /** null value (a tombstone or a null key) stays null. */
  fromConnect(topic: string, schema: ConnectSchema | undefined, value: RecordData): Buffer | null;
  /**
   * Optional fast path of fromConnect for the source pump: the same bytes, written into the
   * batch's arena (a view that is valid until the pump releases the arena once the batch is
   * durable) instead of a Buffer of its own per record.
   */
  fromConnectTo?(
    topic: string,
    schema: ConnectSchema | undefined,
    value: RecordData,
    arena: ByteArena,
  ): Buffer | null;
  toConnect(topic: string, data: Buffer | null): SchemaAndValue;
}

export interface ConverterConfig {
  /** True for key converters, false for value converters (Kafka Connect's isKey). */
  isKey: boolean;
  /** The converter's own keys, prefix (key.converter. / value.converter.) removed. */
  options: Readonly<Record<string, string | number | boolean | string[] | undefined>>;
}

export interface ConverterPlugin {
  readonly className: string;
  readonly aliases: readonly string[];
  readonly version: string;
  create(config: ConverterConfig): Converter;
}
