// JSON text of record data for bulk bodies. Records hold plain JSON data plus bigint (64-bit
// integers beyond 2^53) and Buffer (bytes). The common document has neither, so JSON.stringify's
// native path is tried first; a bigint makes it throw and a Buffer shows up as Buffer#toJSON's
// marker, and only then the exact (slower) writer runs: bigints as integer literals, Buffers as
// base64 (what Elasticsearch's binary type expects).

import type { RecordData } from '../../runtime/api/index.ts';

const bufferMarker = '{"type":"Buffer","data":[';

export function toJson(value: RecordData): string {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    return exact(value);
  }
  return text.includes(bufferMarker) ? exact(value) : text;
}

function exact(value: RecordData): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    default:
      break;
  }
  if (Buffer.isBuffer(value)) return `"${value.toString('base64')}"`;
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item = value[i];
      out += item === undefined ? 'null' : exact(item);
    }
    return out + ']';
  }
  let out = '{';
  let first = true;
  for (const key in value) {
    const item = value[key];
    if (item === undefined) continue;
    out += (first ? '' : ',') + JSON.stringify(key) + ':' + exact(item);
    first = false;
  }
  return out + '}';
}

// 16+ digits in a row may be an integer beyond 2^53 (9007199254740991 has 16 digits).
const longDigits = /\d{16,}/;

/**
 * Parse JSON text (documents read back from Elasticsearch); integers outside the safe range come
 * back as bigint instead of rounded numbers, so a value read and written again stays exact.
 */
export function parseExactJson(text: string): RecordData {
  if (!longDigits.test(text)) return JSON.parse(text) as RecordData;
  let at = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} in JSON at position ${at}`);
  };
  const space = () => {
    while (at < text.length) {
      const code = text.charCodeAt(at);
      if (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) at++;
      else break;
    }
  };
  const string = (): string => {
    const start = at;
    at++;
    while (at < text.length) {
      const code = text.charCodeAt(at);
      if (code === 0x5c) at += 2;
      else if (code === 0x22) break;
      else at++;
    }
    if (at >= text.length) fail('unterminated string');
    at++;
    return JSON.parse(text.slice(start, at)) as string;
  };
  const value = (): RecordData => {
    space();
    const char = text[at];
    if (char === '"') return string();
    if (char === '{') {
      at++;
      const out: { [key: string]: RecordData } = {};
      space();
      if (text[at] === '}') {
        at++;
        return out;
      }
      for (;;) {
        space();
        if (text[at] !== '"') fail('expected a property name');
        const key = string();
        space();
        if (text[at++] !== ':') fail("expected ':'");
        out[key] = value();
        space();
        const next = text[at++];
        if (next === '}') return out;
        if (next !== ',') fail("expected ',' or '}'");
      }
    }
    if (char === '[') {
      at++;
      const out: RecordData[] = [];
      space();
      if (text[at] === ']') {
        at++;
        return out;
      }
      for (;;) {
        out.push(value());
        space();
        const next = text[at++];
        if (next === ']') return out;
        if (next !== ',') fail("expected ',' or ']'");
      }
    }
    for (const [word, literal] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return literal;
      }
    }
    const match = /-?\d+(\.\d+)?([eE][-+]?\d+)?/y;
    match.lastIndex = at;
    const number = match.exec(text);
    if (!number) return fail('unexpected token');
    at += number[0].length;
    if (number[1] === undefined && number[2] === undefined) {
      const integer = Number(number[0]);
      if (!Number.isSafeInteger(integer)) return BigInt(number[0]);
      return integer;
    }
    return Number(number[0]);
  };
  const result = value();
  space();
  if (at !== text.length) fail('unexpected trailing characters');
  return result;
}
