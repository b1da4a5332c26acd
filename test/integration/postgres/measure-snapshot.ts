// Quick local measurement (not a pass/fail test): the initial snapshot of an N-row, 10-column
// table (the benchmark's shape) by the PostgreSQL source task, snapshot.mode=initial_only, records
// polled and dropped (or turned into Debezium JSON with `json`), timed from start() to the last
// record. With `readers` it also compares the two ways of reading rows on one connection, without
// records: COPY … TO STDOUT through the text-format parser, and a cursor FETCHing batches as text.
//
//   node --import tsx test/integration/postgres/measure-snapshot.ts [rows=1000000] [threads=2,4]
//        [chunk=65536] [json] [readers] [keep]
//
// The table (kafki_snapshot_bench_<rows>) is loaded once and kept with `keep` for later runs.

import pg from 'pg';
import { JsonConverter } from '../../../runtime/converters/json-converter.ts';
import { postgresConfig } from '../../../connectors/postgres/config.ts';
import { connect, loadTableShapes, loadTypes } from '../../../connectors/postgres/connection.ts';
import { copyOut } from '../../../connectors/postgres/copy-reader.ts';
import { relationFromCatalog, TableSchema } from '../../../connectors/postgres/table-schema.ts';
import { TypeRegistry } from '../../../connectors/postgres/type-registry.ts';
import { CaptureFilter, KeyColumnOverrides } from '../../../runtime/cdc/filters.ts';
import { adminClient, baseConfig, startTask } from './harness.ts';

const args = process.argv.slice(2);
const rows = Number(args[0] ?? 1_000_000);
const threadCounts = (args[1] ?? '2,4').split(',').map(Number);
const chunk = Number(args[2] ?? 65536);
const flags = new Set(args.slice(3));
const table = `kafki_snapshot_bench_${rows}`;

const admin = await adminClient();
const exists = (
  await admin.query<{ count: string }>(
    `select count(*) as count from pg_class where relname = $1 and relkind = 'r'`,
    [table],
  )
).rows[0]!.count;
if (exists === '0') {
  console.log(`loading ${rows} rows into ${table}…`);
  await admin.query(`
    create table ${table} (
      id bigint primary key, customer_id integer not null, order_no bigint not null,
      amount numeric(12,2) not null, description text not null, status varchar(16) not null,
      is_paid boolean not null, created_at timestamptz not null, score double precision not null,
      attrs jsonb not null)`);
  for (let low = 1; low <= rows; low += 100_000) {
    await admin.query(
      `insert into ${table}
       select i, ((i * 7919) % 100000)::integer, 1000000000000 + i, ((i * 37) % 1000000) / 100.0,
              'order ' || md5(i::text), (array['new','paid','shipped','delivered','cancelled'])[1 + i % 5],
              i % 3 = 0, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', (i % 1000) / 7.0,
              jsonb_build_object('channel', case when i % 2 = 0 then 'web' else 'app' end,
                                 'items', i % 10, 'gift', i % 7 = 0)
         from generate_series($1::bigint, $2::bigint) as i`,
      [low, Math.min(rows, low + 99_999)],
    );
  }
  await admin.query(`vacuum analyze ${table}`);
}

function rss(): number {
  return Math.round(process.memoryUsage().rss / 1048576);
}

if (flags.has('readers')) {
  const config = postgresConfig(baseConfig('measure'));
  const client = await connect(config, 'measure');
  const oid = Number(
    (await client.query<{ oid: string }>(`select $1::regclass::oid as oid`, [table])).rows[0]!.oid,
  );
  const [shape] = await loadTableShapes(client, [oid]);
  const registry = new TypeRegistry(await loadTypes(client));
  const schema = new TableSchema(
    relationFromCatalog(oid, 'public', table, shape!.replicaIdentity, shape!.columns),
    { oid, schema: 'public', table, notNull: new Set(), primaryKey: ['id'] },
    registry,
    {
      topicPrefix: 'm',
      filter: new CaptureFilter({}),
      keyOverrides: new KeyColumnOverrides(undefined),
      typeModes: config.typeModes,
    },
  );
  const columns = schema.readColumnNames.join(', ');
  for (let round = 0; round < 2; round++) {
    let count = 0;
    let started = performance.now();
    await copyOut(client, `select ${columns} from ${table} order by id`, {
      onRow: (data) => {
        schema.decodeCopyRow(data, 0, data.length - 1);
        schema.makeRow(schema.values);
        count++;
        return true;
      },
      waitForRoom: async () => {},
    });
    const copySeconds = (performance.now() - started) / 1000;
    console.log(
      `COPY text + parser: ${count} rows in ${copySeconds.toFixed(2)} s = ${Math.round(count / copySeconds)} rows/s`,
    );

    // A cursor FETCHing 10k rows at a time, every value as text (no pg type parsing), then the
    // same converters from text.
    const converters = schema.readColumns.map((index) => schema.columns[index]!.type!.fromText);
    const textTypes = { getTypeParser: () => (value: string) => value };
    count = 0;
    started = performance.now();
    await client.query('begin');
    await client.query(
      `declare c no scroll cursor for select ${columns} from ${table} order by id`,
    );
    for (;;) {
      const result = await client.query<unknown[]>({
        text: 'fetch 10000 from c',
        rowMode: 'array',
        types: textTypes as unknown as pg.CustomTypesConfig,
      });
      if (result.rows.length === 0) break;
      for (const row of result.rows) {
        for (let i = 0; i < converters.length; i++) {
          const value = row[i] as string | null;
          schema.values[schema.readColumns[i]!] = value === null ? null : converters[i]!(value);
        }
        schema.makeRow(schema.values);
        count++;
      }
    }
    await client.query('commit');
    const cursorSeconds = (performance.now() - started) / 1000;
    console.log(
      `cursor FETCH 10000 (text): ${count} rows in ${cursorSeconds.toFixed(2)} s = ${Math.round(count / cursorSeconds)} rows/s`,
    );
  }
  await client.end();
}

const json = new JsonConverter(true);
for (const threads of threadCounts) {
  const name = `snapm_${process.pid}_${threads}`;
  const started = performance.now();
  let peak = rss();
  const task = await startTask(
    baseConfig(name, {
      'table.include.list': `public\\.${table}`,
      'publication.autocreate.mode': 'filtered',
      'snapshot.mode': 'initial_only',
      'snapshot.max.threads': String(threads),
      'snapshot.chunk.size': String(chunk),
      'max.batch.size': '2048',
    }),
    undefined,
    { commit: false },
  );
  let count = 0;
  let bytes = 0;
  try {
    while (count < rows) {
      const batch = await task.task.poll(new AbortController().signal);
      count += batch.length;
      if (flags.has('json')) {
        for (const record of batch) {
          bytes += json.fromConnect(record.topic, record.valueSchema, record.value)?.length ?? 0;
        }
      }
      if (count % 100_000 < batch.length) peak = Math.max(peak, rss());
    }
  } finally {
    await task.task.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `snapshot.max.threads=${threads} snapshot.chunk.size=${chunk}${flags.has('json') ? ' +JSON' : ''}: ` +
      `${count} rows in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)} rows/s, peak RSS ${peak} MB` +
      (bytes > 0 ? `, ${Math.round(bytes / 1048576)} MB of JSON` : ''),
  );
  await admin.query(`drop publication if exists ${name}`);
}

if (!flags.has('keep')) await admin.query(`drop table ${table}`);
await admin.end();
