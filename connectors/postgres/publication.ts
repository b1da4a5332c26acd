// The publication pgoutput streams (publication.autocreate.mode, as in Debezium):
// - disabled: it must exist; a missing one is a clear error with the statement to run;
// - all_tables: created FOR ALL TABLES when missing (needs superuser); never changed;
// - filtered: created for the tables the include/exclude lists select (and the signal table),
//   and set to exactly those tables at a start when they differ (so a changed list, or a table created since, takes
//   effect at the next start).

import type pg from 'pg';
import { KafkiError } from '../../runtime/api/index.ts';
import type { CaptureFilter } from '../../runtime/cdc/filters.ts';
import type { PostgresSourceConfig } from './config.ts';
import { listUserTables, quoteIdent } from './connection.ts';
import { PostgresErrorCode } from './errors.ts';

export interface PublicationState {
  exists: boolean;
  allTables: boolean;
}

/** PostgreSQL's quote_ident: quotes only names that need it. */
function quoteIdentIfNeeded(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}

export async function publicationState(client: pg.Client, name: string): Promise<PublicationState> {
  const { rows } = await client.query<{ puballtables: boolean }>(
    'select puballtables from pg_publication where pubname = $1',
    [name],
  );
  return { exists: rows.length > 0, allTables: rows[0]?.puballtables ?? false };
}

export function missingPublicationError(config: PostgresSourceConfig): KafkiError {
  return new KafkiError(
    PostgresErrorCode.publicationMissing,
    `publication "${config.publicationName}" does not exist in database "${config.database}" and publication.autocreate.mode is disabled. ` +
      `Create it (CREATE PUBLICATION ${quoteIdent(config.publicationName)} FOR TABLE ...) or set publication.autocreate.mode to filtered or all_tables`,
  );
}

/** Make the publication match the configured mode; returns what was done, for the log. */
export async function ensurePublication(
  client: pg.Client,
  config: PostgresSourceConfig,
  filter: CaptureFilter,
): Promise<'exists' | 'created' | 'updated'> {
  const name = quoteIdent(config.publicationName);
  const state = await publicationState(client, config.publicationName);
  switch (config.publicationAutocreateMode) {
    case 'disabled':
      if (!state.exists) throw missingPublicationError(config);
      return 'exists';
    case 'all_tables':
      if (state.exists) return 'exists';
      await client.query(`CREATE PUBLICATION ${name} FOR ALL TABLES`);
      return 'created';
    case 'filtered': {
      // The signal table too: the stream reads signals from its inserts.
      const signal = config.signalTable;
      const selected = (await listUserTables(client)).filter(
        ({ schema, table }) =>
          filter.includesTable(schema, table) ||
          (signal !== undefined && signal[0] === schema && signal[1] === table),
      );
      const tables = selected.map(
        ({ schema, table }) => `${quoteIdent(schema)}.${quoteIdent(table)}`,
      );
      if (!state.exists) {
        await client.query(
          tables.length > 0
            ? `CREATE PUBLICATION ${name} FOR TABLE ${tables.join(', ')}`
            : `CREATE PUBLICATION ${name}`,
        );
        return 'created';
      }
      if (state.allTables || tables.length === 0) return 'exists';
      const { rows } = await client.query<{ name: string }>(
        `select quote_ident(schemaname) || '.' || quote_ident(tablename) as name
           from pg_publication_tables where pubname = $1`,
        [config.publicationName],
      );
      const current = new Set(rows.map((row) => row.name));
      const wanted = selected.map(
        ({ schema, table }) => `${quoteIdentIfNeeded(schema)}.${quoteIdentIfNeeded(table)}`,
      );
      if (wanted.length === current.size && wanted.every((table) => current.has(table))) {
        return 'exists';
      }
      await client.query(`ALTER PUBLICATION ${name} SET TABLE ${tables.join(', ')}`);
      return 'updated';
    }
  }
}
