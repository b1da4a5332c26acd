// An in-memory Herder for the REST and CLI unit tests: it keeps connectors in a Map, behaves like
// the standalone herder in the ways the REST layer can observe (typed errors, created vs updated,
// offsets only when STOPPED), records every call, and can be told to throw from any method.

import type { RawConfig } from '../../runtime/api/config.ts';
import {
  AlreadyExistsError,
  BadRequestError,
  ConflictError,
  NotFoundError,
} from '../../runtime/herder/errors.ts';
import type {
  ConfigInfos,
  ConfigKeyInfo,
  ConnectorInfo,
  ConnectorOffsets,
  ConnectorSignal,
  ConnectorState,
  ConnectorStateInfo,
  Herder,
  PluginInfo,
  RestartRequest,
  ServerInfo,
  TargetState,
  TaskInfo,
  TaskStateInfo,
} from '../../runtime/herder/herder.ts';

interface FakeConnector {
  config: RawConfig;
  target: TargetState;
  kind: 'source' | 'sink';
  taskStates: ConnectorState[];
  taskTraces: Array<string | undefined>;
  offsets: ConnectorOffsets;
  topics: string[];
}

interface FakePlugin {
  info: PluginInfo;
  aliases: string[];
}

export const fakeWorkerId = '127.0.0.1:8083';

const plugins: FakePlugin[] = [
  {
    info: { class: 'org.kafki.FakeSourceConnector', type: 'source', version: '1.0.0' },
    aliases: ['FakeSource'],
  },
  {
    info: { class: 'org.kafki.FakeSinkConnector', type: 'sink', version: '1.0.0' },
    aliases: ['FakeSink'],
  },
  {
    info: { class: 'org.kafki.transforms.Filter', type: 'transformation', version: '1.0.0' },
    aliases: [],
  },
];

const configKeys: ConfigKeyInfo[] = [
  {
    name: 'file',
    type: 'STRING',
    required: true,
    default_value: null,
    importance: 'HIGH',
    documentation: 'The file to read or write.',
    group: 'Common',
    order: 1,
    width: 'LONG',
    display_name: 'File',
    dependents: [],
  },
];

export type HerderMethod = keyof Herder;

export class FakeHerder implements Herder {
  readonly connectorsByName = new Map<string, FakeConnector>();
  readonly calls: Array<{ method: HerderMethod; args: unknown[] }> = [];
  private readonly failures = new Map<HerderMethod, Error>();

  /** The next call of `method` throws `error` (once). */
  failNext(method: HerderMethod, error: Error): void {
    this.failures.set(method, error);
  }

  /** Sets a task's state directly, e.g. to FAILED with a trace. */
  setTaskState(name: string, task: number, state: ConnectorState, trace?: string): void {
    const connector = this.get(name);
    connector.taskStates[task] = state;
    connector.taskTraces[task] = trace;
  }

  private enter(method: HerderMethod, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const failure = this.failures.get(method);
    if (failure) {
      this.failures.delete(method);
      throw failure;
    }
  }

  private get(name: string): FakeConnector {
    const connector = this.connectorsByName.get(name);
    if (!connector) throw new NotFoundError(`Connector ${name} not found`);
    return connector;
  }

  private plugin(nameOrAlias: string): FakePlugin | undefined {
    return plugins.find(
      (plugin) =>
        plugin.info.type !== 'transformation' &&
        (plugin.info.class === nameOrAlias || plugin.aliases.includes(nameOrAlias)),
    );
  }

  private checkConfig(config: RawConfig): FakePlugin {
    const className = config['connector.class'];
    const plugin = className === undefined ? undefined : this.plugin(className);
    if (!plugin) {
      const known = plugins
        .filter((p) => p.info.type !== 'transformation')
        .map((p) => p.info.class);
      throw new BadRequestError(
        `Connector configuration is invalid and contains the following 1 error(s):\n` +
          `connector.class: ${className === undefined ? 'missing' : `unknown class ${className}`}; ` +
          `available: ${known.join(', ')}`,
      );
    }
    return plugin;
  }

  private taskCount(config: RawConfig): number {
    return Math.max(1, Number(config['tasks.max'] ?? '1'));
  }

  private info(name: string): ConnectorInfo {
    const connector = this.get(name);
    const masked = { ...connector.config };
    if (masked.password !== undefined) masked.password = '********';
    return {
      name,
      config: masked,
      tasks: connector.taskStates.map((_, task) => ({ connector: name, task })),
      type: connector.kind,
    };
  }

