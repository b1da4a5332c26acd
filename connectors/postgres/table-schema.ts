// One captured table as the stream sees it: the columns of its latest relation message, each with
// its type mapping, the key columns, the Connect schemas (Key, Value, Envelope), and row builders.
//
// Rows are built in two steps per tuple: `decodeTuple` converts each column's text bytes into a
// reused scratch array, then a per-table row factory (generated once per relation message) builds
// the row object as one object literal — every row of a table gets the same hidden class and key
// order, which keeps both V8's property access and JSON.stringify on their fast paths.

import type {
  ConnectField,
  ConnectSchema,
  RecordData,
  RecordObject,
} from '../../runtime/api/index.ts';
import { envelopeSchema, keySchema, rowSchema } from '../../runtime/cdc/envelope.ts';
import type { CaptureFilter, KeyColumnOverrides } from '../../runtime/cdc/filters.ts';
import { quoteIdent, type TableCatalog } from './connection.ts';
import {
  PgoutputProtocolError,
  type RelationMessage,
  type ReplicaIdentity,
} from './pgoutput-decoder.ts';
import { postgresSourceSchema } from './source-info.ts';
import {
  columnType,
  type BytesConverter,
  type ColumnType,
  type TypeModes,
} from './type-mapping.ts';
import type { TypeRegistry } from './type-registry.ts';

/** COPY text format escapes (PostgreSQL's CopyAttributeOutText) → the raw bytes. */
export function unescapeCopyText(data: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  let length = 0;
  for (let i = start; i < end; i++) {
    let byte = data[i]!;
    if (byte === 92 && i + 1 < end) {
      const next = data[++i]!;
      switch (next) {
        case 98: // \b
          byte = 8;
          break;
        case 102: // \f
          byte = 12;
          break;
        case 110: // \n
          byte = 10;
          break;
        case 114: // \r
          byte = 13;
          break;
        case 116: // \t
          byte = 9;
          break;
        case 118: // \v
          byte = 11;
          break;
        case 120: {
          // \xHH (COPY FROM syntax; COPY TO does not write it)
          let value = 0;
          let digits = 0;
          while (digits < 2 && i + 1 < end && isHexDigit(data[i + 1]!)) {
            value = value * 16 + hexValue(data[++i]!);
            digits++;
          }
          byte = digits > 0 ? value : 120;
          break;
        }
        default:
          if (next >= 48 && next <= 55) {
            // \ooo octal
            let value = next - 48;
            for (let digits = 1; digits < 3 && i + 1 < end; digits++) {
              const d = data[i + 1]!;
              if (d < 48 || d > 55) break;
              value = value * 8 + d - 48;
              i++;
            }
            byte = value & 0xff;
          } else byte = next;
      }
    }
    out[length++] = byte;
  }
  return out.subarray(0, length);
}

function isHexDigit(byte: number): boolean {
  return (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102);
}

function hexValue(byte: number): number {
  return byte <= 57 ? byte - 48 : (byte | 32) - 87;
}

/** Tuple column kinds as pgoutput sends them. */
export const ColumnKind = { null: 0x6e, unchanged: 0x75, text: 0x74, binary: 0x62 } as const;

export interface ColumnPlan {
  name: string;
  /** undefined: a type without mapping; the column is left out. */
  type: ColumnType | undefined;
  /** In the Value row (mapped and admitted by the column filters). */
  inValue: boolean;
  /** Part of the message key. */
  inKey: boolean;
}

type RowFactory = (values: RecordData[]) => RecordObject;

/** A function building `{name: values[i], …}` for the given (name, index) pairs, in that order. */
function rowFactory(columns: ReadonlyArray<{ name: string; index: number }>): RowFactory {
  const body = columns
    .map(({ name, index }) =>
      name === '__proto__'
        ? `[${JSON.stringify(name)}]: v[${index}]`
        : `${JSON.stringify(name)}: v[${index}]`,
    )
    .join(', ');
  // Generated from column names only (quoted by JSON.stringify), never from row data.
  return new Function('v', `return { ${body} };`) as RowFactory;
}

