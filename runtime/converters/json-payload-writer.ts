// Record data written as JSON bytes straight into a buffer, without building a JSON string: the
// source pump's path for JsonConverter payloads (byte-arena.ts). The output is byte for byte
// UTF-8(JSON.stringify(value)) — what JsonConverter writes on its string path — or the writer
// gives up (UNSUPPORTED) and the caller takes that path instead.
//
// Why: JSON.stringify builds a ~700-character string per Debezium payload (about 1.3 KB of heap
// with its builder's parts) that is then copied into the arena as UTF-8; most of a source pump's
// garbage was these strings. Here a struct schema compiles once into a function that checks the
// object's own keys are the schema's fields in order (for...in, no allocation), writes the
// constant `{"field":` parts as bytes and each value by its runtime type: ASCII strings and safe
// integers byte by byte, anything else (escapes, non-ASCII text, fractions) through the native
// functions, and values outside the plain JSON types (bigint, Buffers without a string toJSON,
// undefined) make the writer give up so the caller's exact path decides, as before.

import type { ConnectSchema, RecordData } from '../api/record.ts';

/**
 * Writes `value` into buffer[at, end) and returns where it ended, or NO_ROOM (end too close:
 * may fit in a larger space) or UNSUPPORTED (the caller must serialize it another way).
 */
export type PayloadWriter = (value: RecordData, buffer: Buffer, at: number, end: number) => number;

export const NO_ROOM = -1;
export const UNSUPPORTED = -2;

/** Strings up to this length are checked and copied in JS; longer ones go native. */
const SHORT_STRING = 128;
/** Longest number text: -1.7976931348623157e+308. */
const NUMBER_ROOM = 24;
const bufferMarker = '{"type":"Buffer","data":[';

type FieldWriter = (value: unknown, key: string, buffer: Buffer, at: number, end: number) => number;

/** Escapes of the ASCII control characters, quote and backslash, as JSON.stringify writes them. */
const asciiEscapes: string[] = [];
for (let code = 0; code < 0x80; code++) {
  const char = String.fromCharCode(code);
  const json = JSON.stringify(char);
  asciiEscapes.push(json.length > 3 ? json.slice(1, -1) : '');
}

function writeString(text: string, buffer: Buffer, at: number, end: number): number {
  const length = text.length;
  // Escaped, a character takes at most 6 bytes (\u001f).
  if (length > SHORT_STRING || end - at < length * 6 + 2) return writeNative(text, buffer, at, end);
  buffer[at] = 0x22;
  let out = at + 1;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    // Non-ASCII needs UTF-8 (and lone surrogates escapes): JSON.stringify's text handles it.
    if (code > 0x7f) return writeNative(text, buffer, at, end);
    if (code >= 0x20 && code !== 0x22 && code !== 0x5c) buffer[out++] = code;
    else out = writeAscii(asciiEscapes[code]!, buffer, out);
  }
  buffer[out] = 0x22;
  return out + 1;
}

/** `text` as JSON.stringify quotes it, in UTF-8. */
function writeNative(text: string, buffer: Buffer, at: number, end: number): number {
  const json = JSON.stringify(text);
  if (end - at < json.length * 3) return NO_ROOM;
  return at + buffer.write(json, at);
}

function writeNumber(value: number, buffer: Buffer, at: number, end: number): number {
  if (end - at < NUMBER_ROOM) return NO_ROOM;
  if (Number.isSafeInteger(value)) {
    let n = value;
    if (n < 0) {
      buffer[at++] = 0x2d;
      n = -n;
    }
    // -0 writes "0", as JSON.stringify does. Below 2^53: at most 8 digits above the low 8.
    if (n < 100_000_000) return writeDigits(n, buffer, at);
    const high = Math.floor(n / 100_000_000);
    at = writeDigits(high, buffer, at);
    return writeDigits8(n - high * 100_000_000, buffer, at);
  }
  if (!Number.isFinite(value)) return writeAscii('null', buffer, at);
  return writeAscii(String(value), buffer, at);
}

/** 0 ≤ n < 10^8, in int32 arithmetic. */
function writeDigits(n: number, buffer: Buffer, at: number): number {
  let digits = 1;
  for (let power = 10; power <= n; power *= 10) digits++;
  return writeDigitsPadded(n, digits, buffer, at);
}

/** 0 ≤ n < 10^8 as exactly 8 digits (the low part of a larger integer). */
function writeDigits8(n: number, buffer: Buffer, at: number): number {
  return writeDigitsPadded(n, 8, buffer, at);
}

function writeDigitsPadded(n: number, digits: number, buffer: Buffer, at: number): number {
  let rest = n | 0;
  for (let out = at + digits - 1; out >= at; out--) {
    const quotient = (rest / 10) | 0;
    buffer[out] = 0x30 + rest - quotient * 10;
    rest = quotient;
  }
  return at + digits;
}

