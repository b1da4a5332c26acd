// File-system helpers with the durability rules of the local log in one place: a file that must
// survive a crash is written to a temporary name, fsynced, renamed over the old one, and its
// directory fsynced so the rename itself is durable.

import { constants } from 'node:fs';
import { open, rename, rm, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * O_DSYNC where the platform has it (not on Windows). A write through a descriptor opened with it
 * returns once it completed with synchronized I/O data integrity (POSIX): the bytes and the
 * metadata needed to read them back, the file size included, are on stable storage, as after
 * write() + fdatasync() — in one syscall and one trip through the thread pool instead of two.
 */
export const WRITE_THROUGH_FLAG: number | undefined = constants.O_DSYNC;

export function isErrno(error: unknown, code: string): boolean {
  return (
    typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code
  );
}

/** Makes creations, renames and deletions inside dir durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces path with data atomically and durably: a crash leaves the old or the new content. */
export async function writeFileDurably(path: string, data: string | Buffer): Promise<void> {
  const temporary = join(dirname(path), `${basename(path)}.tmp`);
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await fsyncDir(dirname(path));
}

export async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
  }
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

/** Reads exactly length bytes at position into buffer (pread may return less than asked). */
export async function readFully(
  handle: FileHandle,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new Error(`short read: wanted ${length} bytes at ${position}, got ${done}`);
    }
    done += bytesRead;
  }
}

/** Writes all buffers at position, in order, with as few syscalls as the kernel allows. */
export async function writeFully(
  handle: FileHandle,
  buffers: Buffer[],
  position: number,
): Promise<void> {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const total = pending.reduce((sum, buffer) => sum + buffer.length, 0);
    const { bytesWritten } =
      pending.length === 1
        ? await handle.write(pending[0]!, 0, total, at)
        : await handle.writev(pending, at);
    if (bytesWritten === total) return;
    if (bytesWritten === 0) throw new Error(`write made no progress at ${at}`);
    // A short write (disk nearly full, signal): continue with what is left.
    at += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const buffer of pending) {
      if (skip >= buffer.length) {
        skip -= buffer.length;
        continue;
      }
      rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
      skip = 0;
    }
    pending = rest;
  }
}

const OFFSET_DIGITS = 20;

/** Segment files are named by their base offset, zero-padded so names sort like offsets. */
export function segmentFileName(baseOffset: number, suffix: string): string {
  return `${String(baseOffset).padStart(OFFSET_DIGITS, '0')}${suffix}`;
}

/** The base offset and suffix of a segment file name, or undefined for any other file. */
export function parseSegmentFileName(
  name: string,
): { baseOffset: number; suffix: string } | undefined {
  const match = /^(\d{20})(\.[a-z.]+)$/.exec(name);
  if (!match) return undefined;
  const baseOffset = Number(match[1]);
  if (!Number.isSafeInteger(baseOffset)) return undefined;
  return { baseOffset, suffix: match[2]! };
}
