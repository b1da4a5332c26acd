// The worker runs what it is given: connector instances (which plan tasks) and task runners (which
// pump records). It knows nothing about clusters or stored configs; the herder decides what runs
// and records statuses from the events the worker reports.

import type { ParsedConfig, RawConfig } from '../api/config.ts';
import type { Connector, ConnectorPlugin } from '../api/connector.ts';
import { InvalidInputError } from '../api/errors.ts';
import type { SourceTask, TaskSignal } from '../api/source-task.ts';
import type { Logger } from '../api/logger.ts';
import type { ConfigResolver } from '../config/config-providers.ts';
import { frameworkConfig, mergeConnectorSchema } from '../config/connector-config.ts';
import type { FrameworkConfig } from '../config/connector-config.ts';
import { parseFlatConfig } from '../config/flat-config.ts';
import type { SchemaCompiler } from '../config/json-schema.ts';
import type { WorkerConfig } from '../config/worker-config.ts';
import type { ConverterRegistry } from '../converters/registry.ts';
import type { KafkiLog } from '../log/log.ts';
import type { WorkerMetrics } from '../metrics/worker-metrics.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { OffsetStore } from '../storage/offset-store.ts';
import { sleep } from './backoff.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';
import { limitHeapGrowth } from './heap-growth.ts';
import { SinkTaskRunner } from './sink-task-runner.ts';
import { SourceTaskRunner } from './source-task-runner.ts';
import type { TaskId, TaskRunner, TaskRunState } from './task-runner.ts';
import { TopicCreator } from './topic-creator.ts';
import type { TransformSupport } from './transform-chain.ts';

export type ConnectorRunState = 'RUNNING' | 'PAUSED' | 'FAILED' | 'UNASSIGNED';

/** What the worker tells its herder. Calls are synchronous notifications; the herder persists. */
export interface WorkerListener {
  onConnectorState(name: string, state: ConnectorRunState, error?: Error): void;
  onTaskState(id: TaskId, state: TaskRunState, error?: Error): void;
  onTopic(connector: string, topic: string, task: number): void;
  /** The connector asked for new task configs (requestTaskReconfiguration). */
  onTaskReconfiguration(connector: string): void;
}

export interface WorkerDeps {
  config: WorkerConfig;
  log: KafkiLog;
  offsetStore: OffsetStore;
  plugins: PluginRegistry;
  converters: ConverterRegistry;
  transforms: TransformSupport;
  resolver: ConfigResolver;
  compiler: SchemaCompiler;
  metrics: WorkerMetrics;
  logger: Logger;
  listener: WorkerListener;
  /** Never consumed through topics.regex: the internal topics. */
  internalTopics: readonly string[];
}

interface ConnectorInstance {
  plugin: ConnectorPlugin;
  connector: Connector | undefined;
  rawConfig: RawConfig;
  resolvedConfig: RawConfig;
  framework: FrameworkConfig;
  failed: boolean;
}

const taskKey = (id: TaskId) => `${id.connector}\u0000${id.task}`;

/** How long startTask() waits for the task's start() before answering anyway. */
const taskStartWaitMs = 5_000;

export class Worker {
  private readonly connectors = new Map<string, ConnectorInstance>();
  private readonly tasks = new Map<string, TaskRunner>();
  /** The source task instances (for signals), by task key. */
  private readonly sourceTasks = new Map<string, SourceTask>();
  private readonly topicCreator: TopicCreator;

  constructor(private readonly deps: WorkerDeps) {
    // Pipelines keep records in flight across scavenges: bound the old generation's slack.
    limitHeapGrowth();
    this.topicCreator = new TopicCreator(deps.log, {
      partitions: deps.config.tasks.topicCreationDefaultPartitions,
      replicationFactor: deps.config.log.replicationFactor,
    });
  }

  connectorNames(): string[] {
    return [...this.connectors.keys()];
  }

  taskIds(connector?: string): TaskId[] {
    return [...this.tasks.values()]
      .map((runner) => runner.id)
      .filter((id) => connector === undefined || id.connector === connector);
  }

  taskProgress(id: TaskId): Record<string, string | number | boolean> | undefined {
    return this.tasks.get(taskKey(id))?.progress;
  }

  isConnectorRunning(name: string): boolean {
    const instance = this.connectors.get(name);
    return instance !== undefined && !instance.failed;
  }

