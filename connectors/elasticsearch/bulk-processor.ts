// The write buffer: records wait in lanes, leave in bulk requests bounded by count (batch.size),
// bytes (bulk.size.bytes) and time (linger.ms), with up to max.in.flight.requests requests in
// flight, and put() waits when max.buffered.records or max.buffered.bytes are reached.
//
// Per-document order: a record goes to the lane chosen by a hash of its index and document id,
// and a lane has at most one request in flight (its retries included). So two writes of one
// document are never in flight together (guarantee 2), and they reach Elasticsearch in log order,
// without any per-key bookkeeping. We chose lanes over "hold back a record whose key is in flight"
// because it costs one hash per record and no set of in-flight keys, a retried request blocks only
// its own lane, and a request never has to be assembled around held-back records. The price: a
// lane that gets more than its share (one very hot document) cannot use the other lanes' slots.
//
// Completion is reported per batch (no promise per record); the buffer counts include the
// records in flight, so memory is bounded by what put() accepted and not yet confirmed.

import { KafkiError } from '../../runtime/api/index.ts';
import { ErrorCodes } from './errors.ts';

export interface Buffered {
  readonly lane: number;
  readonly bytes: number;
}

export interface ProcessorOptions {
  readonly lanes: number;
  readonly batchSize: number;
  readonly batchBytes: number;
  readonly lingerMs: number;
  readonly maxRecords: number;
  readonly maxBytes: number;
}

/** Writes one batch for good (or throws, which stops the processor). */
export type BatchHandler<T extends Buffered> = (batch: T[]) => Promise<void>;

interface Lane<T> {
  queue: T[];
  queuedBytes: number;
  busy: boolean;
  /** When the oldest queued record arrived (Date.now()), for linger.ms. */
  since: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The lane of a document: FNV-1a over the characters of the index and the id, then murmur3's
 * finalizer, since FNV's low bits alone (what `% lanes` keeps) are a plain parity of the input
 * (ids like "k1-1", "k2-2" would all land in one lane).
 */
export function laneOf(index: string, id: string, lanes: number): number {
  if (lanes === 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < index.length; i++) hash = Math.imul(hash ^ index.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ 0, 0x01000193);
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % lanes;
}

export class BulkProcessor<T extends Buffered> {
  private readonly lanes: Array<Lane<T>>;
  private records = 0;
  private bytes = 0;
  private inFlight = 0;
  private failed: Error | undefined;
  /** Sending everything now: put() is blocked on a full buffer, or a flush is running. */
  private urgent = 0;
  private waiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly options: ProcessorOptions,
    private readonly handler: BatchHandler<T>,
  ) {
    this.lanes = Array.from({ length: options.lanes }, () => ({
      queue: [],
      queuedBytes: 0,
      busy: false,
      since: 0,
      timer: undefined,
    }));
  }

  get failure(): Error | undefined {
    return this.failed;
  }

  /** Records buffered or in flight. */
  get size(): { records: number; bytes: number; requestsInFlight: number } {
    return { records: this.records, bytes: this.bytes, requestsInFlight: this.inFlight };
  }

  hasSpace(): boolean {
    return this.records < this.options.maxRecords && this.bytes < this.options.maxBytes;
  }

  add(item: T): void {
    const lane = this.lanes[item.lane]!;
    if (lane.queue.length === 0) lane.since = Date.now();
    lane.queue.push(item);
    lane.queuedBytes += item.bytes;
    this.records++;
    this.bytes += item.bytes;
    if (!lane.busy && !this.failed) {
      if (this.full(lane)) this.send(lane);
      else this.arm(lane);
    }
  }

  /** Wait until the buffer has room (sending everything buffered meanwhile). */
  async waitForSpace(timeoutMs: number): Promise<void> {
    await this.waitUntil(() => this.hasSpace(), timeoutMs, 'buffer space');
  }

  /** Send everything buffered and wait until it is written (or the processor failed). */
  async flush(timeoutMs: number): Promise<void> {
    await this.waitUntil(() => this.records === 0, timeoutMs, 'the buffer to drain');
  }

