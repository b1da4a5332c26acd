// Shared by the local log unit tests: temporary data directories, a logger that records what it
// is told, and a reader of the raw batch layout of a segment file.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { LocalLogLogger } from '../../../runtime/log/local/options.ts';
import { batchLength, readBatchHeader } from '../../../runtime/log/local/record-batch.ts';
import type { BatchHeader } from '../../../runtime/log/local/record-batch.ts';

/** A fresh directory, removed when the test file ends. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `kafki-${prefix}-`));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface LoggedLine {
  level: 'warn' | 'info';
  message: string;
  details: Record<string, unknown>;
}

export function recordingLogger(): LocalLogLogger & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  return {
    lines,
    warn: (details, message) => lines.push({ level: 'warn', message, details }),
    info: (details, message) => lines.push({ level: 'info', message, details }),
  };
}

export function segmentPath(dataDir: string, topic: string, partition: number, base = 0): string {
  return join(dataDir, topic, String(partition), `${String(base).padStart(20, '0')}.log`);
}

/** The batches of a segment file with their positions, read straight from the bytes. */
export async function batchesOf(path: string): Promise<Array<BatchHeader & { position: number }>> {
  const data = await readFile(path);
  const out: Array<BatchHeader & { position: number }> = [];
  for (let at = 0; at < data.length; at += batchLength(data, at)) {
    out.push({ ...readBatchHeader(data, at), position: at });
  }
  return out;
}

export const text = (buffer: Buffer | null): string | null =>
  buffer === null ? null : buffer.toString('utf8');
