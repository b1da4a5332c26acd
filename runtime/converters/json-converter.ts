// Kafka Connect's JsonConverter: with schemas.enable (its default) every key or value is written as
// `{"schema": <Connect schema>, "payload": <data>}`, byte for byte the shape JsonConverter emits
// (its field order included), so Debezium consumers read Kafki's topics unchanged; without it, the
// data alone. The schema's JSON text is built once per schema object, not once per record: the
// envelope's head `{"schema":<schema>,"payload":` is kept as bytes per schema object, so the
// source pump's path (fromConnectTo) writes head, payload and `}` straight into the batch's arena
// (byte-arena.ts): the payload as bytes by a writer compiled from its schema
// (json-payload-writer.ts), or stringified where that writer gives up — the same bytes as
// fromConnect either way.

import { InvalidInputError } from '../api/errors.ts';
import type { ConnectSchema, RecordData } from '../api/record.ts';
import type { ByteArena } from './byte-arena.ts';
import type { Converter, ConverterConfig, ConverterPlugin, SchemaAndValue } from './converter.ts';
import { createJsonWriter, parseJson, stringifyJson } from './json-codec.ts';
import { payloadWriter } from './json-payload-writer.ts';

/** The schema as JsonConverter.asJsonSchema orders it: type, children, optional, name, version, doc, parameters, default. */
export function connectSchemaToJson(schema: ConnectSchema): Record<string, unknown> {
  const json: Record<string, unknown> = { type: schema.type };
  if (schema.type === 'array' && schema.items) json.items = connectSchemaToJson(schema.items);
  if (schema.type === 'map') {
    if (schema.keys) json.keys = connectSchemaToJson(schema.keys);
    if (schema.values) json.values = connectSchemaToJson(schema.values);
  }
  if (schema.type === 'struct') {
    json.fields = (schema.fields ?? []).map((field) => ({
      ...connectSchemaToJson(field),
      field: field.field,
    }));
  }
  json.optional = schema.optional === true;
  if (schema.name !== undefined) json.name = schema.name;
  if (schema.version !== undefined) json.version = schema.version;
  if (schema.doc !== undefined) json.doc = schema.doc;
  if (schema.parameters !== undefined) json.parameters = { ...schema.parameters };
  if (schema.default !== undefined && schema.default !== null) json.default = schema.default;
  return json;
}

const schemaText = new WeakMap<ConnectSchema, string>();

function schemaJsonText(schema: ConnectSchema): string {
  let text = schemaText.get(schema);
  if (text === undefined) {
    text = stringifyJson(connectSchemaToJson(schema));
    schemaText.set(schema, text);
  }
  return text;
}

const envelopeHeads = new WeakMap<ConnectSchema, Buffer>();
const nullSchemaHead = Buffer.from('{"schema":null,"payload":');
const envelopeTail = Buffer.from('}');

/** `{"schema":<schema JSON>,"payload":` as UTF-8, once per schema object. */
function envelopeHead(schema: ConnectSchema | undefined): Buffer {
  if (schema === undefined) return nullSchemaHead;
  let head = envelopeHeads.get(schema);
  if (head === undefined) {
    head = Buffer.from(`{"schema":${schemaJsonText(schema)},"payload":`);
    envelopeHeads.set(schema, head);
  }
  return head;
}

const hasBytesCache = new WeakMap<ConnectSchema, boolean>();

function hasBytes(schema: ConnectSchema): boolean {
  let found = hasBytesCache.get(schema);
  if (found === undefined) {
    found =
      schema.type === 'bytes' ||
      (schema.items !== undefined && hasBytes(schema.items)) ||
      (schema.keys !== undefined && hasBytes(schema.keys)) ||
      (schema.values !== undefined && hasBytes(schema.values)) ||
      (schema.fields ?? []).some(hasBytes);
    hasBytesCache.set(schema, found);
  }
  return found;
}

/**
 * Payload → Connect data: only base64 bytes need decoding, everything else is already right. The
 * payload was just parsed and belongs to the caller alone, so it is changed in place: a copy of
 * every struct on the way to a bytes field (a Debezium decimal is one) was a large share of a
 * sink's reading cost.
 */
function decodeBytes(schema: ConnectSchema, value: RecordData): RecordData {
  if (value === null || !hasBytes(schema)) return value;
  switch (schema.type) {
    case 'bytes':
      return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
    case 'array':
      if (Array.isArray(value) && schema.items) {
        for (let i = 0; i < value.length; i++) value[i] = decodeBytes(schema.items, value[i]!);
      }
      return value;
    case 'map':
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) return value;
      const object = value as Record<string, RecordData>;
      if (schema.type === 'map') {
        if (schema.values) {
          for (const key of Object.keys(object))
            object[key] = decodeBytes(schema.values, object[key]!);
        }
        return object;
      }
      for (const field of schema.fields ?? []) {
        const item = object[field.field];
        if (item !== undefined && item !== null) object[field.field] = decodeBytes(field, item);
      }
      return object;
    }
    default:
      return value;
  }
}

