// The contract between the runtime and a connector. A connector module is a plain object with no
// import side effects: name, kind, version, config schema and factories. The connector plans
// (how many tasks, with which configs); its tasks do the I/O. The runtime enforces the order:
// validate → start → taskConfigs → (tasks run) → stop.

import type { ConfigSchema, FieldError, ParsedConfig, RawConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { SinkTask } from './sink-task.ts';
import type { SourceTask } from './source-task.ts';

export type ConnectorKind = 'source' | 'sink';

export interface ConnectorContext {
  readonly connectorName: string;
  readonly logger: Logger;
  /** Ask the runtime to call taskConfigs() again (e.g. the set of tables changed). */
  requestTaskReconfiguration(): void;
  /** Fail the connector with this error (its status becomes FAILED with the trace). */
  raiseError(error: Error): void;
}

export interface Connector {
  start(config: ParsedConfig, context: ConnectorContext): Promise<void>;
  /** At most maxTasks task configs; each becomes one task (tasks.max is an upper bound). */
  taskConfigs(maxTasks: number): Promise<RawConfig[]>;
  stop(): Promise<void>;
  /**
   * Checks that need the outside world (reachability, credentials, privileges, wal_level…),
   * run by the validate endpoint after the schema check passed. Returns per-field problems.
   */
  validateLive?(config: ParsedConfig): Promise<FieldError[]>;
  /** Remove what this connector created outside Kafki (slot, publication…), when it is deleted. */
  onDeleted?(config: ParsedConfig): Promise<void>;
}

interface PluginBase {
  /** Fully qualified class name users put in connector.class. */
  readonly className: string;
  /** Short names also accepted in connector.class (e.g. "postgres", Debezium's class name). */
  readonly aliases?: readonly string[];
  readonly version: string;
  readonly description: string;
  /** Connector-specific keys; the runtime adds the framework keys (name, tasks.max, transforms…). */
  readonly configSchema: ConfigSchema;
  createConnector(): Connector;
}

export interface SourceConnectorPlugin extends PluginBase {
  readonly kind: 'source';
  createTask(): SourceTask;
}

export interface SinkConnectorPlugin extends PluginBase {
  readonly kind: 'sink';
  createTask(): SinkTask;
}

export type ConnectorPlugin = SourceConnectorPlugin | SinkConnectorPlugin;