  private status(name: string): ConnectorStateInfo {
    const connector = this.get(name);
    const state: ConnectorState = connector.target === 'RUNNING' ? 'RUNNING' : connector.target;
    return {
      name,
      connector: { state, worker_id: fakeWorkerId },
      tasks:
        connector.target === 'STOPPED'
          ? []
          : connector.taskStates.map((taskState, id) => {
              const trace = connector.taskTraces[id];
              return {
                id,
                state: connector.target === 'PAUSED' ? 'PAUSED' : taskState,
                worker_id: fakeWorkerId,
                ...(trace ? { trace } : {}),
              };
            }),
      type: connector.kind,
    };
  }

  private store(name: string, config: RawConfig, target: TargetState, plugin: FakePlugin): void {
    const tasks = this.taskCount(config);
    const previous = this.connectorsByName.get(name);
    this.connectorsByName.set(name, {
      config,
      target,
      kind: plugin.info.type === 'sink' ? 'sink' : 'source',
      taskStates: Array.from({ length: tasks }, (): ConnectorState => 'RUNNING'),
      taskTraces: [],
      offsets: previous?.offsets ?? { offsets: [] },
      topics: previous?.topics ?? [],
    });
  }

  async serverInfo(): Promise<ServerInfo> {
    this.enter('serverInfo');
    return { version: '0.1.0-fake', commit: 'abc123', kafka_cluster_id: 'local-fake' };
  }

  async connectors(): Promise<string[]> {
    this.enter('connectors');
    return [...this.connectorsByName.keys()].sort();
  }

  async connectorInfo(name: string): Promise<ConnectorInfo> {
    this.enter('connectorInfo', name);
    return this.info(name);
  }

  async connectorConfig(name: string): Promise<RawConfig> {
    this.enter('connectorConfig', name);
    return this.info(name).config;
  }

  async createConnector(
    name: string,
    config: RawConfig,
    initialState?: TargetState,
  ): Promise<ConnectorInfo> {
    this.enter('createConnector', name, config, initialState);
    if (this.connectorsByName.has(name))
      throw new AlreadyExistsError(`Connector ${name} already exists`);
    this.store(name, config, initialState ?? 'RUNNING', this.checkConfig(config));
    return this.info(name);
  }

  async putConnectorConfig(
    name: string,
    config: RawConfig,
  ): Promise<{ created: boolean; info: ConnectorInfo }> {
    this.enter('putConnectorConfig', name, config);
    const plugin = this.checkConfig(config);
    const previous = this.connectorsByName.get(name);
    this.store(name, config, previous?.target ?? 'RUNNING', plugin);
    return { created: previous === undefined, info: this.info(name) };
  }

