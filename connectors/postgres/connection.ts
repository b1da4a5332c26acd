// Connections to PostgreSQL: the client settings every connection of the connector uses, the
// catalog queries (server checks, slots, tables, types) on a regular connection, and slot creation
// over a replication connection, which exports a snapshot that stays valid while that connection
// stays open.

import pg from 'pg';
import { parseLsn } from './pgoutput-decoder.ts';
import type { PostgresSourceConfig } from './config.ts';
import { classifyPostgresError, type ErrorContext } from './errors.ts';
import { typeFromRow, typeQuery, type PgTypeInfo, type TypeRow } from './type-registry.ts';

/**
 * Session settings the text parsers rely on (text-values.ts): they fix the text form of dates,
 * times, intervals, floats, bytea and money regardless of the server's defaults.
 */
export const sessionOptions =
  '-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex -c lc_monetary=C';

export function errorContext(config: PostgresSourceConfig): ErrorContext {
  return {
    host: config.hostname,
    port: config.port,
    database: config.database,
    user: config.user,
    slotName: config.slotName,
    publicationName: config.publicationName,
  };
}

export function clientConfig(config: PostgresSourceConfig, purpose: string): pg.ClientConfig {
  return {
    host: config.hostname,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    connectionTimeoutMillis: config.connectTimeoutMs,
    application_name: `kafki-${purpose}-${config.slotName}`.slice(0, 63),
    options: sessionOptions,
    keepAlive: true,
    ssl:
      config.sslMode === 'disable'
        ? false
        : config.sslMode === 'require'
          ? { rejectUnauthorized: false }
          : { rejectUnauthorized: true },
  };
}

/** Open a regular connection; failures come back classified (wrong password, unreachable…). */
export async function connect(config: PostgresSourceConfig, purpose: string): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(config, purpose));
  // An idle client whose server goes away emits 'error'; without a listener that would crash
  // the process. Callers see the failure on their next query instead.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw classifyPostgresError(error, errorContext(config));
  }
  return client;
}

export interface ServerFacts {
  walLevel: string;
  versionNumber: number;
  isSuperuser: boolean;
  canReplicate: boolean;
  canCreateInDatabase: boolean;
}

export async function serverFacts(client: pg.Client): Promise<ServerFacts> {
  const { rows } = await client.query<{
    wal_level: string;
    version: string;
    superuser: boolean;
    replication: boolean;
    can_create: boolean;
  }>(
    `select current_setting('wal_level') as wal_level,
            current_setting('server_version_num') as version,
            r.rolsuper as superuser, r.rolreplication as replication,
            has_database_privilege(current_database(), 'CREATE') as can_create
       from pg_roles r where r.rolname = current_user`,
  );
  const row = rows[0]!;
  return {
    walLevel: row.wal_level,
    versionNumber: Number(row.version),
    isSuperuser: row.superuser,
    canReplicate: row.superuser || row.replication,
    canCreateInDatabase: row.can_create,
  };
}

export interface SlotInfo {
  plugin: string;
  database: string;
  active: boolean;
  activePid: number | null;
  confirmedFlushLsn: number | null;
  restartLsn: number | null;
}

export async function slotInfo(client: pg.Client, slotName: string): Promise<SlotInfo | undefined> {
  const { rows } = await client.query<{
    plugin: string;
    database: string;
    active: boolean;
    active_pid: number | null;
    confirmed_flush_lsn: string | null;
    restart_lsn: string | null;
  }>(
    `select plugin, database, active, active_pid, confirmed_flush_lsn::text, restart_lsn::text
       from pg_replication_slots where slot_name = $1 and slot_type = 'logical'`,
    [slotName],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    plugin: row.plugin,
    database: row.database,
    active: row.active,
    activePid: row.active_pid,
    confirmedFlushLsn: row.confirmed_flush_lsn ? parseLsn(row.confirmed_flush_lsn) : null,
    restartLsn: row.restart_lsn ? parseLsn(row.restart_lsn) : null,
  };
}

/** Drop a slot if it exists and nobody uses it; true when it was dropped. */
export async function dropSlot(client: pg.Client, slotName: string): Promise<boolean> {
  const { rows } = await client.query<{ dropped: boolean }>(
    `select pg_drop_replication_slot(slot_name) is not null as dropped
       from pg_replication_slots where slot_name = $1 and not active`,
    [slotName],
  );
  return rows.length > 0;
}

