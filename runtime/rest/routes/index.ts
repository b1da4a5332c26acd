// Every route the REST server serves, in the order the OpenAPI document lists them.

import type { RouteSpec } from '../route.ts';
import { connectorPluginRoutes } from './connector-plugins.ts';
import { connectorRoutes } from './connectors.ts';
import { serverRoutes } from './server.ts';

export const allRoutes: readonly RouteSpec[] = [
  ...serverRoutes,
  ...connectorRoutes,
  ...connectorPluginRoutes,
];