function writeAscii(text: string, buffer: Buffer, at: number): number {
  for (let i = 0; i < text.length; i++) buffer[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** An object or array without a compiled writer: JSON.stringify's own text (exact by definition). */
function writeSubtree(value: object, buffer: Buffer, at: number, end: number): number {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return UNSUPPORTED; // a bigint: the caller's exact path writes it
  }
  if (json === undefined || json.includes(bufferMarker)) return UNSUPPORTED;
  if (end - at < json.length * 3) return NO_ROOM;
  return at + buffer.write(json, at);
}

/** Any value, as JSON.stringify writes it as the property `key` of its holder. */
function writeValue(value: unknown, key: string, buffer: Buffer, at: number, end: number): number {
  switch (typeof value) {
    case 'string':
      return writeString(value, buffer, at, end);
    case 'number':
      return writeNumber(value, buffer, at, end);
    case 'boolean':
      if (end - at < 5) return NO_ROOM;
      return writeAscii(value ? 'true' : 'false', buffer, at);
    case 'object': {
      if (value === null) return writeNull(buffer, at, end);
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        return writeToJson(value, toJSON as (key: string) => unknown, key, buffer, at, end);
      }
      return writeSubtree(value, buffer, at, end);
    }
    default:
      return UNSUPPORTED;
  }
}

function writeNull(buffer: Buffer, at: number, end: number): number {
  if (end - at < 4) return NO_ROOM;
  return writeAscii('null', buffer, at);
}

/** JSON.stringify calls toJSON(key) once and writes what it returns (bytes: their base64). */
function writeToJson(
  value: object,
  toJSON: (key: string) => unknown,
  key: string,
  buffer: Buffer,
  at: number,
  end: number,
): number {
  const replaced = toJSON.call(value, key);
  // An object returned by toJSON is written without calling its own toJSON: left to the caller.
  if (typeof replaced === 'object' && replaced !== null) return UNSUPPORTED;
  return writeValue(replaced, key, buffer, at, end);
}

const writers = new WeakMap<ConnectSchema, FieldWriter>();

function fieldWriter(schema: ConnectSchema): FieldWriter {
  let writer = writers.get(schema);
  if (writer === undefined) {
    writer = schema.type === 'struct' ? compileStruct(schema) : writeValue;
    writers.set(schema, writer);
  }
  return writer;
}

/** Byte stores for a short constant, one call to set() for a longer one. */
function emitConstant(bytes: Buffer, constants: Buffer[]): string {
  if (bytes.length > 32) {
    constants.push(bytes);
    return `b.set(k[${constants.length - 1}], a); a += ${bytes.length};\n`;
  }
  let code = '';
  for (let i = 0; i < bytes.length; i++) code += `b[a + ${i}] = ${bytes[i]};`;
  return `${code} a += ${bytes.length};\n`;
}

/**
 * A struct's writer: the object's own enumerable keys must be the schema's field names in order
 * (the order JSON.stringify follows, and JsonConverter's); otherwise, or for a value that is not
 * a plain object, the generic writer decides. Field loads are named loads (monomorphic).
 */
function compileStruct(schema: ConnectSchema): FieldWriter {
  const fields = schema.fields ?? [];
  const names = fields.map((field) => field.field);
  // A field named toJSON would be called by JSON.stringify; __proto__ is not an own key.
  if (names.some((name) => name === 'toJSON' || name === '__proto__')) return writeValue;
  const children = fields.map(fieldWriter);
  const constants: Buffer[] = [];
  let constantBytes = 2;
  let body = '';
  fields.forEach((field, i) => {
    const name = JSON.stringify(field.field);
    const part = Buffer.from(`${i === 0 ? '{' : ','}${name}:`);
    constantBytes += part.length;
    body += emitConstant(part, constants);
    const load = `x = v[${name}];\n`;
    const child = children[i] === writeValue ? 'value' : `c[${i}]`;
    body +=
      load +
      `a = typeof x === 'string' ? str(x, b, a, e) : typeof x === 'number' ? num(x, b, a, e) : ${child}(x, ${name}, b, a, e);\n` +
      'if (a < 0) return a;\n';
  });
  if (fields.length === 0) body += emitConstant(Buffer.from('{'), constants);
  body += 'b[a] = 125; return a + 1;\n';
  const source =
    `return function writeStruct(v, key, b, a, e) {\n` +
    `if (v === null) return nul(b, a, e);\n` +
    `if (typeof v !== 'object' || Array.isArray(v) || typeof v.toJSON === 'function') return value(v, key, b, a, e);\n` +
    `let i = 0;\n` +
    `for (const name in v) { if (name !== names[i++]) return value(v, key, b, a, e); }\n` +
    `if (i !== ${names.length}) return value(v, key, b, a, e);\n` +
    `if (e - a < ${constantBytes}) return ${NO_ROOM};\n` +
    `let x;\n` +
    body +
    `};`;
  const factory = new Function('names', 'c', 'k', 'str', 'num', 'nul', 'value', source) as (
    ...args: unknown[]
  ) => FieldWriter;
  return factory(names, children, constants, writeString, writeNumber, writeNull, writeValue);
}

const rootWriters = new WeakMap<ConnectSchema, PayloadWriter>();
const writeRoot: PayloadWriter = (value, buffer, at, end) => writeValue(value, '', buffer, at, end);

/** The writer of values of `schema` (a struct compiles once per schema object). */
export function payloadWriter(schema: ConnectSchema | undefined): PayloadWriter {
  if (schema === undefined) return writeRoot;
  let root = rootWriters.get(schema);
  if (root === undefined) {
    const writer = fieldWriter(schema);
    // The top-level value is the property '' of JSON.stringify's holder.
    root = (value, buffer, at, end) => writer(value, '', buffer, at, end);
    rootWriters.set(schema, root);
  }
  return root;
}