/** A slot created over a replication connection, with the snapshot it exported. */
export interface CreatedSlot {
  slotName: string;
  /** The LSN from which the slot streams: the snapshot shows exactly the data before it. */
  consistentPoint: number;
  /** For SET TRANSACTION SNAPSHOT '<name>' on other connections, valid until `release()`. */
  snapshotName: string;
  /** Close the replication connection (the exported snapshot stops being valid). */
  release(): Promise<void>;
}

/**
 * CREATE_REPLICATION_SLOT … EXPORT_SNAPSHOT over a replication connection. The command waits for
 * transactions running at the time to finish. The connection is kept open, because the exported
 * snapshot only lives as long as it does and no other command runs on it.
 *
 * `temporary`: a TEMPORARY slot under `slotName`, which PostgreSQL drops when the connection
 * closes (or the process dies). Its exported snapshot is exactly consistent with its consistent
 * point, which a re-snapshot with an existing slot needs (see snapshot.ts).
 */
export async function createSlotWithSnapshot(
  config: PostgresSourceConfig,
  options: { temporary?: boolean; slotName?: string } = {},
): Promise<CreatedSlot> {
  const slotName = options.slotName ?? config.slotName;
  const client = new pg.Client({
    ...clientConfig(config, options.temporary ? 'snapshot-slot' : 'slot'),
    replication: 'database',
  } as pg.ClientConfig);
  client.on('error', () => {});
  try {
    await client.connect();
    const result = await client.query<{
      slot_name: string;
      consistent_point: string;
      snapshot_name: string;
    }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slotName)} ${options.temporary ? 'TEMPORARY ' : ''}LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = result.rows[0]!;
    return {
      slotName: row.slot_name,
      consistentPoint: parseLsn(row.consistent_point),
      snapshotName: row.snapshot_name,
      release: async () => {
        await client.end().catch(() => undefined);
      },
    };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw classifyPostgresError(error, errorContext(config));
  }
}

/**
 * A regular connection inside an exported snapshot: BEGIN ISOLATION LEVEL REPEATABLE READ READ
 * ONLY; SET TRANSACTION SNAPSHOT. Every query on it sees exactly the exported snapshot's data.
 */
