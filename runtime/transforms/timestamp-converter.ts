// Kafka Connect's TimestampConverter$Key / $Value: convert one field (`field`) or the whole key /
// value between a formatted string, a Unix number (`unix.precision`), and Connect's Date, Time and
// Timestamp logical types. Here those logical types are plain numbers, as the JSON converter
// carries them: Timestamp = epoch milliseconds (int64), Date = days since the epoch (int32),
// Time = milliseconds since midnight (int32). The input's kind comes from its schema (logical name,
// else string → formatted, int64 → Unix) or, without one, from its type (string or number).

import type { ConnectField, ConnectSchema, RecordData, RecordObject } from '../api/record.ts';
import { compileDateFormat } from './date-format.ts';
import type { DateFormat } from './date-format.ts';
import { TransformDataError } from './errors.ts';
import {
  DATE_SCHEMA_NAME,
  SchemaCache,
  TIMESTAMP_SCHEMA_NAME,
  TIME_SCHEMA_NAME,
  describeData,
  keySide,
  requireStruct,
  requireStructSchema,
  structSchemaBasics,
  valueSide,
} from './record-parts.ts';
import type { RecordSide } from './record-parts.ts';
import { TRANSFORMS_VERSION } from './types.ts';
import type { TransformPlugin } from './types.ts';

const PURPOSE = 'converting timestamp formats';
const TYPES = ['string', 'unix', 'Date', 'Time', 'Timestamp'] as const;
type TimestampType = (typeof TYPES)[number];
const PRECISIONS = ['seconds', 'milliseconds', 'microseconds', 'nanoseconds'] as const;
type Precision = (typeof PRECISIONS)[number];
const DAY_MS = 86_400_000;

/** Milliseconds per unit, as a bigint for exact integer scaling. */
const unitFactor: Record<Precision, bigint> = {
  seconds: 1000n,
  milliseconds: 1n,
  microseconds: 1000n,
  nanoseconds: 1_000_000n,
};

function targetSchema(type: TimestampType, optional: boolean): ConnectSchema {
  switch (type) {
    case 'string':
      return { type: 'string', optional };
    case 'unix':
      return { type: 'int64', optional };
    case 'Date':
      return { type: 'int32', optional, name: DATE_SCHEMA_NAME, version: 1 };
    case 'Time':
      return { type: 'int32', optional, name: TIME_SCHEMA_NAME, version: 1 };
    case 'Timestamp':
      return { type: 'int64', optional, name: TIMESTAMP_SCHEMA_NAME, version: 1 };
  }
}

function typeOfSchema(schema: ConnectSchema): TimestampType {
  if (schema.name === TIMESTAMP_SCHEMA_NAME) return 'Timestamp';
  if (schema.name === DATE_SCHEMA_NAME) return 'Date';
  if (schema.name === TIME_SCHEMA_NAME) return 'Time';
  if (schema.type === 'string') return 'string';
  if (schema.type === 'int64') return 'unix';
  throw new TransformDataError(
    `Schema ${schema.name ?? schema.type} does not correspond to a known timestamp type format`,
  );
}

function typeOfValue(value: RecordData): TimestampType {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number' || typeof value === 'bigint') return 'unix';
  throw new TransformDataError(
    `TimestampConverter does not support ${describeData(value)} values as timestamps`,
  );
}

/** An integral number (exact below 2^53) or a bigint; anything else is not a timestamp. */
function integer(value: RecordData, what: string): number | bigint {
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) {
    return value;
  }
  throw new TransformDataError(
    `Expected ${what} to be an integer, but found ${describeData(value)} ${String(value)}`,
  );
}

/** A bigint as a number when exact, else kept as a bigint (nanoseconds exceed 2^53). */
function exact(value: bigint): number | bigint {
  const asNumber = Number(value);
  return Number.isSafeInteger(asNumber) ? asNumber : value;
}

interface Settings {
  readonly target: TimestampType;
  readonly format: DateFormat | undefined;
  readonly precision: Precision;
}

/** Input of the given kind → epoch milliseconds. Sub-millisecond parts are truncated, as in Kafka. */
function toMillis(value: RecordData, type: TimestampType, settings: Settings): number {
  switch (type) {
    case 'string': {
      if (typeof value !== 'string') {
        throw new TransformDataError(
          `Expected string timestamp to be a String, but found ${describeData(value)}`,
        );
      }
      if (settings.format === undefined) {
        throw new TransformDataError(
          'TimestampConverter needs the format option to parse string timestamps',
        );
      }
      const parsed = settings.format.parse(value);
      if (!parsed.ok) throw new TransformDataError(parsed.message);
      return parsed.value;
    }
    case 'unix': {
      const units = integer(value, 'Unix timestamp');
      if (settings.precision === 'milliseconds') return Number(units);
      const factor = unitFactor[settings.precision];
      // TimeUnit conversions truncate toward zero, as bigint division does (and Math.trunc).
      if (typeof units === 'number' && Number.isSafeInteger(units)) {
        const scale = Number(factor);
        return settings.precision === 'seconds' ? units * scale : Math.trunc(units / scale);
      }
      const big = BigInt(units);
      return Number(settings.precision === 'seconds' ? big * factor : big / factor);
    }
    case 'Date':
      return Number(integer(value, 'Date (days since the epoch)')) * DAY_MS;
    case 'Time':
    case 'Timestamp':
      return Number(integer(value, `${type} (milliseconds)`));
  }
}

