// The PostgreSQL source as a plugin. connector.class accepts Debezium's class name, so existing
// Debezium configs register unchanged. No import side effects.

import type { SourceConnectorPlugin } from '../../runtime/api/index.ts';
import { postgresSourceSchema } from './config.ts';
import { PostgresSourceConnector } from './connector.ts';
import { connectorVersion } from './source-info.ts';
import { PostgresSourceTask } from './task.ts';

export const postgresSourcePlugin: SourceConnectorPlugin = {
  kind: 'source',
  className: 'io.debezium.connector.postgresql.PostgresConnector',
  aliases: ['postgres', 'postgresql', 'kafki-postgres'],
  version: connectorVersion,
  description:
    'Streams committed row changes of PostgreSQL (logical replication, pgoutput) as Debezium change events.',
  configSchema: postgresSourceSchema,
  createConnector: () => new PostgresSourceConnector(),
  createTask: () => new PostgresSourceTask(),
};
