// What the benchmarks' parent and child processes share: the worker child's IPC send, its
// stderr logger and its standalone runtime (over a log it keeps, to read the topic's end),
// megabyte rounding, `--x key=value` options, and a pid liveness check (for
// cleaning up what a killed run left).

import { builtinPlugins } from '../../connectors/index.ts';
import type { Logger, LogFn } from '../../runtime/api/logger.ts';
import type { KafkiLog } from '../../runtime/log/log.ts';
import {
  createStandaloneRuntime,
  openConfiguredLog,
  type StandaloneRuntime,
  type WorkerConfig,
} from '../../runtime/worker-runtime.ts';

export const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Sends one IPC message to the parent; resolves once it is written. */
export function sendToParent<M>(message: M): Promise<void> {
  return new Promise((resolve, reject) =>
    process.send!(message, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}

/** Errors and warnings go to stderr and to `warnings` (first 100, for the report); the rest is dropped. */
export function stderrLogger(warnings: string[], bindings: Record<string, unknown> = {}): Logger {
  const make = (level: string, keep: boolean): LogFn =>
    ((context: object | string, message?: string) => {
      if (!keep) return;
      const text =
        typeof context === 'string'
          ? context
          : `${message ?? ''} ${JSON.stringify({ ...bindings, ...context })}`;
      if (warnings.length < 100) warnings.push(`${level}: ${text}`);
      process.stderr.write(`[kafki ${level}] ${text}\n`);
    }) as LogFn;
  return {
    error: make('error', true),
    warn: make('warn', true),
    info: make('info', false),
    debug: make('debug', false),
    child: (more) => stderrLogger(warnings, { ...bindings, ...more }),
  };
}

/** Repeated `--flag key=value` options → a config map. */
export function pairs(values: readonly string[], flag: string): Record<string, string> {
  return Object.fromEntries(
    values.map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`--${flag} wants key=value: ${pair}`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A standalone runtime with the shipped connectors on the configured log, which the caller also
 * reads (the runtime does not close a log it was handed: close both).
 */
export async function benchRuntime(
  workerConfig: WorkerConfig,
  logger: Logger,
): Promise<{ log: KafkiLog; runtime: StandaloneRuntime }> {
  const log = await openConfiguredLog(workerConfig, logger);
  const runtime = await createStandaloneRuntime({
    workerConfig,
    logger,
    log,
    env: {},
    plugins: builtinPlugins,
  });
  return { log, runtime };
}
