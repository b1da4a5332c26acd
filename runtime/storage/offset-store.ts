// Source offsets, kept like Kafka Connect's offsets topic: key = JSON `[connectorName,
// sourcePartition]`, value = the offset map as JSON, null to forget a partition. Partition maps are
// written with sorted keys so one source partition always has one key (compaction keeps its last).

import type { SourceOffset, SourcePartition } from '../api/record.ts';
import type { KafkiLog } from '../log/log.ts';
import { decodeJson, encodeJson, LogKeyedBackend, MemoryKeyedBackend } from './keyed-backend.ts';
import type { KeyedBackend, KeyedEntry } from './keyed-backend.ts';

export interface OffsetEntry {
  partition: SourcePartition;
  /** null removes the stored offset (the partition starts over). */
  offset: SourceOffset | null;
}

export interface OffsetStore {
  start(): Promise<void>;
  /** Apply what other workers (and this one) wrote since start() or the last refresh(). */
  refresh(): Promise<void>;
  get(connector: string, partition: SourcePartition): SourceOffset | null;
  /** Every stored partition of a connector with its offset. */
  list(connector: string): OffsetEntry[];
  /** Resolves once the offsets are durable. */
  set(connector: string, entries: readonly OffsetEntry[]): Promise<void>;
  close(): Promise<void>;
}

function sortedObject<T extends Record<string, unknown>>(object: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object).sort()) out[key] = object[key];
  return out as T;
}

export function offsetKey(connector: string, partition: SourcePartition): string {
  return JSON.stringify([connector, sortedObject(partition)]);
}

function parseKey(key: string): { connector: string; partition: SourcePartition } | undefined {
  try {
    const parsed: unknown = JSON.parse(key);
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      parsed[1] !== null &&
      typeof parsed[1] === 'object'
    ) {
      return { connector: parsed[0], partition: parsed[1] as SourcePartition };
    }
  } catch {
    // Not ours (a foreign record on the topic): skipped.
  }
  return undefined;
}

export class KeyedOffsetStore implements OffsetStore {
  private readonly byConnector = new Map<string, Map<string, OffsetEntry>>();

  constructor(private readonly backend: KeyedBackend) {}

  async start(): Promise<void> {
    for (const entry of await this.backend.load()) this.apply(entry);
  }

  async refresh(): Promise<void> {
    for (const entry of await this.backend.catchUp()) this.apply(entry);
  }

  get(connector: string, partition: SourcePartition): SourceOffset | null {
    return this.byConnector.get(connector)?.get(offsetKey(connector, partition))?.offset ?? null;
  }

  list(connector: string): OffsetEntry[] {
    return [...(this.byConnector.get(connector)?.values() ?? [])].map((entry) => ({
      partition: { ...entry.partition },
      offset: entry.offset === null ? null : { ...entry.offset },
    }));
  }

  async set(connector: string, entries: readonly OffsetEntry[]): Promise<void> {
    const records: KeyedEntry[] = entries.map((entry) => ({
      key: offsetKey(connector, entry.partition),
      value: entry.offset === null ? null : encodeJson(entry.offset),
    }));
    await this.backend.write(records);
    for (const record of records) this.apply(record);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  private apply({ key, value }: KeyedEntry): void {
    const parsed = parseKey(key);
    if (!parsed) return;
    let partitions = this.byConnector.get(parsed.connector);
    const normalized = offsetKey(parsed.connector, parsed.partition);
    if (value === null) {
      partitions?.delete(normalized);
      return;
    }
    const offset = decodeJson(value);
    if (offset === null || typeof offset !== 'object') return;
    if (!partitions) {
      partitions = new Map();
      this.byConnector.set(parsed.connector, partitions);
    }
    partitions.set(normalized, { partition: parsed.partition, offset: offset as SourceOffset });
  }
}

export function createMemoryOffsetStore(backend = new MemoryKeyedBackend()): OffsetStore {
  return new KeyedOffsetStore(backend);
}

export function createLogOffsetStore(
  log: KafkiLog,
  topic: string,
  options: { partitions: number; replicationFactor?: number },
): OffsetStore {
  return new KeyedOffsetStore(
    new LogKeyedBackend(log, {
      name: topic,
      partitions: options.partitions,
      cleanupPolicy: 'compact',
      ...(options.replicationFactor === undefined
        ? {}
        : { replicationFactor: options.replicationFactor }),
    }),
  );
}
