// Resource figures of other processes, read from /proc (Linux): peak RSS (VmHWM, the kernel's own
// high-water mark, so polling cannot miss a peak while the process lives) and CPU time
// (utime + stime). Used for the consumers the benchmark starts (pg_recvlogical, the Debezium JVM,
// a Kafki worker run as a child) and for the walsender serving a slot.

import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * The fields of /proc/<pid>/stat after the parenthesised command name (so fields[0] is the state,
 * fields[1] the parent pid, fields[11..14] utime, stime, cutime, cstime); undefined once gone.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime (and, with `reaped`, the CPU of its exited children: cutime + cstime), seconds. */
function cpuSeconds(fields: string[], reaped: boolean): number {
  let ticks = Number(fields[11]) + Number(fields[12]);
  if (reaped) ticks += Number(fields[13]) + Number(fields[14]);
  return ticks / ticksPerSecond();
}

export interface ProcSample {
  /** VmHWM in MB (peak resident set so far). */
  peakRssMb: number;
  /** user + system CPU seconds so far. */
  cpuSeconds: number;
}

/** One reading of /proc/<pid>; undefined once the process is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const fields = statFields(pid);
    // a zombie (exited, not yet reaped) has no Vm lines: treat it as gone, keep the last reading
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (hwm?.[1] === undefined || fields === undefined) return undefined;
    return {
      peakRssMb: Math.round((Number(hwm[1]) / 1024) * 10) / 10,
      cpuSeconds: cpuSeconds(fields, false),
    };
  } catch {
    return undefined;
  }
}

/** Polls a process (whose pid may be found only later) and keeps its last reading. */
export class ProcessSampler {
  private last: ProcSample | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: () => number | undefined | Promise<number | undefined>,
    intervalMs = 20,
  ) {
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  async sample(): Promise<void> {
    try {
      const pid = await this.pid();
      if (pid === undefined) return;
      const reading = sampleProcess(pid);
      if (reading !== undefined) this.last = reading;
    } catch {
      // the pid lookup failed (e.g. its connection closed); try again at the next tick
    }
  }

  /** The last reading: peak RSS and the CPU seconds the process has used in its life. */
  stop(): ProcSample | undefined {
    clearInterval(this.timer);
    return this.last;
  }
}

export interface ProcessRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  /** Peak RSS in MB and CPU seconds (from /proc, sampled until exit). */
  peakRssMb: number | null;
  cpuSeconds: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill (SIGKILL) after this long. */
  timeoutMs?: number;
  /** Called for every stderr chunk (e.g. to tee the log to a file). */
  onStderr?: (chunk: string) => void;
}

/** Runs a command to completion, timing it and sampling its peak RSS and CPU time. */
export function runMeasured(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    const sampler = new ProcessSampler(() => pid, 20);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-64 * 1024);
      options.onStderr?.(chunk);
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      sampler.stop();
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      const wallMs = performance.now() - started;
      if (timer) clearTimeout(timer);
      const sample = sampler.stop();
      resolve({
        exitCode,
        signal,
        wallMs,
        peakRssMb: sample?.peakRssMb ?? null,
        cpuSeconds: sample?.cpuSeconds ?? null,
        stdout,
        stderr,
      });
    });
  });
}

/** The process `pid` runs under (for a PostgreSQL backend: the postmaster). */
export function parentProcess(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields === undefined ? undefined : Number(fields[1]);
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** The first process whose command line matches, if any (Linux /proc). */
export function findProcess(matches: (commandLine: string) => boolean): number | undefined {
  for (const pid of allPids()) {
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (matches(commandLine)) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * The CPU seconds a service has used so far: its main process with the children it has reaped,
 * plus its live children (PostgreSQL's backends come and go). Differences of two readings give
 * the CPU a phase of the benchmark cost the service.
 */
export function serviceCpuSeconds(rootPid: number): number | undefined {
  const root = statFields(rootPid);
  if (root === undefined) return undefined;
  let total = cpuSeconds(root, true);
  for (const pid of allPids()) {
    if (pid === rootPid) continue;
    const fields = statFields(pid);
    if (fields !== undefined && Number(fields[1]) === rootPid) total += cpuSeconds(fields, false);
  }
  return total;
}
