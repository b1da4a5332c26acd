// Quick throughput check (not a test): N small documents written through the sink task (raw
// Debezium envelopes or unwrapped rows, versioned, batches of 500 put like the worker does,
// confirmed through preCommit) against the same documents through the client's bulk helper
// (the limit: no versions, no tracking). Alternates the two, fresh index each run.
//
//   node --import tsx test/integration/elasticsearch/measure-throughput.ts [docs] [rounds]
//   env: KAFKI_ES_SHAPE=envelope|row (default envelope), any sink key as ES_<key with _ for .>

import type { SinkRecord } from '../../../runtime/api/index.ts';
import { uniqueName } from '../../helpers/wait.ts';
import { customerKeySchema, esClient, memoryLogger, parsedConfig, esUrl } from './helpers.ts';
import { envelopeSchema } from './helpers.ts';
import { ElasticsearchSinkTask } from '../../../connectors/elasticsearch/task.ts';

const total = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 2);
const shape = process.env.KAFKI_ES_SHAPE ?? 'envelope';
const putBatch = 500;
const client = esClient();

const rowSchema = {
  type: 'struct' as const,
  name: 'pg.public.customers.Value',
  optional: true,
  fields: [
    { field: 'id', type: 'int32' as const },
    { field: 'name', type: 'string' as const },
    { field: 'email', type: 'string' as const },
    { field: 'city', type: 'string' as const },
    { field: 'balance', type: 'float64' as const },
    { field: 'active', type: 'boolean' as const },
  ],
};
const valueSchema = envelopeSchema(rowSchema);

function row(i: number) {
  return {
    id: i,
    name: `customer ${i}`,
    email: `c${i}@example.com`,
    city: 'London',
    balance: i * 1.5,
    active: i % 2 === 0,
  };
}

function records(topic: string): SinkRecord[] {
  const out: SinkRecord[] = new Array(total);
  for (let i = 0; i < total; i++) {
    const after = row(i);
    out[i] =
      shape === 'envelope'
        ? {
            topic,
            partition: 0,
            offset: i,
            key: { id: i },
            keySchema: customerKeySchema,
            value: {
              before: null,
              after,
              source: { connector: 'postgresql', name: 'pg', lsn: 1_000_000 + i, snapshot: 'true' },
              op: 'r',
              ts_ms: 1,
            },
            valueSchema,
          }
        : {
            topic,
            partition: 0,
            offset: i,
            key: { id: i },
            value: { ...after, __lsn: 1_000_000 + i },
          };
  }
  return out;
}

async function fresh(index: string) {
  await client.indices.create({
    index,
    settings: { number_of_shards: 1, number_of_replicas: 0, refresh_interval: '1s' },
  });
}

async function viaSink(): Promise<number> {
  const topic = uniqueName('bench_sink');
  await fresh(topic);
  const input = records(topic);
  const extra: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('ES_') && value !== undefined)
      extra[name.slice(3).replaceAll('_', '.')] = value;
  }
  const raw = { 'connection.url': esUrl, 'read.timeout.ms': '30000', ...extra };
  const task = new ElasticsearchSinkTask();
  await task.start(raw, {
    connectorName: 'bench',
    taskId: 0,
    logger: memoryLogger(),
    config: parsedConfig(raw),
    reportErrant: async () => {},
    reportProgress: () => {},
  });
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < total; i += putBatch) await task.put(input.slice(i, i + putBatch));
  const consumed = [{ topic, partition: 0, offset: total }];
  while ((await task.preCommit(consumed))[0]!.offset < total) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const seconds = (performance.now() - started) / 1000;
  cpuSink.push(cpuMs(cpu));
  await task.stop();
  await check(topic);
  await client.indices.delete({ index: topic });
  return total / seconds;
}

async function viaHelper(): Promise<number> {
  const index = uniqueName('bench_helper');
  await fresh(index);
  const docs = Array.from({ length: total }, (_, i) => row(i));
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await client.helpers.bulk({
    datasource: docs,
    onDocument: (doc) => ({ index: { _index: index, _id: String(doc.id) } }),
  });
  const seconds = (performance.now() - started) / 1000;
  cpuHelper.push(cpuMs(cpu));
  if (result.failed > 0) throw new Error(`${result.failed} documents failed`);
  await check(index);
  await client.indices.delete({ index });
  return total / seconds;
}

async function check(index: string) {
  await client.indices.refresh({ index });
  const { count } = await client.count({ index });
  if (count !== total) throw new Error(`${index} holds ${count} documents, expected ${total}`);
}

/** CPU time of this process (user + system) since `from`, in ms: what the client side costs. */
function cpuMs(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
}
const cpuSink: number[] = [];
const cpuHelper: number[] = [];

const sink: number[] = [];
const helper: number[] = [];
for (let round = 0; round < rounds; round++) {
  helper.push(await viaHelper());
  sink.push(await viaSink());
  console.log(
    `round ${round + 1}: bulk helper ${Math.round(helper.at(-1)!)} docs/s (client CPU ${Math.round(cpuHelper.at(-1)!)} ms), ` +
      `sink task (${shape}) ${Math.round(sink.at(-1)!)} docs/s (client CPU ${Math.round(cpuSink.at(-1)!)} ms)`,
  );
}
const best = (values: number[]) => Math.round(Math.max(...values));
const median = (values: number[]) =>
  Math.round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!);
console.log(
  JSON.stringify({
    docs: total,
    shape,
    helperBest: best(helper),
    sinkBest: best(sink),
    helperMedian: median(helper),
    sinkMedian: median(sink),
    ratioOfMedians: Number((median(sink) / median(helper)).toFixed(3)),
  }),
);
await client.close();
