// The connectors shipped with Kafki, as plugins. The runtime never imports this list: the entry
// point (bin/kafki) hands it to the runtime, so adding a connector touches only connectors/.

import type { ConnectorPlugin } from '../runtime/api/connector.ts';
import { elasticsearchSinkPlugin } from './elasticsearch/index.ts';
import { fileSinkPlugin, fileSourcePlugin } from './file/index.ts';
import { postgresSourcePlugin } from './postgres/index.ts';

export const builtinPlugins: readonly ConnectorPlugin[] = [
  fileSourcePlugin,
  fileSinkPlugin,
  postgresSourcePlugin,
  elasticsearchSinkPlugin,
];
