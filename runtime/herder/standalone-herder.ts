// The Herder of a single worker: every connector and task runs here. Operations are serialized
// (one at a time, in arrival order) so a create, a pause and a delete of one connector never
// interleave. Configs and target states live in the config store, so a restarted worker resumes
// every connector as it was; statuses go to the status store with this worker's generation.

import { randomUUID } from 'node:crypto';
import type { RawConfig } from '../api/config.ts';
import type { TaskId } from '../worker/task-runner.ts';
import type { Worker, WorkerListener } from '../worker/worker.ts';
import { AlreadyExistsError, BadRequestError, ConflictError } from './errors.ts';
import type {
  ConnectorInfo,
  ConnectorSignal,
  ConnectorStateInfo,
  Herder,
  RestartRequest,
  TargetState,
} from './herder.ts';
import { StatusRecorder } from './status-recorder.ts';
import { StoreBackedHerder } from './store-backed-herder.ts';
import type { StoreBackedHerderDeps, TaskProgress } from './store-backed-herder.ts';
import { sameConfigs } from './task-configs.ts';

export interface StandaloneHerderDeps extends StoreBackedHerderDeps {
  /** Stamped on every status write; higher than any earlier run's (see StatusStore.maxGeneration). */
  generation: number;
  /** Builds the worker with the listener that records its statuses. */
  createWorker(listener: WorkerListener): Worker;
}

export class StandaloneHerder extends StoreBackedHerder<StandaloneHerderDeps> implements Herder {
  protected readonly recorder: StatusRecorder;
  protected readonly worker: Worker;

  constructor(deps: StandaloneHerderDeps) {
    super(deps);
    this.recorder = new StatusRecorder({
      statusStore: deps.statusStore,
      workerId: deps.workerId,
      generation: deps.generation,
      logger: deps.logger,
      onTaskReconfiguration: (name) => {
        void this.serial(() => this.reconfigureAndRestartTasks(name)).catch((error: unknown) =>
          deps.logger.error({ connector: name, err: error }, 'task reconfiguration failed'),
        );
      },
    });
    this.worker = deps.createWorker(this.recorder);
  }

  protected async taskProgress(id: TaskId): Promise<TaskProgress | undefined> {
    return this.worker.taskProgress(id);
  }

  /** Start every stored connector in its stored target state. */
  async start(): Promise<void> {
    await this.serial(async () => {
      for (const name of this.deps.configStore.connectorNames())
        await this.startConnectorAndTasks(name);
    });
    await this.recorder.flush();
  }

  /** Graceful: tasks finish their batch and commit what is durable; statuses become UNASSIGNED. */
  async stop(): Promise<void> {
    await this.serial(async () => {
      this.closed = true;
      const names = this.worker.connectorNames();
      await this.worker.stopAll();
      for (const name of names) this.recorder.connector(name, 'UNASSIGNED');
    });
    await this.recorder.flush();
  }

  async createConnector(
    name: string,
    config: RawConfig,
    initialState: TargetState = 'RUNNING',
  ): Promise<ConnectorInfo> {
    const trimmed = this.checkName(name, config);
    return this.serial(async () => {
      if (this.deps.configStore.get(trimmed))
        throw new AlreadyExistsError(`Connector ${trimmed} already exists`);
      const full = { ...config, name: trimmed };
      await this.validateOrThrow(full);
      await this.deps.configStore.putConnectorConfig(trimmed, full, initialState);
      await this.startConnectorAndTasks(trimmed);
      await this.recorder.flush();
      return this.connectorInfo(trimmed);
    });
  }

  async putConnectorConfig(
    name: string,
    config: RawConfig,
  ): Promise<{ created: boolean; info: ConnectorInfo }> {
    const trimmed = this.checkName(name, config);
    return this.serial(async () => {
      const { existing, full } = await this.replacementConfig(trimmed, config);
      if (existing) {
        await this.stopConnectorAndTasks(trimmed);
        await this.deps.configStore.putConnectorConfig(trimmed, full);
      } else {
        await this.deps.configStore.putConnectorConfig(trimmed, full, 'RUNNING');
      }
      await this.startConnectorAndTasks(trimmed);
      await this.recorder.flush();
      return { created: !existing, info: await this.connectorInfo(trimmed) };
    });
  }

  async patchConnectorConfig(
    name: string,
    patch: Record<string, string | null>,
  ): Promise<ConnectorInfo> {
    return this.serial(async () => {
      const full = await this.patchedConfig(name, patch);
      await this.stopConnectorAndTasks(name);
      await this.deps.configStore.putConnectorConfig(name, full);
      await this.startConnectorAndTasks(name);
      await this.recorder.flush();
      return this.connectorInfo(name);
    });
  }

  async deleteConnector(name: string): Promise<void> {
    await this.serial(async () => {
      const entry = this.entry(name);
      await this.stopConnectorAndTasks(name);
      await this.recorder.flush();
      await this.deps.configStore.removeConnector(name);
      await this.deps.statusStore.deleteConnector(name);
      try {
        await this.worker.connectorDeleted(entry.config);
      } catch (error) {
        this.deps.logger.warn(
          { connector: name, err: error },
          'the connector onDeleted hook failed',
        );
      }
    });
  }

  async restartConnector(name: string, request: RestartRequest): Promise<ConnectorStateInfo> {
    const plan = await this.serial(() => this.markRestarting(name, request));
    const status = await this.connectorStatus(name);
    if (!plan) return status;
    const restart = this.serial(() => this.restart(name, plan.restartConnector, plan.tasks));
    // Kafka Connect's legacy form (connector only) answers after the restart; the others at once.
    if (!request.includeTasks && !request.onlyFailed) await restart;
    else
      restart.catch((error: unknown) =>
        this.deps.logger.error({ connector: name, err: error }, 'restart failed'),
      );
    return status;
  }

