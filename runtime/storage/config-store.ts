// Connector configs, task configs and target states, kept like Kafka Connect's config topic:
// `connector-<name>` {properties}, `task-<name>-<n>` {properties}, `commit-<name>` {tasks: n},
// `target-state-<name>` {state, state.v2}. Task configs take effect only with their commit record,
// so a crash between writing task configs and committing them leaves the previous set in force.

import type { RawConfig } from '../api/config.ts';
import type { TargetState } from '../herder/herder.ts';
import type { KafkiLog } from '../log/log.ts';
import { decodeJson, encodeJson, LogKeyedBackend, MemoryKeyedBackend } from './keyed-backend.ts';
import type { KeyedBackend, KeyedEntry } from './keyed-backend.ts';

export interface ConnectorConfigEntry {
  readonly name: string;
  /** As submitted: config provider references unresolved. */
  readonly config: RawConfig;
  readonly targetState: TargetState;
  /** The committed task configs; [] before the first commit (and while STOPPED). */
  readonly taskConfigs: readonly RawConfig[];
}

export interface ConfigStore {
  /** Load everything stored; call once before anything else. */
  start(): Promise<void>;
  /** Apply what other workers (and this one) wrote since start() or the last refresh(). */
  refresh(): Promise<void>;
  connectorNames(): string[];
  get(name: string): ConnectorConfigEntry | undefined;
  /** With a target state, it is written first, so the connector never starts in the wrong one. */
  putConnectorConfig(name: string, config: RawConfig, targetState?: TargetState): Promise<void>;
  putTargetState(name: string, state: TargetState): Promise<void>;
  /** Writes every task config and then the commit record, in one durable batch. */
  putTaskConfigs(name: string, taskConfigs: readonly RawConfig[]): Promise<void>;
  removeConnector(name: string): Promise<void>;
  close(): Promise<void>;
}

interface MutableEntry {
  config: RawConfig | undefined;
  targetState: TargetState | undefined;
  taskConfigs: RawConfig[];
  pendingTasks: Map<number, RawConfig>;
}

const connectorKey = (name: string) => `connector-${name}`;
const taskKey = (name: string, task: number) => `task-${name}-${task}`;
const commitKey = (name: string) => `commit-${name}`;
const targetStateKey = (name: string) => `target-state-${name}`;

function targetStateValue(state: TargetState): Record<string, string> {
  // Kafka Connect writes STARTED for running, and STOPPED only in state.v2 (older readers see PAUSED).
  const v2 = state === 'RUNNING' ? 'STARTED' : state;
  return { state: state === 'STOPPED' ? 'PAUSED' : v2, 'state.v2': v2 };
}

function parseTargetState(value: unknown): TargetState | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const state = record['state.v2'] ?? record.state;
  if (state === 'STARTED' || state === 'RUNNING') return 'RUNNING';
  if (state === 'PAUSED' || state === 'STOPPED') return state;
  return undefined;
}

function parseProperties(value: unknown): RawConfig | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const properties = (value as { properties?: unknown }).properties;
  if (properties === null || typeof properties !== 'object') return undefined;
  return { ...(properties as RawConfig) };
}

export class KeyedConfigStore implements ConfigStore {
  private readonly entries = new Map<string, MutableEntry>();

  constructor(private readonly backend: KeyedBackend) {}

  async start(): Promise<void> {
    for (const entry of await this.backend.load()) this.apply(entry);
  }

  async refresh(): Promise<void> {
    for (const entry of await this.backend.catchUp()) this.apply(entry);
  }

  connectorNames(): string[] {
    return [...this.entries.entries()]
      .filter(([, entry]) => entry.config !== undefined)
      .map(([name]) => name)
      .sort();
  }

  get(name: string): ConnectorConfigEntry | undefined {
    const entry = this.entries.get(name);
    if (!entry?.config) return undefined;
    return {
      name,
      config: { ...entry.config },
      targetState: entry.targetState ?? 'RUNNING',
      taskConfigs: entry.taskConfigs.map((config) => ({ ...config })),
    };
  }