export interface TableSchemaOptions {
  topicPrefix: string;
  filter: CaptureFilter;
  keyOverrides: KeyColumnOverrides;
  typeModes: TypeModes;
  /** The signal table (signal.data.collection): its inserts are read as signals. */
  signal?: boolean;
  /** Whether the table's changes become events (false for a signal table the filters leave out). */
  captured?: boolean;
}

/** A column as the catalog describes it (what a relation message would carry). */
export interface CatalogColumn {
  name: string;
  typeOid: number;
  typeModifier: number;
}

/**
 * The relation message pgoutput would send for a table, from the catalog: the snapshot builds its
 * rows with the same TableSchema as the stream, so both produce identical values.
 */
export function relationFromCatalog(
  relationId: number,
  schema: string,
  name: string,
  replicaIdentity: ReplicaIdentity,
  columns: readonly CatalogColumn[],
): RelationMessage {
  return {
    tag: 'relation',
    relationId,
    schema,
    name,
    replicaIdentity,
    columns: columns.map((column) => ({ ...column, isKey: false })),
  };
}

export class TableSchema {
  readonly relationId: number;
  readonly schemaName: string;
  readonly tableName: string;
  /** `<schema>.<table>`: the data collection name in filters and transaction metadata. */
  readonly dataCollection: string;
  readonly topic: string;
  readonly replicaIdentity: ReplicaIdentity;
  readonly columns: readonly ColumnPlan[];
  /** Relation column indexes of the key, in key order; [] for a keyless table (null keys). */
  readonly keyIndexes: readonly number[];
  readonly keySchema: ConnectSchema | undefined;
  readonly valueSchema: ConnectSchema;
  readonly envelopeSchema: ConnectSchema;
  readonly makeRow: RowFactory;
  readonly makeKey: RowFactory | undefined;
  /** Scratch space for decodeTuple (one tuple is decoded at a time). */
  readonly values: RecordData[];
  readonly kinds: Uint8Array;
  /** Per relation column: its converter, or null when the events do not use the column. */
  private readonly converters: Array<BytesConverter | null>;
  private readonly placeholders: RecordData[];
  /** Relation column indexes the events use, in column order (what a snapshot reads). */
  readonly readColumns: readonly number[];
  readonly signal: boolean;
  readonly captured: boolean;

  constructor(
    relation: RelationMessage,
    catalog: TableCatalog | undefined,
    registry: TypeRegistry,
    options: TableSchemaOptions,
  ) {
    this.relationId = relation.relationId;
    this.schemaName = relation.schema === '' ? 'pg_catalog' : relation.schema;
    this.tableName = relation.name;
    this.dataCollection = `${this.schemaName}.${this.tableName}`;
    const name = `${options.topicPrefix}.${this.dataCollection}`;
    this.topic = name;
    this.replicaIdentity = relation.replicaIdentity;

    const override = options.keyOverrides.columnsFor(this.dataCollection);
    const keyNames = new Set(override ?? catalog?.primaryKey ?? []);
    const notNull = catalog?.notNull ?? new Set<string>();

    const valueFields: ConnectField[] = [];
    const keyFields: ConnectField[] = [];
    const valueColumns: Array<{ name: string; index: number }> = [];
    const keyColumns: Array<{ name: string; index: number }> = [];
    const keyIndexes: number[] = [];
    this.columns = relation.columns.map((column, index) => {
      const type = columnType(column.typeOid, column.typeModifier, registry, options.typeModes);
      const inKey = type !== undefined && keyNames.has(column.name);
      const inValue =
        type !== undefined &&
        options.filter.includesColumn(this.schemaName, this.tableName, column.name);
      if (type && inValue) {
        valueFields.push({
          ...type.schema,
          optional: !notNull.has(column.name),
          field: column.name,
        });
        valueColumns.push({ name: column.name, index });
      }
      if (type && inKey) {
        keyFields.push({ ...type.schema, optional: false, field: column.name });
        keyColumns.push({ name: column.name, index });
        keyIndexes.push(index);
      }
      return { name: column.name, type, inValue, inKey };
    });
    this.keyIndexes = keyIndexes;
    this.keySchema = keyFields.length > 0 ? keySchema(name, keyFields) : undefined;
    this.valueSchema = rowSchema(name, valueFields);
    this.envelopeSchema = envelopeSchema(name, this.valueSchema, postgresSourceSchema);
    this.makeRow = rowFactory(valueColumns);
    this.makeKey = keyColumns.length > 0 ? rowFactory(keyColumns) : undefined;
    this.values = new Array<RecordData>(relation.columns.length).fill(null);
    this.kinds = new Uint8Array(relation.columns.length);
    this.converters = this.columns.map((column) =>
      column.type !== undefined && (column.inValue || column.inKey) ? column.type.fromBytes : null,
    );
    this.placeholders = this.columns.map((column) => column.type?.placeholder ?? null);
    this.readColumns = this.converters.flatMap((converter, index) =>
      converter === null ? [] : [index],
    );
    this.signal = options.signal ?? false;
    this.captured = options.captured ?? true;
  }

