// What source and sink task runners share: the lifecycle (start → run → drain → stop), pause and
// resume, graceful stop with a deadline, and state reports. States follow Kafka Connect: RUNNING,
// PAUSED, FAILED with the error, UNASSIGNED once the task has shut down.

import type { Logger } from '../api/logger.ts';
import type { TaskMetrics } from '../metrics/worker-metrics.ts';
import { sleep } from './backoff.ts';

export interface TaskId {
  connector: string;
  task: number;
}

export type TaskRunState = 'RUNNING' | 'PAUSED' | 'FAILED' | 'UNASSIGNED';

export type TaskStateListener = (id: TaskId, state: TaskRunState, error?: Error) => void;

export interface TaskRunnerBase {
  id: TaskId;
  logger: Logger;
  metrics: TaskMetrics;
  onState: TaskStateListener;
  /** Start paused (target state PAUSED). */
  paused: boolean;
  /** How long stop() lets in-flight work finish before abandoning it. */
  shutdownTimeoutMs: number;
}

export abstract class TaskRunner {
  /** Aborted when stop() is called or the task fails: interrupts poll() and waits. */
  protected readonly interrupt = new AbortController();
  /** Aborted when the graceful shutdown deadline passes: retries give up. */
  protected readonly hardStop = new AbortController();
  protected paused: boolean;
  protected fatal: Error | undefined;
  private resumed: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private progressValues: Record<string, string | number | boolean> | undefined;
  private lastState: TaskRunState | undefined;
  private markStarted: (() => void) | undefined;
  private readonly startedSignal = new Promise<void>((resolve) => {
    this.markStarted = resolve;
  });

  constructor(protected readonly base: TaskRunnerBase) {
    this.paused = base.paused;
  }

  get id(): TaskId {
    return this.base.id;
  }

  get state(): TaskRunState | undefined {
    return this.lastState;
  }

  get progress(): Record<string, string | number | boolean> | undefined {
    return this.progressValues;
  }

  get stopping(): boolean {
    return this.interrupt.signal.aborted;
  }

  start(): void {
    this.running ??= this.run();
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    if (this.lastState === 'RUNNING') this.report('PAUSED');
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumed?.();
    if (this.lastState === 'PAUSED') this.report('RUNNING');
  }

  /** Graceful: finish the batch in flight and commit what is durable, within the deadline. */
  async stop(): Promise<void> {
    this.interrupt.abort();
    this.resumed?.();
    if (!this.running) return;
    const deadline = sleep(this.base.shutdownTimeoutMs, undefined).then(() => 'timeout' as const);
    const outcome = await Promise.race([this.running.then(() => 'done' as const), deadline]);
    if (outcome === 'timeout') {
      this.base.logger.warn(
        { timeoutMs: this.base.shutdownTimeoutMs },
        'task did not stop within task.shutdown.graceful.timeout.ms; abandoning its in-flight work',
      );
      this.hardStop.abort();
      await this.running;
    }
  }

  /** Resolves once the task reported its first state (started, or failed to start). */
  whenStarted(): Promise<void> {
    return this.startedSignal;
  }

  /** Resolves when the task has shut down (after stop() or a failure). */
  finished(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  protected setProgress(progress: Record<string, string | number | boolean>): void {
    this.progressValues = { ...this.progressValues, ...progress };
  }

  protected report(state: TaskRunState, error?: Error): void {
    this.lastState = state;
    this.base.onState(this.base.id, state, error);
    this.markStarted?.();
  }

  /** Record a failure from a background step (append, commit) and wake the main loop. */
  protected fail(error: Error): void {
    this.fatal ??= error;
    this.interrupt.abort();
    this.resumed?.();
  }

  /** Wait until resumed or stopping; with maxWaitMs, return after that long in any case. */
  protected async waitWhilePaused(maxWaitMs?: number): Promise<void> {
    const started = Date.now();
    while (this.paused && !this.stopping) {
      const wake = new Promise<void>((resolve) => {
        this.resumed = resolve;
      });
      if (maxWaitMs === undefined) await wake;
      else {
        const left = maxWaitMs - (Date.now() - started);
        if (left <= 0) break;
        await Promise.race([wake, sleep(left)]);
      }
      this.resumed = undefined;
    }
  }

  /** The task's whole life; never rejects (failures become the FAILED state). */
  protected abstract run(): Promise<void>;
}
