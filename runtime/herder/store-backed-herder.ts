// What every herder shares: answers read from the config, offset and status stores, config
// validation, secrets masking, and the offset operations on a STOPPED connector. The standalone
// herder adds running everything on this worker; the distributed one adds writing intents to the
// stores and letting each connector's and task's owner carry them out.

import type { RawConfig } from '../api/config.ts';
import type { ConnectorPlugin } from '../api/connector.ts';
import type { Logger } from '../api/logger.ts';
import type { SourceOffset, SourcePartition } from '../api/record.ts';
import { maskSecrets } from '../config/flat-config.ts';
import { mergeConnectorSchema } from '../config/connector-config.ts';
import type { ConverterRegistry } from '../converters/registry.ts';
import type { KafkiLog } from '../log/log.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { ConfigStore } from '../storage/config-store.ts';
import type { OffsetStore } from '../storage/offset-store.ts';
import type { StatusStore } from '../storage/status-store.ts';
import { sinkGroupId } from '../worker/sink-task-runner.ts';
import type { TaskId } from '../worker/task-runner.ts';
import type { TransformSupport } from '../worker/transform-chain.ts';
import type { Worker } from '../worker/worker.ts';
import { invalidConfigMessage } from './config-validation.ts';
import type { ConfigValidator } from './config-validation.ts';
import type { StatusRecorder } from './status-recorder.ts';
import { sameConfigs } from './task-configs.ts';
import { BadRequestError, ConflictError, InvalidConfigError, NotFoundError } from './errors.ts';
import type {
  ConfigInfos,
  ConfigKeyInfo,
  ConnectorInfo,
  ConnectorOffsets,
  ConnectorStateInfo,
  Herder,
  PluginInfo,
  RestartRequest,
  ServerInfo,
  TaskInfo,
  TaskStateInfo,
} from './herder.ts';

export interface StoreBackedHerderDeps {
  workerId: string;
  serverInfo: ServerInfo;
  log: KafkiLog;
  configStore: ConfigStore;
  offsetStore: OffsetStore;
  statusStore: StatusStore;
  plugins: PluginRegistry;
  converters: ConverterRegistry;
  transforms: TransformSupport;
  validator: ConfigValidator;
  logger: Logger;
}

export type TaskProgress = Record<string, string | number | boolean>;

const secretPlaceholder = '[hidden]';
const alterMessage = 'The offsets for this connector have been altered successfully';
const resetMessage = 'The offsets for this connector have been reset successfully';
const notStoppedMessage =
  "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{connector}/stop' endpoint";

export abstract class StoreBackedHerder<
  D extends StoreBackedHerderDeps = StoreBackedHerderDeps,
