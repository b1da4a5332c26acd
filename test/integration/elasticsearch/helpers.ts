// Task-level harness for the Elasticsearch sink tests: the config parsed by the runtime's own
// flat-config parser against the plugin schema (so defaults and coercion are the real ones), a
// small SinkTaskContext that records errant reports, record builders for Debezium envelopes and
// unwrapped rows, and a client to look at what Elasticsearch holds.

import { Client } from '@elastic/elasticsearch';
import type {
  ConnectSchema,
  Logger,
  RawConfig,
  RecordData,
  RecordHeaders,
  RecordObject,
  SinkRecord,
  SinkTaskContext,
} from '../../../runtime/api/index.ts';
import { parseFlatConfig } from '../../../runtime/config/flat-config.ts';
import { SchemaCompiler } from '../../../runtime/config/json-schema.ts';
import { elasticsearchSinkPlugin } from '../../../connectors/elasticsearch/index.ts';
import { ElasticsearchSinkTask } from '../../../connectors/elasticsearch/task.ts';
import type { ElasticsearchSinkTaskOptions } from '../../../connectors/elasticsearch/task.ts';
import { serviceAddresses } from '../../services/addresses.ts';

export const esUrl = serviceAddresses().elasticsearchUrl;

export function esClient(): Client {
  return new Client({ node: esUrl, requestTimeout: 30_000 });
}

export interface LogEntry {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
}

export function memoryLogger(entries: LogEntry[] = []): Logger {
  const at =
    (level: LogEntry['level']) =>
    (first: string | object, second?: string): void => {
      entries.push({ level, message: typeof first === 'string' ? first : (second ?? '') });
    };
  const logger: Logger = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: () => logger,
  };
  return logger;
}

export interface Errant {
  record: SinkRecord;
  error: Error;
}

export interface Harness {
  task: ElasticsearchSinkTask;
  errant: Errant[];
  logs: LogEntry[];
}

const compiler = new SchemaCompiler();

/** Parse like the worker does; throws on a config the schema refuses. */
export function parsedConfig(raw: RawConfig) {
  const result = parseFlatConfig(elasticsearchSinkPlugin.configSchema, raw, compiler);
  if (result.errors.length > 0) throw new Error(JSON.stringify(result.errors));
  return result.values;
}

export async function startTask(
  raw: RawConfig,
  options: ElasticsearchSinkTaskOptions & {
    reportErrant?: (record: SinkRecord, error: Error) => Promise<void>;
  } = {},
): Promise<Harness> {
  const errant: Errant[] = [];
  const logs: LogEntry[] = [];
  const config = { 'connection.url': esUrl, 'index.replicas': '0', ...raw };
  const context: SinkTaskContext = {
    connectorName: 'es-test',
    taskId: 0,
    logger: memoryLogger(logs),
    config: parsedConfig(config),
    reportErrant: async (record, error) => {
      errant.push({ record, error });
      if (options.reportErrant) await options.reportErrant(record, error);
    },
    reportProgress: () => {},
  };
  const task = new ElasticsearchSinkTask(options);
  await task.start(config, context);
  return { task, errant, logs };
}

// --- records -------------------------------------------------------------------------------

export const customerKeySchema: ConnectSchema = {
  type: 'struct',
  name: 'pg.public.customers.Key',
  optional: false,
  fields: [{ field: 'id', type: 'int32', optional: false }],
};

export const customerRowSchema: ConnectSchema = {
  type: 'struct',
  name: 'pg.public.customers.Value',
  optional: true,
  fields: [
    { field: 'id', type: 'int32', optional: false },
    { field: 'name', type: 'string', optional: true },
    { field: 'city', type: 'string', optional: true },
  ],
};

