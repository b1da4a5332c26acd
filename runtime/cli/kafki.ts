// What bin/kafki runs: the CLI wired to the real process and the real runtimes, with
// the connector plugins the launcher hands in (the runtime imports no connector itself).

import pino from 'pino';
import type { ConnectorPlugin } from '../api/connector.ts';
import {
  createDistributedRuntime,
  createStandaloneRuntime,
  loadWorkerConfig,
} from '../worker-runtime.ts';
import { processIo } from './io.ts';
import { runCli } from './main.ts';

export async function runKafki(plugins: readonly ConnectorPlugin[]): Promise<never> {
  const code = await runCli(process.argv.slice(2), processIo, {
    loadWorkerConfig: (path) => loadWorkerConfig(path),
    createLogger: (config) => pino({ level: config.logLevel, base: { worker: config.workerId } }),
    createRuntime: (workerConfig, logger) =>
      createStandaloneRuntime({ workerConfig, logger, plugins }),
    createDistributedRuntime: (workerConfig, logger) =>
      createDistributedRuntime({ workerConfig, logger, plugins }),
    signals: process,
  });
  process.exit(code);
}
