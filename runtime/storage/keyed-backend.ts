// Where a store keeps its records: string keys, JSON values as bytes, null as a tombstone. The
// log-backed kind is a compacted topic (Kafka Connect's config/offset/status topics); the memory
// kind keeps the same bytes in an array, so both run the same encoding code.

import { KafkiError } from '../api/errors.ts';
import type { KafkiLog, TopicSpec } from '../log/log.ts';

export interface KeyedEntry {
  key: string;
  value: Buffer | null;
}

export interface KeyedBackend {
  /** Everything stored, oldest first per key (what replaying the topic gives). */
  load(): Promise<KeyedEntry[]>;
  /**
   * What was written since the last load() or catchUp(), by this process or any other (the
   * writes of this one included), in log order per key.
   */
  catchUp(): Promise<KeyedEntry[]>;
  /** Resolves once every entry is durable. Writes are applied in call order. */
  write(entries: readonly KeyedEntry[]): Promise<void>;
  close(): Promise<void>;
}

export class MemoryKeyedBackend implements KeyedBackend {
  readonly entries: KeyedEntry[] = [];
  private read = 0;

  async load(): Promise<KeyedEntry[]> {
    this.read = this.entries.length;
    return [...this.entries];
  }

  async catchUp(): Promise<KeyedEntry[]> {
    const fresh = this.entries.slice(this.read);
    this.read = this.entries.length;
    return fresh;
  }

  async write(entries: readonly KeyedEntry[]): Promise<void> {
    this.entries.push(...entries.map((entry) => ({ key: entry.key, value: entry.value })));
  }

  async close(): Promise<void> {}
}

const loadBatchRecords = 10_000;
const loadAttempts = 8;

export class LogKeyedBackend implements KeyedBackend {
  // Writes and catch-up reads chain one after another: per key the log order is the call order,
  // and a catch-up never hands back an entry older than a write the store applied before it.
  private tail: Promise<unknown> = Promise.resolve();
  /** Next offset to read, per partition. */
  private readonly positions = new Map<number, number>();

  constructor(
    private readonly log: KafkiLog,
    private readonly spec: TopicSpec,
  ) {}

  async load(): Promise<KeyedEntry[]> {
    // Workers starting together race to create the topic; until its partitions have settled
    // leaders, reads fail with retriable errors.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.log.createTopic(this.spec);
        this.positions.clear();
        return await this.catchUp();
      } catch (error) {
        if (!(error instanceof KafkiError) || !error.retriable || attempt >= loadAttempts)
          throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      }
    }
  }

  catchUp(): Promise<KeyedEntry[]> {
    return this.inTurn(() => this.readNew());
  }

  private async readNew(): Promise<KeyedEntry[]> {
    const entries: KeyedEntry[] = [];
    for (const range of await this.log.offsets(this.spec.name)) {
      let offset = Math.max(this.positions.get(range.partition) ?? range.start, range.start);
      while (offset < range.end) {
        const batch = await this.log.read(this.spec.name, range.partition, offset, {
          maxRecords: loadBatchRecords,
        });
        if (batch.length === 0) break;
        for (const record of batch) {
          if (record.key !== null)
            entries.push({ key: record.key.toString('utf8'), value: record.value });
        }
        offset = batch[batch.length - 1]!.offset + 1;
      }
      this.positions.set(range.partition, offset);
    }
    return entries;
  }

  write(entries: readonly KeyedEntry[]): Promise<void> {
    const records = entries.map((entry) => ({ key: Buffer.from(entry.key), value: entry.value }));
    return this.inTurn(async () => {
      await this.log.append(this.spec.name, records);
    });
  }

  private inTurn<T>(operation: () => Promise<T>): Promise<T> {
    const done = this.tail.then(operation);
    this.tail = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    await this.tail;
  }
}

export const encodeJson = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

export function decodeJson(value: Buffer | null): unknown {
  if (value === null) return null;
  try {
    return JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
}
