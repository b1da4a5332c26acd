// The operations users drive through the REST API and the CLI. The REST layer is a thin mapping
// onto this interface; standalone and distributed modes implement it. Shapes follow Kafka
// Connect's REST bodies (snake_case where Kafka Connect uses it) so they pass through as they are.

import type { RawConfig } from '../api/config.ts';
import type { ConnectorKind } from '../api/connector.ts';

export type ConnectorState =
  'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED' | 'RESTARTING';
export type TargetState = 'RUNNING' | 'PAUSED' | 'STOPPED';

export interface ConnectorTaskId {
  connector: string;
  task: number;
}

export interface ConnectorInfo {
  name: string;
  /** Secret values are masked. */
  config: RawConfig;
  tasks: ConnectorTaskId[];
  type: ConnectorKind | 'unknown';
}

export interface StateInfo {
  state: ConnectorState;
  worker_id: string;
  trace?: string;
}

export interface TaskStateInfo extends StateInfo {
  id: number;
  /** Our extension: progress the task reported (e.g. snapshot rows done/total per table). */
  progress?: Record<string, string | number | boolean>;
}

export interface ConnectorStateInfo {
  name: string;
  connector: StateInfo;
  tasks: TaskStateInfo[];
  type: ConnectorKind | 'unknown';
}

export interface TaskInfo {
  id: ConnectorTaskId;
  config: RawConfig;
}

export interface ConnectorOffset {
  partition: Record<string, unknown>;
  offset: Record<string, unknown> | null;
}

export interface ConnectorOffsets {
  offsets: ConnectorOffset[];
}

export interface PluginInfo {
  class: string;
  type: ConnectorKind | 'transformation' | 'predicate' | 'converter';
  version: string;
}

export interface ConfigKeyInfo {
  name: string;
  type: string;
  required: boolean;
  default_value: string | null;
  importance: string;
  documentation: string;
  group: string | null;
  order: number;
  width: string;
  display_name: string;
  dependents: string[];
}

export interface ConfigValueInfo {
  name: string;
  value: string | null;
  recommended_values: string[];
  errors: string[];
  visible: boolean;
}

export interface ConfigInfos {
  name: string;
  error_count: number;
  groups: string[];
  configs: Array<{ definition: ConfigKeyInfo; value: ConfigValueInfo }>;
}

export interface ServerInfo {
  version: string;
  commit: string;
  kafka_cluster_id: string;
}

/** A signal for a connector's tasks (Debezium's signal shape; our REST extension). */
export interface ConnectorSignal {
  id?: string;
  type: string;
  data?: { [key: string]: unknown } | null;
}

export interface RestartRequest {
  includeTasks: boolean;
  onlyFailed: boolean;
}

/**
 * Every method throws the runtime's typed errors (NotFoundError, AlreadyExistsError,
 * BadRequestError, ConflictError…) which the REST error mapper turns into status codes.
 */
export interface Herder {
  serverInfo(): Promise<ServerInfo>;
  connectors(): Promise<string[]>;
  connectorInfo(name: string): Promise<ConnectorInfo>;
  connectorConfig(name: string): Promise<RawConfig>;
  /** Validates first; refuses an invalid config with per-field messages before anything starts. */
  createConnector(
    name: string,
    config: RawConfig,
    initialState?: TargetState,
  ): Promise<ConnectorInfo>;
  /** Create or replace. */
  putConnectorConfig(
    name: string,
    config: RawConfig,
  ): Promise<{ created: boolean; info: ConnectorInfo }>;
  /** Merge; a null value removes the key. */
  patchConnectorConfig(name: string, patch: Record<string, string | null>): Promise<ConnectorInfo>;
  deleteConnector(name: string): Promise<void>;
  connectorStatus(name: string): Promise<ConnectorStateInfo>;
  taskStatus(name: string, task: number): Promise<TaskStateInfo>;
  taskConfigs(name: string): Promise<TaskInfo[]>;
  /** Returns the status with the restarting instances marked RESTARTING. */
  restartConnector(name: string, request: RestartRequest): Promise<ConnectorStateInfo>;
  restartTask(name: string, task: number): Promise<void>;
  pauseConnector(name: string): Promise<void>;
  resumeConnector(name: string): Promise<void>;
  stopConnector(name: string): Promise<void>;
  connectorTopics(name: string): Promise<string[]>;
  resetConnectorTopics(name: string): Promise<void>;
  connectorOffsets(name: string): Promise<ConnectorOffsets>;
  /** Only for a STOPPED connector (BadRequestError otherwise). */
  alterConnectorOffsets(name: string, offsets: ConnectorOffsets): Promise<string>;
  resetConnectorOffsets(name: string): Promise<string>;
  /**
   * Hand a signal (e.g. execute-snapshot) to the connector's running tasks. BadRequestError when
   * its tasks take no signals or refuse this one, ConflictError when none runs.
   */
  sendSignal(name: string, signal: ConnectorSignal): Promise<void>;
  plugins(options: { connectorsOnly: boolean }): Promise<PluginInfo[]>;
  pluginConfig(plugin: string): Promise<ConfigKeyInfo[]>;
  validateConfig(plugin: string, config: RawConfig): Promise<ConfigInfos>;
}
