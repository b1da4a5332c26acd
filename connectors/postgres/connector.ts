// The PostgreSQL source connector: plans one task (a slot has one reader), checks the server
// before anything starts (validateLive), and drops the slot when the connector is deleted if asked
// to (slot.drop.on.delete).

import type {
  Connector,
  ConnectorContext,
  FieldError,
  ParsedConfig,
  RawConfig,
} from '../../runtime/api/index.ts';
import { KafkiError } from '../../runtime/api/index.ts';
import { postgresConfig, postgresConfigErrors, type PostgresSourceConfig } from './config.ts';
import { dropSlot, MetadataConnection, serverFacts, slotInfo } from './connection.ts';
import { PostgresErrorCode } from './errors.ts';
import { publicationState } from './publication.ts';

/** Which config key a classified error is about, for the validate endpoint. */
function fieldOf(error: KafkiError): string {
  switch (error.code) {
    case PostgresErrorCode.authentication:
      return 'database.password';
    case PostgresErrorCode.databaseMissing:
      return 'database.dbname';
    case PostgresErrorCode.replicationPrivilege:
    case PostgresErrorCode.privilege:
      return 'database.user';
    case PostgresErrorCode.slotInUse:
    case PostgresErrorCode.slotMissing:
      return 'slot.name';
    case PostgresErrorCode.publicationMissing:
      return 'publication.name';
    default:
      return 'database.hostname';
  }
}

/**
 * Everything a start would trip over, as per-field errors: reachability and credentials,
 * wal_level, the REPLICATION attribute, the publication in the configured autocreate mode, and a
 * slot that is busy or belongs to another database or plugin.
 */
export async function validatePostgres(config: PostgresSourceConfig): Promise<FieldError[]> {
  const metadata = new MetadataConnection(config);
  const errors: FieldError[] = [];
  try {
    const client = await metadata.get();
    const facts = await serverFacts(client);
    if (facts.walLevel !== 'logical') {
      errors.push({
        field: 'database.hostname',
        message: `the server has wal_level=${facts.walLevel}; logical decoding needs wal_level=logical (set it in postgresql.conf or with ALTER SYSTEM, then restart PostgreSQL)`,
      });
    }
    if (!facts.canReplicate) {
      errors.push({
        field: 'database.user',
        message: `user "${config.user}" has neither REPLICATION nor superuser; grant it with: ALTER ROLE "${config.user}" WITH REPLICATION`,
      });
    }
    const publication = await publicationState(client, config.publicationName);
    if (!publication.exists) {
      if (config.publicationAutocreateMode === 'disabled') {
        errors.push({
          field: 'publication.name',
          message: `publication "${config.publicationName}" does not exist and publication.autocreate.mode is disabled; create it or set publication.autocreate.mode to filtered or all_tables`,
        });
      } else if (config.publicationAutocreateMode === 'all_tables' && !facts.isSuperuser) {
        errors.push({
          field: 'publication.autocreate.mode',
          message: `creating a publication FOR ALL TABLES needs a superuser; user "${config.user}" is not one. Use publication.autocreate.mode=filtered or create the publication beforehand`,
        });
      } else if (!facts.canCreateInDatabase) {
        errors.push({
          field: 'publication.autocreate.mode',
          message: `user "${config.user}" may not create the publication (needs CREATE on database "${config.database}")`,
        });
      }
    }
    const slot = await slotInfo(client, config.slotName);
    // An active slot is not a config error: a running connector's own task holds its slot, so
    // refusing it here would refuse every config update and every restart right after a crash
    // (the dead consumer's walsender lingers briefly). The task reports a slot held by someone
    // else in its status (POSTGRES_SLOT_IN_USE, retried with backoff).
    if (slot && (slot.plugin !== 'pgoutput' || slot.database !== config.database)) {
      errors.push({
        field: 'slot.name',
        message: `replication slot "${config.slotName}" exists for ${slot.plugin === 'pgoutput' ? `database "${slot.database}"` : `plugin ${slot.plugin}`}; choose another slot.name`,
      });
    }
  } catch (error) {
    if (error instanceof KafkiError) errors.push({ field: fieldOf(error), message: error.message });
    else throw error;
  } finally {
    await metadata.close();
  }
  return errors;
}

export class PostgresSourceConnector implements Connector {
  private config: ParsedConfig = {};

  async start(config: ParsedConfig, _context: ConnectorContext): Promise<void> {
    this.config = config;
    postgresConfig(config);
  }

  /** One task: a replication slot streams to one consumer. */
  async taskConfigs(_maxTasks: number): Promise<RawConfig[]> {
    const task: RawConfig = {};
    for (const [key, value] of Object.entries(this.config)) {
      if (value !== undefined) task[key] = Array.isArray(value) ? value.join(',') : String(value);
    }
    return [task];
  }

  async stop(): Promise<void> {}

  async validateLive(config: ParsedConfig): Promise<FieldError[]> {
    const problems = postgresConfigErrors(config);
    if (problems.length > 0) return problems;
    return validatePostgres(postgresConfig(config));
  }

  async onDeleted(config: ParsedConfig): Promise<void> {
    const typed = postgresConfig(config);
    if (!typed.slotDropOnDelete) return;
    const metadata = new MetadataConnection(typed);
    try {
      const client = await metadata.get();
      // The task's walsender releases the slot shortly after the task stopped.
      for (let attempt = 0; attempt < 100; attempt++) {
        const slot = await slotInfo(client, typed.slotName);
        if (!slot) return;
        if (!slot.active && (await dropSlot(client, typed.slotName))) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new KafkiError(
        PostgresErrorCode.slotInUse,
        `replication slot "${typed.slotName}" is still in use; drop it by hand with SELECT pg_drop_replication_slot('${typed.slotName}')`,
      );
    } finally {
      await metadata.close();
    }
  }
}
