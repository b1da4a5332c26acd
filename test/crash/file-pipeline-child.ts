// A standalone worker as `kafki standalone worker.json source.json sink.json` runs it, for the
// kill -9 test: prints "ready" once every connector runs, stops gracefully on SIGTERM.

import { builtinPlugins } from '../../connectors/index.ts';
import pino from 'pino';
import {
  createStandaloneRuntime,
  loadConnectorConfigFile,
  loadWorkerConfig,
} from '../../runtime/worker-runtime.ts';

const [workerFile, ...connectorFiles] = process.argv.slice(2);
if (!workerFile) throw new Error('usage: file-pipeline-child.ts worker.json connector.json…');

const logger = pino({ level: 'warn' }, pino.destination(2));
const workerConfig = await loadWorkerConfig(workerFile);
const connectorConfigs = await Promise.all(
  connectorFiles.map((file) => loadConnectorConfigFile(file)),
);
const runtime = await createStandaloneRuntime({
  workerConfig,
  logger,
  connectorConfigs,
  plugins: builtinPlugins,
});
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void runtime.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
});
