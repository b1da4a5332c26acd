// The common subset of Java's SimpleDateFormat, always in UTC (TimestampConverter sets the format's
// time zone to UTC). Patterns are compiled once into tokens.
//
//   y  year (yy: two digits)        M  month (MM: 01; MMM: Jan; MMMM: January)
//   d  day of month                 H  hour 0-23        h  hour 1-12       a  AM/PM
//   m  minute                       s  second           S  milliseconds (SSS: 007)
//   E  day of week (EEE: Mon; EEEE: Monday; output only, ignored when parsing)
//   Z  zone as +0000                X / XX / XXX  zone as Z (parsing accepts Z, +hh, +hhmm, +hh:mm)
//   'text' literal text, '' a single quote; any other non-letter is literal.
//
// Like SimpleDateFormat, S counts milliseconds (not a fraction), parsing is lenient about field
// ranges (month 13 rolls into the next year), numbers may be longer than the pattern unless the
// next field is numeric too, and text after the pattern's end is ignored.

import type { Compiled } from './java-regex.ts';

type Field = 'y' | 'M' | 'd' | 'H' | 'h' | 'a' | 'm' | 's' | 'S' | 'E' | 'Z' | 'X';
type Token = { literal: string } | { field: Field; count: number };

const supported = new Set<string>(['y', 'M', 'd', 'H', 'h', 'a', 'm', 's', 'S', 'E', 'Z', 'X']);
const months = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const DAY_MS = 86_400_000;

export interface DateFormat {
  readonly pattern: string;
  format(epochMillis: number): string;
  /** Milliseconds since the epoch, or an error message naming the pattern. */
  parse(text: string): Compiled<number>;
}

function isNumeric(token: Token | undefined): boolean {
  if (token === undefined || 'literal' in token) return false;
  if (token.field === 'M') return token.count < 3;
  return !['a', 'E', 'Z', 'X'].includes(token.field);
}

function tokenize(pattern: string): Compiled<Token[]> {
  const tokens: Token[] = [];
  let literal = '';
  const flush = () => {
    if (literal !== '') tokens.push({ literal });
    literal = '';
  };
  for (let i = 0; i < pattern.length;) {
    const char = pattern[i]!;
    if (char === "'") {
      if (pattern[i + 1] === "'") {
        literal += "'";
        i += 2;
        continue;
      }
      // Quoted text runs to the next lone quote; '' inside it is a quote.
      let j = i + 1;
      for (;;) {
        if (j >= pattern.length)
          return { ok: false, message: `Unterminated quote in pattern ${pattern}` };
        if (pattern[j] === "'") {
          if (pattern[j + 1] === "'") {
            literal += "'";
            j += 2;
            continue;
          }
          break;
        }
        literal += pattern[j];
        j++;
      }
      i = j + 1;
      continue;
    }
    if (/[a-zA-Z]/.test(char)) {
      if (!supported.has(char)) {
        return {
          ok: false,
          message: `pattern letter '${char}' is not supported (supported: ${[...supported].join(' ')})`,
        };
      }
      let count = 1;
      while (pattern[i + count] === char) count++;
      if (char === 'X' && count > 3)
        return { ok: false, message: 'invalid ISO 8601 format: length=' + count };
      flush();
      tokens.push({ field: char as Field, count });
      i += count;
      continue;
    }
    literal += char;
    i++;
  }
  flush();
  return { ok: true, value: tokens };
}

const pad = (value: number, width: number) => String(value).padStart(width, '0');

function formatWith(tokens: readonly Token[], epochMillis: number): string {
  const date = new Date(epochMillis);
  let out = '';
  for (const token of tokens) {
    if ('literal' in token) {
      out += token.literal;
      continue;
    }
    const { count } = token;
    switch (token.field) {
      case 'y': {
        const year = date.getUTCFullYear();
        out += count === 2 ? pad(year % 100, 2) : pad(year, count);
        break;
      }
      case 'M': {
        const month = date.getUTCMonth();
        if (count >= 4) out += months[month];
        else if (count === 3) out += months[month]!.slice(0, 3);
        else out += pad(month + 1, count);
        break;
      }
      case 'd':
        out += pad(date.getUTCDate(), count);
        break;
      case 'H':
        out += pad(date.getUTCHours(), count);
        break;
      case 'h':
        out += pad(date.getUTCHours() % 12 || 12, count);
        break;
      case 'a':
        out += date.getUTCHours() < 12 ? 'AM' : 'PM';
        break;
      case 'm':
        out += pad(date.getUTCMinutes(), count);
        break;
      case 's':
        out += pad(date.getUTCSeconds(), count);
        break;
      case 'S':
        out += pad(date.getUTCMilliseconds(), count);
        break;
      case 'E': {
        const day = days[date.getUTCDay()]!;
        out += count >= 4 ? day : day.slice(0, 3);
        break;
      }
      case 'Z':
        out += '+0000';
        break;
      case 'X':
        out += 'Z';
        break;
    }
  }
  return out;
}

