// JSON text for record data, with 64-bit integers (bigint) and raw bytes (Buffer, written as
// base64 like Kafka Connect's bytes). The common record has neither, so both directions try the
// native JSON functions first and fall back to a slower exact path only when needed: no replacer
// or reviver runs on the hot path.

import type { RecordData } from '../api/record.ts';

// What JSON.stringify makes of a Buffer through Buffer#toJSON. An unescaped `{"type":"Buffer"`
// can only come from an object (string contents have their quotes escaped), so this check never
// misses a Buffer; a plain object of that shape just takes the exact path, which is also correct.
const bufferMarker = '{"type":"Buffer","data":[';

/** Serialize record data. Buffers become base64 strings, bigints exact integer literals. */
export function stringifyJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return exactStringify(value);
  }
  if (text === undefined) return 'null';
  return text.includes(bufferMarker) ? exactStringify(value) : text;
}

/** After a record needed the exact path, this many records skip the native attempt. */
const exactStreakRecords = 256;

/**
 * stringifyJson for one stream of records (one converter). A stream whose records carry bigints
 * (a table with a BIGINT column beyond 2^53) would pay a thrown TypeError per record on the
 * native attempt; after one such record the writer goes straight to the exact path for a while,
 * then tries the native one again.
 */
export function createJsonWriter(): (value: unknown) => string {
  let exactLeft = 0;
  return (value) => {
    if (exactLeft > 0) {
      exactLeft--;
      return exactStringify(value);
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      exactLeft = exactStreakRecords;
      return exactStringify(value);
    }
    if (text === undefined) return 'null';
    return text.includes(bufferMarker) ? exactStringify(value) : text;
  };
}

function exactStringify(value: unknown): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join('');
}

function write(value: unknown, out: string[]): void {
  if (value === null || value === undefined) {
    out.push('null');
  } else if (typeof value === 'bigint') {
    out.push(value.toString());
  } else if (typeof value === 'number') {
    out.push(Number.isFinite(value) ? String(value) : 'null');
  } else if (typeof value === 'string' || typeof value === 'boolean') {
    out.push(JSON.stringify(value));
  } else if (Buffer.isBuffer(value)) {
    out.push(`"${value.toString('base64')}"`);
  } else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      const item: unknown = value[i];
      write(item === undefined || typeof item === 'function' ? null : item, out);
    }
    out.push(']');
  } else if (value instanceof Date) {
    out.push(JSON.stringify(value));
  } else if (typeof value === 'object') {
    out.push('{');
    let first = true;
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (item === undefined || typeof item === 'function') continue;
      if (!first) out.push(',');
      first = false;
      out.push(JSON.stringify(key), ':');
      write(item, out);
    }
    out.push('}');
  } else {
    out.push('null');
  }
}

/** Parse JSON text; integers outside the safe range come back as bigint, not rounded numbers. */
export function parseJson(text: string): RecordData {
  const quoted = quoteLongIntegers(text);
  if (quoted === undefined) return JSON.parse(text) as RecordData;
  // A NUL can only be written escaped in JSON: without one in the text, a string that starts
  // with a NUL after the native parse is a long integer that quoteLongIntegers quoted.
  if (text.includes('\\u0000')) return new ExactParser(text).parseDocument();
  return unquoteLongIntegers(JSON.parse(quoted) as RecordData);
}

const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;

/**
 * Where the next run of 16+ digits at or after `from` starts, or -1: every integer that may be
 * beyond 2^53 is one (2^53 has 16 digits). Such a run covers one of any 16 consecutive positions,
 * so only every 16th character is looked at until one is a digit: several times faster than the
 * regular expression /\d{16,}/ on a Debezium envelope, and this runs on every record read.
 */
function longDigitRun(text: string, from: number): number {
  const length = text.length;
  let probe = from + 15;
  while (probe < length) {
    if (!isDigit(text.charCodeAt(probe))) {
      probe += 16;
      continue;
    }
    let start = probe;
    while (start > from && isDigit(text.charCodeAt(start - 1))) start--;
    const end = digitsEnd(text, probe);
    if (end - start >= 16) return start;
    probe = end + 16;
  }
  return -1;
}

/** Where the digits starting at `from` end. */
function digitsEnd(text: string, from: number): number {
  let end = from;
  while (end < text.length && isDigit(text.charCodeAt(end))) end++;
  return end;
}

const isSpace = (code: number): boolean =>
  code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;

/**
 * The text with every integer token of 16+ digits outside strings turned into the string
 * `"\u0000<digits>"`, or undefined when there is none. Parsed natively, then made numbers again
 * by unquoteLongIntegers: several times faster than ExactParser for a Debezium envelope, whose
 * ts_ns has 19 digits. A run of digits is such a token when what precedes it may precede a value
 * (the start, ':', ',' or '[', spaces apart) and what follows ends one (',', ']', '}' or the end:
 * no fraction or exponent), without a leading zero, and it is outside the strings. A number token
 * and a string token play the same part in the grammar, so the quoted text is valid JSON exactly
 * when the original is.
 */
