// ElasticsearchSinkConnector: plans the tasks (each gets the whole configuration; the log's
// consumer group spreads the partitions over them) and checks, on validate, what the JSON Schema
// cannot: cross-key rules, index names, and that Elasticsearch answers with these credentials.

import { Client } from '@elastic/elasticsearch';
import type {
  Connector,
  ConnectorContext,
  FieldError,
  ParsedConfig,
  RawConfig,
} from '../../runtime/api/index.ts';
import { InvalidInputError } from '../../runtime/api/index.ts';
import { parseSinkConfig } from './config.ts';
import { ErrorCodes } from './errors.ts';
import { classifyRequestError } from './retry.ts';
import { clientOptions } from './task.ts';

/** Parsed config values back to the flat string form task configs travel in. */
function toRaw(config: ParsedConfig): RawConfig {
  const raw: RawConfig = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    raw[key] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return raw;
}

export class ElasticsearchSinkConnector implements Connector {
  private config: ParsedConfig = {};

  async start(config: ParsedConfig, _context: ConnectorContext): Promise<void> {
    const { errors } = parseSinkConfig(config);
    if (errors.length > 0) {
      throw new InvalidInputError(
        ErrorCodes.invalidConfig,
        `Invalid Elasticsearch sink configuration: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`,
      );
    }
    this.config = config;
  }

  async taskConfigs(maxTasks: number): Promise<RawConfig[]> {
    const task = toRaw(this.config);
    return Array.from({ length: Math.max(1, maxTasks) }, () => ({ ...task }));
  }

  async stop(): Promise<void> {}

  async validateLive(config: ParsedConfig): Promise<FieldError[]> {
    const { config: parsed, errors } = parseSinkConfig(config);
    if (errors.length > 0) return errors;
    const client = new Client(clientOptions(parsed));
    try {
      const info = await client.info({}, { requestTimeout: Math.max(parsed.readTimeoutMs, 5000) });
      const major = Number(info.version.number.split('.')[0]);
      if (!(major >= 7)) {
        return [
          {
            field: 'connection.url',
            message: `Elasticsearch ${info.version.number} is not supported (7.x, 8.x or 9.x needed)`,
          },
        ];
      }
      return [];
    } catch (error) {
      const failure = classifyRequestError(error);
      const field = /status 40[13]/.test(failure.reason) ? 'connection.username' : 'connection.url';
      return [
        {
          field,
          message: `Could not reach Elasticsearch at ${parsed.urls.join(', ')}: ${failure.reason}`,
        },
      ];
    } finally {
      await client.close();
    }
  }
}
