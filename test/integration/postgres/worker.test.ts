// The PostgreSQL source in a standalone worker: registered over the herder with a Debezium-style
// config, its events land in the local log as Debezium JSON ({schema, payload}), offsets survive
// a worker restart, bad input fails the task with the remedy in its status, and deleting the
// connector drops its slot when asked to.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { SOURCE_VERSION_HEADER, type RawConfig } from '../../../runtime/api/index.ts';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import type { KafkiLog } from '../../../runtime/log/log.ts';
import { startRuntime, tempDir } from '../runtime/harness.ts';
import { adminClient, baseConfig, dropReplicationObjects, uniqueName, waitFor } from './harness.ts';
import { sourceVersion } from '../../../connectors/postgres/change-version.ts';

let admin: pg.Client;

before(async () => {
  admin = await adminClient();
});

after(async () => {
  await admin.end();
});

interface DebeziumMessage {
  schema: { name?: string; fields?: Array<{ field: string; name?: string }> };
  payload: {
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
    op: string;
    source: Record<string, unknown>;
  };
}

async function topicMessages(
  log: KafkiLog,
  topic: string,
): Promise<
  Array<{ key: unknown; value: DebeziumMessage | null; headers: Record<string, string> }>
> {
  const messages: Array<{
    key: unknown;
    value: DebeziumMessage | null;
    headers: Record<string, string>;
  }> = [];
  for (const { partition, start, end } of await log.offsets(topic).catch(() => [])) {
    for (let offset = start; offset < end;) {
      const records = await log.read(topic, partition, offset, { maxRecords: 1000 });
      if (records.length === 0) break;
      for (const record of records) {
        messages.push({
          key: record.key ? JSON.parse(record.key.toString('utf8')) : null,
          value: record.value
            ? (JSON.parse(record.value.toString('utf8')) as DebeziumMessage)
            : null,
          headers: Object.fromEntries(
            Object.entries(record.headers).map(([key, value]) => [key, value.toString('utf8')]),
          ),
        });
      }
      offset = records.at(-1)!.offset + 1;
    }
  }
  return messages;
}

function connectorConfig(name: string, overrides: RawConfig = {}): RawConfig {
  return {
    'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
    'tasks.max': '1',
    ...baseConfig(name, { 'table.include.list': `public\\.${name}` }),
    ...overrides,
  };
}

