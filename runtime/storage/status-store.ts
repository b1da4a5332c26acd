// Connector and task statuses, kept like Kafka Connect's status topic: `status-connector-<name>`
// and `status-task-<name>-<n>` with {state, trace, worker_id, generation}, plus active topics under
// `status-topic-<topic>:connector-<name>`. Every write carries the writer's generation; a write
// older than the stored one is refused, so a stale worker cannot overwrite a newer status.

import type { ConnectorState } from '../herder/herder.ts';
import type { KafkiLog } from '../log/log.ts';
import { decodeJson, encodeJson, LogKeyedBackend, MemoryKeyedBackend } from './keyed-backend.ts';
import type { KeyedBackend, KeyedEntry } from './keyed-backend.ts';

export interface StatusRecord {
  state: ConnectorState;
  trace?: string;
  workerId: string;
  generation: number;
}

export interface StatusStore {
  start(): Promise<void>;
  /** Apply what other workers (and this one) wrote since start() or the last refresh(). */
  refresh(): Promise<void>;
  /** Highest generation seen: a starting worker writes with a higher one. */
  maxGeneration(): number;
  /** false when refused because a newer generation already wrote this status. */
  putConnector(name: string, status: StatusRecord): Promise<boolean>;
  putTask(name: string, task: number, status: StatusRecord): Promise<boolean>;
  connector(name: string): StatusRecord | undefined;
  task(name: string, task: number): StatusRecord | undefined;
  /** Task statuses of a connector by task id. */
  tasks(name: string): ReadonlyMap<number, StatusRecord>;
  /** Tombstones the connector's status and its tasks' statuses. */
  deleteConnector(name: string): Promise<void>;
  deleteTask(name: string, task: number): Promise<void>;
  /** Record that a connector uses a topic (Kafka Connect's active topics); idempotent. */
  putTopic(name: string, topic: string, task: number): Promise<void>;
  topics(name: string): string[];
  resetTopics(name: string): Promise<void>;
  close(): Promise<void>;
}

const connectorKey = (name: string) => `status-connector-${name}`;
const taskKey = (name: string, task: number) => `status-task-${name}-${task}`;
const topicKey = (name: string, topic: string) => `status-topic-${topic}:connector-${name}`;

function encodeStatus(status: StatusRecord): Buffer {
  return encodeJson({
    state: status.state,
    trace: status.trace ?? null,
    worker_id: status.workerId,
    generation: status.generation,
  });
}

function decodeStatus(value: Buffer | null): StatusRecord | undefined {
  const decoded = decodeJson(value) as Record<string, unknown> | null | undefined;
  if (!decoded || typeof decoded.state !== 'string') return undefined;
  return {
    state: decoded.state as ConnectorState,
    ...(typeof decoded.trace === 'string' ? { trace: decoded.trace } : {}),
    workerId: typeof decoded.worker_id === 'string' ? decoded.worker_id : '',
    generation: typeof decoded.generation === 'number' ? decoded.generation : 0,
  };
}

/** Written by an older generation than the stored status (a worker that missed a rebalance). */
const isStale = (status: StatusRecord, stored: StatusRecord | undefined): boolean =>
  stored !== undefined && stored.generation > status.generation;

export class KeyedStatusStore implements StatusStore {
  private readonly connectors = new Map<string, StatusRecord>();
  private readonly taskStatuses = new Map<string, Map<number, StatusRecord>>();
  private readonly activeTopics = new Map<string, Set<string>>();
  private generation = 0;

  constructor(private readonly backend: KeyedBackend) {}

  async start(): Promise<void> {
    for (const entry of await this.backend.load()) this.apply(entry);
  }

  async refresh(): Promise<void> {
    for (const entry of await this.backend.catchUp()) this.apply(entry);
  }

  maxGeneration(): number {
    return this.generation;
  }

  async putConnector(name: string, status: StatusRecord): Promise<boolean> {
    if ((this.connectors.get(name)?.generation ?? -1) > status.generation) return false;
    await this.write([{ key: connectorKey(name), value: encodeStatus(status) }]);
    return true;
  }