export async function connectInSnapshot(
  config: PostgresSourceConfig,
  snapshotName: string,
): Promise<pg.Client> {
  const client = await connect(config, 'snapshot');
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT ${pg.escapeLiteral(snapshotName)}`);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw classifyPostgresError(error, errorContext(config));
  }
  return client;
}

/** What a snapshot needs to know about a table beyond its TableCatalog row. */
export interface TableShape {
  oid: number;
  replicaIdentity: 'default' | 'nothing' | 'full' | 'index';
  /** pg_class.reltuples: an estimate, -1 when never analyzed. */
  estimatedRows: number;
  /** Columns as a relation message would list them (no dropped or generated ones). */
  columns: Array<{ name: string; typeOid: number; typeModifier: number; typeName: string }>;
}

const replicaIdentities = { d: 'default', n: 'nothing', f: 'full', i: 'index' } as const;

export async function loadTableShapes(
  client: pg.Client,
  oids: readonly number[],
): Promise<TableShape[]> {
  const { rows } = await client.query<{
    oid: string;
    relreplident: keyof typeof replicaIdentities;
    reltuples: number;
    columns: Array<{ name: string; type_oid: number; type_modifier: number; type_name: string }>;
  }>(
    `select c.oid::int8 as oid, c.relreplident, c.reltuples::float8 as reltuples,
            coalesce((select json_agg(json_build_object('name', a.attname, 'type_oid', a.atttypid::int8,
                                      'type_modifier', a.atttypmod,
                                      'type_name', format_type(a.atttypid, a.atttypmod))
                                      order by a.attnum)
                        from pg_attribute a
                       where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                         and a.attgenerated = ''), '[]') as columns
       from pg_class c where c.oid = any($1::oid[])`,
    [[...oids]],
  );
  return rows.map((row) => ({
    oid: Number(row.oid),
    replicaIdentity: replicaIdentities[row.relreplident] ?? 'default',
    estimatedRows: row.reltuples,
    columns: row.columns.map((column) => ({
      name: column.name,
      typeOid: column.type_oid,
      typeModifier: column.type_modifier,
      typeName: column.type_name,
    })),
  }));
}

export async function loadTypes(
  client: pg.Client,
  oids?: readonly number[],
): Promise<PgTypeInfo[]> {
  const { rows } = await client.query<TypeRow>(typeQuery, [oids ? [...oids] : null]);
  return rows.map(typeFromRow);
}

/** What the catalog says about a table that pgoutput relation messages do not carry. */
export interface TableCatalog {
  oid: number;
  schema: string;
  table: string;
  /** Columns declared NOT NULL. */
  notNull: ReadonlySet<string>;
  /** Primary key columns, in table column order ([] for a table without one). */
  primaryKey: readonly string[];
}

const tableCatalogQuery = `
  select c.oid::int8 as oid, n.nspname as schema, c.relname as table,
         coalesce((select array_agg(a.attname::text order by a.attnum) from pg_attribute a
                    where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attnotnull),
                  '{}') as not_null,
         coalesce((select array_agg(a.attname::text order by a.attnum)
                     from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
                    where i.indrelid = c.oid and i.indisprimary),
                  '{}') as primary_key
    from pg_class c join pg_namespace n on n.oid = c.relnamespace`;

interface TableCatalogRow {
  oid: string;
  schema: string;
  table: string;
  not_null: string[];
  primary_key: string[];
}

function tableFromRow(row: TableCatalogRow): TableCatalog {
  return {
    oid: Number(row.oid),
    schema: row.schema,
    table: row.table,
    notNull: new Set(row.not_null),
    primaryKey: row.primary_key,
  };
}

export async function loadTables(
  client: pg.Client,
  oids: readonly number[],
): Promise<TableCatalog[]> {
  const { rows } = await client.query<TableCatalogRow>(
    `${tableCatalogQuery} where c.oid = any($1::oid[])`,
    [[...oids]],
  );
  return rows.map(tableFromRow);
}

/** The tables a publication covers (to preload their catalog rows at start). */
export async function loadPublicationTables(
  client: pg.Client,
  publication: string,
): Promise<TableCatalog[]> {
  const { rows } = await client.query<TableCatalogRow>(
    `${tableCatalogQuery}
      where c.oid in (select (quote_ident(p.schemaname) || '.' || quote_ident(p.tablename))::regclass::oid
                        from pg_publication_tables p where p.pubname = $1)`,
    [publication],
  );
  return rows.map(tableFromRow);
}

/** Ordinary and partitioned tables outside the system schemas. */
export async function listUserTables(
  client: pg.Client,
): Promise<Array<{ schema: string; table: string }>> {
  const { rows } = await client.query<{ schema: string; table: string }>(
    `select n.nspname as schema, c.relname as table
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p') and not c.relispartition
        and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
      order by 1, 2`,
  );
  return rows;
}

/** Bytes of WAL the slot holds back: pg_current_wal_lsn() − confirmed_flush_lsn. */
export async function slotRetainedBytes(
  client: pg.Client,
  slotName: string,
): Promise<number | undefined> {
  const { rows } = await client.query<{ retained: string | null }>(
    `select pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::int8 as retained
       from pg_replication_slots where slot_name = $1`,
    [slotName],
  );
  const retained = rows[0]?.retained;
  return retained === null || retained === undefined ? undefined : Number(retained);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The task's regular connection for catalog lookups, heartbeats and lag checks. It reconnects on
 * the next use after the server went away (a restart must not leave the task with a dead client).
 */
export class MetadataConnection {
  private client: pg.Client | undefined;
  private pending: Promise<pg.Client> | undefined;

  constructor(private readonly config: PostgresSourceConfig) {}

  async get(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.pending ??= connect(this.config, 'meta').then(
      (client) => {
        const forget = () => {
          if (this.client === client) this.client = undefined;
        };
        client.on('error', forget);
        client.on('end', forget);
        this.client = client;
        this.pending = undefined;
        return client;
      },
      (error: unknown) => {
        this.pending = undefined;
        throw error;
      },
    );
    return this.pending;
  }

  async query<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]> {
    const client = await this.get();
    try {
      return (await client.query<T>(text, values)).rows;
    } catch (error) {
      throw classifyPostgresError(error, errorContext(this.config));
    }
  }

  async close(): Promise<void> {
    const client = this.client ?? (await this.pending?.catch(() => undefined));
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
