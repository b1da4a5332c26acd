// Parsers for PostgreSQL's text output formats, reading bytes or strings directly into the numbers
// Debezium emits (days, microseconds, unscaled decimal bytes…) without Date objects or regexes on
// the hot path. They assume the session settings the connector sets on its replication and
// snapshot connections: DateStyle=ISO, TimeZone=UTC, IntervalStyle=iso_8601, bytea_output=hex,
// extra_float_digits=3, lc_monetary=C.

import { allocJsonBytes, jsonBytes } from '../../runtime/cdc/json-bytes.ts';

const microsPerDay = 86_400_000_000;

/** Days from 1970-01-01 to the proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The inverse: [year, month, day] of a day number. */
export function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return [year, month, day];
}

function digitsAt(text: string, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) value = value * 10 + (text.charCodeAt(i) - 48);
  return value;
}

/** "HH:MM:SS[.ffffff]" starting at `start` → [micros of day, index after it]. */
function timeOfDay(text: string, start: number): [number, number] {
  const hours = digitsAt(text, start, start + 2);
  const minutes = digitsAt(text, start + 3, start + 5);
  const seconds = digitsAt(text, start + 6, start + 8);
  let position = start + 8;
  let fraction = 0;
  if (text.charCodeAt(position) === 46) {
    position++;
    let scale = 100_000;
    while (position < text.length) {
      const code = text.charCodeAt(position);
      if (code < 48 || code > 57) break;
      fraction += (code - 48) * scale;
      scale /= 10;
      position++;
    }
    fraction = Math.round(fraction);
  }
  return [((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + fraction, position];
}

/** Parsed "YYYY-MM-DD" prefix with an optional " BC" suffix anywhere after it. */
function datePart(text: string): [days: number, end: number] {
  let dash = text.indexOf('-', 1);
  const year = digitsAt(text, 0, dash);
  const month = digitsAt(text, dash + 1, dash + 3);
  const day = digitsAt(text, dash + 4, dash + 6);
  const bc = text.endsWith(' BC');
  dash += 6;
  return [daysFromCivil(bc ? 1 - year : year, month, day), dash];
}

export type Infinite = 'infinity' | '-infinity';

function infinity(text: string): Infinite | undefined {
  if (text === 'infinity') return 'infinity';
  if (text === '-infinity') return '-infinity';
  return undefined;
}

/** date → days since the epoch, or the infinity marker. */
export function parseDate(text: string): number | Infinite {
  return infinity(text) ?? datePart(text)[0];
}

/** time → microseconds since midnight ("24:00:00" gives a full day). */
export function parseTime(text: string): number {
  return timeOfDay(text, 0)[0];
}

/** timestamp (without time zone) → microseconds since the epoch. */
export function parseTimestamp(text: string): number | Infinite {
  const inf = infinity(text);
  if (inf) return inf;
  const [days, end] = datePart(text);
  return days * microsPerDay + timeOfDay(text, end + 1)[0];
}

/** "+HH[:MM[:SS]]" or "-HH…" at `start` → offset in seconds east of UTC. */
function offsetSeconds(text: string, start: number): number {
  if (start >= text.length) return 0;
  const sign = text.charCodeAt(start) === 45 ? -1 : 1;
  let seconds = digitsAt(text, start + 1, start + 3) * 3600;
  if (text.charCodeAt(start + 3) === 58) seconds += digitsAt(text, start + 4, start + 6) * 60;
  if (text.charCodeAt(start + 6) === 58) seconds += digitsAt(text, start + 7, start + 9);
  return sign * seconds;
}

/** timestamptz → microseconds since the epoch (UTC). */
export function parseTimestamptz(text: string): number | Infinite {
  const inf = infinity(text);
  if (inf) return inf;
  const [days, end] = datePart(text);
  const [micros, after] = timeOfDay(text, end + 1);
  return days * microsPerDay + micros - offsetSeconds(text, after) * 1_000_000;
}

/** timetz → microseconds since midnight in UTC (wrapped into one day). */
export function parseTimetz(text: string): number {
  const [micros, after] = timeOfDay(text, 0);
  const utc = micros - offsetSeconds(text, after) * 1_000_000;
  return ((utc % microsPerDay) + microsPerDay) % microsPerDay;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function fractionDigits(micros: number, width: number | undefined): string {
  // width undefined: as many digits as needed (Java's ISO formatter); 0: none; n: exactly n.
  if (width === 0) return '';
  if (width === undefined) {
    if (micros === 0) return '';
    return `.${pad(micros, 6).replace(/0+$/, '')}`;
  }
  return `.${pad(micros, 6).slice(0, Math.min(width, 6)).padEnd(width, '0')}`;
}

/** Debezium's ZonedTimestamp text: ISO-8601 in UTC with `width` fraction digits. */
export function formatZonedTimestamp(epochMicros: number, width: number): string {
  const days = Math.floor(epochMicros / microsPerDay);
  const micros = epochMicros - days * microsPerDay;
  const [year, month, day] = civilFromDays(days);
  const seconds = Math.floor(micros / 1_000_000);
  const yearText =
    year >= 0 && year <= 9999 ? pad(year, 4) : year > 9999 ? `+${year}` : `-${pad(-year, 4)}`;
  return (
    `${yearText}-${pad(month, 2)}-${pad(day, 2)}T${pad(Math.floor(seconds / 3600), 2)}:` +
    `${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}` +
    `${fractionDigits(micros % 1_000_000, width)}Z`
  );
}

/** Debezium's ZonedTime text: "HH:MM:SS[.f…]Z" in UTC, fraction without trailing zeros. */
export function formatZonedTime(microsOfDay: number): string {
  const seconds = Math.floor(microsOfDay / 1_000_000);
  return (
    `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:` +
    `${pad(seconds % 60, 2)}${fractionDigits(microsOfDay % 1_000_000, undefined)}Z`
  );
}

export interface IntervalParts {
  years: number;
  months: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
  /** The seconds as written, e.g. "-6.789" (for the ISO string without float noise). */
  secondsText: string;
}

/** IntervalStyle=iso_8601 output ("P1Y2M3DT4H5M6.789S", "PT0S", "P-1Y-2M3DT-4H") → parts. */
export function parseIsoInterval(text: string): IntervalParts {
  const parts: IntervalParts = {
    years: 0,
    months: 0,
    days: 0,
    hours: 0,
    minutes: 0,
    seconds: 0,
    secondsText: '0',
  };
  let inTime = false;
  let start = 1;
  for (let i = 1; i < text.length; i++) {
    const char = text[i]!;
    if (char === 'T') {
      inTime = true;
      start = i + 1;
      continue;
    }
    if ((char >= '0' && char <= '9') || char === '-' || char === '.' || char === '+') continue;
    const number = text.slice(start, i);
    start = i + 1;
    const value = Number(number);
    if (!inTime) {
      if (char === 'Y') parts.years = value;
      else if (char === 'M') parts.months = value;
      else if (char === 'D') parts.days = value;
      else if (char === 'W') parts.days += value * 7;
    } else if (char === 'H') parts.hours = value;
    else if (char === 'M') parts.minutes = value;
    else if (char === 'S') {
      parts.seconds = value;
      parts.secondsText = number;
    }
  }
  return parts;
}

/** Debezium's MicroDuration: months count as 365.25/12 days. */
export function intervalMicros(parts: IntervalParts): number {
  const days = (parts.years * 12 + parts.months) * (365.25 / 12) + parts.days;
  const seconds = ((days * 24 + parts.hours) * 60 + parts.minutes) * 60 + parts.seconds;
  return Math.trunc(seconds * 1e6);
}

/** Debezium's io.debezium.time.Interval text: every component, seconds without trailing zeros. */
export function formatIsoInterval(parts: IntervalParts): string {
  return (
    `P${parts.years}Y${parts.months}M${parts.days}DT${parts.hours}H${parts.minutes}M` +
    `${stripDecimalZeros(parts.secondsText)}S`
  );
}

function stripDecimalZeros(text: string): string {
  let value = text.startsWith('+') ? text.slice(1) : text;
  if (value.includes('.')) value = value.replace(/0+$/, '').replace(/\.$/, '');
  if (value === '-0' || value === '') return '0';
  return value;
}

// ---- decimals ----

/** Java's BigInteger.toByteArray() of a magnitude (little-endian bytes) and a sign. */
function twosComplement(magnitudeLE: number[], negative: boolean): Buffer {
  const bytes = magnitudeLE;
  if (!negative) {
    if ((bytes[bytes.length - 1]! & 0x80) !== 0) bytes.push(0);
  } else {
    let carry = 1;
    for (let i = 0; i < bytes.length; i++) {
      const value = (~bytes[i]! & 0xff) + carry;
      bytes[i] = value & 0xff;
      carry = value >> 8;
    }
    if ((bytes[bytes.length - 1]! & 0x80) === 0) bytes.push(0xff);
  }
  const out = allocJsonBytes(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[bytes.length - 1 - i]!;
  return out;
}

/** Big-endian two's complement bytes of an integer given as decimal digits (no sign). */
export function unscaledBytes(digits: string, negative: boolean): Buffer {
  const magnitude: number[] = [];
  if (digits.length <= 15) {
    let value = Number(digits);
    do {
      magnitude.push(value % 256);
      value = Math.floor(value / 256);
    } while (value > 0);
  } else {
    let hex = BigInt(digits).toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    for (let i = hex.length - 2; i >= 0; i -= 2)
      magnitude.push(Number.parseInt(hex.slice(i, i + 2), 16));
  }
  const isZero = magnitude.every((byte) => byte === 0);
  return twosComplement(magnitude, negative && !isZero);
}

export interface ScaledDecimal {
  /** Big-endian two's complement unscaled value. */
  unscaled: Buffer;
  scale: number;
}

/**
 * A numeric's text ("-123.4500") as unscaled bytes at `targetScale`, or, with targetScale
 * undefined, at its own scale with trailing fraction zeros stripped (Debezium's
 * VariableScaleDecimal). Undefined for NaN and ±Infinity.
 */
export function parseDecimal(text: string, targetScale?: number): ScaledDecimal | undefined {
  const code = text.charCodeAt(0);
  if (code !== 45 && (code < 48 || code > 57)) return undefined;
  const negative = code === 45;
  const body = negative ? text.slice(1) : text;
  if (body.charCodeAt(0) < 48 || body.charCodeAt(0) > 57) return undefined;
  const dot = body.indexOf('.');
  let integer = dot < 0 ? body : body.slice(0, dot);
  let fraction = dot < 0 ? '' : body.slice(dot + 1);
  let scale: number;
  if (targetScale === undefined) {
    fraction = fraction.replace(/0+$/, '');
    scale = fraction.length;
  } else {
    scale = targetScale;
    if (fraction.length < scale) fraction = fraction.padEnd(scale, '0');
    else if (fraction.length > scale) {
      if (scale >= 0) fraction = fraction.slice(0, scale);
      else {
        // Negative scale (PostgreSQL 15 numeric(p, -s)): drop integer digits the scale rounds away.
        integer = integer.slice(0, Math.max(0, integer.length + scale)) || '0';
        fraction = '';
      }
    }
  }
  const digits = (integer + fraction).replace(/^0+(?=\d)/, '');
  return { unscaled: unscaledBytes(digits, negative), scale };
}

/** Money text in the C locale ("$1,234.56", "-$0.50") → a plain decimal string ("-0.50"). */
export function plainMoney(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code >= 48 && code <= 57) || code === 46 || code === 45) out += text[i];
  }
  if (text.includes('(') && !out.startsWith('-')) out = `-${out}`;
  return out;
}

// ---- arrays, hstore, bits, point ----

/**
 * An array literal ("{1,2,NULL}", '{"a,b","c\\"d"}', nested "{{1,2},{3,4}}") → nested arrays of
 * element texts (null for NULL).
 */
export type ArrayText = Array<string | null | ArrayText>;

export function parseArrayLiteral(text: string, delimiter = ','): ArrayText {
  let position = text.indexOf('{');
  if (position < 0) throw new SyntaxError(`not an array literal: ${text.slice(0, 40)}`);
  const parseLevel = (): ArrayText => {
    const items: ArrayText = [];
    position++; // '{'
    if (text[position] === '}') {
      position++;
      return items;
    }
    for (;;) {
      const char = text[position];
      if (char === '{') items.push(parseLevel());
      else if (char === '"') {
        let value = '';
        position++;
        while (position < text.length && text[position] !== '"') {
          if (text[position] === '\\') position++;
          value += text[position];
          position++;
        }
        position++;
        items.push(value);
      } else {
        let end = position;
        while (end < text.length && text[end] !== delimiter && text[end] !== '}') end++;
        const raw = text.slice(position, end).trim();
        items.push(raw.toUpperCase() === 'NULL' ? null : raw);
        position = end;
      }
      if (text[position] === delimiter) {
        position++;
        continue;
      }
      if (text[position] === '}') {
        position++;
        return items;
      }
      throw new SyntaxError(`malformed array literal at ${position}: ${text.slice(0, 80)}`);
    }
  };
  return parseLevel();
}

/** hstore text ('"a"=>"1", "b"=>NULL') → entries in text order. */
export function parseHstore(text: string): Array<[string, string | null]> {
  const entries: Array<[string, string | null]> = [];
  let position = 0;
  const readToken = (): string | null => {
    while (text[position] === ' ' || text[position] === ',') position++;
    if (text[position] === '"') {
      let value = '';
      position++;
      while (position < text.length && text[position] !== '"') {
        if (text[position] === '\\') position++;
        value += text[position];
        position++;
      }
      position++;
      return value;
    }
    let end = position;
    while (end < text.length && text[end] !== ',' && text[end] !== '=' && text[end] !== ' ') end++;
    const raw = text.slice(position, end);
    position = end;
    return raw.toUpperCase() === 'NULL' ? null : raw;
  };
  while (position < text.length) {
    while (text[position] === ' ' || text[position] === ',') position++;
    if (position >= text.length) break;
    const key = readToken();
    while (text[position] === ' ') position++;
    if (text.slice(position, position + 2) !== '=>') {
      throw new SyntaxError(`malformed hstore at ${position}: ${text.slice(0, 80)}`);
    }
    position += 2;
    const value = readToken();
    entries.push([key ?? '', value]);
  }
  return entries;
}

/** Bit string text ("10110") → Debezium's Bits bytes: little-endian, bit i = char (len-1-i). */
export function bitsToBytes(text: string): Buffer {
  const length = text.length;
  let highest = -1;
  for (let i = 0; i < length; i++) {
    if (text.charCodeAt(i) === 49) {
      highest = length - 1 - i;
      break;
    }
  }
  const bytes = jsonBytes(Buffer.alloc(highest < 0 ? 0 : Math.floor(highest / 8) + 1));
  for (let i = 0; i < length; i++) {
    if (text.charCodeAt(i) === 49) {
      const bit = length - 1 - i;
      bytes[bit >> 3]! |= 1 << (bit & 7);
    }
  }
  return bytes;
}

/** point text "(x,y)" → [x, y]. */
export function parsePoint(text: string): [number, number] {
  const comma = text.indexOf(',');
  return [
    Number(text.slice(text.indexOf('(') + 1, comma)),
    Number(text.slice(comma + 1, text.lastIndexOf(')'))),
  ];
}

/** OGC WKB of a 2D point (little-endian), as Debezium's Point.createValue builds it. */
export function pointWkb(x: number, y: number): Buffer {
  const wkb = allocJsonBytes(21);
  wkb[0] = 1;
  wkb.writeUInt32LE(1, 1);
  wkb.writeDoubleLE(x, 5);
  wkb.writeDoubleLE(y, 13);
  return wkb;
}

// ---- fast paths for the most common shapes (fall back to the general parsers) ----

const fractionZeros = ['', '0', '00', '000', '0000', '00000', '000000'];

/**
 * timestamptz text in UTC ("2024-02-29 11:45:06.5+00") straight to Debezium's ZonedTimestamp
 * text ("2024-02-29T11:45:06.500000Z" for width 6) by slicing, without computing the instant.
 * Undefined when the text is not in that shape (other offsets, BC, 5-digit years, infinity).
 */
export function zonedTimestampFromUtcText(text: string, width: number): string | undefined {
  const length = text.length;
  if (length < 22 || text.charCodeAt(4) !== 45 || text.charCodeAt(10) !== 32) return undefined;
  if (
    text.charCodeAt(length - 3) !== 43 ||
    text.charCodeAt(length - 2) !== 48 ||
    text.charCodeAt(length - 1) !== 48
  ) {
    return undefined;
  }
  const date = text.slice(0, 10);
  const time = text.slice(11, 19);
  if (width === 0) return `${date}T${time}Z`;
  if (length === 22) return `${date}T${time}.${fractionZeros[width] ?? ''}Z`;
  if (text.charCodeAt(19) !== 46) return undefined;
  const digits = length - 23;
  if (digits > width) return `${date}T${time}.${text.slice(20, 20 + width)}Z`;
  return `${date}T${time}.${text.slice(20, length - 3)}${fractionZeros[width - digits] ?? ''}Z`;
}

/** Little-endian magnitude bytes of a value below 2^53 (plus a sign byte). */
const decimalScratch = new Uint8Array(9);

/**
 * A numeric's text bytes at a fixed `scale` → big-endian two's complement unscaled bytes, for
 * values of at most 15 significant digits (exact in a double); undefined otherwise (and for NaN,
 * Infinity), so the caller falls back to parseDecimal.
 */
export function decimalBytes(
  data: Buffer,
  start: number,
  end: number,
  scale: number,
): Buffer | undefined {
  let i = start;
  let negative = false;
  if (data[i] === 45) {
    negative = true;
    i++;
  }
  let value = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < end; i++) {
    const code = data[i]!;
    if (code === 46) {
      if (fraction >= 0) return undefined;
      fraction = 0;
      continue;
    }
    if (code < 48 || code > 57) return undefined;
    if (fraction >= 0) {
      if (fraction === scale) continue; // more digits than the scale (not for typmod'ed columns)
      fraction++;
    }
    value = value * 10 + (code - 48);
    if (value !== 0) digits++;
  }
  if (fraction < 0) fraction = 0;
  if (scale < 0) return undefined;
  for (; fraction < scale; fraction++) {
    value *= 10;
    if (value !== 0) digits++;
  }
  if (digits > 15) return undefined;
  const bytes = decimalScratch;
  let count = 0;
  do {
    bytes[count++] = value % 256;
    value = Math.floor(value / 256);
  } while (value > 0);
  if (negative && !(count === 1 && bytes[0] === 0)) {
    let carry = 1;
    for (let k = 0; k < count; k++) {
      const byte = (~bytes[k]! & 0xff) + carry;
      bytes[k] = byte & 0xff;
      carry = byte >> 8;
    }
    if ((bytes[count - 1]! & 0x80) === 0) bytes[count++] = 0xff;
  } else if ((bytes[count - 1]! & 0x80) !== 0) bytes[count++] = 0;
  const out = allocJsonBytes(count);
  for (let k = 0; k < count; k++) out[k] = bytes[count - 1 - k]!;
  return out;
}
