// Smoke: a MariaDB insert arrives as a binlog row event through @vlasky/zongji (mysql2).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import ZongJi, { type AnyBinlogEvent, type WriteRowsEvent } from '@vlasky/zongji';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName, waitFor } from '../../helpers/wait.ts';

test('an insert arrives as a WriteRows binlog event with column names', async () => {
  const uri = serviceAddresses().mariadbUrl;
  const table = uniqueName('smoke_maria');
  const connection = await mysql.createConnection({ uri });
  const database = new URL(uri).pathname.slice(1);
  const zongji = new ZongJi({ uri });
  const inserts: WriteRowsEvent[] = [];
  try {
    await connection.query(`create table ${table} (id int primary key, name varchar(50))`);
    const ready = new Promise<void>((resolveReady, rejectReady) => {
      zongji.once('ready', () => resolveReady());
      zongji.once('error', rejectReady);
    });
    zongji.on('binlog', (event: AnyBinlogEvent) => {
      if (event.getEventName() === 'writerows') inserts.push(event as WriteRowsEvent);
    });
    zongji.start({
      serverId: 1000 + Math.floor(Math.random() * 100_000),
      startAtEnd: true,
      includeEvents: ['tablemap', 'writerows'],
      includeSchema: { [database]: [table] },
    });
    await ready;

    await connection.query(`insert into ${table} values (7, 'kafki')`);
    const [event] = await waitFor('the WriteRows event', async () => inserts.length > 0 && inserts);
    const tableInfo = event ? event.tableMap[event.tableId] : undefined;
    assert.equal(tableInfo?.tableName, table);
    assert.deepEqual(event?.rows, [{ id: 7, name: 'kafki' }]);
  } finally {
    zongji.stop();
    await connection.query(`drop table if exists ${table}`);
    await connection.end();
  }
});