export function envelopeSchema(row: ConnectSchema): ConnectSchema {
  return {
    type: 'struct',
    name: `${row.name ?? 'row'}.Envelope`,
    optional: false,
    fields: [
      { ...row, field: 'before' },
      { ...row, field: 'after' },
      {
        field: 'source',
        type: 'struct',
        optional: false,
        fields: [
          { field: 'connector', type: 'string', optional: false },
          { field: 'lsn', type: 'int64', optional: true },
        ],
      },
      { field: 'op', type: 'string', optional: false },
      { field: 'ts_ms', type: 'int64', optional: true },
    ],
  };
}

export interface Position {
  topic: string;
  partition?: number;
  offset: number;
}

/** A PostgreSQL Debezium change event (raw envelope). */
export function pgEvent(
  at: Position,
  op: 'c' | 'u' | 'd' | 'r',
  key: RecordObject,
  row: RecordObject | null,
  lsn: number,
  options: { schema?: ConnectSchema; keySchema?: ConnectSchema; before?: RecordObject } = {},
): SinkRecord {
  const rowSchema = options.schema ?? customerRowSchema;
  return {
    topic: at.topic,
    partition: at.partition ?? 0,
    offset: at.offset,
    key,
    keySchema: options.keySchema ?? customerKeySchema,
    value: {
      before: op === 'd' ? (options.before ?? key) : (options.before ?? null),
      after: op === 'd' ? null : row,
      source: {
        version: '3.0.0',
        connector: 'postgresql',
        name: 'pg',
        ts_ms: 1_700_000_000_000,
        snapshot: op === 'r' ? 'true' : 'false',
        db: 'test',
        schema: 'public',
        table: 'customers',
        lsn,
      },
      op,
      ts_ms: 1_700_000_000_000,
    },
    valueSchema: envelopeSchema(rowSchema),
  };
}

/** A MySQL Debezium change event (raw envelope) at binlog file/pos. */
export function mysqlEvent(
  at: Position,
  op: 'c' | 'u' | 'd' | 'r',
  key: RecordObject,
  row: RecordObject | null,
  file: string,
  pos: number,
): SinkRecord {
  return {
    topic: at.topic,
    partition: at.partition ?? 0,
    offset: at.offset,
    key,
    value: {
      before: op === 'd' ? key : null,
      after: op === 'd' ? null : row,
      source: { connector: 'mysql', name: 'my', file, pos, row: 0, snapshot: 'false' },
      op,
    },
  };
}

/** An unwrapped row (ExtractNewRecordState), optionally without schema; null value = tombstone. */
export function rowRecord(
  at: Position,
  key: RecordData,
  value: RecordData,
  extra: { headers?: RecordHeaders; valueSchema?: ConnectSchema; keySchema?: ConnectSchema } = {},
): SinkRecord {
  return {
    topic: at.topic,
    partition: at.partition ?? 0,
    offset: at.offset,
    key,
    value,
    ...(extra.headers ? { headers: extra.headers } : {}),
    ...(extra.valueSchema ? { valueSchema: extra.valueSchema } : {}),
    ...(extra.keySchema ? { keySchema: extra.keySchema } : {}),
  };
}

/** Put, then flush everything by stopping? No: wait until preCommit confirms all records. */
export async function putAndConfirm(task: ElasticsearchSinkTask, records: SinkRecord[]) {
  await task.put(records);
  const last = new Map<string, { topic: string; partition: number; offset: number }>();
  for (const record of records) {
    last.set(`${record.topic}/${record.partition}`, {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset + 1,
    });
  }
  const consumed = [...last.values()];
  for (;;) {
    const safe = await task.preCommit(consumed);
    if (safe.every((position, i) => position.offset === consumed[i]!.offset)) return safe;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function docs(client: Client, index: string): Promise<Map<string, unknown>> {
  await client.indices.refresh({ index });
  const result = await client.search({ index, size: 1000, sort: ['_doc'] });
  return new Map(result.hits.hits.map((hit) => [hit._id!, hit._source]));
}

export async function version(client: Client, index: string, id: string) {
  const doc = await client.get({ index, id }, { ignore: [404] });
  return doc.found ? doc._version : undefined;
}
