// MariaDB: the machine's own server, reconfigured for row-based binlog CDC with full row metadata.

import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import mysql from 'mysql2/promise';
import { isLocal, serviceAddresses } from './addresses.ts';
import { sleep, waitUntilHealthy } from './daemon.ts';
import { ServiceStartError, type ServiceStatus, type TestService } from './service.ts';

const mainConfig = '/etc/mysql/my.cnf';
const configDir = '/etc/mysql/mariadb.conf.d';
const configFile = `${configDir}/60-kafki-binlog.cnf`;
const config = `# Written by Kafki's test harness: binlog settings for change data capture.
[mariadb]
server_id = 1
log_bin = mariadb-bin
binlog_format = ROW
binlog_row_image = FULL
binlog_row_metadata = FULL
log_slave_updates = ON
gtid_strict_mode = ON
expire_logs_days = 2
`;

const expected: Record<string, string> = {
  log_bin: '1',
  binlog_format: 'ROW',
  binlog_row_image: 'FULL',
  binlog_row_metadata: 'FULL',
};

async function variables(): Promise<Record<string, string>> {
  const connection = await mysql.createConnection({
    uri: serviceAddresses().mariadbUrl,
    connectTimeout: 3000,
  });
  try {
    const [rows] = await connection.query(
      'select @@version as version, @@log_bin as log_bin, @@binlog_format as binlog_format, ' +
        '@@binlog_row_image as binlog_row_image, @@binlog_row_metadata as binlog_row_metadata, ' +
        '@@gtid_current_pos as gtid_current_pos',
    );
    const row = (rows as Record<string, unknown>[])[0] ?? {};
    return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, String(value)]));
  } finally {
    await connection.end();
  }
}

function misconfigured(current: Record<string, string>): string[] {
  return Object.entries(expected)
    .filter(([name, value]) => current[name] !== value)
    .map(([name, value]) => `${name}=${current[name]} (want ${value})`);
}

async function healthy(): Promise<boolean> {
  await variables();
  return true;
}

/** Our settings live in their own file; my.cnf only gains the include line, once. */
function installConfig(): void {
  mkdirSync(dirname(configFile), { recursive: true });
  if (!existsSync(configFile) || readFileSync(configFile, 'utf8') !== config)
    writeFileSync(configFile, config);
  const include = `!includedir ${configDir}/`;
  const main = existsSync(mainConfig) ? readFileSync(mainConfig, 'utf8') : '';
  if (!main.split('\n').some((line) => line.trim() === include))
    appendFileSync(mainConfig, `\n${include}\n`);
}

function startServer(): void {
  execFileSync('start-stop-daemon', [
    '--start',
    '--oknodo',
    '--background',
    '--exec',
    '/usr/sbin/mariadbd',
  ]);
}

export const mariadb: TestService = {
  name: 'mariadb',
  address: () => serviceAddresses().mariadbUrl,

  async status(): Promise<ServiceStatus> {
    const address = this.address();
    try {
      const current = await variables();
      const problems = misconfigured(current);
      return {
        name: this.name,
        address,
        up: true,
        version: current.version,
        detail: problems.length
          ? `misconfigured: ${problems.join(', ')}`
          : `binlog ROW, gtid ${current.gtid_current_pos || '-'}`,
      };
    } catch (error) {
      return { name: this.name, address, up: false, detail: String(error) };
    }
  },

  async up(): Promise<void> {
    const address = this.address();
    const local = isLocal(address);
    const wasUp = await healthy().catch(() => false);
    if (!wasUp && !local) throw new ServiceStartError('mariadb', `unreachable at ${address}`);
    const problems = wasUp ? misconfigured(await variables()) : [];
    if (wasUp && problems.length === 0) return;
    if (!local)
      throw new ServiceStartError('mariadb', `${address} is misconfigured: ${problems.join(', ')}`);
    installConfig();
    if (wasUp) {
      execFileSync('mariadb-admin', ['-uroot', 'shutdown']);
      // mariadb-admin returns once the server accepted the shutdown; wait until it is really gone.
      for (let i = 0; i < 120 && (await healthy().catch(() => false)); i++) await sleep(250);
    }
    startServer();
    await waitUntilHealthy('mariadb', healthy, { timeoutMs: 60_000 });
    const still = misconfigured(await variables());
    if (still.length > 0)
      throw new ServiceStartError(
        'mariadb',
        `still misconfigured after restart: ${still.join(', ')}`,
      );
  },

  async down(): Promise<void> {
    // The machine runs MariaDB by itself; the harness only reconfigures it.
  },
};
