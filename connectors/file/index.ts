// The file connectors as plugins: FileStreamSource / FileStreamSink, named like Kafka Connect's.
// The simplest complete example of the connector contract; no import side effects.

import sinkSchema from '../../schemas/connectors/file-sink.schema.json' with { type: 'json' };
import sourceSchema from '../../schemas/connectors/file-source.schema.json' with { type: 'json' };
import type {
  ConfigSchema,
  SinkConnectorPlugin,
  SourceConnectorPlugin,
} from '../../runtime/api/index.ts';
import { FileSinkConnector, FileSinkTask } from './sink.ts';
import { FileSourceConnector, FileSourceTask } from './source.ts';

export const fileSourcePlugin: SourceConnectorPlugin = {
  kind: 'source',
  className: 'org.apache.kafka.connect.file.FileStreamSourceConnector',
  aliases: ['FileStreamSource', 'file-source'],
  version: '1.0.0',
  description: 'Tails a file of lines (JSON lines or raw text) into a topic.',
  configSchema: sourceSchema as unknown as ConfigSchema,
  createConnector: () => new FileSourceConnector(),
  createTask: () => new FileSourceTask(),
};

export const fileSinkPlugin: SinkConnectorPlugin = {
  kind: 'sink',
  className: 'org.apache.kafka.connect.file.FileStreamSinkConnector',
  aliases: ['FileStreamSink', 'file-sink'],
  version: '1.0.0',
  description: 'Appends record values to a file, one line each, fsynced before offsets commit.',
  configSchema: sinkSchema as unknown as ConfigSchema,
  createConnector: () => new FileSinkConnector(),
  createTask: () => new FileSinkTask(),
};
