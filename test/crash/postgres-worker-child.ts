// A standalone worker running one PostgreSQL source connector into the local log, for the kill -9
// tests: prints "ready" once started, then the connector's task status every 200 ms as
// `status {"state": …, "progress": {…}}`; stops gracefully on SIGTERM. The connector file is
// given on the first start only: restarts run the connector stored in the data directory (a file
// given again would be validated against the server while the restored task already holds its
// slot).
//
//   node --import tsx test/crash/postgres-worker-child.ts worker.json <connector name> [connector.json]

import { builtinPlugins } from '../../connectors/index.ts';
import pino from 'pino';
import {
  createStandaloneRuntime,
  loadConnectorConfigFile,
  loadWorkerConfig,
} from '../../runtime/worker-runtime.ts';

const [workerFile, name, connectorFile] = process.argv.slice(2);
if (!workerFile || !name) {
  throw new Error('usage: postgres-worker-child.ts worker.json <connector name> [connector.json]');
}

const logger = pino({ level: 'warn' }, pino.destination(2));
const workerConfig = await loadWorkerConfig(workerFile);
const runtime = await createStandaloneRuntime({
  workerConfig,
  logger,
  plugins: builtinPlugins,
  connectorConfigs: connectorFile ? [await loadConnectorConfigFile(connectorFile)] : [],
});
process.stdout.write('ready\n');

// Orphaned (the test process died): stop rather than run forever.
const timer = setInterval(() => {
  if (process.ppid === 1) process.exit(2);
  void runtime.herder.connectorStatus(name).then(
    (status) => {
      const task = status.tasks[0];
      process.stdout.write(
        `status ${JSON.stringify({ state: task?.state, trace: task?.trace, progress: task?.progress ?? {} })}\n`,
      );
    },
    () => undefined,
  );
}, 200);

process.once('SIGTERM', () => {
  clearInterval(timer);
  void runtime.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
});