  async putConnectorConfig(
    name: string,
    config: RawConfig,
    targetState?: TargetState,
  ): Promise<void> {
    const entries: KeyedEntry[] = [];
    if (targetState)
      entries.push({ key: targetStateKey(name), value: encodeJson(targetStateValue(targetState)) });
    entries.push({ key: connectorKey(name), value: encodeJson({ properties: config }) });
    await this.writeAndApply(entries);
  }

  async putTargetState(name: string, state: TargetState): Promise<void> {
    await this.writeAndApply([
      { key: targetStateKey(name), value: encodeJson(targetStateValue(state)) },
    ]);
  }

  async putTaskConfigs(name: string, taskConfigs: readonly RawConfig[]): Promise<void> {
    const entries: KeyedEntry[] = taskConfigs.map((config, task) => ({
      key: taskKey(name, task),
      value: encodeJson({ properties: config }),
    }));
    entries.push({ key: commitKey(name), value: encodeJson({ tasks: taskConfigs.length }) });
    await this.writeAndApply(entries);
  }

  async removeConnector(name: string): Promise<void> {
    const entry = this.entries.get(name);
    const tasks = Math.max(
      entry?.taskConfigs.length ?? 0,
      ...(entry ? [...entry.pendingTasks.keys()].map((t) => t + 1) : [0]),
    );
    const entries: KeyedEntry[] = [{ key: connectorKey(name), value: null }];
    for (let task = 0; task < tasks; task++)
      entries.push({ key: taskKey(name, task), value: null });
    entries.push({ key: commitKey(name), value: null }, { key: targetStateKey(name), value: null });
    await this.writeAndApply(entries);
  }

  async close(): Promise<void> {
    await this.backend.close();
  }

  private async writeAndApply(entries: KeyedEntry[]): Promise<void> {
    await this.backend.write(entries);
    for (const entry of entries) this.apply(entry);
  }

  private entry(name: string): MutableEntry {
    let entry = this.entries.get(name);
    if (!entry) {
      entry = {
        config: undefined,
        targetState: undefined,
        taskConfigs: [],
        pendingTasks: new Map(),
      };
      this.entries.set(name, entry);
    }
    return entry;
  }

  private apply({ key, value }: KeyedEntry): void {
    const decoded = decodeJson(value);
    if (key.startsWith('connector-')) {
      const name = key.slice('connector-'.length);
      if (value === null) {
        this.entries.delete(name);
        return;
      }
      const properties = parseProperties(decoded);
      if (properties) this.entry(name).config = properties;
    } else if (key.startsWith('target-state-')) {
      const name = key.slice('target-state-'.length);
      if (value === null) {
        const entry = this.entries.get(name);
        if (entry) entry.targetState = undefined;
        return;
      }
      const state = parseTargetState(decoded);
      if (state) this.entry(name).targetState = state;
    } else if (key.startsWith('task-')) {
      const match = /^task-(.*)-(\d+)$/.exec(key);
      if (!match || value === null) return;
      const properties = parseProperties(decoded);
      if (properties) this.entry(match[1]!).pendingTasks.set(Number(match[2]), properties);
    } else if (key.startsWith('commit-')) {
      const name = key.slice('commit-'.length);
      if (value === null) return;
      const count = (decoded as { tasks?: unknown } | undefined)?.tasks;
      if (typeof count !== 'number') return;
      const entry = this.entry(name);
      const configs: RawConfig[] = [];
      for (let task = 0; task < count; task++) {
        const config = entry.pendingTasks.get(task);
        // An incomplete set (a torn write) is not applied; the previous one stays in force.
        if (!config) return;
        configs.push(config);
      }
      entry.taskConfigs = configs;
      entry.pendingTasks.clear();
    }
  }
}

export function createMemoryConfigStore(backend = new MemoryKeyedBackend()): ConfigStore {
  return new KeyedConfigStore(backend);
}

export function createLogConfigStore(
  log: KafkiLog,
  topic: string,
  options: { replicationFactor?: number } = {},
): ConfigStore {
  return new KeyedConfigStore(
    new LogKeyedBackend(log, {
      name: topic,
      partitions: 1,
      cleanupPolicy: 'compact',
      ...(options.replicationFactor === undefined
        ? {}
        : { replicationFactor: options.replicationFactor }),
    }),
  );
}