> implements Partial<Herder> {
  private queue: Promise<unknown> = Promise.resolve();
  protected closed = false;

  constructor(protected readonly deps: D) {}

  /** Runs this worker's share of connectors and tasks. */
  protected abstract readonly worker: Worker;
  /** Writes the statuses of what runs here. */
  protected abstract readonly recorder: StatusRecorder;

  /** Progress a task reported, wherever it runs. */
  protected abstract taskProgress(id: TaskId): Promise<TaskProgress | undefined>;

  /** Bring the stores up to date before answering from them (other workers write them too). */
  protected async fresh(): Promise<void> {}

  async serverInfo(): Promise<ServerInfo> {
    return this.deps.serverInfo;
  }

  async connectors(): Promise<string[]> {
    await this.fresh();
    return this.deps.configStore.connectorNames();
  }

  async connectorInfo(name: string): Promise<ConnectorInfo> {
    await this.fresh();
    const entry = this.entry(name);
    const plugin = this.plugin(entry.config);
    return {
      name,
      config: this.mask(plugin, entry.config),
      tasks: entry.taskConfigs.map((_, task) => ({ connector: name, task })),
      type: plugin?.kind ?? 'unknown',
    };
  }

  async connectorConfig(name: string): Promise<RawConfig> {
    await this.fresh();
    const entry = this.entry(name);
    return this.mask(this.plugin(entry.config), entry.config);
  }

  async connectorStatus(name: string): Promise<ConnectorStateInfo> {
    await this.fresh();
    const entry = this.entry(name);
    const plugin = this.plugin(entry.config);
    const connector = this.deps.statusStore.connector(name);
    return {
      name,
      connector: {
        state: connector?.state ?? 'UNASSIGNED',
        worker_id: connector?.workerId ?? this.deps.workerId,
        ...(connector?.trace !== undefined ? { trace: connector.trace } : {}),
      },
      tasks: await Promise.all(entry.taskConfigs.map((_, task) => this.taskState(name, task))),
      type: plugin?.kind ?? 'unknown',
    };
  }

  async taskStatus(name: string, task: number): Promise<TaskStateInfo> {
    await this.fresh();
    this.taskConfig(name, task);
    return this.taskState(name, task);
  }

  async taskConfigs(name: string): Promise<TaskInfo[]> {
    await this.fresh();
    const entry = this.entry(name);
    const plugin = this.plugin(entry.config);
    return entry.taskConfigs.map((config, task) => ({
      id: { connector: name, task },
      config: this.mask(plugin, config),
    }));
  }

  async connectorTopics(name: string): Promise<string[]> {
    await this.fresh();
    this.entry(name);
    return this.deps.statusStore.topics(name);
  }

  async resetConnectorTopics(name: string): Promise<void> {
    await this.serial(async () => {
      this.entry(name);
      await this.deps.statusStore.resetTopics(name);
    });
  }

  async connectorOffsets(name: string): Promise<ConnectorOffsets> {
    await this.fresh();
    const entry = this.entry(name);
    const kind = this.plugin(entry.config)?.kind;
    if (kind === 'source') {
      return {
        offsets: this.deps.offsetStore
          .list(name)
          .map((item) => ({ partition: item.partition, offset: item.offset })),
      };
    }
    if (kind === 'sink') {
      const offsets: ConnectorOffsets['offsets'] = [];
      for (const topic of await this.sinkTopics(entry.config)) {
        for (const position of await this.deps.log.committedOffsets(sinkGroupId(name), topic)) {
          offsets.push({
            partition: { kafka_topic: topic, kafka_partition: position.partition },
            offset: { kafka_offset: position.offset },
          });
        }
      }
      return { offsets };
    }
    return { offsets: [] };
  }

  async alterConnectorOffsets(name: string, offsets: ConnectorOffsets): Promise<string> {
    return this.serial(async () => {
      const entry = this.stoppedEntry(name);
      if (!offsets.offsets || offsets.offsets.length === 0) {
        throw new BadRequestError(
          'The offsets to be modified must be specified and may not be empty',
        );
      }
      const kind = this.plugin(entry.config)?.kind;
      if (kind === 'source') {
        await this.deps.offsetStore.set(
          name,
          offsets.offsets.map((item) => {
            if (item.partition === null || typeof item.partition !== 'object') {
              throw new BadRequestError('Every source partition must be a JSON object');
            }
            if (item.offset !== null && typeof item.offset !== 'object') {
              throw new BadRequestError('Every source offset must be a JSON object or null');
            }
            return {
              partition: item.partition as SourcePartition,
              offset: item.offset as SourceOffset | null,
            };
          }),
        );
      } else if (kind === 'sink') {
        const positions = offsets.offsets.map((item) => {
          const topic = item.partition.kafka_topic;
          const partition = item.partition.kafka_partition;
          const offset = item.offset === null ? null : item.offset.kafka_offset;
          if (
            typeof topic !== 'string' ||
            !Number.isInteger(partition) ||
            (partition as number) < 0
          ) {
            throw new BadRequestError(
              'Every sink partition must have a "kafka_topic" string and a non-negative "kafka_partition" integer',
            );
          }
          if (offset !== null && (!Number.isInteger(offset) || (offset as number) < 0)) {
            throw new BadRequestError(
              'Every sink offset must be null or have a non-negative "kafka_offset" integer',
            );
          }
          return { topic, partition: partition as number, offset: offset as number | null };
        });
        await this.commitSinkPositions(name, positions);
      } else {
        throw new BadRequestError(
          `The plugin of connector ${name} is not installed; its offsets cannot be altered`,
        );
      }
      return alterMessage;
    });
  }

  async resetConnectorOffsets(name: string): Promise<string> {
    return this.serial(async () => {
      const entry = this.stoppedEntry(name);
      const kind = this.plugin(entry.config)?.kind;
      if (kind === 'source') {
        const stored = this.deps.offsetStore.list(name);
        if (stored.length > 0) {
          await this.deps.offsetStore.set(
            name,
            stored.map((item) => ({ partition: item.partition, offset: null })),
          );
        }
      } else if (kind === 'sink') {
        const positions: Array<{ topic: string; partition: number; offset: null }> = [];
        for (const topic of await this.sinkTopics(entry.config)) {
          for (const position of await this.deps.log.committedOffsets(sinkGroupId(name), topic)) {
            positions.push({ topic, partition: position.partition, offset: null });
          }
        }
        await this.commitSinkPositions(name, positions);
      }
      return resetMessage;
    });
  }

  async plugins(options: { connectorsOnly: boolean }): Promise<PluginInfo[]> {
    const connectors: PluginInfo[] = this.deps.plugins
      .list()
      .map((plugin) => ({ class: plugin.className, type: plugin.kind, version: plugin.version }));
    if (options.connectorsOnly) return connectors;
    return [
      ...connectors,
      ...this.deps.converters.list().map((converter) => ({
        class: converter.className,
        type: 'converter' as const,
        version: converter.version,
      })),
      ...this.deps.transforms.plugins(),
    ];
  }

  async pluginConfig(plugin: string): Promise<ConfigKeyInfo[]> {
    return this.deps.validator.configKeys(this.findPlugin(plugin));
  }

  async validateConfig(plugin: string, config: RawConfig): Promise<ConfigInfos> {
    const found = this.findPlugin(plugin);
    const included = config['connector.class'];
    if (included !== undefined && this.deps.plugins.find(included) !== found) {
      throw new BadRequestError(
        `Included connector type ${included} does not match request type ${plugin}`,
      );
    }
    const result = await this.deps.validator.validate({
      ...config,
      'connector.class': included ?? plugin,
    });
    return result.infos;
  }

  /** Ask the connector for task configs; store them when they changed. Returns whether they did. */
  protected async updateTaskConfigs(name: string): Promise<boolean> {
    let configs: RawConfig[];
    try {
      configs = await this.worker.connectorTaskConfigs(name);
    } catch (error) {
      this.recorder.connector(name, 'FAILED', error as Error);
      return false;
    }
    const entry = this.entry(name);
    if (sameConfigs(configs, entry.taskConfigs)) return false;
    await this.deps.configStore.putTaskConfigs(name, configs);
    for (let task = configs.length; task < entry.taskConfigs.length; task++) {
      await this.deps.statusStore.deleteTask(name, task);
    }
    return true;
  }

  /**
   * The config a PUT stores for `name`: secrets sent back as "[hidden]" keep their stored
   * values, then validated. `existing` is the stored entry, if any.
   */
  protected async replacementConfig(name: string, config: RawConfig) {
    const existing = this.deps.configStore.get(name);
    const full = this.restoreSecrets(existing?.config, { ...config, name });
    await this.validateOrThrow(full);
    return { existing, full };
  }

  /** The connector's config with `patch` applied (null removes a key), validated. */
  protected async patchedConfig(
    name: string,
    patch: Record<string, string | null>,
  ): Promise<RawConfig> {
    const existing = this.entry(name);
    if (patch.name !== undefined && patch.name !== null && patch.name !== name) {
      throw new BadRequestError(
        `Connector name configuration (${patch.name}) doesn't match connector name in the URL (${name})`,
      );
    }
    const merged: RawConfig = { ...existing.config };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    const full = this.restoreSecrets(existing.config, { ...merged, name });
    await this.validateOrThrow(full);
    return full;
  }

  /**
   * What a restart request covers (Kafka Connect's includeTasks/onlyFailed), marked RESTARTING;
   * undefined for a STOPPED connector, which restarts nothing.
   */
  protected async markRestarting(
    name: string,
    request: RestartRequest,
  ): Promise<{ restartConnector: boolean; tasks: number[] } | undefined> {
    const entry = this.entry(name);
    if (entry.targetState === 'STOPPED') return undefined;
    const connectorFailed = this.deps.statusStore.connector(name)?.state === 'FAILED';
    const restartConnector = !request.onlyFailed || connectorFailed;
    const tasks = request.includeTasks
      ? entry.taskConfigs
          .map((_, task) => task)
          .filter(
            (task) =>
              !request.onlyFailed || this.deps.statusStore.task(name, task)?.state === 'FAILED',
          )
      : [];
    if (restartConnector) this.recorder.connector(name, 'RESTARTING');
    for (const task of tasks) this.recorder.task(name, task, 'RESTARTING');
    await this.recorder.flush();
    return { restartConnector, tasks };
  }

  /** The entry of a connector that may take signals (its target state is RUNNING). */
  protected signalableEntry(name: string) {
    const entry = this.entry(name);
    if (entry.targetState !== 'RUNNING') {
      throw new ConflictError(
        `Connector ${name} is ${entry.targetState}; signals go to the tasks of a running connector`,
      );
    }
    return entry;
  }

  // ---- shared internals ------------------------------------------------------------------------

  /** Run one operation after the previous ones: the herder's request loop. */
  protected serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed)
        throw new ConflictError('the worker is shutting down; retry on its next start');
      return operation();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  protected entry(name: string) {
    const entry = this.deps.configStore.get(name);
    if (!entry) throw new NotFoundError(`Connector ${name} not found`);
    return entry;
  }

  protected stoppedEntry(name: string) {
    const entry = this.entry(name);
    if (entry.targetState !== 'STOPPED')
      throw new BadRequestError(notStoppedMessage.replace('{connector}', name));
    return entry;
  }

  protected taskConfig(name: string, task: number): RawConfig {
    const config = this.entry(name).taskConfigs[task];
    if (!config) throw new NotFoundError(`Task ${task} of connector ${name} not found`);
    return config;
  }

  protected async taskState(name: string, task: number): Promise<TaskStateInfo> {
    const status = this.deps.statusStore.task(name, task);
    const progress = await this.taskProgress({ connector: name, task });
    return {
      id: task,
      state: status?.state ?? 'UNASSIGNED',
      worker_id: status?.workerId ?? this.deps.workerId,
      ...(status?.trace !== undefined ? { trace: status.trace } : {}),
      ...(progress ? { progress } : {}),
    };
  }

  protected plugin(config: RawConfig): ConnectorPlugin | undefined {
    return this.deps.plugins.find(config['connector.class'] ?? '');
  }

  protected findPlugin(name: string): ConnectorPlugin {
    const plugin = this.deps.plugins.find(name);
    if (!plugin)
      throw new NotFoundError(
        `Unknown connector plugin ${name}. ${this.deps.plugins.describeAvailable()}`,
      );
    return plugin;
  }

  protected mask(plugin: ConnectorPlugin | undefined, config: RawConfig): RawConfig {
    if (!plugin) return { ...config };
    return maskSecrets(mergeConnectorSchema(plugin.kind, plugin.configSchema), { ...config });
  }

  /** A secret sent back as "[hidden]" (a GET → edit → PUT round trip) keeps its stored value. */
  protected restoreSecrets(existing: RawConfig | undefined, config: RawConfig): RawConfig {
    if (!existing) return config;
    const plugin = this.plugin(config);
    if (!plugin) return config;
    const schema = mergeConnectorSchema(plugin.kind, plugin.configSchema);
    const out = { ...config };
    for (const [key, value] of Object.entries(out)) {
      if (
        value === secretPlaceholder &&
        schema.properties[key]?.['x-secret'] === true &&
        existing[key] !== undefined
      ) {
        out[key] = existing[key];
      }
    }
    return out;
  }

  protected checkName(name: string, config: RawConfig): string {
    const trimmed = name.trim();
    if (trimmed === '') throw new BadRequestError('Connector name is required');
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(trimmed)) {
      throw new BadRequestError('Connector name must not contain ISO control characters');
    }
    if (config.name !== undefined && config.name.trim() !== trimmed) {
      throw new BadRequestError(
        `Connector name configuration (${config.name}) doesn't match connector name in the URL (${trimmed})`,
      );
    }
    return trimmed;
  }

  protected async validateOrThrow(config: RawConfig): Promise<void> {
    const { infos } = await this.deps.validator.validate(config);
    if (infos.error_count > 0)
      throw new InvalidConfigError(invalidConfigMessage(infos), infos.error_count, infos);
  }

  protected async sinkTopics(config: RawConfig): Promise<string[]> {
    const topics = (config.topics ?? '')
      .split(',')
      .map((topic) => topic.trim())
      .filter((topic) => topic !== '');
    const regex = config['topics.regex'];
    if (topics.length > 0 || !regex) return topics;
    const pattern = new RegExp(`^(?:${regex})$`);
    return (await this.deps.log.listTopics()).filter((topic) => pattern.test(topic));
  }

  /**
   * Commit sink positions for a stopped connector by joining its consumer group alone (no task
   * runs, so this member gets every partition). null means "start over": the partition's first
   * stored offset.
   */
  protected async commitSinkPositions(
    name: string,
    positions: ReadonlyArray<{ topic: string; partition: number; offset: number | null }>,
  ): Promise<void> {
    if (positions.length === 0) return;
    const topics = [...new Set(positions.map((position) => position.topic))];
    const starts = new Map<string, number>();
    for (const topic of topics) {
      const ranges = await this.deps.log.offsets(topic).catch(() => []);
      for (const range of ranges) starts.set(`${range.partition}:${topic}`, range.start);
    }
    const consumer = await this.deps.log.consumer({
      groupId: sinkGroupId(name),
      topics,
      startFrom: 'earliest',
    });
    try {
      const wanted = positions.map((position) => `${position.partition}:${position.topic}`);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const owned = new Set(consumer.assignment().map((tp) => `${tp.partition}:${tp.topic}`));
        if (wanted.every((key) => owned.has(key))) break;
        if (Date.now() > deadline) {
          throw new BadRequestError(
            `Cannot alter offsets of connector ${name}: partitions ${wanted.filter((key) => !owned.has(key)).join(', ')} do not exist or are held by another member`,
          );
        }
        await consumer.poll({ maxRecords: 1, maxWaitMs: 100 });
      }
      await consumer.commit(
        positions.map((position) => ({
          topic: position.topic,
          partition: position.partition,
          offset: position.offset ?? starts.get(`${position.partition}:${position.topic}`) ?? 0,
        })),
      );
    } finally {
      await consumer.close();
    }
  }
}