  async putTask(name: string, task: number, status: StatusRecord): Promise<boolean> {
    if ((this.taskStatuses.get(name)?.get(task)?.generation ?? -1) > status.generation)
      return false;
    await this.write([{ key: taskKey(name, task), value: encodeStatus(status) }]);
    return true;
  }

  connector(name: string): StatusRecord | undefined {
    return this.connectors.get(name);
  }

  task(name: string, task: number): StatusRecord | undefined {
    return this.taskStatuses.get(name)?.get(task);
  }

  tasks(name: string): ReadonlyMap<number, StatusRecord> {
    return new Map(this.taskStatuses.get(name) ?? []);
  }

  async deleteConnector(name: string): Promise<void> {
    const entries: KeyedEntry[] = [{ key: connectorKey(name), value: null }];
    for (const task of this.taskStatuses.get(name)?.keys() ?? []) {
      entries.push({ key: taskKey(name, task), value: null });
    }
    await this.write(entries);
  }

  async deleteTask(name: string, task: number): Promise<void> {
    await this.write([{ key: taskKey(name, task), value: null }]);
  }

  async putTopic(name: string, topic: string, task: number): Promise<void> {
    if (this.activeTopics.get(name)?.has(topic)) return;
    await this.write([
      {
        key: topicKey(name, topic),
        value: encodeJson({
          topic: { name: topic, connector: name, task, discoverTimestamp: Date.now() },
        }),
      },
    ]);
  }

  topics(name: string): string[] {
    return [...(this.activeTopics.get(name) ?? [])].sort();
  }

  async resetTopics(name: string): Promise<void> {
    const entries = this.topics(name).map((topic) => ({ key: topicKey(name, topic), value: null }));
    if (entries.length > 0) await this.write(entries);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  private async write(entries: KeyedEntry[]): Promise<void> {
    await this.backend.write(entries);
    for (const entry of entries) this.apply(entry);
  }

  private apply({ key, value }: KeyedEntry): void {
    if (key.startsWith('status-connector-')) {
      const name = key.slice('status-connector-'.length);
      const status = decodeStatus(value);
      if (status && isStale(status, this.connectors.get(name))) return;
      if (status) {
        this.connectors.set(name, status);
        this.generation = Math.max(this.generation, status.generation);
      } else if (value === null) this.connectors.delete(name);
    } else if (key.startsWith('status-task-')) {
      const match = /^status-task-(.*)-(\d+)$/.exec(key);
      if (!match) return;
      const [, name, task] = match as unknown as [string, string, string];
      const status = decodeStatus(value);
      let tasks = this.taskStatuses.get(name);
      if (status && isStale(status, tasks?.get(Number(task)))) return;
      if (status) {
        if (!tasks) {
          tasks = new Map();
          this.taskStatuses.set(name, tasks);
        }
        tasks.set(Number(task), status);
        this.generation = Math.max(this.generation, status.generation);
      } else if (value === null) {
        tasks?.delete(Number(task));
        if (tasks?.size === 0) this.taskStatuses.delete(name);
      }
    } else if (key.startsWith('status-topic-')) {
      const match = /^status-topic-(.*):connector-(.*)$/.exec(key);
      if (!match) return;
      const [, topic, name] = match as unknown as [string, string, string];
      let topics = this.activeTopics.get(name);
      if (value === null) {
        topics?.delete(topic);
        return;
      }
      if (!topics) {
        topics = new Set();
        this.activeTopics.set(name, topics);
      }
      topics.add(topic);
    }
  }
}

export function createMemoryStatusStore(backend = new MemoryKeyedBackend()): StatusStore {
  return new KeyedStatusStore(backend);
}

export function createLogStatusStore(
  log: KafkiLog,
  topic: string,
  options: { partitions: number; replicationFactor?: number },
): StatusStore {
  return new KeyedStatusStore(
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
