// One segment of a partition: an append-only `<base offset>.log` file of record batches and its
// `<base offset>.index`. The segment tracks three sizes because writing and durability are
// decoupled: `size` counts bytes reserved by appends (offsets and positions are assigned
// synchronously, in order), `writtenSize` the bytes the kernel has, `visibleSize` the bytes that
// are fsynced and therefore readable.

import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { OffsetIndex } from './offset-index.ts';
import {
  WRITE_THROUGH_FLAG,
  fsyncDir,
  isErrno,
  readFully,
  segmentFileName,
  writeFully,
} from './fs-util.ts';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';

export interface LoadedSegmentState {
  handle: FileHandle;
  size: number;
  index: OffsetIndex;
  nextOffset: number;
  maxTimestamp: number;
}

export class Segment {
  readonly logPath: string;
  readonly indexPath: string;
  private handle: FileHandle | undefined;
  /** A second descriptor on the log opened with O_DSYNC, for writes that return durable. */
  private syncHandle: FileHandle | undefined;
  private indexHandle: FileHandle | undefined;
  size: number;
  writtenSize: number;
  visibleSize: number;
  /** Offset after the last batch placed in this segment. */
  nextOffset: number;
  maxTimestamp: number;
  /** Clock time of the first append into this segment in this process (segmentMs rolls on it). */
  firstAppendAt: number | undefined;
  readonly index: OffsetIndex;
  private bytesSinceIndexEntry = 0;
  /** No more appends; the index is complete and fsynced. */
  sealed: boolean;
  private references = 0;
  private retired = false;
  private closed: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    state: LoadedSegmentState | undefined,
    sealed: boolean,
  ) {
    this.logPath = join(dir, segmentFileName(baseOffset, LOG_SUFFIX));
    this.indexPath = join(dir, segmentFileName(baseOffset, INDEX_SUFFIX));
    this.handle = state?.handle;
    this.size = state?.size ?? 0;
    this.writtenSize = this.size;
    this.visibleSize = this.size;
    this.nextOffset = state?.nextOffset ?? baseOffset;
    this.maxTimestamp = state?.maxTimestamp ?? -Infinity;
    this.index = state?.index ?? new OffsetIndex(baseOffset);
    this.sealed = sealed;
  }

  /** A new, empty segment; its files are created by the first write (see ensureFiles). */
  static fresh(dir: string, baseOffset: number): Segment {
    return new Segment(dir, baseOffset, undefined, false);
  }

  /** A segment found on disk by recovery (or produced by the cleaner). */
  static loaded(
    dir: string,
    baseOffset: number,
    state: LoadedSegmentState,
    sealed: boolean,
  ): Segment {
    return new Segment(dir, baseOffset, state, sealed);
  }

  /**
   * Books a batch of `length` bytes at the end of the segment and returns its position. Adds an
   * index entry when enough bytes went by since the last one (Kafka's rule).
   */
  reserve(
    baseOffset: number,
    lastOffset: number,
    maxTimestamp: number,
    length: number,
    now: number,
    indexIntervalBytes: number,
  ): number {
    const position = this.size;
    if (this.maxTimestamp < maxTimestamp) this.maxTimestamp = maxTimestamp;
    if (this.bytesSinceIndexEntry >= indexIntervalBytes) {
      this.index.append(baseOffset, position, this.maxTimestamp);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += length;
    this.size += length;
    this.nextOffset = lastOffset + 1;
    this.firstAppendAt ??= now;
    return position;
  }

  /**
   * Readies the segment for appends. A fresh one gets its files, created durably (the directory
   * entry is fsynced). With writeThrough, and O_DSYNC on this platform, the log also gets an
   * O_DSYNC descriptor for write(…, through = true).
   */
  /** Whether ensureFiles(writeThrough) has nothing left to do. */
  hasFiles(writeThrough = false): boolean {
    return (
      this.handle !== undefined &&
      (!writeThrough || WRITE_THROUGH_FLAG === undefined || this.syncHandle !== undefined)
    );
  }

  async ensureFiles(writeThrough = false): Promise<void> {
    if (this.handle === undefined) {
      // 'wx+': a file already there would mean two segments claim this base offset.
      const handle = await open(this.logPath, 'wx+');
      try {
        this.indexHandle = await open(this.indexPath, 'w+');
        await fsyncDir(this.dir);
      } catch (error) {
        await handle.close();
        throw error;
      }
      this.handle = handle;
    }
    if (writeThrough && WRITE_THROUGH_FLAG !== undefined && this.syncHandle === undefined) {
      this.syncHandle = await open(this.logPath, constants.O_WRONLY | WRITE_THROUGH_FLAG);
    }
  }

  private requireHandle(): FileHandle {
    if (this.handle === undefined) throw new Error(`segment ${this.logPath} has no open file`);
    return this.handle;
  }

  /**
   * Writes buffers at position. With through (and an O_DSYNC descriptor, see ensureFiles) the
   * write returns only once its bytes and the file size are on stable storage; the result says
   * whether it did. Otherwise the bytes are in the page cache and need syncData().
   */
  async write(buffers: Buffer[], position: number, through = false): Promise<boolean> {
    const syncHandle = through ? this.syncHandle : undefined;
    await writeFully(syncHandle ?? this.requireHandle(), buffers, position);
    return syncHandle !== undefined;
  }

  /** Reads length bytes at position into a new buffer. */
  async read(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    await readFully(this.requireHandle(), buffer, length, position);
    return buffer;
  }

  get fileHandle(): FileHandle {
    return this.requireHandle();
  }

  /** Writes pending index entries to the index file (fsynced by seal()). */
  async flushIndex(): Promise<void> {
    const pending = this.index.takeUnflushed(this.writtenSize);
    if (pending === undefined) return;
    this.indexHandle ??= await open(this.indexPath, 'r+');
    await writeFully(this.indexHandle, [pending.data], pending.filePosition);
  }

  /**
   * Makes every written byte of the log durable. fdatasync() flushes the data and the metadata
   * needed to read it back — on Linux that includes the file size (i_size) when appends grew the
   * file, so a size change is never left behind; only timestamps may be. The index is left in
   * memory: until the segment is sealed, recovery rebuilds it from the log anyway, so writing it
   * here would only add a syscall to every acknowledged append.
   */
  async syncData(): Promise<void> {
    await this.requireHandle().datasync();
  }

  /** After the last write: makes the index durable too and stops accepting appends. */
  async seal(): Promise<void> {
    // No more appends: the O_DSYNC descriptor is not needed any more.
    const syncHandle = this.syncHandle;
    this.syncHandle = undefined;
    await syncHandle?.close();
    if (this.sealed) return;
    await this.flushIndex();
    if (this.indexHandle !== undefined) {
      await this.indexHandle.datasync();
      await this.indexHandle.close();
      this.indexHandle = undefined;
    }
    this.sealed = true;
  }

  /** Pins the open file while a reader or the cleaner uses it; release() when done. */
  retain(): void {
    this.references++;
  }

  release(): void {
    this.references--;
    if (this.references === 0 && this.retired) void this.closeFiles();
  }

  /**
   * Takes the segment out of service: optionally deletes its files now, and closes them once no
   * reader holds the segment any more (an unlinked file stays readable through its open handle).
   */
  async retire(deleteFiles: boolean): Promise<void> {
    this.retired = true;
    if (deleteFiles) {
      for (const path of [this.logPath, this.indexPath]) {
        try {
          await unlink(path);
        } catch (error) {
          if (!isErrno(error, 'ENOENT')) throw error;
        }
      }
    }
    if (this.references === 0) await this.closeFiles();
  }

  closeFiles(): Promise<void> {
    this.closed ??= (async () => {
      const handles = [this.handle, this.syncHandle, this.indexHandle];
      this.handle = undefined;
      this.syncHandle = undefined;
      this.indexHandle = undefined;
      for (const handle of handles) await handle?.close();
    })();
    return this.closed;
  }
}