function quoteLongIntegers(text: string): string | undefined {
  let out: string | undefined;
  let copied = 0;
  let scanned = 0;
  let inString = false;
  for (
    let run = longDigitRun(text, 0);
    run !== -1;
    run = longDigitRun(text, digitsEnd(text, run))
  ) {
    const end = digitsEnd(text, run);
    if (text.charCodeAt(run) === 0x30) continue;
    const start = run > 0 && text.charCodeAt(run - 1) === 0x2d ? run - 1 : run;
    const digits = text.slice(start, end);
    let before = start - 1;
    while (before >= 0 && isSpace(text.charCodeAt(before))) before--;
    const opener = before < 0 ? 0x3a : text.charCodeAt(before);
    if (opener !== 0x3a && opener !== 0x2c && opener !== 0x5b) continue;
    let after = end;
    while (after < text.length && isSpace(text.charCodeAt(after))) after++;
    const closer = after === text.length ? 0x2c : text.charCodeAt(after);
    if (closer !== 0x2c && closer !== 0x5d && closer !== 0x7d) continue;
    // Strings open and close at unescaped quotes: follow them up to the run.
    for (;;) {
      const quote = text.indexOf('"', scanned);
      if (quote === -1 || quote >= start) break;
      let escape = quote - 1;
      while (escape >= 0 && text.charCodeAt(escape) === 0x5c) escape--;
      if ((quote - 1 - escape) % 2 === 0) inString = !inString;
      scanned = quote + 1;
    }
    if (inString) continue;
    out = (out ?? '') + text.slice(copied, start) + '"\\u0000' + digits + '"';
    copied = end;
  }
  return out === undefined ? undefined : out + text.slice(copied);
}

function unquoteLongIntegers(value: RecordData): RecordData {
  if (typeof value === 'string') return value.charCodeAt(0) === 0 ? longInteger(value) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = unquoteLongIntegers(value[i]!);
    return value;
  }
  const object = value as Record<string, RecordData>;
  for (const key in object) {
    const item = object[key]!;
    let revived: RecordData;
    if (typeof item === 'string') {
      if (item.charCodeAt(0) !== 0) continue;
      revived = longInteger(item);
    } else if (item !== null && typeof item === 'object') {
      unquoteLongIntegers(item);
      continue;
    } else {
      continue;
    }
    // an own "__proto__" member (JSON.parse makes one) must not go through the setter
    Object.defineProperty(object, key, {
      value: revived,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  return object;
}

/** `\u0000<digits>` → the integer, a number when safe, else a bigint (as ExactParser reads it). */
function longInteger(quoted: string): number | bigint {
  const digits = quoted.slice(1);
  const number = Number(digits);
  return Number.isSafeInteger(number) ? number : BigInt(digits);
}

class ExactParser {
  private index = 0;

  constructor(private readonly text: string) {}

  parseDocument(): RecordData {
    const value = this.value();
    this.skipSpace();
    if (this.index !== this.text.length) this.fail('unexpected trailing characters');
    return value;
  }

  private fail(message: string): never {
    throw new SyntaxError(`${message} in JSON at position ${this.index}`);
  }

  private skipSpace(): void {
    const text = this.text;
    while (this.index < text.length) {
      const code = text.charCodeAt(this.index);
      if (code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09) this.index++;
      else break;
    }
  }

  private value(): RecordData {
    this.skipSpace();
    const char = this.text[this.index];
    switch (char) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  private literal<T extends RecordData>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.index)) this.fail('unexpected token');
    this.index += word.length;
    return value;
  }

  private object(): RecordData {
    const out: Record<string, RecordData> = {};
    this.index++;
    this.skipSpace();
    if (this.text[this.index] === '}') {
      this.index++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.index] !== '"') this.fail('expected a property name');
      const key = this.string();
      this.skipSpace();
      if (this.text[this.index] !== ':') this.fail("expected ':'");
      this.index++;
      out[key] = this.value();
      this.skipSpace();
      const next = this.text[this.index++];
      if (next === '}') return out;
      if (next !== ',') this.fail("expected ',' or '}'");
    }
  }

  private array(): RecordData {
    const out: RecordData[] = [];
    this.index++;
    this.skipSpace();
    if (this.text[this.index] === ']') {
      this.index++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipSpace();
      const next = this.text[this.index++];
      if (next === ']') return out;
      if (next !== ',') this.fail("expected ',' or ']'");
    }
  }

  private string(): string {
    // Find the closing quote, skipping escapes, and let the native parser decode the literal.
    const start = this.index;
    let i = start + 1;
    const text = this.text;
    while (i < text.length) {
      const char = text.charCodeAt(i);
      if (char === 0x5c) i += 2;
      else if (char === 0x22) break;
      else i++;
    }
    if (i >= text.length) this.fail('unterminated string');
    this.index = i + 1;
    return JSON.parse(text.slice(start, i + 1)) as string;
  }

  private number(): number | bigint {
    const match = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    match.lastIndex = this.index;
    const found = match.exec(this.text);
    if (!found || found[0] === '' || found[0] === '-') this.fail('unexpected token');
    this.index += found[0].length;
    const literal = found[0];
    if (found[1] === undefined && found[2] === undefined) {
      const value = Number(literal);
      return Number.isSafeInteger(value) ? value : BigInt(literal);
    }
    return Number(literal);
  }
}