  async patchConnectorConfig(
    name: string,
    patch: Record<string, string | null>,
  ): Promise<ConnectorInfo> {
    this.enter('patchConnectorConfig', name, patch);
    const connector = this.get(name);
    const config = { ...connector.config };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete config[key];
      else config[key] = value;
    }
    this.store(name, config, connector.target, this.checkConfig(config));
    return this.info(name);
  }

  async deleteConnector(name: string): Promise<void> {
    this.enter('deleteConnector', name);
    this.get(name);
    this.connectorsByName.delete(name);
  }

  async connectorStatus(name: string): Promise<ConnectorStateInfo> {
    this.enter('connectorStatus', name);
    return this.status(name);
  }

  async taskStatus(name: string, task: number): Promise<TaskStateInfo> {
    this.enter('taskStatus', name, task);
    const found = this.status(name).tasks.find((candidate) => candidate.id === task);
    if (!found) throw new NotFoundError(`Task ${name}-${task} not found`);
    return found;
  }

  async taskConfigs(name: string): Promise<TaskInfo[]> {
    this.enter('taskConfigs', name);
    const connector = this.get(name);
    return connector.taskStates.map((_, task) => ({
      id: { connector: name, task },
      config: {
        'task.class': `${connector.config['connector.class'] ?? ''}Task`,
        file: connector.config.file ?? '',
      },
    }));
  }

  async restartConnector(name: string, request: RestartRequest): Promise<ConnectorStateInfo> {
    this.enter('restartConnector', name, request);
    const status = this.status(name);
    if (!request.onlyFailed || status.connector.state === 'FAILED')
      status.connector.state = 'RESTARTING';
    if (request.includeTasks) {
      for (const task of status.tasks) {
        if (!request.onlyFailed || task.state === 'FAILED') task.state = 'RESTARTING';
      }
    }
    return status;
  }

  async restartTask(name: string, task: number): Promise<void> {
    this.enter('restartTask', name, task);
    const connector = this.get(name);
    if (task >= connector.taskStates.length)
      throw new NotFoundError(`Task ${name}-${task} not found`);
    connector.taskStates[task] = 'RUNNING';
    connector.taskTraces[task] = undefined;
  }

  /** Signals accepted by sendSignal, per connector. */
  readonly signals: Array<{ name: string; signal: ConnectorSignal }> = [];

  /** Like the standalone herder: source connectors that run take signals, sinks do not. */
  async sendSignal(name: string, signal: ConnectorSignal): Promise<void> {
    this.enter('sendSignal', name, signal);
    const connector = this.get(name);
    if (connector.target !== 'RUNNING') {
      throw new ConflictError(
        `Connector ${name} is ${connector.target}; signals go to the tasks of a running connector`,
      );
    }
    if (connector.kind !== 'source') {
      throw new BadRequestError(
        `Connector ${name} does not take signals: its tasks have no signal support`,
      );
    }
    this.signals.push({ name, signal });
  }

  async pauseConnector(name: string): Promise<void> {
    this.enter('pauseConnector', name);
    this.get(name).target = 'PAUSED';
  }

  async resumeConnector(name: string): Promise<void> {
    this.enter('resumeConnector', name);
    this.get(name).target = 'RUNNING';
  }

  async stopConnector(name: string): Promise<void> {
    this.enter('stopConnector', name);
    this.get(name).target = 'STOPPED';
  }

  async connectorTopics(name: string): Promise<string[]> {
    this.enter('connectorTopics', name);
    return [...this.get(name).topics];
  }

  async resetConnectorTopics(name: string): Promise<void> {
    this.enter('resetConnectorTopics', name);
    this.get(name).topics = [];
  }

  async connectorOffsets(name: string): Promise<ConnectorOffsets> {
    this.enter('connectorOffsets', name);
    return structuredClone(this.get(name).offsets);
  }

  async alterConnectorOffsets(name: string, offsets: ConnectorOffsets): Promise<string> {
    this.enter('alterConnectorOffsets', name, offsets);
    const connector = this.get(name);
    if (connector.target !== 'STOPPED') {
      throw new BadRequestError(
        `Connector ${name} must be in the STOPPED state to alter its offsets`,
      );
    }
    const kept = connector.offsets.offsets.filter(
      (existing) =>
        !offsets.offsets.some(
          (change) => JSON.stringify(change.partition) === JSON.stringify(existing.partition),
        ),
    );
    const set = offsets.offsets.filter((change) => change.offset !== null);
    connector.offsets = { offsets: [...kept, ...structuredClone(set)] };
    return 'The offsets for this connector have been altered successfully';
  }

  async resetConnectorOffsets(name: string): Promise<string> {
    this.enter('resetConnectorOffsets', name);
    const connector = this.get(name);
    if (connector.target !== 'STOPPED') {
      throw new BadRequestError(
        `Connector ${name} must be in the STOPPED state to reset its offsets`,
      );
    }
    connector.offsets = { offsets: [] };
    return 'The offsets for this connector have been reset successfully';
  }

  async plugins(options: { connectorsOnly: boolean }): Promise<PluginInfo[]> {
    this.enter('plugins', options);
    return plugins
      .filter(
        (plugin) =>
          !options.connectorsOnly || plugin.info.type === 'source' || plugin.info.type === 'sink',
      )
      .map((plugin) => plugin.info);
  }

  async pluginConfig(plugin: string): Promise<ConfigKeyInfo[]> {
    this.enter('pluginConfig', plugin);
    if (!this.plugin(plugin)) throw new NotFoundError(`Unknown plugin ${plugin}`);
    return configKeys;
  }

  async validateConfig(plugin: string, config: RawConfig): Promise<ConfigInfos> {
    this.enter('validateConfig', plugin, config);
    const found = this.plugin(plugin);
    if (!found) throw new NotFoundError(`Unknown plugin ${plugin}`);
    const included = config['connector.class'];
    if (included !== undefined && this.plugin(included) !== found) {
      throw new BadRequestError(
        `Included connector type ${included} does not match request type ${plugin}`,
      );
    }
    const errors = config.file
      ? []
      : ['Missing required configuration "file" which has no default value.'];
    return {
      name: found.info.class,
      error_count: errors.length,
      groups: ['Common'],
      configs: [
        {
          definition: configKeys[0] as ConfigKeyInfo,
          value: {
            name: 'file',
            value: config.file ?? null,
            recommended_values: [],
            errors,
            visible: true,
          },
        },
      ],
    };
  }
}
