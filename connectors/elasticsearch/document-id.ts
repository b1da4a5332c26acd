// Document ids. With keys (the default) the id is the record key, so every change of a row
// lands on the same document:
//   - a primitive key (string, number, boolean, bigint) is its text; bytes are base64;
//   - a struct/object key with one field (Debezium's key of a one-column primary key) is the
//     text of that field's value, so {id: 42} and the plain key 42 give the same id "42";
//   - a key with several fields (composite primary key) is the JSON array of the values in
//     field order (the key schema's order when there is one), e.g. [42,"eu"]. JSON quoting makes
//     it unambiguous: ["a,b","c"] and ["a","b,c"] stay different, unlike a joined string.
// With key.ignore the id is topic+partition+offset (Confluent's format), one document per record.

import type { ConnectSchema, RecordData, SinkRecord } from '../../runtime/api/index.ts';
import { InvalidRecordError } from './errors.ts';
import { toJson } from './json.ts';

/** Elasticsearch refuses ids longer than 512 bytes. */
const maxIdBytes = 512;

function scalarText(value: RecordData): string | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'bigint':
    case 'boolean':
      return String(value);
    default:
      if (Buffer.isBuffer(value)) return value.toString('base64');
      return undefined;
  }
}

function fieldValues(
  key: { [field: string]: RecordData },
  schema: ConnectSchema | undefined,
): RecordData[] {
  if (schema?.type === 'struct' && schema.fields && schema.fields.length > 0) {
    return schema.fields.map((field) => key[field.field] ?? null);
  }
  return Object.values(key);
}

export function documentIdFromKey(record: SinkRecord): string {
  const key = record.key;
  let id = scalarText(key);
  if (id === undefined) {
    if (key === null) {
      throw new InvalidRecordError(
        `Key is used as document id and can not be null (record ${record.topic}/${record.partition}@${record.offset}); ` +
          'set key.ignore=true for append-only indices',
      );
    }
    if (Array.isArray(key)) {
      id = toJson(key);
    } else {
      const values = fieldValues(key as { [field: string]: RecordData }, record.keySchema);
      if (values.length === 1) {
        const only = values[0]!;
        id = scalarText(only) ?? (only === null ? undefined : toJson(only));
      } else if (values.length > 1) {
        id = toJson(values);
      }
      if (id === undefined) {
        throw new InvalidRecordError(
          `The key of record ${record.topic}/${record.partition}@${record.offset} has no usable value for a document id`,
        );
      }
    }
  }
  if (id.length > maxIdBytes / 4 && Buffer.byteLength(id, 'utf8') > maxIdBytes) {
    throw new InvalidRecordError(
      `The document id of record ${record.topic}/${record.partition}@${record.offset} is longer than ${maxIdBytes} bytes, which Elasticsearch refuses`,
    );
  }
  return id;
}

/** key.ignore: Confluent's topic+partition+offset. */
export function documentIdFromPosition(record: SinkRecord): string {
  return `${record.topic}+${record.partition}+${record.offset}`;
}
