// Starts a standalone runtime on a temporary data directory with the built-in and test plugins.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinPlugins } from '../../../connectors/index.ts';
import { createStandaloneRuntime, parseWorkerConfig } from '../../../runtime/worker-runtime.ts';
import type {
  StandaloneRuntime,
  StandaloneRuntimeOptions,
} from '../../../runtime/worker-runtime.ts';
import {
  asyncCollectorSink,
  capturingLogger,
  collectorSink,
  generatorSource,
} from './test-plugins.ts';
import type { CapturedLog } from './test-plugins.ts';

export const testPlugins = [...builtinPlugins, generatorSource, collectorSink, asyncCollectorSink];

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kafki-${prefix}-`));
}

export async function startRuntime(
  dataDir: string,
  options: {
    worker?: Record<string, unknown>;
    env?: Record<string, string>;
    log?: StandaloneRuntimeOptions['log'];
    entries?: CapturedLog[];
  } = {},
): Promise<StandaloneRuntime & { logs: CapturedLog[] }> {
  const logs = options.entries ?? [];
  const workerConfig = await parseWorkerConfig({
    'log.dir': dataDir,
    'worker.id': 'test-worker:8083',
    'task.shutdown.graceful.timeout.ms': 5000,
    ...options.worker,
  });
  const runtime = await createStandaloneRuntime({
    workerConfig,
    logger: capturingLogger(logs),
    plugins: testPlugins,
    env: options.env ?? {},
    ...(options.log ? { log: options.log } : {}),
  });
  return Object.assign(runtime, { logs });
}