  /** Send what lingers now, without waiting (preCommit). */
  nudge(): void {
    for (const lane of this.lanes) if (!lane.busy && lane.queue.length > 0) this.send(lane);
  }

  /** Remove queued (not in-flight) records matching `drop`; returns how many. */
  drop(predicate: (item: T) => boolean): number {
    let removed = 0;
    for (const lane of this.lanes) {
      const keep: T[] = [];
      for (const item of lane.queue) {
        if (predicate(item)) {
          removed++;
          lane.queuedBytes -= item.bytes;
          this.records--;
          this.bytes -= item.bytes;
        } else {
          keep.push(item);
        }
      }
      lane.queue = keep;
      if (keep.length === 0 && lane.timer) {
        clearTimeout(lane.timer);
        lane.timer = undefined;
      }
    }
    if (removed > 0) this.wake();
    return removed;
  }

  /** Stop timers and sending; in-flight requests finish on their own. */
  close(): void {
    this.closed = true;
    for (const lane of this.lanes) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = undefined;
    }
    this.wake();
  }

  private async waitUntil(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (this.failed) throw this.failed;
    if (ready()) return;
    this.urgent++;
    try {
      this.nudge();
      const deadline = Date.now() + timeoutMs;
      while (!ready()) {
        if (this.failed) throw this.failed;
        if (this.closed) return;
        const left = deadline - Date.now();
        if (left <= 0) {
          // Not retriable: part of the batch may be buffered already, and putting it again would
          // buffer it twice. Requests fail on their own long before (max.retries), so this means
          // Elasticsearch accepts writes slower than flush.timeout.ms allows.
          throw new KafkiError(
            ErrorCodes.flushTimeout,
            `Timed out after ${timeoutMs} ms (flush.timeout.ms) waiting for ${what}: ${this.records} records not yet written to Elasticsearch`,
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          this.waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (this.failed) throw this.failed;
    } finally {
      this.urgent--;
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private full(lane: Lane<T>): boolean {
    return (
      lane.queue.length >= this.options.batchSize || lane.queuedBytes >= this.options.batchBytes
    );
  }

  /** Decide for an idle lane with records: send now, or after the rest of linger.ms. */
  private arm(lane: Lane<T>): void {
    if (lane.busy || lane.queue.length === 0 || this.failed || this.closed) return;
    const waited = Date.now() - lane.since;
    if (this.urgent > 0 || this.full(lane) || waited >= this.options.lingerMs) {
      this.send(lane);
      return;
    }
    if (lane.timer) return;
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      if (!lane.busy && lane.queue.length > 0 && !this.failed && !this.closed) this.send(lane);
    }, this.options.lingerMs - waited);
  }

  private take(lane: Lane<T>): T[] {
    const { batchSize, batchBytes } = this.options;
    let count = 0;
    let bytes = 0;
    // At least one record, even one larger than bulk.size.bytes on its own.
    while (count < lane.queue.length && count < batchSize) {
      const next = lane.queue[count]!.bytes;
      if (count > 0 && bytes + next > batchBytes) break;
      bytes += next;
      count++;
    }
    const batch = lane.queue.splice(0, count);
    lane.queuedBytes -= bytes;
    if (lane.queue.length > 0) lane.since = Date.now();
    return batch;
  }

  private send(lane: Lane<T>): void {
    if (lane.timer) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
    }
    const batch = this.take(lane);
    if (batch.length === 0) return;
    let bytes = 0;
    for (const item of batch) bytes += item.bytes;
    lane.busy = true;
    this.inFlight++;
    const settle = () => {
      lane.busy = false;
      this.inFlight--;
      this.records -= batch.length;
      this.bytes -= bytes;
    };
    this.handler(batch).then(
      () => {
        settle();
        this.arm(lane);
        this.wake();
      },
      (error: unknown) => {
        // The batch stays unconfirmed: its records are never committed and will be read again.
        settle();
        this.failed ??= error instanceof Error ? error : new Error(String(error));
        this.wake();
      },
    );
  }
}