  /** Resolve, parse and start a connector. Failures become its FAILED state; returns success. */
  async startConnector(
    name: string,
    rawConfig: RawConfig,
    targetState: 'RUNNING' | 'PAUSED',
  ): Promise<boolean> {
    const { listener, logger: rootLogger } = this.deps;
    const logger = rootLogger.child({ connector: name });
    const instance = await this.prepareConnector(name, rawConfig).catch((error: unknown) => {
      listener.onConnectorState(name, 'FAILED', error as Error);
      return undefined;
    });
    if (!instance) return false;
    this.connectors.set(name, instance);
    const connector = instance.plugin.createConnector();
    instance.connector = connector;
    try {
      await connector.start(this.parseConnector(instance.plugin, instance.resolvedConfig), {
        connectorName: name,
        logger,
        requestTaskReconfiguration: () => listener.onTaskReconfiguration(name),
        raiseError: (error) => {
          instance.failed = true;
          listener.onConnectorState(name, 'FAILED', error);
        },
      });
    } catch (error) {
      instance.failed = true;
      listener.onConnectorState(name, 'FAILED', error as Error);
      return false;
    }
    listener.onConnectorState(name, targetState);
    this.updateCounts();
    return true;
  }

  /** Ask a started connector for its task configs, references put back (no resolved secrets). */
  async connectorTaskConfigs(name: string): Promise<RawConfig[]> {
    const instance = this.connectors.get(name);
    if (!instance?.connector || instance.failed) {
      throw new InvalidInputError('CONNECTOR_NOT_RUNNING', `connector ${name} is not running`);
    }
    const configs = await instance.connector.taskConfigs(instance.framework.tasksMax);
    return configs
      .slice(0, instance.framework.tasksMax)
      .map((config) =>
        this.deps.resolver.reverse(instance.rawConfig, instance.resolvedConfig, config),
      );
  }

  setConnectorTargetState(name: string, state: 'RUNNING' | 'PAUSED'): void {
    const instance = this.connectors.get(name);
    if (instance && !instance.failed) this.deps.listener.onConnectorState(name, state);
  }

  async stopConnector(name: string): Promise<void> {
    const instance = this.connectors.get(name);
    if (!instance) return;
    this.connectors.delete(name);
    try {
      await instance.connector?.stop();
    } catch (error) {
      this.deps.logger.warn({ connector: name, err: error }, 'connector stop() failed');
    }
    this.updateCounts();
  }

  /** The plugin's onDeleted hook with the resolved config (removes what it created outside). */
  async connectorDeleted(rawConfig: RawConfig): Promise<void> {
    const plugin = this.deps.plugins.find(rawConfig['connector.class'] ?? '');
    if (!plugin) return;
    const connector = plugin.createConnector();
    if (!connector.onDeleted) return;
    const resolved = await this.deps.resolver.resolve(rawConfig);
    await connector.onDeleted(this.parseConnector(plugin, resolved.config));
  }

  /** Build and start a task runner. Failures become its FAILED state; returns success. */
  async startTask(
    id: TaskId,
    connectorConfig: RawConfig,
    taskConfig: RawConfig,
    targetState: 'RUNNING' | 'PAUSED',
  ): Promise<boolean> {
    const { deps } = this;
    const logger = deps.logger.child({ connector: id.connector, task: id.task });
    const metrics = deps.metrics.forTask(id.connector, id.task);
    let runner: TaskRunner;
    try {
      const instance = await this.prepareConnector(id.connector, connectorConfig);
      const resolvedTask = await deps.resolver.resolve(taskConfig);
      if (resolvedTask.errors.length > 0) throw configError(id.connector, resolvedTask.errors);
      // A task config is the connector's own output: parse it for types and defaults, leniently.
      const parsedTask = parseFlatConfig(
        instance.plugin.configSchema,
        resolvedTask.config,
        deps.compiler,
      ).values;
      const parsedConnector = this.parseConnector(instance.plugin, instance.resolvedConfig);
      const converters = deps.converters.forConnector(parsedConnector, {
        key: deps.config.converters.key,
        value: deps.config.converters.value,
        keySchemasEnable: deps.config.converters.keySchemasEnable,
        valueSchemasEnable: deps.config.converters.valueSchemasEnable,
      });
      const converterNames = {
        keyClass: instance.framework.keyConverter ?? deps.config.converters.key,
        valueClass: instance.framework.valueConverter ?? deps.config.converters.value,
      };
      const base = {
        id,
        logger,
        metrics,
        onState: (taskId: TaskId, state: TaskRunState, error?: Error) =>
          deps.listener.onTaskState(taskId, state, error),
        paused: targetState === 'PAUSED',
        shutdownTimeoutMs: deps.config.tasks.shutdownGracefulTimeoutMs,
        taskConfig: resolvedTask.config,
        parsedTaskConfig: parsedTask,
        framework: instance.framework,
        converters: { ...converters, ...converterNames },
        transforms: deps.transforms.build(parsedConnector),
        log: deps.log,
        onTopic: (topic: string) => deps.listener.onTopic(id.connector, topic, id.task),
        offsetFlushIntervalMs: deps.config.tasks.offsetFlushIntervalMs,
      };
      if (instance.plugin.kind === 'source') {
        const task = instance.plugin.createTask();
        this.sourceTasks.set(taskKey(id), task);
        runner = new SourceTaskRunner({
          ...base,
          task,
          offsetStore: deps.offsetStore,
          topics: this.topicCreator,
          bufferMemoryBytes: deps.config.tasks.producerBufferMemory,
        });
      } else {
        const dlqTopic = instance.framework.errors.deadLetterTopic;
        runner = new SinkTaskRunner({
          ...base,
          task: instance.plugin.createTask(),
          deadLetterQueue: dlqTopic
            ? new DeadLetterQueue(deps.log, {
                topic: dlqTopic,
                contextHeaders: instance.framework.errors.deadLetterContextHeaders,
                connectorName: id.connector,
                taskId: id.task,
                partitions: deps.config.tasks.topicCreationDefaultPartitions,
                // A single node cannot hold more copies than the worker's own setting.
                replicationFactor: Math.min(
                  instance.framework.errors.deadLetterReplicationFactor,
                  deps.config.log.replicationFactor,
                ),
              })
            : undefined,
          excludedTopics: new Set([...deps.internalTopics, ...(dlqTopic ? [dlqTopic] : [])]),
          maxPollRecords: deps.config.tasks.consumerMaxPollRecords,
          fetchMaxBytes: deps.config.tasks.consumerFetchMaxBytes,
        });
      }
    } catch (error) {
      deps.listener.onTaskState(id, 'FAILED', error as Error);
      return false;
    }
    this.tasks.set(taskKey(id), runner);
    runner.start();
    this.updateCounts();
    // Answer with the task started (its status written) when start() is quick, as it usually is;
    // a slow start() (a database far away) must not hold up the herder for long.
    const wait = new AbortController();
    await Promise.race([runner.whenStarted(), sleep(taskStartWaitMs, wait.signal)]);
    wait.abort();
    return true;
  }

