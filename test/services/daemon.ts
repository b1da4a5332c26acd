// Start, find and stop the long-running service processes the harness owns (the JVM services),
// with pid files and logs under .services/<name>/, and health waits that fail fast with the log tail.

import { spawn, execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceStartError } from './service.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Git-ignored folder holding every service's jars, data and logs. */
export function servicesDir(): string {
  return process.env.KAFKI_SERVICES_DIR ?? join(repoRoot, '.services');
}

export function serviceDir(name: string): string {
  const dir = join(servicesDir(), name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function logFile(name: string): string {
  return join(serviceDir(name), `${name}.log`);
}

function pidFile(name: string): string {
  return join(serviceDir(name), `${name}.pid`);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of the process this harness started for `name`, if it still runs. */
export function runningPid(name: string): number | undefined {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Spawn a detached process that outlives this one; its output goes to the service's log file. */
export function startDaemon(spec: DaemonSpec): number {
  const log = logFile(spec.name);
  writeFileSync(log, `--- ${new Date().toISOString()} ${spec.command} ${spec.args.join(' ')}\n`, {
    flag: 'a',
  });
  const fd = openSync(log, 'a');
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd ?? serviceDir(spec.name),
    env: { ...process.env, ...spec.env },
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  if (child.pid === undefined)
    throw new ServiceStartError(spec.name, `could not spawn ${spec.command}`);
  child.unref();
  writeFileSync(pidFile(spec.name), String(child.pid));
  return child.pid;
}

/** SIGTERM, then SIGKILL after the grace period. Returns true if something was stopped. */
export async function stopDaemon(name: string, graceMs = 20_000): Promise<boolean> {
  const pid = runningPid(name);
  if (pid === undefined) return false;
  process.kill(-pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) process.kill(-pid, 'SIGKILL');
  rmSync(pidFile(name), { force: true });
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return '(no log file)';
  const all = readFileSync(file, 'utf8').split('\n');
  return all.slice(-lines - 1).join('\n');
}

/**
 * Poll a health check until it passes. Fails with the log tail when the process dies
 * or the deadline passes, so a broken service never turns into a silent hang.
 */
export async function waitUntilHealthy(
  name: string,
  healthy: () => Promise<boolean>,
  options: { timeoutMs: number; pid?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await healthy().catch(() => false)) return;
    if (options.pid !== undefined && !isAlive(options.pid)) {
      throw new ServiceStartError(name, 'the process exited during start-up', tail(logFile(name)));
    }
    if (Date.now() > deadline) {
      throw new ServiceStartError(
        name,
        `not healthy after ${Math.round(options.timeoutMs / 1000)} s`,
        tail(logFile(name)),
      );
    }
    await sleep(250);
  }
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolvePort(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Name the process listening on a port (best effort, via ss), for "port taken" errors. */
export function portOwner(port: number): string {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(out);
    return match ? `${match[1]} (pid ${match[2]})` : 'an unknown process';
  } catch {
    return 'an unknown process';
  }
}

/** Refuse to start when a port we need is held by a process we did not start. */
export async function assertPortsFree(name: string, host: string, ports: number[]): Promise<void> {
  for (const port of ports) {
    if (await portOpen(host, port)) {
      throw new ServiceStartError(
        name,
        `port ${host}:${port} is already taken by ${portOwner(port)}, which is not a healthy ${name}; ` +
          `stop it or point the tests elsewhere with the service's address variable`,
      );
    }
  }
}
