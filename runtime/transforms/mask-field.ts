// Kafka Connect's MaskField$Key / $Value: replace the listed fields by the "null value" of their
// type (0, false, "", empty bytes/array/map, epoch for dates) or, for numeric and string fields,
// by `replacement` converted to the field's type. Null field values stay null; the schema does
// not change. A null key or value (tombstone) passes through.

import type { ConnectField, ConnectSchema, RecordData, RecordObject } from '../api/record.ts';
import { TransformDataError } from './errors.ts';
import {
  DECIMAL_SCHEMA_NAME,
  SchemaCache,
  describeData,
  findField,
  keySide,
  requireStruct,
  valueSide,
} from './record-parts.ts';
import type { RecordSide } from './record-parts.ts';
import { TRANSFORMS_VERSION } from './types.ts';
import type { TransformPlugin } from './types.ts';

const PURPOSE = 'mask fields';

function integerReplacement(replacement: string, bits: 8 | 16 | 32 | 64): number | bigint {
  const text = replacement.trim();
  if (!/^[+-]?\d+$/.test(text)) {
    throw new TransformDataError(`Unable to convert ${replacement} (String) to number`);
  }
  const value = BigInt(text);
  const limit = 1n << BigInt(bits - 1);
  if (value < -limit || value >= limit) {
    throw new TransformDataError(`Unable to convert ${replacement} to a ${bits}-bit integer`);
  }
  return Number.isSafeInteger(Number(value)) ? Number(value) : value;
}

function floatReplacement(replacement: string): number {
  const value = Number(replacement.trim());
  if (replacement.trim() === '' || Number.isNaN(value)) {
    throw new TransformDataError(`Unable to convert ${replacement} (String) to number`);
  }
  return value;
}

/** The masked value of a field whose schema is known. */
function maskWithSchema(schema: ConnectSchema, replacement: string | undefined): RecordData {
  if (replacement !== undefined) {
    switch (schema.type) {
      case 'int8':
        return integerReplacement(replacement, 8);
      case 'int16':
        return integerReplacement(replacement, 16);
      case 'int32':
        return integerReplacement(replacement, 32);
      case 'int64':
        return integerReplacement(replacement, 64);
      case 'float32':
      case 'float64':
        return floatReplacement(replacement);
      case 'string':
        return replacement;
      default:
        throw new TransformDataError(
          `Cannot mask value of type ${schema.name ?? schema.type} with custom replacement.`,
        );
    }
  }
  switch (schema.type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'float32':
    case 'float64':
      // Also the epoch for Date / Time / Timestamp, which are numbers here.
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'bytes':
      // Decimal zero is one zero byte of unscaled value; other bytes become empty.
      return schema.name === DECIMAL_SCHEMA_NAME ? Buffer.from([0]) : Buffer.alloc(0);
    case 'array':
      return [];
    case 'map':
      return {};
    case 'struct':
      throw new TransformDataError('Cannot mask value of type: Struct');
  }
}

/** The masked value of a schemaless field, by its JavaScript type. */
function maskSchemaless(value: RecordData, replacement: string | undefined): RecordData {
  if (replacement !== undefined) {
    if (typeof value === 'string') return replacement;
    if (typeof value === 'bigint') return integerReplacement(replacement, 64);
    if (typeof value === 'number') {
      return Number.isInteger(value) && /^[+-]?\d+$/.test(replacement.trim())
        ? integerReplacement(replacement, 64)
        : floatReplacement(replacement);
    }
    throw new TransformDataError(
      `Cannot mask value of type ${describeData(value)} with custom replacement.`,
    );
  }
  if (typeof value === 'number' || typeof value === 'bigint') return 0;
  if (typeof value === 'boolean') return false;
  if (typeof value === 'string') return '';
  if (Buffer.isBuffer(value)) return Buffer.alloc(0);
  if (Array.isArray(value)) return [];
  return {};
}

function maskField(side: RecordSide, suffix: '$Key' | '$Value'): TransformPlugin {
  return {
    kind: 'transformation',
    className: `org.apache.kafka.connect.transforms.MaskField${suffix}`,
    aliases: [`MaskField${suffix}`],
    version: TRANSFORMS_VERSION,
    summary: `Masks fields of the record ${side.name} with a type-appropriate empty value or \`replacement\`.`,
    create(options) {
      const fields = options.list('fields');
      if (!options.has('fields')) options.missing('fields');
      else if (fields.length === 0) {
        options.invalid('fields', options.raw('fields') ?? '', 'Empty list');
      }
      const replacement = options.raw('replacement');
      if (replacement !== undefined && replacement === '') {
        options.invalid('replacement', replacement, 'String must be non-empty');
      }

      // The masked fields' schemas, looked up once per struct schema.
      const maskedFieldsOf = new SchemaCache<Map<string, ConnectField>>();
      const declared = (schema: ConnectSchema) => {
        const found = new Map<string, ConnectField>();
        for (const name of fields) {
          const field = findField(schema, name);
          if (field !== undefined) found.set(name, field);
        }
        return found;
      };

      return (record) => {
        const data = side.data(record);
        if (data === null) return record;
        const schema = side.schema(record);
        const value = requireStruct(data, PURPOSE, schema !== undefined);
        // Spread, then only keys the value has are overwritten (the fast copy, see shallowCopy).
        const updated: RecordObject = { ...value };
        for (const name of fields) {
          const original = value[name];
          if (original === undefined || original === null) continue;
          if (schema === undefined) {
            updated[name] = maskSchemaless(original, replacement);
            continue;
          }
          const field = maskedFieldsOf.get(schema, declared).get(name);
          // A field the schema does not declare is not part of the struct: nothing to mask.
          if (field !== undefined) updated[name] = maskWithSchema(field, replacement);
        }
        return side.with(record, updated, schema);
      };
    },
  };
}

export const maskFieldKey = maskField(keySide, '$Key');
export const maskFieldValue = maskField(valueSide, '$Value');