function fromMillis(millis: number, settings: Settings): RecordData {
  switch (settings.target) {
    case 'string':
      return settings.format!.format(millis);
    case 'unix': {
      if (settings.precision === 'milliseconds') return millis;
      // TimeUnit.MILLISECONDS.toSeconds truncates toward zero.
      if (settings.precision === 'seconds') return Math.trunc(millis / 1000);
      return exact(BigInt(millis) * unitFactor[settings.precision]);
    }
    case 'Date':
      return Math.floor(millis / DAY_MS);
    case 'Time':
      return ((millis % DAY_MS) + DAY_MS) % DAY_MS;
    case 'Timestamp':
      return millis;
  }
}

function convert(
  value: RecordData,
  type: TimestampType | undefined,
  settings: Settings,
): RecordData {
  if (value === null) return null;
  return fromMillis(toMillis(value, type ?? typeOfValue(value), settings), settings);
}

function timestampConverter(side: RecordSide, suffix: '$Key' | '$Value'): TransformPlugin {
  return {
    kind: 'transformation',
    className: `org.apache.kafka.connect.transforms.TimestampConverter${suffix}`,
    aliases: [`TimestampConverter${suffix}`],
    version: TRANSFORMS_VERSION,
    summary: `Converts a timestamp field (or the whole record ${side.name}) between string, unix, Date, Time and Timestamp.`,
    create(options) {
      const field = options.string('field', '');
      if (!options.has('target.type')) options.missing('target.type');
      const target = options.oneOf('target.type', TYPES, 'Timestamp');
      const pattern = options.string('format', '');
      const precision = options.oneOf('unix.precision', PRECISIONS, 'milliseconds');
      let format: DateFormat | undefined;
      if (pattern.trim() !== '') {
        const compiled = compileDateFormat(pattern);
        if (compiled.ok) format = compiled.value;
        else {
          options.invalid(
            'format',
            pattern,
            `TimestampConverter requires a SimpleDateFormat-compatible pattern: ${compiled.message}`,
          );
        }
      } else if (target === 'string') {
        options.problem(
          'format',
          'TimestampConverter requires format option to be specified when using string timestamps',
        );
      }
      const settings: Settings = { target, format, precision };

      // Per struct schema: the converted schema and the converted field's own schema.
      const structSchemas = new SchemaCache<{
        schema: ConnectSchema;
        member: ConnectField | undefined;
      }>();
      const plan = (schema: ConnectSchema) => ({
        schema: updateStructSchema(schema),
        member: schema.fields?.find((candidate) => candidate.field === field),
      });
      const updateStructSchema = (schema: ConnectSchema): ConnectSchema => {
        const fields: ConnectField[] = requireStructSchema(schema, PURPOSE).map((member) =>
          member.field === field
            ? { ...targetSchema(target, member.optional === true), field: member.field }
            : member,
        );
        const updated = structSchemaBasics(schema, fields);
        if (schema.optional) updated.optional = true;
        return updated;
      };

      return (record) => {
        const data = side.data(record);
        const schema = side.schema(record);
        if (field === '') {
          if (schema === undefined)
            return side.with(record, convert(data, undefined, settings), undefined);
          return side.with(
            record,
            convert(data, typeOfSchema(schema), settings),
            targetSchema(target, schema.optional === true),
          );
        }
        if (data === null) return record;
        const value: RecordObject = requireStruct(data, PURPOSE, schema !== undefined);
        if (schema === undefined) {
          if (!(field in value)) return side.with(record, { ...value, [field]: null }, undefined);
          return side.with(
            record,
            { ...value, [field]: convert(value[field]!, undefined, settings) },
            undefined,
          );
        }
        const { schema: updatedSchema, member } = structSchemas.get(schema, plan);
        if (member === undefined) return side.with(record, value, updatedSchema);
        const converted = convert(value[field] ?? null, typeOfSchema(member), settings);
        return side.with(record, { ...value, [field]: converted }, updatedSchema);
      };
    },
  };
}

export const timestampConverterKey = timestampConverter(keySide, '$Key');
export const timestampConverterValue = timestampConverter(valueSide, '$Value');
