// The bounded queue between a CDC reader (replication stream, binlog client) and SourceTask.poll().
//
// The reader pushes changes as they are decoded; poll() takes batches. The queue is bounded in
// bytes (and in items): when a push crosses the limit the queue calls `pause()` so the reader stops
// reading its socket, and once poll() has drained it below the resume mark it calls `resume()`. A
// slow log therefore slows the database stream instead of growing the heap (DESIGN.md guarantee 4).
// The bound is soft by at most one message: the reader may already hold a few decoded messages
// when it pauses, and those are still accepted.
//
// Records pushed as one group (each but the last with `joinsNext`) are never split between two
// take()s: a pump that appends each poll batch as one write then cannot leave the log ending in
// the middle of a group after a crash — e.g. between a primary-key update's delete of the old key
// and its create of the new one, which a sink must see together (the create's unsent values are
// read from the old document before the delete removes it).

export interface ChangeQueueOptions {
  /** Pause the reader when the queued bytes reach this. */
  maxBytes: number;
  /** Pause the reader when this many items are queued. */
  maxItems: number;
  /** Resume once the queued bytes fall to this (default: half of maxBytes). */
  resumeBytes?: number;
  /** Stop reading the source (e.g. pause the socket). */
  pause(): void;
  /** Start reading again. */
  resume(): void;
}

export class BoundedChangeQueue<T> {
  private items: T[] = [];
  private sizes: number[] = [];
  /** Per item: is it followed by more of its group? */
  private joins: boolean[] = [];
  private head = 0;
  private queuedBytes = 0;
  private paused = false;
  private waiter: (() => void) | undefined;
  private roomWaiters: Array<() => void> = [];
  private readonly resumeBytes: number;
  private readonly resumeItems: number;

  constructor(private readonly options: ChangeQueueOptions) {
    this.resumeBytes = options.resumeBytes ?? Math.floor(options.maxBytes / 2);
    this.resumeItems = Math.floor(options.maxItems / 2);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** True while the reader is asked to hold off. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** `joinsNext`: the next item pushed belongs with this one (see the top of this file). */
  push(item: T, bytes: number, joinsNext = false): void {
    this.items.push(item);
    this.joins.push(joinsNext);
    this.sizes.push(bytes);
    this.queuedBytes += bytes;
    if (
      !this.paused &&
      (this.queuedBytes >= this.options.maxBytes || this.length >= this.options.maxItems)
    ) {
      this.paused = true;
      this.options.pause();
    }
    if (this.waiter) this.wake();
  }

  /**
   * Where a batch ending before `end` may end: extended to the end of a group it would cut, or
   * (for a group not yet complete, which the reader's synchronous pushes never leave behind)
   * moved back to the group's start when something comes before it.
   */
  private groupEnd(end: number): number {
    let extended = end;
    while (this.joins[extended - 1] && extended < this.items.length) extended++;
    if (!this.joins[extended - 1]) return extended;
    let start = extended - 1;
    while (start > this.head && this.joins[start - 1]) start--;
    return start > this.head ? start : extended;
  }

  /** Up to `max` items, oldest first; [] when empty. Resumes the reader once drained enough. */
  take(max: number): T[] {
    const available = this.length;
    if (available === 0) return [];
    const end = this.groupEnd(this.head + Math.min(max, available));
    const items = this.items as Array<T | undefined>;
    const batch = this.items.slice(this.head, end);
    let freed = 0;
    for (let i = this.head; i < end; i++) {
      freed += this.sizes[i]!;
      // Taken items are the caller's now: the queue must not keep them alive (until the array
      // is compacted) — they would outlive the young generation and be promoted, garbage soon.
      items[i] = undefined;
    }
    this.queuedBytes -= freed;
    this.head = end;
    if (this.head === this.items.length) {
      this.items = [];
      this.sizes = [];
      this.joins = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.joins = this.joins.slice(this.head);
      this.head = 0;
    }
    if (this.paused && this.queuedBytes <= this.resumeBytes && this.length <= this.resumeItems) {
      this.paused = false;
      this.options.resume();
      this.releaseRoomWaiters();
    }
    return batch;
  }

  /** Drop everything (e.g. before a reconnect replays from an earlier position). */
  clear(): void {
    this.items = [];
    this.sizes = [];
    this.head = 0;
    this.queuedBytes = 0;
    if (this.paused) {
      this.paused = false;
      this.options.resume();
      this.releaseRoomWaiters();
    }
  }

  /**
   * For producers that can wait (a snapshot reader): resolves once the queue is below its limits
   * (at once when it is), or when the signal aborts.
   */
  waitForRoom(signal?: AbortSignal): Promise<void> {
    if (!this.paused || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.roomWaiters.push(done);
    });
  }

  private releaseRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /**
   * Resolves when an item is queued, `wake()` is called, the signal aborts or `timeoutMs` passed,
   * whichever comes first. Only one waiter at a time (poll() is never called concurrently).
   */
  waitForItems(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.length > 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        if (this.waiter === done) this.waiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.waiter = done;
    });
  }

  /** Release a pending waitForItems() (e.g. the reader failed and poll() must report it). */
  wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
