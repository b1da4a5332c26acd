// Turns the worker's state events into status-topic writes stamped with this worker's id and
// generation. Writes keep their call order (the store's backend chains them); flush() waits for
// the ones issued so far, so an operation can answer with the status it caused.

import type { Logger } from '../api/logger.ts';
import type { StatusStore } from '../storage/status-store.ts';
import type { TaskId, TaskRunState } from '../worker/task-runner.ts';
import type { ConnectorRunState, WorkerListener } from '../worker/worker.ts';
import type { ConnectorState } from './herder.ts';

export interface StatusRecorderOptions {
  statusStore: StatusStore;
  workerId: string;
  /** Fixed for a standalone worker; the current assignment generation in a cluster. */
  generation: number | (() => number);
  logger: Logger;
  /** A running connector asked for new task configs. */
  onTaskReconfiguration: (connector: string) => void;
}

export class StatusRecorder implements WorkerListener {
  private pending = new Set<Promise<unknown>>();

  constructor(private readonly options: StatusRecorderOptions) {}

  onConnectorState(name: string, state: ConnectorRunState, error?: Error): void {
    this.connector(name, state, error);
  }

  onTaskState(id: TaskId, state: TaskRunState, error?: Error): void {
    this.task(id.connector, id.task, state, error);
  }

  onTopic(connector: string, topic: string, task: number): void {
    this.track(this.options.statusStore.putTopic(connector, topic, task));
  }

  onTaskReconfiguration(connector: string): void {
    this.options.onTaskReconfiguration(connector);
  }

  connector(name: string, state: ConnectorState, error?: Error): void {
    if (state === 'FAILED') {
      this.options.logger.error({ connector: name, err: error }, 'connector failed');
    }
    this.track(this.options.statusStore.putConnector(name, this.record(state, error)));
  }

  task(connector: string, task: number, state: ConnectorState, error?: Error): void {
    if (state === 'FAILED') {
      this.options.logger.error({ connector, task, err: error }, 'task failed');
    }
    this.track(this.options.statusStore.putTask(connector, task, this.record(state, error)));
  }

  /** Waits for every status write issued so far. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private record(state: ConnectorState, error?: Error) {
    return {
      state,
      ...(error ? { trace: error.stack ?? `${error.name}: ${error.message}` } : {}),
      workerId: this.options.workerId,
      generation:
        typeof this.options.generation === 'number'
          ? this.options.generation
          : this.options.generation(),
    };
  }

  private track(write: Promise<unknown>): void {
    const tracked = write
      .catch((error: unknown) =>
        this.options.logger.error({ err: error }, 'writing a status failed'),
      )
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}
