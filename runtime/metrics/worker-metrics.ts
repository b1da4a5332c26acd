// The runtime's Prometheus metrics: one prom-client Registry per worker (no global registry, so
// two workers in one process, as in tests, do not collide), per-task counters labelled by
// connector and task, and the sink offset lag. The REST layer serves `text()` on /metrics.

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** What the REST layer needs to serve /metrics. */
export interface MetricsSource {
  readonly contentType: string;
  text(): Promise<string>;
}

/** The counters one task updates, already bound to its labels (no label lookup per batch). */
export interface TaskMetrics {
  recordsIn(count: number): void;
  recordsOut(count: number): void;
  batch(): void;
  errors(count: number): void;
  skipped(count: number): void;
  retries(count: number): void;
  deadLettered(count: number): void;
  offsetCommit(): void;
  /** Sink: records in the log after the committed positions (log end − committed). */
  offsetLag(lag: number): void;
}

const taskLabels = ['connector', 'task'] as const;

export class WorkerMetrics implements MetricsSource {
  readonly registry = new Registry();
  private readonly recordsInTotal: Counter<'connector' | 'task'>;
  private readonly recordsOutTotal: Counter<'connector' | 'task'>;
  private readonly batchesTotal: Counter<'connector' | 'task'>;
  private readonly errorsTotal: Counter<'connector' | 'task'>;
  private readonly skippedTotal: Counter<'connector' | 'task'>;
  private readonly retriesTotal: Counter<'connector' | 'task'>;
  private readonly deadLetterTotal: Counter<'connector' | 'task'>;
  private readonly offsetCommitsTotal: Counter<'connector' | 'task'>;
  private readonly offsetLag: Gauge<'connector' | 'task'>;
  private readonly connectorCount: Gauge;
  private readonly taskCount: Gauge;
  private cluster: ClusterGauges | undefined;

  constructor(options: { workerId: string; defaultMetrics?: boolean }) {
    this.registry.setDefaultLabels({ worker_id: options.workerId });
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'kafki_' });
    }
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames: taskLabels, registers: [this.registry] });
    this.recordsInTotal = counter(
      'kafki_task_records_in_total',
      'Records a task received: polled from its source, or read from the log by a sink.',
    );
    this.recordsOutTotal = counter(
      'kafki_task_records_out_total',
      'Records a task delivered: durably appended to the log by a source, or put into its sink.',
    );
    this.batchesTotal = counter('kafki_task_batches_total', 'Batches a task processed.');
    this.errorsTotal = counter(
      'kafki_task_errors_total',
      'Record errors (conversion, transformation, delivery) a task met, tolerated or not.',
    );
    this.skippedTotal = counter(
      'kafki_task_records_skipped_total',
      'Records skipped under errors.tolerance=all (dead-lettered or only logged).',
    );
    this.retriesTotal = counter('kafki_task_retries_total', 'Retries after retriable errors.');
    this.deadLetterTotal = counter(
      'kafki_task_deadletter_records_total',
      'Records written to the dead-letter topic.',
    );
    this.offsetCommitsTotal = counter(
      'kafki_task_offset_commits_total',
      'Source offset or sink position commits.',
    );
    this.offsetLag = new Gauge({
      name: 'kafki_sink_offset_lag',
      help: 'Sink tasks: records in the log after the committed positions (log end − committed), summed over partitions.',
      labelNames: taskLabels,
      registers: [this.registry],
    });
    this.connectorCount = new Gauge({
      name: 'kafki_worker_connector_count',
      help: 'Connectors running on this worker.',
      registers: [this.registry],
    });
    this.taskCount = new Gauge({
      name: 'kafki_worker_task_count',
      help: 'Tasks running on this worker.',
      registers: [this.registry],
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Distributed mode: what this member sees of its group after each heartbeat. */
  clusterState(state: { members: number; leader: boolean; generation: number }): void {
    this.cluster ??= clusterGauges(this.registry);
    this.cluster.members.set(state.members);
    this.cluster.leader.set(state.leader ? 1 : 0);
    this.cluster.generation.set(state.generation);
  }

  /** Distributed mode: this member stopped units because it could not renew their leases. */
  leasesLost(count: number): void {
    this.cluster ??= clusterGauges(this.registry);
    this.cluster.leasesLost.inc(count);
  }

  setCounts(connectors: number, tasks: number): void {
    this.connectorCount.set(connectors);
    this.taskCount.set(tasks);
  }

  forTask(connector: string, task: number): TaskMetrics {
    const labels = { connector, task: String(task) };
    const recordsIn = this.recordsInTotal.labels(labels);
    const recordsOut = this.recordsOutTotal.labels(labels);
    const batches = this.batchesTotal.labels(labels);
    const errors = this.errorsTotal.labels(labels);
    const skipped = this.skippedTotal.labels(labels);
    const retries = this.retriesTotal.labels(labels);
    const deadLettered = this.deadLetterTotal.labels(labels);
    const commits = this.offsetCommitsTotal.labels(labels);
    const lag = this.offsetLag.labels(labels);
    return {
      recordsIn: (count) => recordsIn.inc(count),
      recordsOut: (count) => recordsOut.inc(count),
      batch: () => batches.inc(),
      errors: (count) => errors.inc(count),
      skipped: (count) => skipped.inc(count),
      retries: (count) => retries.inc(count),
      deadLettered: (count) => deadLettered.inc(count),
      offsetCommit: () => commits.inc(),
      offsetLag: (value) => lag.set(value),
    };
  }

  /** Drop a removed task's series so /metrics does not list tasks that no longer exist. */
  removeTask(connector: string, task: number): void {
    const labels = { connector, task: String(task) };
    for (const metric of [
      this.recordsInTotal,
      this.recordsOutTotal,
      this.batchesTotal,
      this.errorsTotal,
      this.skippedTotal,
      this.retriesTotal,
      this.deadLetterTotal,
      this.offsetCommitsTotal,
      this.offsetLag,
    ]) {
      metric.remove(labels);
    }
  }
}

interface ClusterGauges {
  members: Gauge;
  leader: Gauge;
  generation: Gauge;
  leasesLost: Counter;
}

/** Registered on first use, so a standalone worker does not show cluster series. */
function clusterGauges(registry: Registry): ClusterGauges {
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [registry] });
  return {
    members: gauge('kafki_cluster_members', "Live members of this worker's group."),
    leader: gauge(
      'kafki_cluster_leader',
      '1 while this worker leads its group (assigns the units).',
    ),
    generation: gauge(
      'kafki_cluster_assignment_generation',
      'Generation of the assignment this worker follows; it grows with every rebalance.',
    ),
    leasesLost: new Counter({
      name: 'kafki_cluster_leases_lost_total',
      help: 'Connector and task leases this worker lost (Redis out of reach, or expired) and stopped.',
      registers: [registry],
    }),
  };
}
