// Composition root of a worker (standalone or a member of a cluster): builds the log from the worker config, the config,
// offset and status stores on it, the registries, the worker and the herder of its mode, each
// handed its dependencies through its constructor. Nothing here is a singleton; two runtimes can
// live in one process (tests do).
//
// Exports for the REST server and the CLI:
//   loadWorkerConfig(path)            → WorkerConfig (validated, references resolved; throws
//                                       WorkerConfigError listing every problem)
//   loadConnectorConfigFile(path)     → { name, config } from a JSON ({name, config} or flat) or
//                                       .properties file, for `kafki standalone worker.json c1.json …`
//   createStandaloneRuntime(options)  → { herder, metrics, workerId, workerConfig, close() }
//   createDistributedRuntime(options) → the same for a member of a cluster (`kafki worker`):
//                                       needs log.backend=kafka and redis.url
//       options: { workerConfig, logger, plugins, connectorConfigs?, log?, env?, version? }
//       herder:   the Herder every REST route maps onto (throws NotFoundError, AlreadyExistsError,
//                 BadRequestError / InvalidConfigError, ConflictError from runtime/herder/errors.ts)
//       metrics:  MetricsSource { contentType, text() } for GET /metrics
//       close():  graceful: tasks finish their batch, commit what is durable, stores and log close
//
// The herder resumes every stored connector before createStandaloneRuntime resolves; connector
// configs passed in `connectorConfigs` are then created or replaced (PUT semantics).

import type { RawConfig } from './api/config.ts';
import type { ConnectorPlugin } from './api/connector.ts';
import { InvalidInputError } from './api/errors.ts';
import type { Logger } from './api/logger.ts';
import { createConfigResolver } from './config/config-providers.ts';
import { SchemaCompiler } from './config/json-schema.ts';
import type { WorkerConfig } from './config/worker-config.ts';
import { ConverterRegistry } from './converters/registry.ts';
import type { Herder } from './herder/herder.ts';
import { ConfigValidator } from './herder/config-validation.ts';
import { StandaloneHerder } from './herder/standalone-herder.ts';
import type { KafkiLog } from './log/log.ts';
import { KafkaLog } from './log/kafka/kafka-log.ts';
import { LocalLog } from './log/local/local-log.ts';
import { WorkerMetrics } from './metrics/worker-metrics.ts';
import type { MetricsSource } from './metrics/worker-metrics.ts';
import { PluginRegistry } from './plugins/registry.ts';
import { createLogConfigStore } from './storage/config-store.ts';
import { createLogOffsetStore } from './storage/offset-store.ts';
import { createLogStatusStore } from './storage/status-store.ts';
import { smtTransformSupport } from './worker/smt-transforms.ts';
import type { TransformSupport } from './worker/transform-chain.ts';
import { Worker } from './worker/worker.ts';
import type { WorkerListener } from './worker/worker.ts';
import { DistributedHerder } from './cluster/distributed-herder.ts';
import { RedisCoordinator } from './cluster/coordinator.ts';

export { loadWorkerConfig, parseWorkerConfig, WorkerConfigError } from './config/worker-config.ts';
export type { WorkerConfig } from './config/worker-config.ts';
export { loadConnectorConfigFile } from './config/connector-config-file.ts';
export type { MetricsSource } from './metrics/worker-metrics.ts';

export interface StandaloneRuntimeOptions {
  workerConfig: WorkerConfig;
  logger: Logger;
  /** Created or replaced once stored connectors are resumed (`kafki standalone w.json c.json`). */
  connectorConfigs?: ReadonlyArray<{ name: string; config: RawConfig }>;
  /** Connector plugins (the shipped ones: connectors/index.ts; the runtime names none itself). */
  plugins: readonly ConnectorPlugin[];
  /** A log to use instead of opening the configured one (it is not closed by close()). */
  log?: KafkiLog;
  /** Environment for ${env:…} references; default: this process's. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Reported by serverInfo(). */
  version?: string;
  /** Single message transforms; default: runtime/transforms (Kafka Connect's and Debezium's SMTs). */
  transforms?: TransformSupport;
}

export interface StandaloneRuntime {
  readonly herder: Herder;
  readonly metrics: MetricsSource;
  readonly workerId: string;
  readonly workerConfig: WorkerConfig;
  close(): Promise<void>;
}

/** The log the worker config asks for. */
export async function openConfiguredLog(config: WorkerConfig, logger: Logger): Promise<KafkiLog> {
  if (config.log.backend === 'local') {
    return LocalLog.open({
      dataDir: config.log.dir,
      fsync: config.log.fsync === 'always' ? 'always' : { intervalMs: config.log.fsync },
      logger: logger.child({ component: 'local-log' }),
    });
  }
  if (config.log.bootstrapServers.length === 0) {
    throw new InvalidInputError(
      'LOG_BOOTSTRAP_MISSING',
      'log.backend=kafka needs bootstrap.servers (host:port of one or more Kafka brokers)',
    );
  }
  return KafkaLog.open({
    brokers: config.log.bootstrapServers,
    clientId: `kafki-${config.workerId}`,
    compression: config.log.compression,
    replicationFactor: config.log.replicationFactor,
    logger: logger.child({ component: 'kafka-log' }),
  });
}

