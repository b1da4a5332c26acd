// Captured pgoutput traffic (test/fixtures/postgres/*.hex, written by capture.ts): one XLogData
// message per line, hex.

import { readFileSync } from 'node:fs';
import {
  decodeXLogData,
  type PgoutputMessage,
  type XLogDataHeader,
} from '../../../connectors/postgres/pgoutput-decoder.ts';

export interface CapturedMessage {
  header: XLogDataHeader;
  message: PgoutputMessage;
}

export function fixture(name: 'crud' | 'types' | 'toast' | 'copy'): CapturedMessage[] {
  const text = readFileSync(
    new URL(`../../fixtures/postgres/${name}.hex`, import.meta.url),
    'utf8',
  );
  return text
    .trim()
    .split('\n')
    .map((line) => decodeXLogData(Buffer.from(line, 'hex')));
}
