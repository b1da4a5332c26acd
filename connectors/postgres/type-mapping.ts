// PostgreSQL column types → Debezium's Connect schemas and values, under Debezium's handling modes.
// Each column type resolves once (per relation message) to a `ColumnType`: its schema and a
// converter that reads the column's text bytes straight into the output value. The README's type
// table documents every row of this file.

import type { ConnectSchema, RecordData, RecordObject } from '../../runtime/api/index.ts';
import { jsonBytes } from '../../runtime/cdc/json-bytes.ts';
import {
  bitsToBytes,
  formatIsoInterval,
  formatZonedTime,
  formatZonedTimestamp,
  intervalMicros,
  parseArrayLiteral,
  parseDate,
  parseDecimal,
  parseHstore,
  parseIsoInterval,
  parsePoint,
  parseTime,
  parseTimestamp,
  parseTimestamptz,
  parseTimetz,
  plainMoney,
  pointWkb,
  decimalBytes,
  zonedTimestampFromUtcText,
  type ArrayText,
} from './text-values.ts';
import { Oid, type TypeRegistry } from './type-registry.ts';

export type DecimalHandlingMode = 'precise' | 'double' | 'string';
export type TimePrecisionMode = 'adaptive' | 'adaptive_time_microseconds' | 'connect';
export type BinaryHandlingMode = 'bytes' | 'base64' | 'base64-url-safe' | 'hex';
export type HstoreHandlingMode = 'json' | 'map';
export type IntervalHandlingMode = 'numeric' | 'string';

export interface TypeModes {
  decimal: DecimalHandlingMode;
  time: TimePrecisionMode;
  binary: BinaryHandlingMode;
  hstore: HstoreHandlingMode;
  interval: IntervalHandlingMode;
  moneyFractionDigits: number;
  includeUnknownDatatypes: boolean;
  /** unavailable.value.placeholder: stands for unchanged TOASTed values. */
  unavailablePlaceholder: string;
}

export const defaultTypeModes: TypeModes = {
  decimal: 'precise',
  time: 'adaptive',
  binary: 'bytes',
  hstore: 'json',
  interval: 'numeric',
  moneyFractionDigits: 2,
  includeUnknownDatatypes: false,
  unavailablePlaceholder: '__debezium_unavailable_value',
};

export type TextConverter = (text: string) => RecordData;
export type BytesConverter = (data: Buffer, start: number, end: number) => RecordData;

export interface ColumnType {
  /** Schema without `optional` (the column's nullability decides it). */
  schema: ConnectSchema;
  fromText: TextConverter;
  fromBytes: BytesConverter;
  /** What an unchanged TOASTed value of this type becomes (never a silent null). */
  placeholder: RecordData;
}

// ---- fast paths on bytes ----

function intFromBytes(data: Buffer, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (data[i] === 45) {
    negative = true;
    i++;
  }
  let value = 0;
  for (; i < end; i++) value = value * 10 + data[i]! - 48;
  return negative ? -value : value;
}

function int64FromText(text: string): number | bigint {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
}

function int64FromBytes(data: Buffer, start: number, end: number): number | bigint {
  return end - start <= 15
    ? intFromBytes(data, start, end)
    : int64FromText(latin1(data, start, end));
}

