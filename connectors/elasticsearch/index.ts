// The Elasticsearch sink as a plugin. Accepts Confluent's class name so existing connector
// configs work unchanged. No import side effects.

import schema from '../../schemas/connectors/elasticsearch-sink.schema.json' with { type: 'json' };
import type { ConfigSchema, SinkConnectorPlugin } from '../../runtime/api/index.ts';
import { ElasticsearchSinkConnector } from './connector.ts';
import { ElasticsearchSinkTask } from './task.ts';

export const elasticsearchSinkPlugin: SinkConnectorPlugin = {
  kind: 'sink',
  className: 'io.kafki.connectors.elasticsearch.ElasticsearchSinkConnector',
  aliases: ['elasticsearch', 'io.confluent.connect.elasticsearch.ElasticsearchSinkConnector'],
  version: '1.0.0',
  description:
    'Writes records to Elasticsearch 7/8/9 with bulk requests: id from the key, versions from the source position, deletes, dead-lettering of refused documents.',
  configSchema: schema as unknown as ConfigSchema,
  createConnector: () => new ElasticsearchSinkConnector(),
  createTask: () => new ElasticsearchSinkTask(),
};
