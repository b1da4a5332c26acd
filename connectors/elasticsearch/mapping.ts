// Index mappings derived from the Connect schema of the rows (the `after` struct of a Debezium
// envelope, or an unwrapped record's value schema), for indices the connector creates:
//
//   int8/16/32/64 → byte/short/integer/long       float32/64 → float/double
//   boolean → boolean                              bytes, io.debezium.data.Bits → binary
//   string → text with a `keyword` sub-field (ignore_above 256): full text and exact match/sort
//   Decimal, VariableScaleDecimal → double (values normalized to numbers or exact strings)
//   io.debezium.time.Date, Connect Date → date (values normalized to YYYY-MM-DD)
//   Timestamp, MicroTimestamp, NanoTimestamp, ZonedTimestamp, Connect Timestamp → date
//     (Elasticsearch's default format strict_date_optional_time||epoch_millis reads the ISO
//     strings and the millisecond numbers; `date` keeps millisecond precision in the index,
//     _source keeps the full value)
//   Time, MicroTime, NanoTime, MicroDuration → long; ZonedTime, Interval → keyword
//   Uuid, Enum, EnumSet, Ltree → keyword;  Xml → text
//   io.debezium.data.Json → text: the JSON text as Debezium sends it (what Confluent's connector
//     indexes too), searchable as full text. Not `object` (dynamic keys explode the mapping and a
//     key that changes type makes documents fail) and not `flattened` (it refuses JSON values that
//     are not objects, e.g. a jsonb column holding [1,2] or "x", which would dead-letter rows).
//   struct → object with properties;  array → the mapping of its items;  map → object (dynamic)
// Fields without a schema are left to dynamic mapping.

import type { ConnectSchema } from '../../runtime/api/index.ts';
import { LogicalNames } from './value-normalizer.ts';

export type FieldMapping = { [key: string]: unknown };

const text: FieldMapping = {
  type: 'text',
  fields: { keyword: { type: 'keyword', ignore_above: 256 } },
};

function byLogicalName(name: string | undefined): FieldMapping | undefined {
  switch (name) {
    case LogicalNames.decimal:
    case LogicalNames.variableScaleDecimal:
      return { type: 'double' };
    case LogicalNames.date:
    case LogicalNames.connectDate:
    case LogicalNames.timestamp:
    case LogicalNames.microTimestamp:
    case LogicalNames.nanoTimestamp:
    case LogicalNames.zonedTimestamp:
    case LogicalNames.connectTimestamp:
      return { type: 'date' };
    case LogicalNames.time:
    case LogicalNames.microTime:
    case LogicalNames.nanoTime:
    case LogicalNames.connectTime:
    case LogicalNames.microDuration:
      return { type: 'long' };
    case LogicalNames.zonedTime:
    case LogicalNames.interval:
    case LogicalNames.uuid:
    case LogicalNames.enumeration:
    case LogicalNames.enumSet:
    case LogicalNames.ltree:
      return { type: 'keyword' };
    case LogicalNames.xml:
    case LogicalNames.json:
      return { type: 'text' };
    case LogicalNames.bits:
      return { type: 'binary' };
    default:
      return undefined;
  }
}

export function fieldMapping(schema: ConnectSchema): FieldMapping | undefined {
  const logical = byLogicalName(schema.name);
  if (logical) return logical;
  switch (schema.type) {
    case 'int8':
      return { type: 'byte' };
    case 'int16':
      return { type: 'short' };
    case 'int32':
      return { type: 'integer' };
    case 'int64':
      return { type: 'long' };
    case 'float32':
      return { type: 'float' };
    case 'float64':
      return { type: 'double' };
    case 'boolean':
      return { type: 'boolean' };
    case 'string':
      return text;
    case 'bytes':
      return { type: 'binary' };
    case 'array':
      return schema.items ? fieldMapping(schema.items) : undefined;
    case 'map':
      return { type: 'object' };
    case 'struct': {
      const properties = structProperties(schema);
      return properties ? { type: 'object', properties } : { type: 'object' };
    }
    default:
      return undefined;
  }
}

function structProperties(schema: ConnectSchema): Record<string, FieldMapping> | undefined {
  const properties: Record<string, FieldMapping> = {};
  let count = 0;
  for (const field of schema.fields ?? []) {
    const mapping = fieldMapping(field);
    if (mapping) {
      properties[field.field] = mapping;
      count++;
    }
  }
  return count > 0 ? properties : undefined;
}

/** The `mappings` of a new index for documents of this (struct) schema; undefined: dynamic. */
export function indexMappings(schema: ConnectSchema | undefined): FieldMapping | undefined {
  if (schema?.type !== 'struct') return undefined;
  const properties = structProperties(schema);
  return properties ? { dynamic: true, properties } : undefined;
}
