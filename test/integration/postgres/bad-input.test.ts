// Bad input against the real server: each a KafkiError with a code, the object at fault and the
// remedy, from the task's start and from the connector's validateLive.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { LogicalReplicationService } from 'pg-logical-replication';
import { KafkiError, type FieldError, type RawConfig } from '../../../runtime/api/index.ts';
import { PostgresSourceConnector } from '../../../connectors/postgres/connector.ts';
import { PostgresErrorCode } from '../../../connectors/postgres/errors.ts';
import { PgoutputStreamPlugin } from '../../../connectors/postgres/replication-stream.ts';
import { ensurePasswordRole } from '../../services/postgres.ts';
import {
  adminClient,
  baseConfig,
  dropReplicationObjects,
  pgTarget,
  startTask,
  uniqueName,
} from './harness.ts';

let admin: pg.Client;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  admin = await adminClient();
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await admin.end();
});

async function startFails(config: RawConfig, code: string, pattern: RegExp): Promise<KafkiError> {
  let caught: unknown;
  try {
    const running = await startTask(config);
    await running.stop();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof KafkiError, `expected a KafkiError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

async function validate(config: RawConfig): Promise<FieldError[]> {
  return new PostgresSourceConnector().validateLive(config);
}

async function scratchTable(): Promise<string> {
  const name = uniqueName('pgbad');
  await admin.query(`create table ${name} (id int primary key)`);
  cleanups.push(async () => {
    await dropReplicationObjects(admin, name);
    await admin.query(`drop table if exists ${name}`);
  });
  return name;
}

test('a valid config against this server passes validateLive (wal_level is logical here)', async () => {
  const name = await scratchTable();
  assert.deepEqual(
    await validate(baseConfig(name, { 'table.include.list': `public\\.${name}` })),
    [],
  );
});

test('a user without REPLICATION: named, with the ALTER ROLE remedy', async () => {
  const name = await scratchTable();
  const role = uniqueName('norepl');
  await admin.query(`create role ${role} login`);
  cleanups.push(async () => {
    await admin.query(`drop role if exists ${role}`);
  });
  const config = baseConfig(name, {
    'database.user': role,
    'table.include.list': `public\\.${name}`,
  });
  await startFails(
    config,
    PostgresErrorCode.replicationPrivilege,
    new RegExp(`ALTER ROLE "${role}" WITH REPLICATION`),
  );
  const errors = await validate(config);
  assert.deepEqual(
    errors.map((error) => error.field),
    ['database.user', 'publication.autocreate.mode'],
  );
  assert.match(errors[0]!.message, /REPLICATION/);
});

test('a wrong password: authentication error naming the user and the keys to check', async () => {
  const name = await scratchTable();
  const role = 'kafki_password_test';
  await ensurePasswordRole(role, 'right-password');
  const config = baseConfig(name, {
    'database.user': role,
    'database.password': 'wrong-password',
    'table.include.list': `public\\.${name}`,
  });
  await startFails(
    config,
    PostgresErrorCode.authentication,
    /kafki_password_test.*database\.password/s,
  );
  const errors = await validate(config);
  assert.deepEqual(
    errors.map((error) => error.field),
    ['database.password'],
  );
  // and the right password gets past authentication (the role may replicate; it cannot create the publication)
  const right = await validate({
    ...config,
    'database.password': 'right-password',
    'publication.autocreate.mode': 'filtered',
  });
  assert.ok(right.every((error) => error.field !== 'database.password'));
});

/** A table with its publication and slot, the slot held by another streaming connection. */
async function slotHeldElsewhere(): Promise<{ name: string; other: LogicalReplicationService }> {
  const name = await scratchTable();
  await admin.query(`create publication ${name} for table ${name}`);
  await admin.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [name]);
  const target = pgTarget();
  const other = new LogicalReplicationService(
    { host: target.host, port: target.port, user: target.user, database: target.database },
    { acknowledge: { auto: false, timeoutSeconds: 0 } },
  );
  other.on('error', () => {});
  const started = new Promise<void>((resolve) => other.once('start', () => resolve()));
  other.subscribe(new PgoutputStreamPlugin(name) as never, name).catch(() => undefined);
  await started;
  return { name, other };
}

test('the slot is active for another consumer', async () => {
  const { name, other } = await slotHeldElsewhere();
  cleanups.push(async () => {
    await other.destroy();
  });
  // It tries again (slot.max.retries), then fails naming the slot.
  const config = baseConfig(name, {
    'publication.autocreate.mode': 'disabled',
    'slot.max.retries': '2',
    'slot.retry.delay.ms': '100',
  });
  await startFails(
    config,
    PostgresErrorCode.slotInUse,
    new RegExp(`slot "${name}".*in use.*slot\\.name`, 's'),
  );
  // Validation does not refuse a busy slot: it is a runtime condition (a running connector's own
  // task holds its slot while its config is updated), reported in the task status above.
  const errors = await validate(config);
  assert.deepEqual(errors, []);
});

test('a task waits for its slot while another connection still holds it (slot.max.retries)', async () => {
  const { name, other } = await slotHeldElsewhere();
  // The holder goes away while the task waits, as a dead member's connection does.
  const released = new Promise<void>((resolve) =>
    setTimeout(() => void other.destroy().then(() => resolve()), 600),
  );
  const running = await startTask(
    baseConfig(name, {
      'publication.autocreate.mode': 'disabled',
      'slot.max.retries': '50',
      'slot.retry.delay.ms': '100',
    }),
  );
  try {
    await released;
    const { rows } = await admin.query<{ active: boolean }>(
      'select active from pg_replication_slots where slot_name = $1',
      [name],
    );
    assert.equal(rows[0]?.active, true, 'the task streams from the slot now');
    assert.ok(
      running.logs.some((entry) => /replication slot is in use; trying again/.test(entry.message)),
    );
  } finally {
    await running.stop();
  }
});

test('the publication is missing and autocreate is disabled', async () => {
  const name = await scratchTable();
  const config = baseConfig(name, { 'publication.autocreate.mode': 'disabled' });
  await startFails(
    config,
    PostgresErrorCode.publicationMissing,
    new RegExp(`publication "${name}".*CREATE PUBLICATION.*autocreate`, 's'),
  );
  const errors = await validate(config);
  assert.deepEqual(
    errors.map((error) => error.field),
    ['publication.name'],
  );
  // nothing was created on the way
  const { rows } = await admin.query('select 1 from pg_replication_slots where slot_name = $1', [
    name,
  ]);
  assert.equal(rows.length, 0);
});

test('an unreachable server is retriable; a missing database is not', async () => {
  const name = uniqueName('pgbad');
  const unreachable = await startFails(
    baseConfig(name, { 'database.port': '1', 'database.connect.timeout.ms': '2000' }),
    PostgresErrorCode.unreachable,
    /cannot reach PostgreSQL/,
  );
  assert.equal(unreachable.retriable, true);
  const missing = await startFails(
    baseConfig(name, { 'database.dbname': `${name}_nodb` }),
    PostgresErrorCode.databaseMissing,
    /database\.dbname/,
  );
  assert.equal(missing.retriable, false);
  assert.deepEqual(
    (await validate(baseConfig(name, { 'database.port': '1' }))).map((error) => error.field),
    ['database.hostname'],
  );
});

test('config rules are reported per field before any connection', async () => {
  const errors = await validate(
    baseConfig('x', { 'table.include.list': 'a', 'table.exclude.list': 'b', 'database.port': '1' }),
  );
  assert.deepEqual(errors.map((error) => error.field).sort(), [
    'table.exclude.list',
    'table.include.list',
  ]);
});
