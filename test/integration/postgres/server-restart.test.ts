// RESTARTS THE SHARED POSTGRESQL SERVER (pg_ctlcluster restart, fast mode, about two seconds):
// every other connection to it drops, so this test runs only when KAFKI_PG_RESTART_TEST=1 and
// should run on its own. It checks that the task retries with backoff while the server is down
// and resumes with no gap and no duplicate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { isLocal, serviceAddresses } from '../../services/addresses.ts';
import {
  adminClient,
  baseConfig,
  dropReplicationObjects,
  payload,
  startTask,
  uniqueName,
  waitFor,
} from './harness.ts';

const enabled =
  process.env.KAFKI_PG_RESTART_TEST === '1' && isLocal(serviceAddresses().postgresUrl);

function restartServer(): void {
  const version = readdirSync('/etc/postgresql').sort().at(-1)!;
  execFileSync(
    'pg_ctlcluster',
    ['--skip-systemctl-redirect', version, 'main', 'restart', '-m', 'fast'],
    { stdio: 'pipe' },
  );
}

test(
  'PostgreSQL restarted mid-stream: the task reconnects with backoff and resumes without gap or duplicate',
  { skip: enabled ? false : 'restarts the shared server; set KAFKI_PG_RESTART_TEST=1 to run' },
  async () => {
    const name = uniqueName('pgrestart');
    let admin = await adminClient();
    await admin.query(`create table ${name} (id int primary key)`);
    const running = await startTask(
      baseConfig(name, {
        'table.include.list': `public\\.${name}`,
        'retriable.restart.connector.wait.ms': '500',
      }),
    );
    try {
      await admin.query(`insert into ${name} select generate_series(1, 100)`);
      await running.until('the first rows', (records) => records.length >= 50);
      await admin.end();
      restartServer();
      admin = await waitFor('the server to accept connections', async () => adminClient());
      await admin.query(`insert into ${name} select generate_series(101, 200)`);
      await running.until('the rows after the restart', (records) => records.length >= 200, 60_000);
      const ids = running.records.map((record) => payload(record).after!.id as number);
      assert.deepEqual(
        ids,
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      assert.ok(running.logs.some((entry) => entry.message.includes('reconnecting')));
    } finally {
      await running.stop();
      await dropReplicationObjects(admin, name);
      await admin.query(`drop table if exists ${name}`);
      await admin.end();
    }
  },
);
