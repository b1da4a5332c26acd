// PostgreSQL: the machine's own server, reconfigured for logical replication (wal_level=logical).

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { hostPort, isLocal, serviceAddresses } from './addresses.ts';
import { waitUntilHealthy } from './daemon.ts';
import { ServiceStartError, type ServiceStatus, type TestService } from './service.ts';

/** Settings logical decoding and the tests need; restart-only settings force a restart. */
const requiredSettings: Record<string, string> = {
  wal_level: 'logical',
  max_replication_slots: '64',
  max_wal_senders: '64',
};

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({
    connectionString: serviceAddresses().postgresUrl,
    connectionTimeoutMillis: 3000,
  });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

function clusterVersion(): string {
  const versions = readdirSync('/etc/postgresql');
  const version = versions.sort().at(-1);
  if (!version) throw new ServiceStartError('postgres', 'no cluster under /etc/postgresql');
  return version;
}

function pgCtl(action: 'start' | 'restart'): void {
  try {
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', clusterVersion(), 'main', action], {
      stdio: 'pipe',
    });
  } catch (error) {
    throw new ServiceStartError('postgres', `pg_ctlcluster ${action} failed: ${String(error)}`);
  }
}

async function currentSettings(): Promise<Record<string, string>> {
  const rows = await query<{ name: string; setting: string }>(
    `select name, setting from pg_settings where name in (${Object.keys(requiredSettings)
      .map((name) => `'${name}'`)
      .join(',')})`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.setting]));
}

function missingSettings(current: Record<string, string>): string[] {
  return Object.entries(requiredSettings)
    .filter(([name, wanted]) =>
      name === 'wal_level' ? current[name] !== wanted : Number(current[name]) < Number(wanted),
    )
    .map(([name]) => name);
}

async function healthy(): Promise<boolean> {
  await query('select 1');
  return true;
}

export const postgres: TestService = {
  name: 'postgres',
  address: () => serviceAddresses().postgresUrl,

  async status(): Promise<ServiceStatus> {
    const address = this.address();
    try {
      const [row] = await query<{ version: string; wal_level: string }>(
        `select current_setting('server_version') as version, current_setting('wal_level') as wal_level`,
      );
      return {
        name: this.name,
        address,
        up: true,
        version: row?.version,
        detail: `wal_level=${row?.wal_level}`,
      };
    } catch (error) {
      return { name: this.name, address, up: false, detail: String(error) };
    }
  },

  async up(): Promise<void> {
    const address = this.address();
    const local = isLocal(address);
    if (!(await healthy().catch(() => false))) {
      if (!local) throw new ServiceStartError('postgres', `unreachable at ${address}`);
      pgCtl('start');
      await waitUntilHealthy('postgres', healthy, { timeoutMs: 60_000 });
    }
    const missing = missingSettings(await currentSettings());
    if (missing.length === 0) return;
    if (!local) {
      throw new ServiceStartError(
        'postgres',
        `${address} lacks ${missing.join(', ')}; configure it for logical replication`,
      );
    }
    for (const name of missing)
      await query(`alter system set ${name} = '${requiredSettings[name]}'`);
    pgCtl('restart');
    await waitUntilHealthy('postgres', healthy, { timeoutMs: 60_000 });
    const still = missingSettings(await currentSettings());
    if (still.length > 0)
      throw new ServiceStartError('postgres', `still missing after restart: ${still.join(', ')}`);
  },

  async down(): Promise<void> {
    // The machine runs PostgreSQL by itself; the harness only reconfigures it.
  },
};

export const postgresPort = () => hostPort(serviceAddresses().postgresUrl).port;

/** The cluster's pg_hba.conf (the local server the harness manages). */
function hbaFile(): string {
  return `/etc/postgresql/${clusterVersion()}/main/pg_hba.conf`;
}

/**
 * For tests of wrong credentials: a login role that must authenticate with its password over TCP
 * (scram-sha-256), although the server otherwise trusts local connections. Adds one pg_hba.conf
 * line for exactly this role ahead of the trust lines and reloads the configuration; idempotent,
 * and only for a local server.
 */
export async function ensurePasswordRole(role: string, password: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(role))
    throw new Error(`role name ${role} must be a plain identifier`);
  if (!isLocal(serviceAddresses().postgresUrl)) {
    throw new ServiceStartError(
      'postgres',
      'password roles need a local server (pg_hba.conf is edited)',
    );
  }
  await query(
    `do $$ begin
       if not exists (select from pg_roles where rolname = '${role}') then
         create role ${role} login replication;
       end if;
     end $$`,
  );
  await query(
    `alter role ${role} with login replication password '${password.replace(/'/g, "''")}'`,
  );
  const file = hbaFile();
  const line = `host all ${role} 127.0.0.1/32 scram-sha-256`;
  const lines = readFileSync(file, 'utf8').split('\n');
  if (!lines.includes(line)) {
    const firstRule = lines.findIndex((text) => /^\s*(local|host)/.test(text));
    lines.splice(firstRule < 0 ? lines.length : firstRule, 0, line);
    writeFileSync(file, lines.join('\n'));
  }
  await query('select pg_reload_conf()');
  // The postmaster re-reads pg_hba.conf asynchronously after the reload signal: wait until a
  // wrong password is refused for this role.
  const { host, port } = hostPort(serviceAddresses().postgresUrl);
  const database = new URL(serviceAddresses().postgresUrl).pathname.slice(1) || 'postgres';
  await waitUntilHealthy(
    'postgres',
    async () => {
      const probe = new pg.Client({
        host,
        port,
        database,
        user: role,
        password: `not-${password}`,
      });
      try {
        await probe.connect();
        await probe.end();
        return false;
      } catch (error) {
        return (error as { code?: string }).code === '28P01';
      }
    },
    { timeoutMs: 10_000 },
  );
}
