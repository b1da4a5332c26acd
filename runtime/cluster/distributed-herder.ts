// The Herder of one member of a cluster (`kafki worker`). Any member answers any REST request:
// reads come from the shared stores (compacted topics on Kafka), writes record the user's intent
// there (configs, target states) under the group's config lock. Carrying intents out is the job
// of each unit's owner: every heartbeat (and at once when a member announces a change) a member
// reconciles — it stops what is no longer its own or no longer exists, releasing the lease, and
// starts or updates what the leader assigned to it once it holds the unit's lease.
//
// One runner per task: a unit starts only under its lease, the lease is renewed with every
// heartbeat, and a member that cannot renew (Redis or network gone) for more than
// fenceAfterShare of the session timeout stops everything it runs, before the leases can expire
// and be taken by others. Statuses carry the assignment generation, so a member that missed a
// rebalance cannot overwrite a newer owner's status.

import { randomUUID } from 'node:crypto';
import type { RawConfig } from '../api/config.ts';
import type { TaskSignal } from '../api/source-task.ts';
import type { WorkerMetrics } from '../metrics/worker-metrics.ts';
import type { ConfigStore } from '../storage/config-store.ts';
import type { TaskId } from '../worker/task-runner.ts';
import type { Worker, WorkerListener } from '../worker/worker.ts';
import { AlreadyExistsError, BadRequestError, ConflictError } from '../herder/errors.ts';
import type {
  ConnectorInfo,
  ConnectorSignal,
  ConnectorStateInfo,
  Herder,
  RestartRequest,
  TargetState,
} from '../herder/herder.ts';
import { StatusRecorder } from '../herder/status-recorder.ts';
import { StoreBackedHerder } from '../herder/store-backed-herder.ts';
import type { StoreBackedHerderDeps, TaskProgress } from '../herder/store-backed-herder.ts';
import { assignUnits, parseUnitId, sameAssignment, unitId } from './assignment.ts';
import { CoordinationError } from './coordinator.ts';
import type { RedisCoordinator, TaskReport, UnitCommand } from './coordinator.ts';

export interface DistributedHerderDeps extends StoreBackedHerderDeps {
  coordinator: RedisCoordinator;
  /** This member's REST URL, published with its heartbeat. */
  restUrl: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  metrics: WorkerMetrics;
  createWorker(listener: WorkerListener): Worker;
}

/** Share of the session timeout after which a member that cannot reach Redis stops its units. */
const fenceAfterShare = 0.6;
const warnEveryMs = 5_000;

interface RunningConnector {
  config: RawConfig;
  configText: string;
  target: TargetState;
}

interface RunningTask {
  id: TaskId;
  connectorText: string;
  taskText: string;
  target: TargetState;
}

export class DistributedHerder extends StoreBackedHerder<DistributedHerderDeps> implements Herder {
  protected readonly recorder: StatusRecorder;
  protected readonly worker: Worker;
  private readonly coordinator: RedisCoordinator;
  private generation = 0;
  private members: string[] = [];
  private leader = false;
  private readonly connectorsHere = new Map<string, RunningConnector>();
  private readonly tasksHere = new Map<string, RunningTask>();
  /** Units whose lease this member holds (running, starting or stopping). */
  private readonly leases = new Set<string>();
  private lastRenewal = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeating: Promise<void> | undefined;
  private reconcileQueued = false;
  private readonly lastWarnings = new Map<string, number>();

  constructor(deps: DistributedHerderDeps) {
    super(deps);
    this.coordinator = deps.coordinator;
    this.recorder = new StatusRecorder({
      statusStore: deps.statusStore,
      workerId: deps.workerId,
      generation: () => this.generation,
      logger: deps.logger,
      onTaskReconfiguration: (name) => {
        if (!this.connectorsHere.has(name)) return;
        void this.serial(() => this.updateTaskConfigs(name)).catch((error: unknown) =>
          deps.logger.error({ connector: name, err: error }, 'task reconfiguration failed'),
        );
      },
    });
    this.worker = deps.createWorker(this.recorder);
  }

