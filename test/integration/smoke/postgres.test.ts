// Smoke: a PostgreSQL logical slot delivers one insert through pg-logical-replication (pgoutput).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName, waitFor } from '../../helpers/wait.ts';

test('a logical slot delivers an insert as a pgoutput message', async () => {
  const connectionString = serviceAddresses().postgresUrl;
  const table = uniqueName('smoke_pg');
  const client = new pg.Client({ connectionString });
  await client.connect();
  const service = new LogicalReplicationService(
    { connectionString },
    { acknowledge: { auto: true, timeoutSeconds: 0 } },
  );
  try {
    await client.query(`create table ${table} (id int primary key, name text)`);
    await client.query(`create publication ${table} for table ${table}`);
    await client.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [table]);

    const inserts: Pgoutput.MessageInsert[] = [];
    service.on('data', (_lsn: string, message: Pgoutput.Message) => {
      if (message.tag === 'insert') inserts.push(message);
    });
    service.on('error', () => {});
    const subscribed = service
      .subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: [table] }), table)
      .catch(() => undefined);

    await client.query(`insert into ${table} values (1, 'kafki')`);
    const [insert] = await waitFor(
      'the insert on the slot',
      async () => inserts.length > 0 && inserts,
    );
    assert.equal(insert?.relation.name, table);
    assert.deepEqual({ ...insert?.new }, { id: 1, name: 'kafki' });

    await service.stop();
    await subscribed;
  } finally {
    await service.stop().catch(() => undefined);
    await waitFor('the slot to be released', async () => {
      const { rows } = await client.query(
        'select active from pg_replication_slots where slot_name = $1',
        [table],
      );
      return rows[0]?.active === false;
    });
    await client.query(`select pg_drop_replication_slot($1)`, [table]).catch(() => undefined);
    await client.query(`drop publication if exists ${table}`);
    await client.query(`drop table if exists ${table}`);
    await client.end();
  }
});
