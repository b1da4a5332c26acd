// Helpers for tests of a cluster of `kafki worker` processes: members of one group (short
// session timeout), where each unit (connector or task) runs, and JSON-lines inputs and outputs
// of the file connectors.

import { readFile } from 'node:fs/promises';
import {
  addresses,
  clearClusterState,
  deleteTopics,
  kafkaBackend,
  removeDir,
  until,
  workerProcess,
  type WorkerProcess,
} from './harness.ts';

export const sessionTimeoutMs = 3_000;

/** Members of the group `${run}-group`, each with its own REST port and data directory. */
export class TestCluster {
  readonly members: WorkerProcess[] = [];

  constructor(readonly run: string) {}

  get groupId(): string {
    return `${this.run}-group`;
  }

  /** A member (not started); `settings` override worker keys (e.g. redis.url through a proxy). */
  member(name: string, settings: Record<string, unknown> = {}): WorkerProcess {
    const process = workerProcess(
      `${this.run}-${name}`,
      {
        ...kafkaBackend(this.run),
        'worker.id': `${name}:8083`,
        'redis.url': addresses.redisUrl,
        'session.timeout.ms': sessionTimeoutMs,
        'heartbeat.interval.ms': 300,
        'topic.creation.default.partitions': 3,
        'log.level': 'info',
        ...settings,
      },
      'worker',
    );
    this.members.push(process);
    return process;
  }

  async cleanUp(): Promise<void> {
    await Promise.all(this.members.map((process) => process.kill()));
    await clearClusterState(this.groupId);
    await deleteTopics([this.run]);
    for (const process of this.members) removeDir(process.dir);
  }
}

/** Units (connectors and tasks) per worker id, from the statuses of `names`. */
async function unitsPerWorker(via: WorkerProcess, names: readonly string[]) {
  const counts = new Map<string, number>();
  for (const name of names) {
    const status = await via.status(name);
    if (status.connector.state !== 'RUNNING') return undefined;
    const workers = [
      (status.connector as { worker_id?: string }).worker_id,
      ...status.tasks.map((task) => (task.state === 'RUNNING' ? task.worker_id : undefined)),
    ];
    if (status.tasks.length === 0 || workers.includes(undefined)) return undefined;
    for (const worker of workers) counts.set(worker!, (counts.get(worker!) ?? 0) + 1);
  }
  return counts;
}

/** Wait until every unit of `names` runs, `expected[worker]` of them on each worker. */
export async function waitForSpread(
  via: WorkerProcess,
  names: readonly string[],
  expected: Record<string, number>,
  timeoutMs = 60_000,
): Promise<void> {
  let last: Map<string, number> | undefined;
  await until(
    `units spread as ${JSON.stringify(expected)} (last seen ${JSON.stringify(last && Object.fromEntries(last))})`,
    async () => {
      last = await unitsPerWorker(via, names).catch(() => undefined);
      if (!last) return false;
      const wanted = Object.entries(expected);
      return last.size === wanted.length && wanted.every(([w, n]) => last!.get(w) === n);
    },
    { timeoutMs, intervalMs: 250 },
  );
}

export async function outputLines(file: string): Promise<Set<string>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return new Set(text.split('\n').filter((line) => line !== ''));
}

/** JSON lines {"line": from} … {"line": to - 1}. */
export function lines(from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += `${JSON.stringify({ line: i })}\n`;
  return text;
}

/** Wait until lines 0 … count - 1 are all in `output` (duplicates allowed: at-least-once). */
export async function waitForLines(
  output: string,
  count: number,
  via: WorkerProcess,
): Promise<void> {
  await until(
    `${count} lines in the output`,
    async () => {
      const seen = await outputLines(output);
      for (let i = 0; i < count; i++) {
        if (!seen.has(JSON.stringify({ line: i }))) return false;
      }
      return true;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${via.tail()}`);
  });
}