// Buffer's own slice methods (what toString(encoding, start, end) dispatches to), called directly:
// this runs once per column of every row. Node has them on every Buffer; @types/node omits them.
interface BufferSlices {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

export function utf8(data: Buffer, start: number, end: number): string {
  return (data as unknown as BufferSlices).utf8Slice(start, end);
}

function latin1(data: Buffer, start: number, end: number): string {
  return (data as unknown as BufferSlices).latin1Slice(start, end);
}

function textFromBytes(data: Buffer, start: number, end: number): string {
  return utf8(data, start, end);
}

function viaText(convert: TextConverter): BytesConverter {
  return (data, start, end) => convert(utf8(data, start, end));
}

// ---- schemas ----

const plain = (type: ConnectSchema['type']): ConnectSchema => ({ type });
const named = (
  type: ConnectSchema['type'],
  name: string,
  extra: Partial<ConnectSchema> = {},
): ConnectSchema => ({
  type,
  name,
  version: 1,
  ...extra,
});

function binarySchema(mode: BinaryHandlingMode): ConnectSchema {
  return mode === 'bytes' ? plain('bytes') : plain('string');
}

function binaryValue(mode: BinaryHandlingMode, bytes: Buffer): RecordData {
  switch (mode) {
    case 'bytes':
      return jsonBytes(bytes);
    case 'base64':
      return bytes.toString('base64');
    case 'base64-url-safe':
      // java.util.Base64.getUrlEncoder(): URL alphabet, padding kept.
      return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    case 'hex':
      return bytes.toString('hex');
  }
}

/** bytea text "\x0a0b" → bytes. */
function byteaFromText(text: string): Buffer {
  return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : Buffer.from(text, 'latin1');
}

/** numeric typmod → [precision, scale], or undefined for an unconstrained numeric. */
export function numericPrecisionScale(typeModifier: number): [number, number] | undefined {
  if (typeModifier < 4) return undefined;
  const packed = typeModifier - 4;
  const precision = (packed >> 16) & 0xffff;
  const scale = ((packed & 0x7ff) ^ 1024) - 1024;
  return [precision, scale];
}

/** Fractional-second precision of time/timestamp types (-1 → 6). */
export function timePrecision(typeModifier: number): number {
  return typeModifier < 0 ? 6 : typeModifier;
}

const variableScaleDecimalSchema: ConnectSchema = {
  type: 'struct',
  fields: [
    { type: 'int32', optional: false, field: 'scale' },
    { type: 'bytes', optional: false, field: 'value' },
  ],
  name: 'io.debezium.data.VariableScaleDecimal',
  version: 1,
  doc: 'Variable scaled decimal',
};

const pointSchema: ConnectSchema = {
  type: 'struct',
  fields: [
    { type: 'float64', optional: false, field: 'x' },
    { type: 'float64', optional: false, field: 'y' },
    { type: 'bytes', optional: true, field: 'wkb' },
    { type: 'int32', optional: true, field: 'srid' },
  ],
  name: 'io.debezium.data.geometry.Point',
  version: 1,
  doc: 'Geometry (POINT)',
};

// ---- per-type builders ----

function simple(
  schema: ConnectSchema,
  fromText: TextConverter,
  fromBytes?: BytesConverter,
): Omit<ColumnType, 'placeholder'> {
  return { schema, fromText, fromBytes: fromBytes ?? viaText(fromText) };
}

const identityText: TextConverter = (text) => text;
const stringType = (schema: ConnectSchema) => simple(schema, identityText, textFromBytes);

function numericType(typeModifier: number, modes: TypeModes): Omit<ColumnType, 'placeholder'> {
  const fixed = numericPrecisionScale(typeModifier);
  switch (modes.decimal) {
    case 'double':
      return simple(plain('float64'), (text) => Number(text));
    case 'string':
      return stringType(plain('string'));
    case 'precise':
      if (!fixed) {
        return simple(variableScaleDecimalSchema, (text) => {
          const decimal = parseDecimal(text);
          return decimal ? { scale: decimal.scale, value: decimal.unscaled } : null;
        });
      }
      return simple(
        named('bytes', 'org.apache.kafka.connect.data.Decimal', {
          parameters: { scale: String(fixed[1]), 'connect.decimal.precision': String(fixed[0]) },
        }),
        (text) => parseDecimal(text, fixed[1])?.unscaled ?? null,
        (data, start, end) =>
          decimalBytes(data, start, end, fixed[1]) ??
          parseDecimal(utf8(data, start, end), fixed[1])?.unscaled ??
          null,
      );
  }
}

function moneyType(modes: TypeModes): Omit<ColumnType, 'placeholder'> {
  switch (modes.decimal) {
    case 'double':
      return simple(plain('float64'), (text) => Number(plainMoney(text)));
    case 'string':
      return simple(plain('string'), plainMoney);
    case 'precise':
      return simple(
        named('bytes', 'org.apache.kafka.connect.data.Decimal', {
          parameters: { scale: String(modes.moneyFractionDigits) },
        }),
        (text) => parseDecimal(plainMoney(text), modes.moneyFractionDigits)?.unscaled ?? null,
      );
  }
}

// PGStatement.DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY, as Debezium emits for ±infinity.
const positiveInfinityMicros = 9223372036825200000n;
const negativeInfinityMicros = -9223372036832400000n;

function infiniteMicros(value: 'infinity' | '-infinity', divisor: bigint): bigint {
  return (value === 'infinity' ? positiveInfinityMicros : negativeInfinityMicros) / divisor;
}

function dateType(modes: TypeModes): Omit<ColumnType, 'placeholder'> {
  const schema =
    modes.time === 'connect'
      ? named('int32', 'org.apache.kafka.connect.data.Date')
      : named('int32', 'io.debezium.time.Date');
  return simple(schema, (text) => {
    const days = parseDate(text);
    if (days === 'infinity') return 2147483647;
    if (days === '-infinity') return -2147483648;
    return days;
  });
}

function timeType(typeModifier: number, modes: TypeModes): Omit<ColumnType, 'placeholder'> {
  const precision = timePrecision(typeModifier);
  if (modes.time === 'connect') {
    return simple(named('int32', 'org.apache.kafka.connect.data.Time'), (text) =>
      Math.floor(parseTime(text) / 1000),
    );
  }
  if (modes.time === 'adaptive' && precision <= 3) {
    return simple(named('int32', 'io.debezium.time.Time'), (text) =>
      Math.floor(parseTime(text) / 1000),
    );
  }
  return simple(named('int64', 'io.debezium.time.MicroTime'), parseTime);
}

function timestampType(typeModifier: number, modes: TypeModes): Omit<ColumnType, 'placeholder'> {
  const precision = timePrecision(typeModifier);
  const millis = modes.time === 'connect' || precision <= 3;
  const schema =
    modes.time === 'connect'
      ? named('int64', 'org.apache.kafka.connect.data.Timestamp')
      : millis
        ? named('int64', 'io.debezium.time.Timestamp')
        : named('int64', 'io.debezium.time.MicroTimestamp');
  return simple(schema, (text) => {
    const micros = parseTimestamp(text);
    if (typeof micros === 'string') return infiniteMicros(micros, millis ? 1000n : 1n);
    return millis ? Math.floor(micros / 1000) : micros;
  });
}

function timestamptzType(typeModifier: number): Omit<ColumnType, 'placeholder'> {
  const width = timePrecision(typeModifier);
  return simple(named('string', 'io.debezium.time.ZonedTimestamp'), (text) => {
    const fast = zonedTimestampFromUtcText(text, width);
    if (fast !== undefined) return fast;
    const micros = parseTimestamptz(text);
    return typeof micros === 'string' ? micros : formatZonedTimestamp(micros, width);
  });
}

function intervalType(modes: TypeModes): Omit<ColumnType, 'placeholder'> {
  if (modes.interval === 'string') {
    return simple(named('string', 'io.debezium.time.Interval'), (text) =>
      formatIsoInterval(parseIsoInterval(text)),
    );
  }
  return simple(named('int64', 'io.debezium.time.MicroDuration'), (text) =>
    intervalMicros(parseIsoInterval(text)),
  );
}

function bitType(typeModifier: number): Omit<ColumnType, 'placeholder'> {
  const length = typeModifier < 0 ? 2147483647 : typeModifier;
  if (length === 1) return simple(plain('boolean'), (text) => text === '1');
  return simple(
    named('bytes', 'io.debezium.data.Bits', { parameters: { length: String(length) } }),
    bitsToBytes,
  );
}

function hstoreType(modes: TypeModes): Omit<ColumnType, 'placeholder'> {
  if (modes.hstore === 'map') {
    return simple(
      {
        type: 'map',
        keys: { type: 'string', optional: false },
        values: { type: 'string', optional: true },
      },
      (text) => {
        const map: RecordObject = {};
        for (const [key, value] of parseHstore(text)) map[key] = value;
        return map;
      },
    );
  }
  return simple(named('string', 'io.debezium.data.Json'), (text) => {
    const map: Record<string, string | null> = {};
    for (const [key, value] of parseHstore(text)) map[key] = value;
    return JSON.stringify(map);
  });
}

/** Element types Debezium does not map inside arrays (those array columns are left out). */
const unsupportedArrayElements = new Set<number>([
  Oid.money,
  Oid.name,
  Oid.interval,
  Oid.varbit,
  Oid.xml,
  Oid.point,
]);

function arrayType(
  elementOid: number,
  typeModifier: number,
  registry: TypeRegistry,
  modes: TypeModes,
  depth: number,
): Omit<ColumnType, 'placeholder'> | undefined {
  if (unsupportedArrayElements.has(elementOid)) return undefined;
  const element = baseColumnType(elementOid, typeModifier, registry, modes, depth + 1);
  if (!element || element.schema.type === 'array') return undefined;
  const delimiter = registry.get(elementOid)?.delimiter ?? ',';
  const convertItems = (items: ArrayText): RecordData[] =>
    items.map((item) =>
      item === null ? null : Array.isArray(item) ? convertItems(item) : element.fromText(item),
    );
  return simple({ type: 'array', items: { ...element.schema, optional: true } }, (text) =>
    convertItems(parseArrayLiteral(text, delimiter)),
  );
}

function baseColumnType(
  typeOid: number,
  typeModifier: number,
  registry: TypeRegistry,
  modes: TypeModes,
  depth = 0,
): Omit<ColumnType, 'placeholder'> | undefined {
  const resolved = registry.resolveDomain(typeOid, typeModifier);
  const oid = resolved.oid;
  const modifier = resolved.typeModifier;
  switch (oid) {
    case Oid.bool:
      return simple(
        plain('boolean'),
        (text) => text === 't',
        (data, start) => data[start] === 0x74,
      );
    case Oid.int2:
      return simple(plain('int16'), (text) => Number(text), intFromBytes);
    case Oid.int4:
      return simple(plain('int32'), (text) => Number(text), intFromBytes);
    case Oid.int8:
      return simple(plain('int64'), int64FromText, int64FromBytes);
    case Oid.oid:
    case Oid.xid:
      return simple(plain('int64'), (text) => Number(text), intFromBytes);
    case Oid.float4:
      return simple(
        plain('float32'),
        (text) => Number(text),
        (data, start, end) => Number(latin1(data, start, end)),
      );
    case Oid.float8:
      return simple(
        plain('float64'),
        (text) => Number(text),
        (data, start, end) => Number(latin1(data, start, end)),
      );
    case Oid.numeric:
      return numericType(modifier, modes);
    case Oid.money:
      return moneyType(modes);
    case Oid.text:
    case Oid.varchar:
    case Oid.bpchar:
    case Oid.char:
    case Oid.name:
    case Oid.inet:
    case Oid.cidr:
    case Oid.macaddr:
    case Oid.macaddr8:
    case Oid.int4range:
    case Oid.int8range:
    case Oid.numrange:
    case Oid.tsrange:
    case Oid.tstzrange:
    case Oid.daterange:
    case Oid.pgLsn:
      return stringType(plain('string'));
    case Oid.json:
    case Oid.jsonb:
      return stringType(named('string', 'io.debezium.data.Json'));
    case Oid.xml:
      return stringType(named('string', 'io.debezium.data.Xml'));
    case Oid.uuid:
      return stringType(named('string', 'io.debezium.data.Uuid'));
    case Oid.tsvector:
      return stringType(named('string', 'io.debezium.data.TsVector'));
    case Oid.bytea:
      return simple(binarySchema(modes.binary), (text) =>
        binaryValue(modes.binary, byteaFromText(text)),
      );
    case Oid.date:
      return dateType(modes);
    case Oid.time:
      return timeType(modifier, modes);
    case Oid.timetz:
      return simple(named('string', 'io.debezium.time.ZonedTime'), (text) =>
        formatZonedTime(parseTimetz(text)),
      );
    case Oid.timestamp:
      return timestampType(modifier, modes);
    case Oid.timestamptz:
      return timestamptzType(modifier);
    case Oid.interval:
      return intervalType(modes);
    case Oid.bit:
    case Oid.varbit:
      return bitType(modifier);
    case Oid.point:
      return simple(pointSchema, (text) => {
        const [x, y] = parsePoint(text);
        return { x, y, wkb: pointWkb(x, y), srid: null };
      });
  }
  if (depth < 2) {
    const element = registry.arrayElement(oid);
    if (element !== undefined) return arrayType(element, modifier, registry, modes, depth);
  }
  const type = registry.get(oid);
  if (type?.kind === 'e') {
    return stringType(
      named('string', 'io.debezium.data.Enum', {
        parameters: { allowed: (type.enumLabels ?? []).join(',') },
      }),
    );
  }
  const extension = registry.extensionName(oid);
  if (extension === 'hstore') return hstoreType(modes);
  if (extension === 'citext' || extension === 'ltree' || extension === 'isbn')
    return stringType(plain('string'));
  if (type?.kind === 'r') return stringType(plain('string'));
  return undefined;
}

/** The value standing for an unchanged TOASTed column, shaped for the column's schema. */
export function toastPlaceholder(schema: ConnectSchema, placeholder: string): RecordData {
  switch (schema.type) {
    case 'string':
      return placeholder;
    case 'bytes':
      return jsonBytes(Buffer.from(placeholder, 'utf8'));
    case 'array': {
      const items = schema.items;
      if (items?.type === 'string') return [placeholder];
      if (items && ['int8', 'int16', 'int32', 'int64', 'float32', 'float64'].includes(items.type)) {
        // Debezium: the placeholder's bytes as numbers (UnchangedToastedPlaceholder).
        return [...Buffer.from(placeholder, 'utf8')];
      }
      return [];
    }
    case 'map':
      return { [placeholder]: placeholder };
    case 'struct':
      if (schema.name === 'io.debezium.data.VariableScaleDecimal') {
        return { scale: 0, value: jsonBytes(Buffer.from(placeholder, 'utf8')) };
      }
      return null;
    default:
      // Fixed-width types are never TOASTed.
      return null;
  }
}

/**
 * The mapping of one column type, or undefined when Debezium has none (such columns are left out
 * of the events, unless include.unknown.datatypes makes them binary values of their text).
 */
export function columnType(
  typeOid: number,
  typeModifier: number,
  registry: TypeRegistry,
  modes: TypeModes,
): ColumnType | undefined {
  let base = baseColumnType(typeOid, typeModifier, registry, modes);
  if (!base && modes.includeUnknownDatatypes) {
    base = simple(binarySchema(modes.binary), (text) =>
      binaryValue(modes.binary, Buffer.from(text, 'utf8')),
    );
  }
  if (!base) return undefined;
  return { ...base, placeholder: toastPlaceholder(base.schema, modes.unavailablePlaceholder) };
}
