// Kafka Connect's InsertField$Key / $Value: add the record's topic, partition, offset (sink
// records only) and timestamp, and a static string, as fields. A field name ending in `!` makes
// the field required in the schema, `?` (or nothing) optional. With a schema, the struct schema
// gains the fields (string, int32, int64, Timestamp, string); a null key or value passes through.

import type { ConnectField, ConnectRecord, ConnectSchema, RecordData } from '../api/record.ts';
import { TransformDataError } from './errors.ts';
import {
  SchemaCache,
  TIMESTAMP_SCHEMA_NAME,
  isSinkRecord,
  keySide,
  requireStruct,
  requireStructSchema,
  shallowCopy,
  structSchemaBasics,
  valueSide,
} from './record-parts.ts';
import type { RecordSide } from './record-parts.ts';
import type { OptionReader } from './options.ts';
import { TRANSFORMS_VERSION } from './types.ts';
import type { TransformPlugin } from './types.ts';

const PURPOSE = 'field insertion';

interface Insertion {
  readonly name: string;
  readonly optional: boolean;
  readonly schema: ConnectSchema;
  /** undefined: not inserted into a schemaless value (Kafka skips absent metadata there). */
  value(record: ConnectRecord): RecordData | undefined;
}

function spec(
  options: OptionReader,
  option: string,
): { name: string; optional: boolean } | undefined {
  const text = options.raw(option);
  if (text === undefined) return undefined;
  const required = text.endsWith('!');
  const name = text.endsWith('!') || text.endsWith('?') ? text.slice(0, -1) : text;
  if (name === '') {
    options.invalid(option, text, 'the field name must not be empty');
    return undefined;
  }
  return { name, optional: !required };
}

function readInsertions(options: OptionReader): Insertion[] {
  const insertions: Insertion[] = [];
  const add = (
    option: string,
    type: ConnectSchema,
    value: (record: ConnectRecord) => RecordData | undefined,
  ) => {
    const field = spec(options, option);
    if (!field) return;
    insertions.push({ ...field, schema: { ...type, optional: field.optional }, value });
  };
  add('topic.field', { type: 'string' }, (record) => record.topic);
  add('partition.field', { type: 'int32' }, (record) => {
    const partition = (record as ConnectRecord & { partition?: number }).partition;
    return typeof partition === 'number' ? partition : undefined;
  });
  add('offset.field', { type: 'int64' }, (record) => {
    if (!isSinkRecord(record)) {
      throw new TransformDataError(
        'Offset insertion is only supported for sink connectors, record is a source record',
      );
    }
    return record.offset;
  });
  add(
    'timestamp.field',
    { type: 'int64', name: TIMESTAMP_SCHEMA_NAME, version: 1 },
    (record) => record.timestamp,
  );
  // Kafka Connect adds the field with a null value when static.value is missing.
  const staticValue = options.raw('static.value');
  add('static.field', { type: 'string' }, () => staticValue);
  return insertions;
}

function insertField(side: RecordSide, suffix: '$Key' | '$Value'): TransformPlugin {
  return {
    kind: 'transformation',
    className: `org.apache.kafka.connect.transforms.InsertField${suffix}`,
    aliases: [`InsertField${suffix}`],
    version: TRANSFORMS_VERSION,
    summary: `Adds topic, partition, offset, timestamp or a static value as fields of the record ${side.name}.`,
    create(options) {
      const insertions = readInsertions(options);
      const updatedSchemas = new SchemaCache<ConnectSchema>();
      const updateSchema = (schema: ConnectSchema): ConnectSchema => {
        const fields: ConnectField[] = [...requireStructSchema(schema, PURPOSE)];
        for (const insertion of insertions)
          fields.push({ ...insertion.schema, field: insertion.name });
        return structSchemaBasics(schema, fields);
      };

      return (record) => {
        const data = side.data(record);
        if (data === null) return record;
        const schema = side.schema(record);
        const value = requireStruct(data, PURPOSE, schema !== undefined);
        const updated = shallowCopy(value);
        for (const insertion of insertions) {
          const inserted = insertion.value(record);
          if (schema === undefined) {
            if (inserted !== undefined) updated[insertion.name] = inserted;
            continue;
          }
          if ((inserted === undefined || inserted === null) && !insertion.optional) {
            throw new TransformDataError(
              `Invalid value: null used for required field: "${insertion.name}", schema type: ${insertion.schema.type}`,
            );
          }
          updated[insertion.name] = inserted ?? null;
        }
        return side.with(
          record,
          updated,
          schema === undefined ? undefined : updatedSchemas.get(schema, updateSchema),
        );
      };
    },
  };
}

export const insertFieldKey = insertField(keySide, '$Key');
export const insertFieldValue = insertField(valueSide, '$Value');
