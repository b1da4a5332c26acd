// A real standalone worker for the REST integration tests: the composition root with the local
// log in a temp directory, and the REST server on an ephemeral port. Every reply is checked
// against the OpenAPI contract, as in the unit tests.

import { builtinPlugins } from '../../../connectors/index.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { restServerConfig } from '../../../runtime/rest/rest-config.ts';
import { startRestServer, type RestServer } from '../../../runtime/rest/server.ts';
import {
  createStandaloneRuntime,
  parseWorkerConfig,
  type StandaloneRuntime,
} from '../../../runtime/worker-runtime.ts';
import { checkContract, type Reply, type RequestOptions } from '../../unit/rest/harness.ts';

export interface TestWorker {
  dir: string;
  url: string;
  runtime: StandaloneRuntime;
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

export async function startTestWorker(settings: Record<string, unknown> = {}): Promise<TestWorker> {
  const dir = await mkdtemp(join(tmpdir(), 'kafki-rest-it-'));
  const workerConfig = await parseWorkerConfig(
    {
      'worker.id': 'it-worker:8083',
      'log.dir': join(dir, 'data'),
      listeners: 'http://127.0.0.1:0',
      'offset.flush.interval.ms': 100,
      ...settings,
    },
    { env: {} },
  );
  const logger = pino({ level: 'silent' });
  const runtime = await createStandaloneRuntime({
    workerConfig,
    logger,
    env: {},
    plugins: builtinPlugins,
  });
  let rest: RestServer;
  try {
    rest = await startRestServer({
      herder: runtime.herder,
      metrics: runtime.metrics,
      config: restServerConfig(workerConfig.values),
      logger,
    });
  } catch (error) {
    await runtime.close();
    throw error;
  }

  const request = async (
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<Reply> => {
    const headers: Record<string, string> = { ...options.headers };
    const body =
      options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (
      body !== undefined &&
      !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')
    ) {
      headers['Content-Type'] = 'application/json';
    }
    const response = await fetch(rest.url + path, { method, headers, body });
    const text = await response.text();
    const json: unknown =
      text !== '' && (response.headers.get('content-type') ?? '').includes('json')
        ? JSON.parse(text)
        : undefined;
    const reply = { status: response.status, headers: response.headers, text, json };
    if (!options.unchecked) checkContract(method, path, reply);
    return reply;
  };

  return {
    dir,
    url: rest.url,
    runtime,
    request,
    close: async () => {
      await rest.close();
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