/**
 * How many envelope heads (`{"schema":<schema>,"payload":`) one converter remembers for reading:
 * one per schema it reads (a sink reading many tables' topics sees one per table and version).
 */
const knownHeadsLimit = 32;
/** Reads of records whose head is not the compact JSON of their schema before toConnect stops
 *  trying to learn heads (a producer writing with other spacing or key order never matches). */
const headMissLimit = 64;

export class JsonConverter implements Converter {
  private readonly write = createJsonWriter();
  /** Envelope heads read before, byte for byte, with the schema parsed from them (one object). */
  private readonly knownHeads: Array<{ head: Buffer; schema: ConnectSchema }> = [];
  private headMisses = 0;

  constructor(private readonly schemasEnabled: boolean) {}

  fromConnect(_topic: string, schema: ConnectSchema | undefined, value: RecordData): Buffer | null {
    if (!this.schemasEnabled) return value === null ? null : Buffer.from(this.write(value));
    if (schema === undefined && value === null) return null;
    const schemaPart = schema === undefined ? 'null' : schemaJsonText(schema);
    return Buffer.from(`{"schema":${schemaPart},"payload":${this.write(value)}}`);
  }

  fromConnectTo(
    _topic: string,
    schema: ConnectSchema | undefined,
    value: RecordData,
    arena: ByteArena,
  ): Buffer | null {
    if (!this.schemasEnabled) {
      if (value === null) return null;
      return (
        arena.write(null, payloadWriter(schema), value, null) ??
        arena.concat(null, this.write(value), null)
      );
    }
    if (schema === undefined && value === null) return null;
    const head = envelopeHead(schema);
    return (
      arena.write(head, payloadWriter(schema), value, envelopeTail) ??
      arena.concat(head, this.write(value), envelopeTail)
    );
  }

  toConnect(topic: string, data: Buffer | null): SchemaAndValue {
    if (data === null) return { value: null };
    if (this.schemasEnabled) {
      const known = this.readWithKnownHead(data);
      if (known !== undefined) return known;
    }
    let parsed: RecordData;
    try {
      parsed = parseJson(data.toString('utf8'));
    } catch {
      // The parser's own message quotes the data; record contents never reach logs or traces.
      throw new InvalidInputError(
        'CONVERTER_DESERIALIZATION',
        `Converting byte[] to Kafka Connect data failed due to serialization error of topic ${topic}: the ${data.length} bytes are not valid JSON`,
      );
    }
    if (!this.schemasEnabled) return { value: parsed };
    if (
      parsed === null ||
      typeof parsed !== 'object' ||
      Array.isArray(parsed) ||
      Buffer.isBuffer(parsed) ||
      !('schema' in parsed) ||
      !('payload' in parsed) ||
      Object.keys(parsed).length !== 2
    ) {
      throw new InvalidInputError(
        'CONVERTER_ENVELOPE',
        'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. ' +
          'If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.',
      );
    }
    const schema = parsed.schema as unknown as ConnectSchema | null;
    const payload = parsed.payload ?? null;
    if (schema === null) return { value: payload };
    this.learnHead(data, schema);
    return { schema, value: decodeBytes(schema, payload) };
  }

  /**
   * The fast read of an envelope whose head (`{"schema":<schema>,"payload":`) is byte for byte
   * one read before: only the payload is parsed, and the schema is the object parsed then. The
   * Debezium schema is most of a record's bytes (~4 KiB of ~4.5), so this spares parsing it and
   * gives every record of one schema the same schema object (caches keyed by it then hit). The
   * head fixes the schema (a JSON value is known once its text ends); the rest must be one JSON
   * value and the closing brace, else the full parse below decides (and reports).
   */
  private readWithKnownHead(data: Buffer): SchemaAndValue | undefined {
    const last = data.length - 1;
    if (data[last] !== 0x7d) return undefined;
    for (const { head, schema } of this.knownHeads) {
      const length = head.length;
      if (length >= last || data.compare(head, 0, length, 0, length) !== 0) continue;
      let payload: RecordData;
      try {
        payload = parseJson(data.toString('utf8', length, last));
      } catch {
        return undefined;
      }
      return { schema, value: decodeBytes(schema, payload) };
    }
    return undefined;
  }

  /** Remembers the head of a fully parsed envelope when it is the compact JSON of its schema. */
  private learnHead(data: Buffer, schema: ConnectSchema): void {
    if (this.headMisses >= headMissLimit) return;
    const head = Buffer.from(`{"schema":${stringifyJson(schema)},"payload":`);
    if (data.length > head.length && data.compare(head, 0, head.length, 0, head.length) === 0) {
      this.knownHeads.unshift({ head, schema });
      if (this.knownHeads.length > knownHeadsLimit) this.knownHeads.pop();
    } else {
      this.headMisses++;
    }
  }
}

export const jsonConverterPlugin: ConverterPlugin = {
  className: 'org.apache.kafka.connect.json.JsonConverter',
  aliases: ['JsonConverter', 'json'],
  version: '1.0.0',
  create(config: ConverterConfig): Converter {
    return new JsonConverter(
      config.options['schemas.enable'] !== false && config.options['schemas.enable'] !== 'false',
    );
  },
};