  /** Join the group and take part in it until stop(). */
  async start(): Promise<void> {
    this.coordinator.onChange(() => this.scheduleReconcile());
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => {
      // A heartbeat that hangs (a connection that neither answers nor breaks) fences too.
      if (this.heartbeating) this.fenceIfSilent();
      this.heartbeating ??= this.heartbeat().finally(() => (this.heartbeating = undefined));
    }, this.deps.heartbeatIntervalMs);
    await this.serial(() => this.reconcile());
  }

  /** Graceful: stop every unit here (they commit what is durable), release them, leave. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    await this.heartbeating;
    await this.serial(async () => {
      this.closed = true;
      await this.stopUnits([...this.tasksHere.keys()], true);
      await this.stopUnits(
        [...this.connectorsHere.keys()].map((name) => unitId({ connector: name })),
        true,
      );
      await this.recorder.flush();
      await this.coordinator
        .leave()
        .catch((error: unknown) =>
          this.deps.logger.warn(
            { err: error },
            'leaving the group failed; the others wait for the session timeout',
          ),
        );
    });
  }

  // ---- REST operations: record the intent, announce it ------------------------------------------

  async createConnector(
    name: string,
    config: RawConfig,
    initialState: TargetState = 'RUNNING',
  ): Promise<ConnectorInfo> {
    const trimmed = this.checkName(name, config);
    const full = { ...config, name: trimmed };
    await this.validateOrThrow(full);
    await this.underConfigLock(async () => {
      if (this.deps.configStore.get(trimmed))
        throw new AlreadyExistsError(`Connector ${trimmed} already exists`);
      await this.deps.configStore.putConnectorConfig(trimmed, full, initialState);
    });
    return this.connectorInfo(trimmed);
  }

  async putConnectorConfig(
    name: string,
    config: RawConfig,
  ): Promise<{ created: boolean; info: ConnectorInfo }> {
    const trimmed = this.checkName(name, config);
    const created = await this.underConfigLock(async () => {
      const { existing, full } = await this.replacementConfig(trimmed, config);
      await this.deps.configStore.putConnectorConfig(
        trimmed,
        full,
        existing ? undefined : 'RUNNING',
      );
      return !existing;
    });
    return { created, info: await this.connectorInfo(trimmed) };
  }

  async patchConnectorConfig(
    name: string,
    patch: Record<string, string | null>,
  ): Promise<ConnectorInfo> {
    await this.underConfigLock(async () => {
      await this.deps.configStore.putConnectorConfig(name, await this.patchedConfig(name, patch));
    });
    return this.connectorInfo(name);
  }

  /** The owners stop the connector and its tasks; the connector's owner then clears statuses. */
  async deleteConnector(name: string): Promise<void> {
    await this.underConfigLock(async () => {
      this.entry(name);
      await this.deps.configStore.removeConnector(name);
    });
  }

  async pauseConnector(name: string): Promise<void> {
    await this.setTargetState(name, 'PAUSED');
  }

  async resumeConnector(name: string): Promise<void> {
    await this.setTargetState(name, 'RUNNING');
  }

  async stopConnector(name: string): Promise<void> {
    await this.setTargetState(name, 'STOPPED');
  }

  async restartConnector(name: string, request: RestartRequest): Promise<ConnectorStateInfo> {
    await this.fresh();
    // Reach Redis first, so that a refused restart leaves no RESTARTING status behind.
    await this.coordinated(() => this.coordinator.readAssignment());
    const plan = await this.markRestarting(name, request);
    const status = await this.connectorStatus(name);
    if (!plan) return status;
    await this.coordinated(async () => {
      if (plan.restartConnector) {
        await this.sendToOwner({ kind: 'restart-connector', connector: name });
      }
      for (const task of plan.tasks) {
        await this.sendToOwner({ kind: 'restart-task', connector: name, task });
      }
    });
    return status;
  }

  async restartTask(name: string, task: number): Promise<void> {
    await this.fresh();
    this.taskConfig(name, task);
    await this.coordinated(() => this.sendToOwner({ kind: 'restart-task', connector: name, task }));
  }

  async sendSignal(name: string, signal: ConnectorSignal): Promise<void> {
    await this.fresh();
    const entry = this.signalableEntry(name);
    const units = entry.taskConfigs.map((_, task) => unitId({ connector: name, task }));
    const reports = await this.coordinated(() => this.coordinator.taskReports(units));
    if (reports.size === 0) throw new ConflictError(`Connector ${name} has no running task`);
    const takers = [...reports].filter(([, report]) => report.signals);
    if (takers.length === 0) {
      throw new BadRequestError(
        `Connector ${name} does not take signals: its tasks have no signal support`,
      );
    }
    const withId: TaskSignal = { ...signal, id: signal.id ?? randomUUID() };
    await this.coordinated(async () => {
      for (const [unit, report] of takers) {
        const { task } = parseUnitId(unit)!;
        await this.coordinator.send(report.worker, {
          kind: 'signal',
          connector: name,
          task: task!,
          signal: withId,
        });
      }
    });
  }

  // ---- reads --------------------------------------------------------------------------------------

  protected override async fresh(): Promise<void> {
    await Promise.all([
      this.deps.configStore.refresh(),
      this.deps.statusStore.refresh(),
      this.deps.offsetStore.refresh(),
    ]);
  }

  protected async taskProgress(id: TaskId): Promise<TaskProgress | undefined> {
    const local = this.worker.taskProgress(id);
    if (local) return local;
    const reports = await this.coordinator.taskReports([unitId(id)]).catch(() => undefined);
    return reports?.get(unitId(id))?.progress;
  }

  // ---- membership -------------------------------------------------------------------------------

  private async heartbeat(): Promise<void> {
    // Redis renews the leases for a session from when it runs the call, which is after this: the
    // fencing deadline counts from here, not from when (possibly much later) the answers arrive.
    const sentAt = Date.now();
    try {
      this.members = await this.coordinator.heartbeat({ url: this.deps.restUrl });
      const lost = await this.coordinator.renewLeases([...this.leases]);
      this.leader = await this.coordinator.lead();
      this.lastRenewal = sentAt;
      this.reportClusterState();
      if (lost.length > 0) {
        this.deps.logger.warn({ units: lost }, 'leases lost; stopping those units');
        this.deps.metrics.leasesLost(lost.length);
        for (const unit of lost) this.leases.delete(unit);
      }
      this.scheduleReconcile();
    } catch (error) {
      this.warnAtMost(
        { err: error, silentForMs: Date.now() - this.lastRenewal },
        'heartbeat failed',
      );
      this.fenceIfSilent();
    }
  }

  private fenceIfSilent(): void {
    if (Date.now() - this.lastRenewal > this.deps.sessionTimeoutMs * fenceAfterShare) this.fence();
  }

  /** While Redis is out of reach every heartbeat fails: say so once per warnEveryMs. */
  private warnAtMost(details: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - (this.lastWarnings.get(message) ?? 0) < warnEveryMs) return;
    this.lastWarnings.set(message, now);
    this.deps.logger.warn(details, message);
  }

  private reportClusterState(): void {
    this.deps.metrics.clusterState({
      members: this.members.length,
      leader: this.leader,
      generation: this.generation,
    });
  }

  /** Cut off from the group: stop everything before the leases expire and others take over. */
  private fence(): void {
    if (this.leases.size === 0) return;
    this.deps.logger.error(
      { units: this.leases.size },
      'cannot renew leases; stopping every connector and task on this worker',
    );
    this.deps.metrics.leasesLost(this.leases.size);
    this.leases.clear();
    this.leader = false;
    this.scheduleReconcile();
  }

  private scheduleReconcile(): void {
    if (this.reconcileQueued || this.closed) return;
    this.reconcileQueued = true;
    void this.serial(async () => {
      this.reconcileQueued = false;
      await this.reconcile();
    }).catch((error: unknown) => {
      if (!this.closed) this.warnAtMost({ err: error }, 'reconciling failed; retrying');
    });
  }

  // ---- reconciliation ---------------------------------------------------------------------------

  private async reconcile(): Promise<void> {
    const { configStore } = this.deps;
    // Units whose lease went away stop first, even when Redis cannot be reached.
    await this.stopUnits(
      [
        ...this.tasksHere.keys(),
        ...[...this.connectorsHere.keys()].map((c) => unitId({ connector: c })),
      ].filter((unit) => !this.leases.has(unit)),
      false,
    );
    await configStore.refresh();
    // Statuses are read fresh by the REST answers; here only the leader needs them (the highest
    // generation written), so the others skip that read on every heartbeat.
    if (this.leader) {
      await this.deps.statusStore.refresh();
      await this.rebalance(configStore);
    }
    const published = await this.coordinator.readAssignment();
    this.generation = published.generation;
    this.reportClusterState();
    const mine = new Set(
      [...published.units].filter(([, member]) => member === this.deps.workerId).map(([u]) => u),
    );

    for (const command of await this.coordinator.receive()) await this.carryOut(command);

    // Stop what moved away or no longer exists.
    const gone: string[] = [];
    for (const [unit, task] of this.tasksHere) {
      if (!mine.has(unit) || !this.taskConfigOf(task.id)) gone.push(unit);
    }
    await this.stopUnits(gone, true);
    for (const name of [...this.connectorsHere.keys()]) {
      const unit = unitId({ connector: name });
      if (!configStore.get(name)) await this.connectorDeleted(name);
      else if (!mine.has(unit)) await this.stopUnits([unit], true);
    }

    // Start or update what is ours.
    for (const unit of [...mine].sort()) {
      const parsed = parseUnitId(unit);
      if (!parsed || !configStore.get(parsed.connector)) continue;
      if (parsed.task === undefined) await this.reconcileConnector(parsed.connector, unit);
      else await this.reconcileTask({ connector: parsed.connector, task: parsed.task }, unit);
    }
    await this.recorder.flush();
    await this.publishTaskReports();
  }

  /** Leader: assign every unit to a live member; publish when it changed. */
  private async rebalance(configStore: ConfigStore): Promise<void> {
    const units: string[] = [];
    for (const name of configStore.connectorNames()) {
      units.push(unitId({ connector: name }));
      const entry = configStore.get(name)!;
      entry.taskConfigs.forEach((_, task) => units.push(unitId({ connector: name, task })));
    }
    const current = await this.coordinator.readAssignment();
    const next = assignUnits(units, this.members, current.units);
    if (sameAssignment(next, current.units)) return;
    const generation = await this.coordinator.publishAssignment(
      next,
      Math.max(current.generation, this.deps.statusStore.maxGeneration()) + 1,
    );
    this.deps.logger.info(
      { generation, members: this.members.length, units: units.length },
      'published a new assignment',
    );
  }

  private async reconcileConnector(name: string, unit: string): Promise<void> {
    const entry = this.entry(name);
    const running = this.connectorsHere.get(name);
    const configText = JSON.stringify(entry.config);
    if (running && running.configText === configText && running.target === entry.targetState)
      return;
    if (!running && !(await this.takeLease(unit))) return;
    if (entry.targetState === 'STOPPED') {
      if (running) await this.worker.stopConnector(name);
      this.connectorsHere.set(name, { config: entry.config, configText, target: 'STOPPED' });
      this.recorder.connector(name, 'STOPPED');
      return;
    }
    if (running && running.configText === configText && running.target !== 'STOPPED') {
      this.worker.setConnectorTargetState(name, entry.targetState);
      running.target = entry.targetState;
      return;
    }
    if (running) await this.worker.stopConnector(name);
    this.connectorsHere.set(name, { config: entry.config, configText, target: entry.targetState });
    if (await this.worker.startConnector(name, entry.config, entry.targetState)) {
      if (await this.updateTaskConfigs(name)) await this.coordinator.announceChange();
    }
  }

  private async reconcileTask(id: TaskId, unit: string): Promise<void> {
    const entry = this.entry(id.connector);
    const taskConfig = entry.taskConfigs[id.task];
    if (!taskConfig) return;
    const target = entry.targetState === 'PAUSED' ? 'PAUSED' : 'RUNNING';
    const connectorText = JSON.stringify(entry.config);
    const taskText = JSON.stringify(taskConfig);
    const running = this.tasksHere.get(unit);
    if (running && running.connectorText === connectorText && running.taskText === taskText) {
      if (running.target !== target) {
        this.worker.setTaskTargetState(id, target);
        running.target = target;
      }
      return;
    }
    if (running) await this.worker.stopTasks([id]);
    else if (!(await this.takeLease(unit))) return;
    // The previous owner may have committed source offsets up to its last moment.
    await this.deps.offsetStore.refresh();
    this.tasksHere.set(unit, { id, connectorText, taskText, target });
    await this.worker.startTask(id, entry.config, taskConfig, target);
  }

  private async takeLease(unit: string): Promise<boolean> {
    if (!(await this.coordinator.acquireLease(unit))) return false;
    this.leases.add(unit);
    return true;
  }

  /**
   * Stop units running here. With `release`, their leases are given back (and the others told);
   * without, the leases are already lost and Redis may be out of reach.
   */
  private async stopUnits(units: readonly string[], release: boolean): Promise<void> {
    if (units.length === 0) return;
    const tasks: TaskId[] = [];
    for (const unit of units) {
      const task = this.tasksHere.get(unit);
      if (task) tasks.push(task.id);
    }
    await this.worker.stopTasks(tasks);
    for (const unit of units) {
      const parsed = parseUnitId(unit);
      if (parsed?.task === undefined && parsed && this.connectorsHere.has(parsed.connector)) {
        await this.worker.stopConnector(parsed.connector);
        this.connectorsHere.delete(parsed.connector);
        // Handed over: UNASSIGNED until its next owner reports (as Kafka Connect shows it).
        if (release && this.deps.configStore.get(parsed.connector)) {
          this.recorder.connector(parsed.connector, 'UNASSIGNED');
        }
      }
      this.tasksHere.delete(unit);
    }
    await this.recorder.flush();
    for (const id of tasks) {
      // A task whose config is gone (connector deleted or stopped, fewer tasks) leaves no status.
      if (!this.taskConfigOf(id)) await this.deps.statusStore.deleteTask(id.connector, id.task);
    }
    if (!release) return;
    for (const unit of units) {
      this.leases.delete(unit);
      await this.coordinator.deleteTaskReport(unit).catch(() => undefined);
      await this.coordinator
        .releaseLease(unit)
        .catch((error: unknown) =>
          this.deps.logger.warn({ unit, err: error }, 'releasing a lease failed; it will expire'),
        );
    }
    await this.coordinator.announceChange().catch(() => undefined);
  }

  /** The connector's config was removed: stop it, wait for its tasks to stop, clean up. */
  private async connectorDeleted(name: string): Promise<void> {
    const config = this.connectorsHere.get(name)?.config;
    await this.stopUnits([unitId({ connector: name })], false);
    // Its task configs are gone with it; look for leases of as many tasks as a connector may have
    // had (tasks.max is rarely above a few dozen).
    const taskUnits = Array.from({ length: 256 }, (_, task) => unitId({ connector: name, task }));
    const deadline = Date.now() + this.deps.sessionTimeoutMs * 2;
    while ((await this.coordinator.leaseHolders(taskUnits)).size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (!this.deps.configStore.get(name)) {
      // Its tasks' statuses were written by other members too: read them before tombstoning.
      await this.deps.statusStore.refresh();
      await this.deps.statusStore.deleteConnector(name);
      if (config) {
        await this.worker
          .connectorDeleted(config)
          .catch((error: unknown) =>
            this.deps.logger.warn(
              { connector: name, err: error },
              'the connector onDeleted hook failed',
            ),
          );
      }
    }
    const unit = unitId({ connector: name });
    this.leases.delete(unit);
    await this.coordinator.releaseLease(unit);
  }

  private async carryOut(command: UnitCommand): Promise<void> {
    if (command.kind === 'restart-connector') {
      if (!this.connectorsHere.has(command.connector)) return;
      // Forget it ran: the reconciliation below starts it afresh (and its task configs).
      await this.worker.stopConnector(command.connector);
      this.connectorsHere.delete(command.connector);
    } else if (command.kind === 'restart-task') {
      const unit = unitId(command);
      const task = this.tasksHere.get(unit);
      if (!task) return;
      await this.worker.stopTasks([task.id]);
      this.tasksHere.delete(unit);
    } else {
      const result = await this.worker.signalTask(command, command.signal);
      if (result !== 'sent') {
        this.deps.logger.warn(
          { connector: command.connector, task: command.task, result },
          'signal not delivered',
        );
      }
    }
  }

  private async publishTaskReports(): Promise<void> {
    const reports = new Map<string, TaskReport>();
    for (const [unit, task] of this.tasksHere) {
      const progress = this.worker.taskProgress(task.id);
      reports.set(unit, {
        worker: this.deps.workerId,
        signals: this.worker.acceptsSignals(task.id),
        ...(progress ? { progress } : {}),
      });
    }
    await this.coordinator.putTaskReports(reports);
  }

  private taskConfigOf(id: TaskId): RawConfig | undefined {
    return this.deps.configStore.get(id.connector)?.taskConfigs[id.task];
  }

  /** Kafka Connect answers 409 when a request cannot be coordinated now (e.g. a rebalance). */
  private async coordinated<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof CoordinationError) {
        throw new ConflictError(`${error.message}; the request was not applied, retry it`);
      }
      throw error;
    }
  }

  private async underConfigLock<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed)
      throw new ConflictError('the worker is shutting down; retry on its next start');
    const result = await this.coordinated(() =>
      this.coordinator.withConfigLock(async () => {
        await this.deps.configStore.refresh();
        return operation();
      }),
    );
    // Written: the others reconcile at their next heartbeat even if this announcement is lost.
    await this.coordinator.announceChange().catch(() => undefined);
    this.scheduleReconcile();
    return result;
  }

  private async setTargetState(name: string, state: TargetState): Promise<void> {
    await this.underConfigLock(async () => {
      const entry = this.entry(name);
      if (entry.targetState === state) return;
      await this.deps.configStore.putTargetState(name, state);
      // Kafka Connect's STOPPED: the tasks shut down and their configs are emptied (tasks: []).
      if (state === 'STOPPED') await this.deps.configStore.putTaskConfigs(name, []);
    });
  }

  /** Hand a command to the member holding the unit's lease (or, between owners, its assignee). */
  private async sendToOwner(command: UnitCommand): Promise<void> {
    const unit =
      command.kind === 'restart-connector'
        ? unitId({ connector: command.connector })
        : unitId({ connector: command.connector, task: command.task });
    const holder = (await this.coordinator.leaseHolders([unit])).get(unit);
    const owner = holder ?? (await this.coordinator.readAssignment()).units.get(unit);
    if (owner === undefined) return; // unassigned: it starts afresh when assigned
    await this.coordinator.send(owner, command);
  }
}
