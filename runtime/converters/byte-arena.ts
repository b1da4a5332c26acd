// Where converters put the bytes of a batch of records. Converting a record with Buffer.from(text)
// gives every record a backing store of its own once it is larger than half of Node's 8 KiB pool
// — Debezium JSON with schemas.enable (its schema repeated in every value) is ~4 KiB — and those
// stores are fresh allocations the garbage collector must find and free again: measured on the
// source pump, allocating them cost more than writing the JSON, and they were most of the
// process's external memory. Instead, a batch's records are written one after another into
// shared slabs (1 MiB) and handed out as views (subarrays); the slabs are reused once the batch
// that filled them is durable in the log and released.
//
//   const slabs = new SlabPool();              // one per pump
//   const arena = slabs.arena();               // one per batch
//   const bytes = arena.concat(prefix, text, suffix);   // a view: prefix + UTF-8(text) + suffix
//   … log.append(…) resolves (the log no longer reads the records) …
//   arena.release();                           // the views must not be used after this
//
// A slab can hold the tail of one batch and the head of the next: it goes back to the pool when
// every arena that wrote into it has been released and it is no longer the one being filled.
// Idle slabs are kept up to maxIdleBytes; more are left to the garbage collector. A record larger
// than a slab gets a buffer of its own (not pooled).

import type { RecordData } from '../api/record.ts';
import { NO_ROOM, type PayloadWriter } from './json-payload-writer.ts';

export const SLAB_BYTES = 1024 * 1024;
/** Room a writer gets at least in the current slab before a fresh one is taken. */
const MIN_WRITE_ROOM = 16 * 1024;
const DEFAULT_MAX_IDLE_BYTES = 8 * 1024 * 1024;

interface Slab {
  buffer: Buffer;
  used: number;
  /** Arenas that wrote into this slab and were not released yet. */
  refs: number;
}

/** Byte output of converters for one batch (see SlabPool). */
export interface ByteArena {
  /**
   * One record's bytes: `prefix`, then `text` encoded as UTF-8, then `suffix`, as a view into the
   * arena — byte for byte Buffer.from(prefix + text + suffix) for well-formed text.
   */
  concat(prefix: Uint8Array | null, text: string, suffix: Uint8Array | null): Buffer;
  /**
   * One record's bytes: `prefix`, then what `write` puts at [at, end) for `value`, then `suffix`,
   * as a view into the arena; null (nothing kept) when the writer gives up.
   */
  write(
    prefix: Uint8Array | null,
    write: PayloadWriter,
    value: RecordData,
    suffix: Uint8Array | null,
  ): Buffer | null;
  /** Bytes written so far (the views' lengths; slab space is what the budget counts). */
  readonly bytes: number;
}

export class SlabPool {
  private readonly idle: Slab[] = [];
  private current: Slab | undefined;
  /** Slabs allocated over the pool's life (tests, metrics). */
  allocated = 0;

  constructor(
    readonly slabBytes = SLAB_BYTES,
    private readonly maxIdleBytes = DEFAULT_MAX_IDLE_BYTES,
  ) {}

  /** Bytes held by idle slabs. */
  get idleBytes(): number {
    return this.idle.length * this.slabBytes;
  }

  arena(): BatchArena {
    return new BatchArena(this);
  }

  /** @internal The slab with at least `bytes` free, made current (referenced by `arena`). */
  slabFor(bytes: number): Slab | undefined {
    if (bytes > this.slabBytes) return undefined;
    let slab = this.current;
    if (slab !== undefined && slab.buffer.length - slab.used >= bytes) return slab;
    if (slab !== undefined) {
      this.current = undefined;
      if (slab.refs === 0) this.recycle(slab);
    }
    slab = this.idle.pop();
    if (slab === undefined) {
      // allocUnsafeSlow: a backing store of its own, never a slice of Node's shared pool.
      slab = { buffer: Buffer.allocUnsafeSlow(this.slabBytes), used: 0, refs: 0 };
      this.allocated++;
    }
    this.current = slab;
    return slab;
  }

