// PostgreSQL's own replication client as the streaming reference: pg_recvlogical drains a slot
// (pgoutput, protocol 1, the bench publication — what Kafki's source asks for) from the slot's
// start to the workload's end LSN and writes the messages to /dev/null. Nothing is parsed, so
// this is the ceiling of decode + walsender + transport for the same changes: over TCP loopback
// and over the Unix socket. Also the server-side decode rate through the SQL interface (no
// walsender, no transport), which verifies the change count as a side effect.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { perSecond, type Measurement } from './measurement.ts';
import { runMeasured, sampleProcess } from './process-stats.ts';
import { connectClient, type PostgresWorkload } from './workload.ts';

/** pg_recvlogical on PATH, else the newest /usr/lib/postgresql/<version>/bin one. */
export function findPgRecvlogical(): string {
  try {
    const found = execFileSync('which', ['pg_recvlogical'], { encoding: 'utf8' }).trim();
    if (found !== '') return found;
  } catch {
    // not on PATH
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const candidate = join(root, version, 'bin', 'pg_recvlogical');
      if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error('pg_recvlogical not found (install the PostgreSQL client)');
}

export interface PgRecvlogicalOptions {
  /** Path of the binary; found by findPgRecvlogical() by default. */
  binary?: string;
  timeoutMs?: number;
}

/** Argument list of the run (exported so the report can print the exact command). */
export function pgRecvlogicalArgs(
  workload: PostgresWorkload,
  slot: string,
  transport: 'tcp' | 'unix',
): string[] {
  const connection = workload.connection();
  return [
    '-h',
    transport === 'tcp' ? connection.host : connection.socketDir,
    '-p',
    String(connection.port),
    '-U',
    connection.user,
    '-d',
    connection.database,
    '--slot',
    slot,
    '--start',
    '--endpos',
    workload.lastCommitLsn,
    '--no-loop',
    '-o',
    'proto_version=1',
    '-o',
    `publication_names=${workload.publication}`,
    '-f',
    '/dev/null',
  ];
}

/**
 * Drains `slot` (made by workload.createSlot before the load) with pg_recvlogical. The timed
 * interval is the whole process (connect, START_REPLICATION, stream, exit at the end LSN); its
 * connection setup is a few milliseconds.
 */
export async function measurePgRecvlogical(
  workload: PostgresWorkload,
  slot: string,
  transport: 'tcp' | 'unix',
  options: PgRecvlogicalOptions = {},
): Promise<Measurement> {
  const binary = options.binary ?? findPgRecvlogical();
  const connection = workload.connection();
  const env = { ...process.env, PGPASSWORD: connection.password, PGAPPNAME: `kafki-bench-${slot}` };
  const walsender = await workload.watchWalsender(slot);
  const run = await runMeasured(binary, pgRecvlogicalArgs(workload, slot, transport), {
    env,
    timeoutMs: options.timeoutMs ?? 30 * 60_000,
  });
  const server = await walsender.stop();
  if (run.exitCode !== 0) {
    throw new Error(
      `pg_recvlogical (${transport}) failed: exit ${run.exitCode ?? run.signal}\n${run.stderr.slice(-2000)}`,
    );
  }
  const count = workload.expectedChanges;
  const seconds = run.wallMs / 1000;
  return {
    key: `pg_recvlogical_${transport}`,
    name: `pg_recvlogical (${transport === 'tcp' ? 'TCP loopback' : 'Unix socket'})`,
    kind: 'stream',
    transport,
    count,
    seconds,
    perSecond: perSecond(count, seconds),
    timed: 'process start → exit at the end LSN',
    peakRssMb: run.peakRssMb,
    cpuSeconds: run.cpuSeconds,
    serverCpuSeconds: server?.cpuSeconds ?? null,
    startupSeconds: null,
    note: 'pgoutput proto 1, binary messages to /dev/null, nothing parsed',
  };
}

/**
 * The server's decode rate without a walsender or transport: pg_logical_slot_get_binary_changes
 * over `slot` up to the end LSN, counting the insert and update messages in the server. Throws
 * when the count differs from the workload's (so it also checks the load), and records the last
 * commit's end LSN on the workload (workload.lastCommitLsn, the exact --endpos for the rest).
 */
export async function measureServerDecode(
  workload: PostgresWorkload,
  slot: string,
): Promise<Measurement> {
  const client = connectClient(workload.url);
  await client.connect();
  try {
    const [backend] = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows;
    const before = backend === undefined ? undefined : sampleProcess(backend.pid);
    const started = performance.now();
    const { rows } = await client.query<{
      inserts: string;
      updates: string;
      messages: string;
      last_commit: string | null;
    }>(
      `select count(*) filter (where get_byte(data, 0) = 73) as inserts,
              count(*) filter (where get_byte(data, 0) = 85) as updates,
              count(*) as messages,
              (max(lsn) filter (where get_byte(data, 0) = 67))::text as last_commit
       from pg_logical_slot_get_binary_changes($1, $2::pg_lsn, null,
              'proto_version', '1', 'publication_names', $3)`,
      [slot, workload.endLsn, workload.publication],
    );
    const seconds = (performance.now() - started) / 1000;
    const after = backend === undefined ? undefined : sampleProcess(backend.pid);
    const inserts = Number(rows[0]?.inserts ?? 0);
    const updates = Number(rows[0]?.updates ?? 0);
    if (inserts !== workload.inserts || updates !== workload.updates) {
      throw new Error(
        `the slot decoded ${inserts} inserts and ${updates} updates; the load wrote ${workload.inserts} and ${workload.updates}`,
      );
    }
    const count = inserts + updates;
    if (rows[0]?.last_commit) workload.recordLastCommit(rows[0].last_commit);
    return {
      key: 'server_decode',
      name: 'PostgreSQL decode only (SQL function)',
      kind: 'stream',
      transport: 'sql',
      count,
      seconds,
      perSecond: perSecond(count, seconds),
      timed: 'one SQL statement',
      peakRssMb: null,
      cpuSeconds: null,
      serverCpuSeconds:
        before === undefined || after === undefined ? null : after.cpuSeconds - before.cpuSeconds,
      startupSeconds: null,
      note: `pg_logical_slot_get_binary_changes, ${rows[0]?.messages ?? '?'} pgoutput messages counted in the server`,
    };
  } finally {
    await client.end();
  }
}