/** What both modes build the same way on top of the log: stores, registries, the worker factory. */
async function buildWorkerParts(options: StandaloneRuntimeOptions, log: KafkiLog) {
  const { workerConfig, logger } = options;
  const { storage } = workerConfig;
  const replicationFactor = workerConfig.log.replicationFactor;
  const configStore = createLogConfigStore(log, storage.configTopic, { replicationFactor });
  const offsetStore = createLogOffsetStore(log, storage.offsetTopic, {
    partitions: storage.offsetPartitions,
    replicationFactor,
  });
  const statusStore = createLogStatusStore(log, storage.statusTopic, {
    partitions: storage.statusPartitions,
    replicationFactor,
  });
  const closeStores = async () => {
    await Promise.allSettled([configStore.close(), offsetStore.close(), statusStore.close()]);
  };
  try {
    await Promise.all([configStore.start(), offsetStore.start(), statusStore.start()]);
  } catch (error) {
    await closeStores();
    throw error;
  }
  const plugins = new PluginRegistry(options.plugins);
  const converters = new ConverterRegistry();
  const transforms = options.transforms ?? smtTransformSupport;
  const resolver = createConfigResolver(workerConfig.configProviders, options.env);
  const compiler = new SchemaCompiler();
  const metrics = new WorkerMetrics({ workerId: workerConfig.workerId });
  const internalTopics = [storage.configTopic, storage.offsetTopic, storage.statusTopic];
  return {
    closeStores,
    metrics,
    herderDeps: {
      workerId: workerConfig.workerId,
      serverInfo: {
        version: options.version ?? '0.1.0',
        commit: '',
        kafka_cluster_id: log.backend === 'local' ? 'kafki-local' : 'kafka',
      },
      log,
      configStore,
      offsetStore,
      statusStore,
      plugins,
      converters,
      transforms,
      validator: new ConfigValidator({
        plugins,
        converters,
        transforms,
        resolver,
        compiler,
        logger,
      }),
      logger,
      createWorker: (listener: WorkerListener) =>
        new Worker({
          config: workerConfig,
          log,
          offsetStore,
          plugins,
          converters,
          transforms,
          resolver,
          compiler,
          metrics,
          logger,
          listener,
          internalTopics,
        }),
    },
  };
}

interface StartableHerder extends Herder {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Start the herder, register the given connectors, and hand back the running runtime. */
async function runHerder(
  options: StandaloneRuntimeOptions,
  herder: StartableHerder,
  metrics: MetricsSource,
  release: () => Promise<void>,
): Promise<StandaloneRuntime> {
  try {
    await herder.start();
    for (const { name, config } of options.connectorConfigs ?? []) {
      await herder.putConnectorConfig(name, config);
    }
  } catch (error) {
    // A half-built runtime releases what it opened (the log's directory lock above all).
    await herder.stop().catch(() => undefined);
    await release();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    herder,
    metrics,
    workerId: options.workerConfig.workerId,
    workerConfig: options.workerConfig,
    close: () =>
      (closing ??= (async () => {
        await herder.stop();
        await release();
      })()),
  };
}

export async function createStandaloneRuntime(
  options: StandaloneRuntimeOptions,
): Promise<StandaloneRuntime> {
  const log = options.log ?? (await openConfiguredLog(options.workerConfig, options.logger));
  const closeLog = async () => {
    if (options.log === undefined) await log.close();
  };
  let parts: Awaited<ReturnType<typeof buildWorkerParts>>;
  try {
    parts = await buildWorkerParts(options, log);
  } catch (error) {
    await closeLog();
    throw error;
  }
  const herder = new StandaloneHerder({
    ...parts.herderDeps,
    // Higher than any status an earlier run of this worker wrote.
    generation: parts.herderDeps.statusStore.maxGeneration() + 1,
  });
  return runHerder(options, herder, parts.metrics, async () => {
    await parts.closeStores();
    await closeLog();
  });
}

/**
 * A member of a cluster (`kafki worker`): the Kafka log (shared by every member), the stores on
 * its topics, and Redis for membership, leases and assignments.
 */
export async function createDistributedRuntime(
  options: StandaloneRuntimeOptions,
): Promise<StandaloneRuntime> {
  const { workerConfig, logger } = options;
  if (workerConfig.log.backend !== 'kafka' && options.log?.backend !== 'kafka') {
    throw new InvalidInputError(
      'DISTRIBUTED_NEEDS_KAFKA',
      'Distributed mode (kafki worker) needs log.backend=kafka: the local log lives on one machine and cannot be shared by a group of workers. Use `kafki standalone` for the local log.',
    );
  }
  if (!workerConfig.redisUrl) {
    throw new InvalidInputError(
      'DISTRIBUTED_NEEDS_REDIS',
      'Distributed mode (kafki worker) needs redis.url: the workers of a group find each other, elect a leader and hold their task leases in Redis.',
    );
  }
  const coordinator = new RedisCoordinator({
    redisUrl: workerConfig.redisUrl,
    groupId: workerConfig.groupId,
    memberId: workerConfig.workerId,
    sessionTimeoutMs: workerConfig.cluster.sessionTimeoutMs,
    logger: logger.child({ component: 'cluster' }),
  });
  await coordinator.start();
  let log: KafkiLog | undefined;
  const release = async () => {
    await coordinator.close();
    if (options.log === undefined) await log?.close();
  };
  let parts: Awaited<ReturnType<typeof buildWorkerParts>>;
  try {
    log = options.log ?? (await openConfiguredLog(workerConfig, logger));
    parts = await buildWorkerParts(options, log);
  } catch (error) {
    await release();
    throw error;
  }
  const herder = new DistributedHerder({
    ...parts.herderDeps,
    coordinator,
    restUrl: workerConfig.rest.advertisedUrl ?? workerConfig.rest.listeners.split(',')[0]!.trim(),
    sessionTimeoutMs: workerConfig.cluster.sessionTimeoutMs,
    heartbeatIntervalMs: workerConfig.cluster.heartbeatIntervalMs,
    metrics: parts.metrics,
  });
  return runHerder(options, herder, parts.metrics, async () => {
    await parts.closeStores();
    await release();
  });
}