  /** Column names the events use, quoted for SQL, in `readColumns` order. */
  get readColumnNames(): string[] {
    return this.readColumns.map((index) => quoteIdent(this.columns[index]!.name));
  }

  /**
   * Convert one row of COPY … TO STDOUT text format (fields of `readColumns`, tab-separated,
   * `\N` for null, backslash escapes) into `this.values`. `end` excludes the newline.
   */
  decodeCopyRow(data: Buffer, start: number, end: number): void {
    const columns = this.readColumns;
    const converters = this.converters;
    const values = this.values;
    let position = start;
    for (let f = 0; f < columns.length; f++) {
      const index = columns[f]!;
      let i = position;
      let escaped = false;
      while (i < end) {
        const byte = data[i]!;
        if (byte === 9) break;
        if (byte === 92) {
          escaped = true;
          i += 2;
        } else i++;
      }
      if (i > end) i = end;
      if (!escaped) values[index] = converters[index]!(data, position, i);
      else if (i - position === 2 && data[position + 1] === 78) values[index] = null;
      else {
        const text = unescapeCopyText(data, position, i);
        values[index] = converters[index]!(text, 0, text.length);
      }
      if (i >= end && f < columns.length - 1) {
        throw new PgoutputProtocolError(
          `a COPY row of ${this.dataCollection} has ${f + 1} fields, expected ${columns.length}`,
        );
      }
      position = i + 1;
    }
  }

  /**
   * Convert the TupleData at `offset` into `this.values` / `this.kinds` (by relation column).
   * Unchanged TOASTed columns get their placeholder. Returns the offset after the tuple.
   */
  decodeTuple(data: Buffer, offset: number): number {
    const count = (data[offset]! << 8) | data[offset + 1]!;
    const converters = this.converters;
    const values = this.values;
    const kinds = this.kinds;
    if (count > values.length) {
      throw new PgoutputProtocolError(
        `a tuple of ${this.dataCollection} has ${count} columns, its relation ${values.length}`,
      );
    }
    const end = data.length;
    let position = offset + 2;
    for (let i = 0; i < count; i++) {
      const kind = data[position++]!;
      kinds[i] = kind;
      if (kind === 0x74 || kind === 0x62) {
        const length =
          (data[position]! << 24) |
          (data[position + 1]! << 16) |
          (data[position + 2]! << 8) |
          data[position + 3]!;
        position += 4;
        if (length < 0 || position + length > end) {
          throw new PgoutputProtocolError(
            `a tuple of ${this.dataCollection} runs past its message`,
          );
        }
        const convert = converters[i];
        if (convert !== null) values[i] = convert!(data, position, position + length);
        position += length;
      } else if (kind === 0x6e) {
        values[i] = null;
      } else if (kind === 0x75) {
        values[i] = this.placeholders[i]!;
      } else {
        throw new PgoutputProtocolError(`unknown tuple column kind 0x${kind.toString(16)}`);
      }
    }
    for (let i = count; i < values.length; i++) {
      values[i] = null;
      kinds[i] = ColumnKind.null;
    }
    return position;
  }

  /** The key from the last decoded tuple, or null for a keyless table. */
  keyFromValues(): RecordObject | null {
    return this.makeKey ? this.makeKey(this.values) : null;
  }

  /** True when the last decoded tuple (an old 'K' tuple) carries every key column. */
  hasAllKeyColumns(): boolean {
    for (const index of this.keyIndexes) if (this.kinds[index] === ColumnKind.null) return false;
    return this.keyIndexes.length > 0;
  }
}
