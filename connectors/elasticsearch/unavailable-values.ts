// Unchanged TOASTed values. PostgreSQL does not send a large (TOASTed) column that an UPDATE did
// not change, and Debezium-format sources put a placeholder there instead
// (unavailable.value.placeholder, default `__debezium_unavailable_value`), shaped for the column's
// type: the text for strings, its UTF-8 bytes for bytes and decimals, `[placeholder]` for text
// arrays, the placeholder's bytes as numbers for numeric arrays, `{placeholder: placeholder}` for
// maps, `{scale: 0, value: bytes}` for VariableScaleDecimal. Indexing that row as it is would
// replace the document's text with the placeholder.
//
// This module finds those fields in a row (top-level fields only: TOAST is per column), compiled
// once per row schema. Schemaless rows are checked by value: a string equal to the placeholder or
// to its base64 text, `[placeholder]`, the numeric-array and map shapes.

import type { ConnectSchema, RecordData } from '../../runtime/api/index.ts';
import { isRow, type Row } from './row.ts';

export const defaultPlaceholder = '__debezium_unavailable_value';

export class PlaceholderShapes {
  readonly text: string;
  readonly bytes: Buffer;
  readonly base64: string;
  private readonly numbers: readonly number[];

  constructor(placeholder: string) {
    this.text = placeholder;
    this.bytes = Buffer.from(placeholder, 'utf8');
    this.base64 = this.bytes.toString('base64');
    this.numbers = [...this.bytes];
  }

  isText = (value: RecordData): boolean => value === this.text;

  isBytes = (value: RecordData): boolean =>
    Buffer.isBuffer(value) ? value.equals(this.bytes) : value === this.base64;

  isTextArray = (value: RecordData): boolean =>
    Array.isArray(value) && value.length === 1 && value[0] === this.text;

  isNumberArray = (value: RecordData): boolean => {
    if (!Array.isArray(value) || value.length !== this.numbers.length) return false;
    for (let i = 0; i < value.length; i++) if (value[i] !== this.numbers[i]) return false;
    return true;
  };

  isMap = (value: RecordData): boolean => {
    if (!isRow(value)) return false;
    const keys = Object.keys(value);
    return keys.length === 1 && keys[0] === this.text && value[this.text] === this.text;
  };

  isVariableScaleDecimal = (value: RecordData): boolean => {
    if (!isRow(value)) return false;
    return value.scale === 0 && this.isBytes(value.value ?? null);
  };

  /** Any shape (rows without a schema). */
  isAny = (value: RecordData): boolean =>
    this.isText(value) ||
    value === this.base64 ||
    this.isTextArray(value) ||
    this.isNumberArray(value) ||
    this.isMap(value);
}

const numericTypes = new Set(['int8', 'int16', 'int32', 'int64', 'float32', 'float64']);

/** Does `value` of a field with schema `field` hold the placeholder? */
function holdsPlaceholder(
  field: ConnectSchema,
  value: RecordData,
  shapes: PlaceholderShapes,
): boolean {
  switch (field.type) {
    case 'string':
      return value === shapes.text;
    case 'bytes':
      return shapes.isBytes(value);
    case 'array':
      if (field.items?.type === 'string') return shapes.isTextArray(value);
      return field.items !== undefined && numericTypes.has(field.items.type)
        ? shapes.isNumberArray(value)
        : false;
    case 'map':
      return shapes.isMap(value);
    case 'struct':
      return (
        field.name === 'io.debezium.data.VariableScaleDecimal' &&
        shapes.isVariableScaleDecimal(value)
      );
    default:
      // Fixed-width types are never TOASTed.
      return false;
  }
}

/**
 * Finds the fields of a row that hold the placeholder. No per-schema cache: records decoded by
 * the JSON converter bring a new schema object each, and one pass over the fields costs about
 * what a cache lookup by shape would.
 */
export class UnavailableDetector {
  readonly shapes: PlaceholderShapes;

  constructor(placeholder: string) {
    this.shapes = new PlaceholderShapes(placeholder);
  }

  /** The names of the row's fields that hold the placeholder, or undefined when none does. */
  find(row: Row, schema: ConnectSchema | undefined): string[] | undefined {
    let found: string[] | undefined;
    if (schema?.type === 'struct' && schema.fields) {
      for (const field of schema.fields) {
        const value = row[field.field];
        if (value === undefined || value === null) continue;
        if (holdsPlaceholder(field, value, this.shapes)) (found ??= []).push(field.field);
      }
      return found;
    }
    for (const name in row) {
      if (this.shapes.isAny(row[name] ?? null)) (found ??= []).push(name);
    }
    return found;
  }

  /** Is this (top-level) value the placeholder, whatever its shape? */
  isPlaceholder(value: RecordData | undefined, field: ConnectSchema | undefined): boolean {
    if (value === undefined || value === null) return false;
    return field ? holdsPlaceholder(field, value, this.shapes) : this.shapes.isAny(value);
  }
}