  /** @internal */
  unref(slab: Slab): void {
    slab.refs--;
    if (slab.refs === 0 && slab !== this.current) this.recycle(slab);
  }

  private recycle(slab: Slab): void {
    slab.used = 0;
    if ((this.idle.length + 1) * this.slabBytes <= this.maxIdleBytes) this.idle.push(slab);
  }
}

export class BatchArena implements ByteArena {
  private readonly slabs: Slab[] = [];
  private released = false;
  bytes = 0;

  constructor(private readonly pool: SlabPool) {}

  concat(prefix: Uint8Array | null, text: string, suffix: Uint8Array | null): Buffer {
    if (this.released) throw new Error('the arena was released');
    const prefixLength = prefix === null ? 0 : prefix.length;
    const suffixLength = suffix === null ? 0 : suffix.length;
    // UTF-8 needs at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units).
    const most = prefixLength + text.length * 3 + suffixLength;
    const slab = this.pool.slabFor(most);
    if (slab === undefined) {
      const own = Buffer.allocUnsafe(prefixLength + Buffer.byteLength(text) + suffixLength);
      this.fill(own, 0, prefix, text, suffix);
      this.bytes += own.length;
      return own;
    }
    if (this.slabs[this.slabs.length - 1] !== slab) {
      slab.refs++;
      this.slabs.push(slab);
    }
    const start = slab.used;
    const end = this.fill(slab.buffer, start, prefix, text, suffix);
    // 8-byte aligned starts keep the views' copies word-aligned.
    slab.used = (end + 7) & ~7;
    this.bytes += end - start;
    return slab.buffer.subarray(start, end);
  }

  write(
    prefix: Uint8Array | null,
    write: PayloadWriter,
    value: RecordData,
    suffix: Uint8Array | null,
  ): Buffer | null {
    if (this.released) throw new Error('the arena was released');
    const prefixLength = prefix === null ? 0 : prefix.length;
    const suffixLength = suffix === null ? 0 : suffix.length;
    let slab = this.pool.slabFor(prefixLength + suffixLength + MIN_WRITE_ROOM);
    if (slab === undefined) return null;
    let end = this.writeInto(slab, prefix, write, value, suffix);
    // Out of room in a slab already partly used: once more in a fresh one.
    if (end === NO_ROOM && slab.used > 0) {
      slab = this.pool.slabFor(slab.buffer.length - slab.used + 1);
      if (slab === undefined) return null;
      end = this.writeInto(slab, prefix, write, value, suffix);
    }
    if (end < 0) return null;
    if (this.slabs[this.slabs.length - 1] !== slab) {
      slab.refs++;
      this.slabs.push(slab);
    }
    const start = slab.used;
    slab.used = (end + 7) & ~7;
    this.bytes += end - start;
    return slab.buffer.subarray(start, end);
  }

  /** The end of prefix + written value + suffix at the slab's free space, or a writer's failure. */
  private writeInto(
    slab: Slab,
    prefix: Uint8Array | null,
    write: PayloadWriter,
    value: RecordData,
    suffix: Uint8Array | null,
  ): number {
    const buffer = slab.buffer;
    let at = slab.used;
    if (prefix !== null) {
      buffer.set(prefix, at);
      at += prefix.length;
    }
    at = write(value, buffer, at, buffer.length - (suffix === null ? 0 : suffix.length));
    if (at < 0) return at;
    if (suffix !== null) {
      buffer.set(suffix, at);
      at += suffix.length;
    }
    return at;
  }

  /** Returns the slabs to the pool (once no other arena uses them). The views are invalid after. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const slab of this.slabs) this.pool.unref(slab);
    this.slabs.length = 0;
  }

  private fill(
    buffer: Buffer,
    start: number,
    prefix: Uint8Array | null,
    text: string,
    suffix: Uint8Array | null,
  ): number {
    let at = start;
    if (prefix !== null) {
      buffer.set(prefix, at);
      at += prefix.length;
    }
    at += buffer.write(text, at);
    if (suffix !== null) {
      buffer.set(suffix, at);
      at += suffix.length;
    }
    return at;
  }
}
