// One record value ↔ one line of text. JSON lines keep 64-bit integers exact on the way out.

import { InvalidInputError } from '../../runtime/api/index.ts';
import type { RecordData } from '../../runtime/api/index.ts';

export type LineFormat = 'json' | 'string';

export function parseLine(format: LineFormat, line: string, where: string): RecordData {
  if (format === 'string') return line;
  try {
    return JSON.parse(line) as RecordData;
  } catch {
    // No cause attached: the parser's message quotes the line, and lines never go to the logs.
    throw new InvalidInputError(
      'FILE_LINE_NOT_JSON',
      `${where} is not valid JSON (set format=string to read raw lines)`,
    );
  }
}

function writeExact(value: unknown, out: string[]): void {
  if (typeof value === 'bigint') out.push(value.toString());
  else if (Buffer.isBuffer(value)) out.push(JSON.stringify(value.toString('base64')));
  else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      writeExact(item, out);
    });
    out.push(']');
  } else if (value !== null && typeof value === 'object') {
    out.push('{');
    Object.entries(value).forEach(([key, item], i) => {
      if (i > 0) out.push(',');
      out.push(JSON.stringify(key), ':');
      writeExact(item, out);
    });
    out.push('}');
  } else out.push(JSON.stringify(value) ?? 'null');
}

export function formatLine(format: LineFormat, value: RecordData): string {
  if (format === 'string' && typeof value === 'string') return value;
  try {
    // Buffers would come out as {"type":"Buffer",...}; the exact path writes them as base64.
    if (!Buffer.isBuffer(value)) return JSON.stringify(value);
  } catch {
    // bigint somewhere: fall through to the exact writer.
  }
  const out: string[] = [];
  writeExact(value, out);
  return out.join('');
}
