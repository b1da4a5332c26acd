// Reused encode buffers for the append path. An append of about a megabyte is encoded into one
// buffer that lives only until the kernel has copied it (the pwrite/pwritev returns). Allocating
// it fresh each time is the most expensive step of an append after the fsync itself: a buffer
// that large is a fresh mapping whose pages are zeroed and faulted in one by one on first write
// (measured here: ~1 ms per MiB, more than encoding and checksumming it), then unmapped again by
// the garbage collector. The pool hands out buffers whose pages are already resident.
//
// Only large buffers are pooled: small appends are served by Buffer.allocUnsafe (the heap or
// Node's 8 KiB slab, already cheap), so many small appends in flight never pin large buffers.
// A buffer returns to the pool only once the write that used it has completed (see
// PartitionLog.pump); a failed write simply drops it.

/** Appends below this size are encoded into ordinary Buffer.allocUnsafe buffers. */
export const MIN_POOLED_BYTES = 64 * 1024;
/** Pooled capacities are rounded up to this, so appends of similar sizes share buffers. */
const CAPACITY_STEP = 256 * 1024;
/** Idle buffers kept for reuse at most (per LocalLog); more are left to the garbage collector. */
export const DEFAULT_MAX_IDLE_BYTES = 16 * 1024 * 1024;

export class WriteBufferPool {
  private readonly idle: Buffer[] = [];
  private idleBytes = 0;
  /** Backing stores lent out by acquire(): only those may come back, and only once. */
  private readonly lent = new WeakSet<ArrayBufferLike>();

  constructor(private readonly maxIdleBytes = DEFAULT_MAX_IDLE_BYTES) {}

  /** Bytes held by idle buffers (tests, metrics). */
  get idleByteCount(): number {
    return this.idleBytes;
  }

  /** A buffer of exactly size bytes (its content is undefined). */
  acquire(size: number): Buffer {
    if (size < MIN_POOLED_BYTES) return Buffer.allocUnsafe(size);
    let best = -1;
    for (let i = 0; i < this.idle.length; i++) {
      const capacity = this.idle[i]!.length;
      if (capacity >= size && (best < 0 || capacity < this.idle[best]!.length)) best = i;
    }
    if (best >= 0) {
      const buffer = this.idle[best]!;
      this.idle[best] = this.idle[this.idle.length - 1]!;
      this.idle.pop();
      this.idleBytes -= buffer.length;
      this.lent.add(buffer.buffer);
      return buffer.subarray(0, size);
    }
    const capacity = Math.ceil(size / CAPACITY_STEP) * CAPACITY_STEP;
    // allocUnsafeSlow: a backing store of its own, never a slice of a shared slab.
    const buffer = Buffer.allocUnsafeSlow(capacity);
    this.lent.add(buffer.buffer);
    return buffer.subarray(0, size);
  }

  /**
   * Gives back a buffer from acquire() once nothing reads it any more. Buffers the pool did not
   * allocate are ignored, so callers may release whatever acquire() returned.
   */
  release(buffer: Buffer): void {
    const store = buffer.buffer;
    // A second release of the same buffer is ignored: handing it out twice would let two appends
    // encode into the same bytes.
    if (!this.lent.delete(store)) return;
    if (this.idleBytes + store.byteLength > this.maxIdleBytes) return;
    this.idle.push(Buffer.from(store, 0, store.byteLength));
    this.idleBytes += store.byteLength;
  }
}