  setTaskTargetState(id: TaskId, state: 'RUNNING' | 'PAUSED'): void {
    const runner = this.tasks.get(taskKey(id));
    if (state === 'PAUSED') runner?.pause();
    else runner?.resume();
  }

  /**
   * Hand a signal to a running source task: 'unsupported' when its task has no signal() (sink
   * tasks included), 'missing' when the task does not run here.
   */
  async signalTask(id: TaskId, signal: TaskSignal): Promise<'sent' | 'unsupported' | 'missing'> {
    const task = this.sourceTasks.get(taskKey(id));
    if (!task) return this.tasks.has(taskKey(id)) ? 'unsupported' : 'missing';
    if (!task.signal) return 'unsupported';
    await task.signal(signal);
    return 'sent';
  }

  /** Whether the task running here takes signals (a source task with a signal() method). */
  acceptsSignals(id: TaskId): boolean {
    return this.sourceTasks.get(taskKey(id))?.signal !== undefined;
  }

  /** Graceful stop of several tasks at once (each commits what is durable). */
  async stopTasks(ids: readonly TaskId[]): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        const runner = this.tasks.get(taskKey(id));
        if (!runner) return;
        await runner.stop();
        this.tasks.delete(taskKey(id));
        this.sourceTasks.delete(taskKey(id));
        this.deps.metrics.removeTask(id.connector, id.task);
      }),
    );
    this.updateCounts();
  }

  /** Stop every task, then every connector. */
  async stopAll(): Promise<void> {
    await this.stopTasks([...this.tasks.values()].map((runner) => runner.id));
    for (const name of [...this.connectors.keys()]) await this.stopConnector(name);
  }

  private async prepareConnector(name: string, rawConfig: RawConfig): Promise<ConnectorInstance> {
    const className = rawConfig['connector.class'] ?? '';
    const plugin = this.deps.plugins.find(className);
    if (!plugin) {
      throw new InvalidInputError(
        'UNKNOWN_CONNECTOR_CLASS',
        `Failed to find any class that implements Connector and which name matches ${className}. ${this.deps.plugins.describeAvailable()}`,
      );
    }
    const resolved = await this.deps.resolver.resolve(rawConfig);
    if (resolved.errors.length > 0) throw configError(name, resolved.errors);
    const parsed = parseFlatConfig(
      mergeConnectorSchema(plugin.kind, plugin.configSchema),
      resolved.config,
      this.deps.compiler,
    );
    if (parsed.errors.length > 0) throw configError(name, parsed.errors);
    return {
      plugin,
      connector: undefined,
      rawConfig,
      resolvedConfig: resolved.config,
      framework: frameworkConfig({ ...parsed.values, name }),
      failed: false,
    };
  }

  private parseConnector(plugin: ConnectorPlugin, resolved: RawConfig): ParsedConfig {
    return parseFlatConfig(
      mergeConnectorSchema(plugin.kind, plugin.configSchema),
      resolved,
      this.deps.compiler,
    ).values;
  }

  private updateCounts(): void {
    this.deps.metrics.setCounts(this.connectors.size, this.tasks.size);
  }
}

function configError(
  connector: string,
  errors: ReadonlyArray<{ field: string; message: string }>,
): InvalidInputError {
  return new InvalidInputError(
    'CONNECTOR_CONFIG_INVALID',
    `connector ${connector}: ${errors.map((error) => error.message).join('; ')}`,
  );
}
