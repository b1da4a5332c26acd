// `kafki standalone worker.json [connector.json …]`: one worker with the local log and file
// stores, its REST API, and the given connectors registered (created, or replaced if they exist,
// as Kafka Connect's standalone mode does).
// `kafki worker worker.json`: a member of a cluster (Kafka log, Redis coordination); connectors are
// registered over REST on any member, as with Kafka Connect's distributed mode.
// Both run until SIGINT/SIGTERM, then shut down in order: REST first (no new requests), then the
// runtime (tasks commit and stop; a cluster member leaves its group so the others take over).

import { Command } from 'commander';
import type { RawConfig } from '../api/config.ts';
import type { Logger } from '../api/logger.ts';
import { loadConnectorConfigFile } from '../config/connector-config-file.ts';
import type { Herder } from '../herder/herder.ts';
import { restServerConfig } from '../rest/rest-config.ts';
import type { MetricsSource } from '../rest/route.ts';
import { startRestServer } from '../rest/server.ts';
import { exitCodes, type CliIo } from './io.ts';

export interface StandaloneRuntime {
  herder: Herder;
  metrics: MetricsSource;
  workerId: string;
  close(): Promise<void>;
}

export interface LoadedWorkerConfig {
  logLevel: string;
  /** Flat keys after validation, the REST server picks listeners, rest.auth.token and ssl.*. */
  values: Readonly<Record<string, unknown>>;
}

/** What the standalone command needs from the runtime; main.ts passes the real ones. */
export interface StandaloneDependencies<C extends LoadedWorkerConfig> {
  loadWorkerConfig(path: string): Promise<C>;
  createLogger(config: C): Logger;
  createRuntime(config: C, logger: Logger): Promise<StandaloneRuntime>;
  /** A member of a cluster (`kafki worker`). */
  createDistributedRuntime(config: C, logger: Logger): Promise<StandaloneRuntime>;
  /** Where SIGINT/SIGTERM arrive (process). */
  signals: NodeJS.EventEmitter;
}

async function register(
  herder: Herder,
  definition: { name: string; config: RawConfig },
): Promise<string> {
  const config = { ...definition.config, name: definition.name };
  const { created } = await herder.putConnectorConfig(definition.name, config);
  return created ? 'created' : 'updated';
}

export async function runStandalone<C extends LoadedWorkerConfig>(
  workerFile: string,
  connectorFiles: readonly string[],
  dependencies: StandaloneDependencies<C>,
  io: CliIo,
): Promise<number> {
  return runWorker('standalone', workerFile, connectorFiles, dependencies, io);
}

async function runWorker<C extends LoadedWorkerConfig>(
  mode: 'standalone' | 'distributed',
  workerFile: string,
  connectorFiles: readonly string[],
  dependencies: StandaloneDependencies<C>,
  io: CliIo,
): Promise<number> {
  // Read every input before starting anything, so a typo fails fast with nothing to undo.
  const config = await dependencies.loadWorkerConfig(workerFile);
  const restConfig = restServerConfig(config.values);
  const definitions = await Promise.all(
    connectorFiles.map((file) => loadConnectorConfigFile(file)),
  );

  const logger = dependencies.createLogger(config);
  const runtime =
    mode === 'standalone'
      ? await dependencies.createRuntime(config, logger)
      : await dependencies.createDistributedRuntime(config, logger);
  let rest: Awaited<ReturnType<typeof startRestServer>> | undefined;
  const shutdown = async (): Promise<void> => {
    await rest?.close();
    await runtime.close();
  };

  try {
    rest = await startRestServer({
      herder: runtime.herder,
      metrics: runtime.metrics,
      config: restConfig,
      logger,
    });
    for (const definition of definitions) {
      const outcome = await register(runtime.herder, definition);
      io.out(`Connector ${definition.name} ${outcome}.`);
    }
  } catch (error) {
    await shutdown();
    throw error;
  }
  io.out(
    `Kafki ${mode === 'standalone' ? 'standalone worker' : 'cluster member'} ${runtime.workerId} is serving its REST API at ${rest.url}`,
  );

  const signal = await new Promise<string>((resolve) => {
    const onSignal = (name: string): void => {
      dependencies.signals.off('SIGINT', onSignal);
      dependencies.signals.off('SIGTERM', onSignal);
      resolve(name);
    };
    dependencies.signals.on('SIGINT', onSignal);
    dependencies.signals.on('SIGTERM', onSignal);
  });
  io.out(`${signal}: shutting down.`);
  // A second signal while shutting down ends the process at once.
  const force = (): void => {
    io.err('Second signal: exiting without waiting for tasks to stop.');
    process.exit(exitCodes.failed);
  };
  dependencies.signals.once('SIGINT', force);
  dependencies.signals.once('SIGTERM', force);
  try {
    await shutdown();
  } finally {
    dependencies.signals.off('SIGINT', force);
    dependencies.signals.off('SIGTERM', force);
  }
  io.out('Stopped.');
  return exitCodes.ok;
}

export function standaloneCommand<C extends LoadedWorkerConfig>(
  dependencies: StandaloneDependencies<C>,
  io: CliIo,
  onExit: (code: number) => void,
): Command {
  return new Command('standalone')
    .description('run one worker with the local log, its REST API, and the given connectors')
    .argument('<worker-config>', 'worker configuration JSON (schemas/worker.schema.json)')
    .argument(
      '[connector-configs...]',
      'connector definitions to create or update (.json or .properties)',
    )
    .action(async (workerFile: string, connectorFiles: string[]) => {
      onExit(await runStandalone(workerFile, connectorFiles, dependencies, io));
    });
}

export function workerCommand<C extends LoadedWorkerConfig>(
  dependencies: StandaloneDependencies<C>,
  io: CliIo,
  onExit: (code: number) => void,
): Command {
  return new Command('worker')
    .description(
      'run a member of a cluster: workers with the same group.id share the connectors and tasks (needs log.backend=kafka and redis.url)',
    )
    .argument('<worker-config>', 'worker configuration JSON (schemas/worker.schema.json)')
    .action(async (workerFile: string) => {
      onExit(await runWorker('distributed', workerFile, [], dependencies, io));
    });
}