  async restartTask(name: string, task: number): Promise<void> {
    await this.serial(async () => {
      const config = this.taskConfig(name, task);
      const entry = this.entry(name);
      const id = { connector: name, task };
      await this.worker.stopTasks([id]);
      if (entry.targetState !== 'STOPPED') {
        await this.worker.startTask(
          id,
          entry.config,
          config,
          entry.targetState === 'PAUSED' ? 'PAUSED' : 'RUNNING',
        );
      }
      await this.recorder.flush();
    });
  }

  async sendSignal(name: string, signal: ConnectorSignal): Promise<void> {
    await this.serial(async () => {
      this.signalableEntry(name);
      const ids = this.worker.taskIds(name);
      if (ids.length === 0) throw new ConflictError(`Connector ${name} has no running task`);
      const withId = { ...signal, id: signal.id ?? randomUUID() };
      let sent = 0;
      for (const id of ids) if ((await this.worker.signalTask(id, withId)) === 'sent') sent++;
      if (sent === 0) {
        throw new BadRequestError(
          `Connector ${name} does not take signals: its tasks have no signal support`,
        );
      }
    });
  }

  async pauseConnector(name: string): Promise<void> {
    await this.serial(() => this.applyTargetState(name, 'PAUSED'));
  }

  async resumeConnector(name: string): Promise<void> {
    await this.serial(() => this.applyTargetState(name, 'RUNNING'));
  }

  async stopConnector(name: string): Promise<void> {
    await this.serial(() => this.applyTargetState(name, 'STOPPED'));
  }

  private ids(name: string, count: number): TaskId[] {
    return Array.from({ length: count }, (_, task) => ({ connector: name, task }));
  }

  private async startConnectorAndTasks(name: string): Promise<void> {
    const entry = this.entry(name);
    if (entry.targetState === 'STOPPED') {
      this.recorder.connector(name, 'STOPPED');
      return;
    }
    const target = entry.targetState;
    if (await this.worker.startConnector(name, entry.config, target)) {
      await this.updateTaskConfigs(name);
    }
    // Stored task configs run even when the connector could not start (as in Kafka Connect):
    // a connector failure does not stop data that its tasks can still move.
    const current = this.entry(name);
    for (const [task, config] of current.taskConfigs.entries()) {
      await this.worker.startTask({ connector: name, task }, current.config, config, target);
    }
  }

  private async stopConnectorAndTasks(name: string): Promise<void> {
    await this.worker.stopTasks(this.worker.taskIds(name));
    await this.worker.stopConnector(name);
  }

  private async reconfigureAndRestartTasks(name: string): Promise<void> {
    const entry = this.deps.configStore.get(name);
    if (!entry || entry.targetState === 'STOPPED' || !this.worker.isConnectorRunning(name)) return;
    const running = this.worker.taskIds(name);
    let configs: RawConfig[];
    try {
      configs = await this.worker.connectorTaskConfigs(name);
    } catch (error) {
      this.recorder.connector(name, 'FAILED', error as Error);
      return;
    }
    if (sameConfigs(configs, entry.taskConfigs)) return;
    await this.worker.stopTasks(running);
    await this.deps.configStore.putTaskConfigs(name, configs);
    for (let task = configs.length; task < entry.taskConfigs.length; task++) {
      await this.deps.statusStore.deleteTask(name, task);
    }
    const target = entry.targetState === 'PAUSED' ? 'PAUSED' : 'RUNNING';
    for (const [task, config] of configs.entries()) {
      await this.worker.startTask({ connector: name, task }, entry.config, config, target);
    }
    await this.recorder.flush();
  }

  private async restart(
    name: string,
    restartConnector: boolean,
    tasks: readonly number[],
  ): Promise<void> {
    const entry = this.deps.configStore.get(name);
    if (!entry || entry.targetState === 'STOPPED') return;
    const target = entry.targetState;
    if (restartConnector) {
      await this.worker.stopConnector(name);
      if (await this.worker.startConnector(name, entry.config, target)) {
        if (await this.updateTaskConfigs(name)) {
          // New task configs: every task restarts with its new config.
          await this.worker.stopTasks(this.worker.taskIds(name));
          const current = this.entry(name);
          for (const [task, config] of current.taskConfigs.entries()) {
            await this.worker.startTask({ connector: name, task }, current.config, config, target);
          }
          await this.recorder.flush();
          return;
        }
      }
    }
    const ids = tasks.map((task) => ({ connector: name, task }));
    await this.worker.stopTasks(ids);
    const current = this.entry(name);
    for (const id of ids) {
      const config = current.taskConfigs[id.task];
      if (config) await this.worker.startTask(id, current.config, config, target);
    }
    await this.recorder.flush();
  }

  private async applyTargetState(name: string, state: TargetState): Promise<void> {
    const entry = this.entry(name);
    if (entry.targetState === state) return;
    await this.deps.configStore.putTargetState(name, state);
    if (state === 'STOPPED') {
      // Kafka Connect's STOPPED: tasks shut down and their configs are emptied (tasks: []).
      await this.stopConnectorAndTasks(name);
      await this.recorder.flush();
      await this.deps.configStore.putTaskConfigs(name, []);
      for (const id of this.ids(name, entry.taskConfigs.length))
        await this.deps.statusStore.deleteTask(name, id.task);
      this.recorder.connector(name, 'STOPPED');
    } else if (entry.targetState === 'STOPPED') {
      await this.startConnectorAndTasks(name);
    } else {
      this.worker.setConnectorTargetState(name, state);
      for (const id of this.worker.taskIds(name)) this.worker.setTaskTargetState(id, state);
    }
    await this.recorder.flush();
  }
}