describe('PostgreSQL source in a standalone worker', () => {
  const dir = tempDir('pg-worker');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('streams Debezium JSON into the log, resumes after a worker restart, drops its slot on delete', async () => {
    const name = uniqueName('pgw');
    const topic = `${name}.public.${name}`;
    await admin.query(`create table ${name} (id int primary key, name text)`);
    const dataDir = join(dir, 'data');
    const log = await LocalLog.open({ dataDir, logger: { warn: () => {}, info: () => {} } });
    try {
      let runtime = await startRuntime(dataDir, { log });
      try {
        await runtime.herder.createConnector(
          name,
          connectorConfig(name, { 'slot.drop.on.delete': 'true' }),
        );
        await waitFor(
          'the task to run',
          async () => (await runtime.herder.connectorStatus(name)).tasks[0]?.state === 'RUNNING',
        );
        await admin.query(`insert into ${name} values (1, 'a'), (2, 'b')`);
        await admin.query(`update ${name} set id = 3 where id = 2`);
        await waitFor(
          'five records in the topic',
          async () => (await topicMessages(log, topic)).length >= 5,
        );
        const messages = await topicMessages(log, topic);
        assert.deepEqual(
          messages.map((message) => [message.key, message.value?.payload.op ?? 'tombstone']),
          [
            [
              {
                schema: {
                  type: 'struct',
                  fields: [{ type: 'int32', optional: false, field: 'id' }],
                  optional: false,
                  name: `${topic}.Key`,
                },
                payload: { id: 1 },
              },
              'c',
            ],
            [
              {
                schema: {
                  type: 'struct',
                  fields: [{ type: 'int32', optional: false, field: 'id' }],
                  optional: false,
                  name: `${topic}.Key`,
                },
                payload: { id: 2 },
              },
              'c',
            ],
            [
              {
                schema: {
                  type: 'struct',
                  fields: [{ type: 'int32', optional: false, field: 'id' }],
                  optional: false,
                  name: `${topic}.Key`,
                },
                payload: { id: 2 },
              },
              'd',
            ],
            [
              {
                schema: {
                  type: 'struct',
                  fields: [{ type: 'int32', optional: false, field: 'id' }],
                  optional: false,
                  name: `${topic}.Key`,
                },
                payload: { id: 2 },
              },
              'tombstone',
            ],
            [
              {
                schema: {
                  type: 'struct',
                  fields: [{ type: 'int32', optional: false, field: 'id' }],
                  optional: false,
                  name: `${topic}.Key`,
                },
                payload: { id: 3 },
              },
              'c',
            ],
          ],
        );
        const first = messages[0]!.value!;
        assert.equal(first.schema.name, `${topic}.Envelope`);
        assert.deepEqual(
          first.schema.fields?.map((field) => field.field),
          ['before', 'after', 'source', 'transaction', 'op', 'ts_ms', 'ts_us', 'ts_ns'],
        );
        assert.deepEqual(first.payload.after, { id: 1, name: 'a' });
        assert.equal(first.payload.source.connector, 'postgresql');
        assert.equal(messages[4]!.headers['__debezium.oldkey'], '{"id":2}');
        // The worker commits offsets and acknowledges the slot once the records are durable.
        const lastProc = await waitFor('an acknowledged position in the slot', async () => {
          const { rows } = await admin.query<{ confirmed: string; last: string }>(
            `select confirmed_flush_lsn::text as confirmed from pg_replication_slots where slot_name = $1`,
            [name],
          );
          const status = await runtime.herder.connectorStatus(name);
          const acknowledged = Number(status.tasks[0]?.progress?.['slot.acknowledged.lsn'] ?? 0);
          return rows[0] && acknowledged > 0 ? acknowledged : undefined;
        });
        assert.ok(lastProc > 0);
      } finally {
        await runtime.close();
      }
      // Changes while the worker is down arrive after the restart, once.
      await admin.query(`insert into ${name} values (4, 'd')`);
      runtime = await startRuntime(dataDir, { log });
      try {
        await admin.query(`insert into ${name} values (5, 'e')`);
        await waitFor(
          'the changes after the restart',
          async () => (await topicMessages(log, topic)).length >= 7,
        );
        const ids = (await topicMessages(log, topic))
          .filter((message) => message.value?.payload.op === 'c')
          .map((message) => message.value!.payload.after!.id);
        assert.deepEqual(ids, [1, 2, 3, 4, 5]);
        // A running connector's config can be updated although its own task holds the slot.
        const updated = await runtime.herder.putConnectorConfig(
          name,
          connectorConfig(name, { 'slot.drop.on.delete': 'true', 'max.batch.size': '512' }),
        );
        assert.equal(updated.created, false);
        await admin.query(`insert into ${name} values (6, 'f')`);
        await waitFor('the change after the config update', async () =>
          (await topicMessages(log, topic)).some(
            (message) => message.value?.payload.op === 'c' && message.value.payload.after?.id === 6,
          ),
        );
        await runtime.herder.deleteConnector(name);
        await waitFor('the slot to be dropped', async () => {
          const { rows } = await admin.query(
            'select 1 from pg_replication_slots where slot_name = $1',
            [name],
          );
          return rows.length === 0;
        });
      } finally {
        await runtime.close();
      }
    } finally {
      await log.close();
      await dropReplicationObjects(admin, name);
      await admin.query(`drop table if exists ${name}`);
    }
  });

  it('initial snapshot then incremental snapshot through the herder: reads in the log with versions, progress in the status', async () => {
    const name = uniqueName('pgwsnap');
    const topic = `${name}.public.${name}`;
    await admin.query(`create table ${name} (id int primary key, name text)`);
    await admin.query(`insert into ${name} select g, 'n' || g from generate_series(1, 300) g`);
    const dataDir = join(dir, 'snapshots');
    const log = await LocalLog.open({ dataDir, logger: { warn: () => {}, info: () => {} } });
    const runtime = await startRuntime(dataDir, { log });
    try {
      await runtime.herder.createConnector(
        name,
        connectorConfig(name, {
          'snapshot.mode': 'initial',
          'snapshot.chunk.size': '64',
          'incremental.snapshot.chunk.size': '100',
        }),
      );
      const done = await waitFor('the snapshot in the status', async () => {
        const status = await runtime.herder.connectorStatus(name);
        const progress = status.tasks[0]?.progress;
        return progress?.['snapshot.tables.done'] === 1 ? progress : undefined;
      });
      assert.equal(done[`snapshot.table.public.${name}`], '300/300');
      assert.equal(done['snapshot.rows.done'], 300);
      const initial = await waitFor('300 reads', async () => {
        const messages = await topicMessages(log, topic);
        return messages.length >= 300 ? messages : undefined;
      });
      const point = sourceVersion(Number(initial[0]!.value!.payload.source.lsn));
      assert.ok(initial.every((message) => message.headers[SOURCE_VERSION_HEADER] === point));

      await assert.rejects(
        runtime.herder.sendSignal(name, { type: 'execute-snapshot', data: {} }),
        /data-collections/,
      );
      await runtime.herder.sendSignal(name, {
        type: 'execute-snapshot',
        data: { 'data-collections': [`public.${name}`], type: 'incremental' },
      });
      const incremental = await waitFor('300 incremental reads', async () => {
        const reads = (await topicMessages(log, topic)).filter(
          (message) => message.value?.payload.source.snapshot === 'incremental',
        );
        return reads.length >= 300 ? reads : undefined;
      });
      for (const message of incremental) {
        assert.equal(message.value!.payload.op, 'r');
        assert.ok(BigInt(message.headers[SOURCE_VERSION_HEADER]!) > BigInt(point));
      }
      await waitFor('the incremental snapshot in the status', async () => {
        const progress = (await runtime.herder.connectorStatus(name)).tasks[0]?.progress;
        return (
          progress?.['incremental.snapshot.chunks'] === 3 &&
          progress['incremental.snapshot.tables.remaining'] === 0
        );
      });
    } finally {
      await runtime.close();
      await log.close();
      await dropReplicationObjects(admin, name);
      await admin.query(`drop table if exists ${name}`);
    }
  });

  it('bad input: validation names the field, a failing start puts the remedy in the task status', async () => {
    const name = uniqueName('pgwbad');
    await admin.query(`create table ${name} (id int primary key)`);
    const dataDir = join(dir, 'bad');
    const runtime = await startRuntime(dataDir);
    try {
      const config = connectorConfig(name, { 'publication.autocreate.mode': 'disabled' });
      const validation = await runtime.herder.validateConfig('PostgresConnector', config);
      const publication = validation.configs.find(
        (entry) => entry.value.name === 'publication.name',
      );
      assert.ok(validation.error_count >= 1);
      assert.match(publication?.value.errors.join(' ') ?? '', /does not exist/);
      // Valid when registered (stopped), the publication gone by the start: the task fails with
      // the statement to run, not a hang.
      await admin.query(`create publication ${name} for table ${name}`);
      await runtime.herder.createConnector(name, config, 'STOPPED');
      await admin.query(`drop publication ${name}`);
      await runtime.herder.resumeConnector(name);
      const status = await waitFor('the task to fail', async () => {
        const current = await runtime.herder.connectorStatus(name).catch(() => undefined);
        return current?.tasks[0]?.state === 'FAILED' ? current : undefined;
      });
      assert.match(status.tasks[0]?.trace ?? '', /CREATE PUBLICATION/);
      await runtime.herder.deleteConnector(name);
    } finally {
      await runtime.close();
      await dropReplicationObjects(admin, name);
      await admin.query(`drop table if exists ${name}`);
    }
  });
});