/** Two-digit years land within 80 years before and 20 after now, as SimpleDateFormat does. */
function expandTwoDigitYear(twoDigits: number): number {
  const now = new Date().getUTCFullYear();
  const start = now - 80;
  let year = Math.floor(start / 100) * 100 + twoDigits;
  if (year < start) year += 100;
  return year;
}

function parseWith(tokens: readonly Token[], pattern: string, text: string): Compiled<number> {
  const fail: Compiled<number> = {
    ok: false,
    message: `Could not parse timestamp: value (${text}) does not match pattern (${pattern})`,
  };
  let year = 1970;
  let month = 0;
  let day = 1;
  let hour = 0;
  let hour12: number | undefined;
  let pm: boolean | undefined;
  let minute = 0;
  let second = 0;
  let millis = 0;
  let offsetMinutes = 0;
  let pos = 0;

  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]!;
    if ('literal' in token) {
      if (!text.startsWith(token.literal, pos)) return fail;
      pos += token.literal.length;
      continue;
    }
    const { field, count } = token;
    if (isNumeric(token)) {
      // Abutting numeric fields (yyyyMMdd) take exactly their width; otherwise read all digits.
      const fixed = isNumeric(tokens[t + 1]);
      let end = pos;
      while (
        end < text.length &&
        text[end]! >= '0' &&
        text[end]! <= '9' &&
        (!fixed || end - pos < count)
      ) {
        end++;
      }
      if (end === pos) return fail;
      const digits = text.slice(pos, end);
      const value = Number(digits);
      pos = end;
      switch (field) {
        case 'y':
          year = count <= 2 && digits.length === 2 ? expandTwoDigitYear(value) : value;
          break;
        case 'M':
          month = value - 1;
          break;
        case 'd':
          day = value;
          break;
        case 'H':
          hour = value;
          break;
        case 'h':
          hour12 = value % 12;
          break;
        case 'm':
          minute = value;
          break;
        case 's':
          second = value;
          break;
        case 'S':
          millis = value;
          break;
      }
      continue;
    }
    const rest = text.slice(pos);
    switch (field) {
      case 'M': {
        const index = months.findIndex((name) =>
          rest.toLowerCase().startsWith((count >= 4 ? name : name.slice(0, 3)).toLowerCase()),
        );
        if (index === -1) return fail;
        month = index;
        pos += count >= 4 ? months[index]!.length : 3;
        break;
      }
      case 'E': {
        const full = days.find((name) => rest.toLowerCase().startsWith(name.toLowerCase()));
        const short = days.find((name) =>
          rest.toLowerCase().startsWith(name.slice(0, 3).toLowerCase()),
        );
        if (full) pos += full.length;
        else if (short) pos += 3;
        else return fail;
        break;
      }
      case 'a': {
        const marker = rest.slice(0, 2).toUpperCase();
        if (marker !== 'AM' && marker !== 'PM') return fail;
        pm = marker === 'PM';
        pos += 2;
        break;
      }
      case 'Z':
      case 'X': {
        if (rest[0] === 'Z' || rest[0] === 'z') {
          pos += 1;
          break;
        }
        const zone = /^([+-])(\d{2})(?::?(\d{2}))?/.exec(rest);
        if (!zone) return fail;
        const minutes = Number(zone[2]) * 60 + Number(zone[3] ?? 0);
        offsetMinutes = zone[1] === '-' ? -minutes : minutes;
        pos += zone[0].length;
        break;
      }
    }
  }
  if (hour12 !== undefined) hour = hour12 + (pm ? 12 : 0);
  else if (pm) hour += hour < 12 ? 12 : 0;
  const utc = Date.UTC(year, month, day, hour, minute, second, millis);
  // Date.UTC maps years 0-99 to 1900-1999; set the year explicitly for those.
  const fixedYear =
    year >= 0 && year < 100 ? new Date(utc).setUTCFullYear(year + Math.floor(month / 12)) : utc;
  return { ok: true, value: fixedYear - offsetMinutes * 60_000 };
}

export function compileDateFormat(pattern: string): Compiled<DateFormat> {
  const tokens = tokenize(pattern);
  if (!tokens.ok) return tokens;
  const compiled = tokens.value;
  return {
    ok: true,
    value: {
      pattern,
      format: (epochMillis) => formatWith(compiled, epochMillis),
      parse: (text) => parseWith(compiled, pattern, text),
    },
  };
}

export { DAY_MS };
