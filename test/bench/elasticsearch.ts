// `npm run bench:es` (issue 6, "Performance"): PostgreSQL → Elasticsearch through Kafki, from one
// run on this machine:
//
//   1. Initial snapshot of N rows (default 1,000,000; the 10-column table of
//      test/bench/postgres/workload.ts) into Elasticsearch through Kafki: a standalone worker in a
//      child process (elasticsearch-worker.ts; local log, fsync always, Debezium JSON with schemas)
//      runs the PostgreSQL source (snapshot.mode=initial, its own slot, exported snapshot) and the
//      Elasticsearch sink (raw envelopes, versioned writes, index created by the sink). Timed from
//      the connectors' creation until every record of the topic is committed by the sink (written
//      to Elasticsearch and acknowledged), in docs/s.
//   2. Commit-to-searchable latency on the same pipeline, now streaming: a load generator commits
//      a steady R changes/s (default 2,000: half inserts of new rows, half updates of existing
//      ones — each row at most once — in transactions of 20 every 10 ms) for D seconds (default 60) with the index's
//      refresh_interval set to 1s; every change sets order_no to a sequence number, and a poller
//      searches every 25 ms for the sequence numbers it has not seen yet. Latency = the moment a
//      change is first returned by a search − the moment its COMMIT returned (one clock, one
//      machine; the polling interval adds up to 25 ms). p50, p99 and max.
//   3. The worker's peak RSS (VmHWM of the child process, sampled from /proc over the whole run).
//   4. The reference: a plain bulk load of the same documents (the rows read with a cursor and
//      converted as the sink converts them) through the client's bulk helper
//      (client.helpers.bulk, flushBytes 5 MB, concurrency 5) into a new index with the same
//      mappings and settings as the one Kafki's sink created; Kafki's index is deleted first.
//      Timed from the first document until the helper resolves (every bulk acknowledged), docs/s.
//   5. The CPU seconds each path cost during 1 and 4: the feeder (Kafki's worker; this process for
//      the bulk helper), Elasticsearch's JVM and PostgreSQL (postmaster and backends), read from
//      /proc. On a small machine the three share the cores, so the feeder's CPU per document is
//      what bounds Kafki's rate against the helper's.
//
//   npm run bench:es -- [--rows 1000000] [--rate 2000] [--seconds 60]
//       [--worker-prop key=value]… [--source-prop key=value]… [--sink-prop key=value]…
//       [--node-opts="--cpu-prof --cpu-prof-dir=/tmp/prof"] [--no-latency] [--no-bulk-helper]
//
// Prints a table, then, as the last line of stdout, one JSON object with the same figures
// (ratio_vs_bulk_helper = Kafki's docs/s ÷ the bulk helper's). Progress goes to stderr. The
// table, the publication and the slots are dropped at the end, on failure and on Ctrl-C (and what
// a killed run left is dropped at the start of the next one); both indices are deleted.

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@elastic/elasticsearch';
import type { RawConfig } from '../../runtime/api/config.ts';
import { serviceAddresses } from '../services/addresses.ts';
import {
  findProcess,
  parentProcess,
  ProcessSampler,
  sampleProcess,
  serviceCpuSeconds,
} from './postgres/process-stats.ts';
import { connectClient, dropStaleRuns, PostgresWorkload } from './postgres/workload.ts';
import { printJsonSummary, printTable, ratio } from './report.ts';
import type { EsParentMessage, EsWorkerArgs, EsWorkerMessage } from './elasticsearch-worker.ts';
import { pairs, processAlive } from './bench-process.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const log = (message: string) => console.error(message);
const esUrl = serviceAddresses().elasticsearchUrl;
const topicPrefix = 'kbenches';

/** The settings the benchmark runs Kafki with (printed with the figures). */
export const tuned = {
  worker: {
    // Smaller fetches than the defaults (2,000 records, 8 MiB): a Debezium JSON record with its
    // schema is ~4.5 KiB; smaller batches keep less of it in memory at once.
    'consumer.max.poll.records': 1000,
    'consumer.fetch.max.bytes': 4194304,
    'offset.flush.interval.ms': 100,
  },
  source: {
    'poll.interval.ms': '50',
  },
  sink: {
    // 4 lanes of 1,000-document requests (~0.4 MB each) keep Elasticsearch busy on this machine;
    // more buffered records only cost memory.
    'batch.size': '1000',
    'max.in.flight.requests': '4',
    'linger.ms': '5',
    'max.buffered.records': '5000',
    'read.timeout.ms': '60000',
  },
} as const;

function positive(value: string, name: string): number {
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be ≥ 1: ${value}`);
  return parsed;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/** The worker child: messages in order, the exit, and its /proc sampler. */
class WorkerChild {
  private readonly messages: EsWorkerMessage[] = [];
  private readonly waiters: Array<() => void> = [];
  private exited: string | undefined;
  private stopping = false;
  private stderr = '';
  readonly sampler: ProcessSampler;
  readonly pid: number | undefined;
  private readonly child;

  constructor(args: EsWorkerArgs, nodeOptions: readonly string[] = []) {
    this.child = fork(join(here, 'elasticsearch-worker.ts'), [JSON.stringify(args)], {
      cwd: repoRoot,
      execArgv: ['--import', 'tsx', ...nodeOptions],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    const pid = this.child.pid;
    this.pid = pid;
    this.sampler = new ProcessSampler(() => pid, 20);
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-16 * 1024);
    });
    this.child.on('message', (message) => {
      this.messages.push(message as EsWorkerMessage);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.on('exit', (code, signal) => {
      this.exited = String(code ?? signal);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** The next message of one of these types (a 'failed' message throws). */
  async next<T extends EsWorkerMessage['type']>(
    ...types: T[]
  ): Promise<Extract<EsWorkerMessage, { type: T }>> {
    for (;;) {
      const failed = this.messages.find((message) => message.type === 'failed');
      if (failed && failed.type === 'failed')
        throw new Error(`a Kafki task failed: ${failed.trace}`);
      const index = this.messages.findIndex((message) =>
        (types as string[]).includes(message.type),
      );
      if (index >= 0)
        return this.messages.splice(index, 1)[0] as Extract<EsWorkerMessage, { type: T }>;
      if (this.exited !== undefined) {
        throw new Error(`the Kafki worker exited (${this.exited}):\n${this.stderr.slice(-4000)}`);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  tell(message: EsParentMessage): void {
    if (this.exited === undefined) this.child.send(message);
    if (message.type === 'stop') this.stopping = true;
  }

  /**
   * Kills the child (if it still runs) and waits until it is gone. A child told to stop gets 10 s
   * to exit by itself first (its exit writes --cpu-prof profiles).
   */
  async kill(): Promise<void> {
    if (this.exited !== undefined) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    if (this.stopping) {
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
      if (this.exited !== undefined) return;
    }
    this.child.kill('SIGKILL');
    await gone;
  }
}

/**
 * Deletes the indices of earlier runs that died before their cleanup: `<topic prefix>.public.
 * kbench_<pid>_…` (Kafki's) and `kbench_<pid>_…-bulk-helper`, whose <pid> is no longer a live
 * process here (like dropStaleRuns for the PostgreSQL side). Returns the names deleted.
 */
async function dropStaleIndices(client: Client): Promise<string[]> {
  const indices = await client.cat.indices({
    index: `${topicPrefix}.public.kbench_*,kbench_*`,
    h: 'index',
    format: 'json',
    expand_wildcards: 'all',
  });
  const stale = indices
    .map((row) => row.index ?? '')
    .filter((name) => {
      const match = /(?:^|\.)kbench_(\d+)_[0-9a-f]+[_-]/.exec(name);
      return match?.[1] !== undefined && !processAlive(Number(match[1]));
    });
  for (const index of stale) await client.indices.delete({ index, ignore_unavailable: true });
  return stale;
}

interface LatencyResult {
  changes: number;
  seconds: number;
  perSecond: number;
  seen: number;
  superseded: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * A steady load of `rate` changes/s for `seconds`: every 10 ms one transaction of rate/100
 * changes (half inserts of new ids, half updates of random existing rows), each setting
 * order_no = 2e12 + its sequence number and created_at = its commit time. A poller finds the
 * sequence numbers in the index as they become searchable.
 */
async function measureLatency(
  workload: PostgresWorkload,
  client: Client,
  index: string,
  options: { rate: number; seconds: number; rows: number },
): Promise<LatencyResult> {
  const base = 2_000_000_000_000;
  const perTransaction = Math.max(2, Math.round(options.rate / 100));
  const committedAt: number[] = [];
  const seenAt = new Map<number, number>();
  let written = 0;
  let generating = true;

  // The poller: searches for every sequence number ≥ the lowest one not seen yet.
  let lowest = 0;
  const poller = (async () => {
    while (generating || seenAt.size + 50 < written) {
      const answer = await client.search<{ order_no: number }>({
        index,
        size: 10_000,
        track_total_hits: false,
        _source: ['order_no'],
        query: { range: { order_no: { gte: base + lowest } } },
        sort: [{ order_no: 'asc' }],
      });
      const now = performance.now();
      for (const hit of answer.hits.hits) {
        const seq = Number(hit._source!.order_no) - base;
        if (!seenAt.has(seq)) seenAt.set(seq, now);
      }
      // A sequence number whose row was updated again before it was seen never shows: give up
      // on it after 30 s.
      while (
        lowest < written &&
        (seenAt.has(lowest) || now - (committedAt[lowest] ?? now) > 30_000)
      ) {
        lowest++;
      }
      if (!generating && now - (committedAt[written - 1] ?? now) > 30_000) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();

  const db = connectClient(workload.url);
  await db.connect();
  let nextId = options.rows + 1;
  let updated = 0;
  const started = performance.now();
  try {
    for (let tick = 0; ; tick++) {
      if (tick * 10 >= options.seconds * 1000) break;
      const due = started + tick * 10;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const first = written;
      const inserts = Math.floor(perTransaction / 2);
      const insertIds: number[] = [];
      const insertSeqs: number[] = [];
      for (let i = 0; i < inserts; i++) {
        insertIds.push(nextId++);
        insertSeqs.push(base + first + i);
      }
      const updateIds: number[] = [];
      const updateSeqs: number[] = [];
      for (let i = inserts; i < perTransaction; i++) {
        // Every update hits another row (a permutation of the ids): a change that a later one
        // overwrote before it was seen would never show.
        updateIds.push(1 + ((updated++ * 7919) % options.rows));
        updateSeqs.push(base + first + i);
      }
      await db.query('begin');
      await db.query(
        `insert into ${workload.table}
         select u.id, (u.id * 7919) % 100000, u.seq, 1.00, 'latency probe', 'new', false, now(), 0.5,
                '{"probe": true}'::jsonb
         from unnest($1::bigint[], $2::bigint[]) as u(id, seq)`,
        [insertIds, insertSeqs],
      );
      await db.query(
        `update ${workload.table} as t set order_no = u.seq, created_at = now(), status = 'paid'
         from unnest($1::bigint[], $2::bigint[]) as u(id, seq) where t.id = u.id`,
        [updateIds, updateSeqs],
      );
      await db.query('commit');
      const at = performance.now();
      for (let i = 0; i < perTransaction; i++) committedAt[first + i] = at;
      written += perTransaction;
    }
  } finally {
    generating = false;
    await db.end();
  }
  const seconds = (performance.now() - started) / 1000;
  await poller;
  const latencies: number[] = [];
  for (const [seq, at] of seenAt) {
    const commit = committedAt[seq];
    if (commit !== undefined) latencies.push(at - commit);
  }
  latencies.sort((a, b) => a - b);
  return {
    changes: written,
    seconds: round1(seconds),
    perSecond: Math.round(written / seconds),
    seen: latencies.length,
    superseded: written - latencies.length,
    p50: Math.round(percentile(latencies, 50)),
    p99: Math.round(percentile(latencies, 99)),
    max: Math.round(latencies.at(-1) ?? 0),
  };
}

/** CPU seconds used so far by each process that takes part in a phase (undefined: not found). */
interface CpuReading {
  feeder: number | undefined;
  elasticsearch: number | undefined;
  postgres: number | undefined;
}

/**
 * Reads the CPU time of Elasticsearch (its JVM), PostgreSQL (the postmaster with its backends)
 * and the process that feeds Elasticsearch (Kafki's worker, or this process for the bulk
 * helper), so each path's cost on this machine's cores can be compared with its throughput.
 */
async function cpuMeter(workload: PostgresWorkload) {
  // The services harness starts Elasticsearch's JVM with its HTTP port as a system property.
  const httpPort = `-Des.http.port=${new URL(esUrl).port} `;
  const elasticsearch = findProcess((line) => line.includes(httpPort));
  const db = connectClient(workload.url);
  await db.connect();
  const backend = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  // Asked while the backend lives: its parent is the postmaster.
  const postmaster = parentProcess(backend);
  await db.end();
  return (feederPid: number | 'self'): CpuReading => {
    const self = process.cpuUsage();
    return {
      feeder:
        feederPid === 'self'
          ? (self.user + self.system) / 1e6
          : sampleProcess(feederPid)?.cpuSeconds,
      elasticsearch: elasticsearch === undefined ? undefined : serviceCpuSeconds(elasticsearch),
      postgres: postmaster === undefined ? undefined : serviceCpuSeconds(postmaster),
    };
  };
}

function cpuUsed(before: CpuReading, after: CpuReading): CpuReading {
  const used = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : round1(b - a);
  return {
    feeder: used(before.feeder, after.feeder),
    elasticsearch: used(before.elasticsearch, after.elasticsearch),
    postgres: used(before.postgres, after.postgres),
  };
}

function cpuRow(path: string, used: CpuReading, docs: number, seconds: number) {
  const { feeder, elasticsearch, postgres } = used;
  const total =
    feeder === undefined || elasticsearch === undefined || postgres === undefined
      ? undefined
      : round1(feeder + elasticsearch + postgres);
  const perDoc = (cpu: number | undefined) =>
    cpu === undefined ? null : Math.round((cpu * 1e6) / docs);
  return {
    path,
    'feeder s': feeder ?? null,
    'Elasticsearch s': elasticsearch ?? null,
    'PostgreSQL s': postgres ?? null,
    'total s': total ?? null,
    'cores busy': total === undefined ? null : round1(total / seconds),
    'feeder µs/doc': perDoc(feeder),
    'Elasticsearch µs/doc': perDoc(elasticsearch),
  };
}

/** The bulk helper reference: the same rows, converted as the sink converts them. */
async function measureBulkHelper(
  workload: PostgresWorkload,
  client: Client,
  index: string,
  rows: number,
): Promise<{ seconds: number; docs: number }> {
  const db = connectClient(workload.url);
  await db.connect();
  try {
    await db.query('begin isolation level repeatable read');
    await db.query(
      `declare rows no scroll cursor for
       select id::text, customer_id, order_no::text, amount::text, description, status, is_paid,
              to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at,
              score, attrs::text
       from ${workload.table} where id <= $1`.replace('$1', String(rows)),
    );
    async function* documents() {
      for (;;) {
        const { rows: batch } =
          await db.query<Record<string, string | number | boolean>>('fetch 10000 from rows');
        if (batch.length === 0) return;
        for (const row of batch) {
          yield {
            id: Number(row.id),
            customer_id: row.customer_id,
            order_no: Number(row.order_no),
            amount: Number(row.amount),
            description: row.description,
            status: row.status,
            is_paid: row.is_paid,
            created_at: row.created_at,
            score: row.score,
            attrs: row.attrs,
          };
        }
      }
    }
    const started = performance.now();
    const stats = await client.helpers.bulk({
      datasource: documents(),
      onDocument: (doc) => ({ index: { _index: index, _id: String(doc.id) } }),
      flushBytes: 5 * 1024 * 1024,
      concurrency: 5,
      retries: 3,
      onDrop: (dropped) => {
        throw new Error(`the bulk helper dropped a document: ${JSON.stringify(dropped.error)}`);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    await db.query('commit');
    return { seconds, docs: stats.successful };
  } finally {
    await db.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      rate: { type: 'string', default: '2000' },
      seconds: { type: 'string', default: '60' },
      'worker-prop': { type: 'string', multiple: true, default: [] },
      'source-prop': { type: 'string', multiple: true, default: [] },
      'sink-prop': { type: 'string', multiple: true, default: [] },
      'node-opts': { type: 'string', default: '' },
      'no-latency': { type: 'boolean', default: false },
      'no-bulk-helper': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const rows = positive(values.rows, 'rows');
  const rate = positive(values.rate, 'rate');
  const seconds = positive(values.seconds, 'seconds');
  const workload = new PostgresWorkload({ inserts: rows, updates: 0 });
  const client = new Client({ node: esUrl, requestTimeout: 120_000 });
  const kafkiIndex = `${topicPrefix}.${workload.qualifiedTable}`.toLowerCase();
  const bulkIndex = `${workload.prefix}-bulk-helper`;
  let child: WorkerChild | undefined;
  let logDir: string | undefined;

  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      await child?.kill();
      if (logDir !== undefined) rmSync(logDir, { recursive: true, force: true });
      for (const index of [kafkiIndex, bulkIndex]) {
        await client.indices.delete({ index, ignore_unavailable: true }).catch(() => undefined);
      }
      await workload.cleanup().catch((error: unknown) => {
        log(`cleanup failed — drop the slots named ${workload.prefix}_* by hand: ${String(error)}`);
      });
      await client.close();
    })();
    return cleaning;
  };
  const interrupted = (signal: NodeJS.Signals): void => {
    log(`${signal}: cleaning up…`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    const stale = [...(await dropStaleRuns(workload.url)), ...(await dropStaleIndices(client))];
    if (stale.length > 0) log(`dropped what dead runs left: ${stale.join(', ')}`);
    log(`setup: ${rows.toLocaleString('en-US')} rows in ${workload.qualifiedTable}…`);
    await workload.setup();
    const load = await workload.load();
    log(`  loaded in ${(load.loadMs / 1000).toFixed(1)} s`);

    // 1. Kafki: snapshot into Elasticsearch.
    const connection = workload.connection();
    const slot = workload.slotName('kafki_es');
    const source: RawConfig = {
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': '1',
      'database.hostname': connection.host,
      'database.port': String(connection.port),
      'database.user': connection.user,
      ...(connection.password === '' ? {} : { 'database.password': connection.password }),
      'database.dbname': connection.database,
      'topic.prefix': topicPrefix,
      'slot.name': slot,
      'publication.name': workload.publication,
      'publication.autocreate.mode': 'disabled',
      'table.include.list': workload.qualifiedTable.replace('.', '\\.'),
      'snapshot.mode': 'initial',
      ...tuned.source,
      ...pairs(values['source-prop'], 'source-prop'),
    };
    const topic = `${topicPrefix}.${workload.qualifiedTable}`;
    const sink: RawConfig = {
      'connector.class': 'io.kafki.connectors.elasticsearch.ElasticsearchSinkConnector',
      'tasks.max': '1',
      topics: topic,
      'connection.url': esUrl,
      'behavior.on.null.values': 'delete',
      'index.replicas': '0',
      ...tuned.sink,
      ...pairs(values['sink-prop'], 'sink-prop'),
    };
    const worker = { ...tuned.worker, ...pairs(values['worker-prop'], 'worker-prop') };
    const nodeOptions = values['node-opts'].split(/\s+/).filter((flag) => flag !== '');
    const chosen = {
      worker,
      source: { ...tuned.source, ...pairs(values['source-prop'], 'source-prop') },
      sink: { ...tuned.sink, ...pairs(values['sink-prop'], 'sink-prop') },
      ...(nodeOptions.length > 0 ? { node: nodeOptions.join(' ') } : {}),
    };
    log('Kafki: snapshot → local log → Elasticsearch…');
    logDir = mkdtempSync(join(tmpdir(), 'kafki-bench-es-'));
    child = new WorkerChild({ source, sink, topic, expected: rows, worker, logDir }, nodeOptions);
    const ready = await child.next('ready');
    const cpu = await cpuMeter(workload);
    const workerPid = child.pid ?? -1;
    const kafkiCpuBefore = cpu(workerPid);
    child.tell({ type: 'start' });
    const caughtUp = await child.next('caught-up');
    const kafkiCpu = cpuUsed(kafkiCpuBefore, cpu(workerPid));
    await client.indices.refresh({ index: kafkiIndex });
    const indexed = (await client.count({ index: kafkiIndex })).count;
    if (indexed !== rows) throw new Error(`Kafki's index holds ${indexed} documents, not ${rows}`);
    const kafkiSeconds = caughtUp.ms / 1000;
    const kafkiRate = Math.round(rows / kafkiSeconds);
    log(`  ${rows.toLocaleString('en-US')} docs in ${kafkiSeconds.toFixed(1)} s: ${kafkiRate}/s`);

    // 2. Latency, same pipeline, now streaming.
    let latency: LatencyResult | undefined;
    if (!values['no-latency']) {
      await client.indices.putSettings({ index: kafkiIndex, settings: { refresh_interval: '1s' } });
      log(`latency: ${rate} changes/s for ${seconds} s, refresh_interval 1s…`);
      latency = await measureLatency(workload, client, kafkiIndex, { rate, seconds, rows });
      log(`  p50 ${latency.p50} ms, p99 ${latency.p99} ms, max ${latency.max} ms`);
    }

    // 3. Stop the worker: its peak RSS.
    child.tell({ type: 'stop' });
    const result = await child.next('result');
    const sample = child.sampler.stop();
    const peakRssMb = sample?.peakRssMb ?? result.maxRssMb;

    // 4. The bulk helper into an index like Kafki's.
    const mapping = await client.indices.getMapping({ index: kafkiIndex });
    const settings = await client.indices.getSettings({ index: kafkiIndex });
    const kafkiSettings = settings[kafkiIndex]!.settings!.index!;
    await client.indices.delete({ index: kafkiIndex });
    let bulk: { seconds: number; docs: number; cpu: CpuReading } | undefined;
    if (!values['no-bulk-helper']) {
      await client.indices.create({
        index: bulkIndex,
        mappings: mapping[kafkiIndex]!.mappings,
        settings: {
          number_of_shards: kafkiSettings.number_of_shards,
          number_of_replicas: kafkiSettings.number_of_replicas,
        },
      });
      log('bulk helper: the same documents into an index with the same mappings and settings…');
      const cpuBefore = cpu('self');
      const loaded = await measureBulkHelper(workload, client, bulkIndex, rows);
      bulk = { ...loaded, cpu: cpuUsed(cpuBefore, cpu('self')) };
      log(`  ${bulk.docs.toLocaleString('en-US')} docs in ${bulk.seconds.toFixed(1)} s`);
    }
    const bulkRate = bulk ? Math.round(bulk.docs / bulk.seconds) : null;

    printTable(`Initial snapshot of ${rows.toLocaleString('en-US')} rows into Elasticsearch`, [
      {
        path: 'Kafki: PostgreSQL snapshot → local log → ES sink',
        docs: rows,
        seconds: round1(kafkiSeconds),
        'docs/s': kafkiRate,
        'vs bulk helper': bulkRate === null ? null : ratio(kafkiRate, bulkRate),
      },
      {
        path: 'client.helpers.bulk (same documents)',
        docs: bulk?.docs ?? null,
        seconds: bulk ? round1(bulk.seconds) : null,
        'docs/s': bulkRate,
        'vs bulk helper': bulkRate === null ? null : 1,
      },
    ]);
    printTable(`CPU seconds during the snapshot (this machine: ${availableParallelism()} cores)`, [
      cpuRow('Kafki (feeder: the worker)', kafkiCpu, rows, kafkiSeconds),
      ...(bulk
        ? [cpuRow('bulk helper (feeder: this process)', bulk.cpu, bulk.docs, bulk.seconds)]
        : []),
    ]);
    printTable(`Commit-to-searchable latency (refresh_interval 1s)`, [
      {
        load: latency
          ? `${latency.perSecond.toLocaleString('en-US')} changes/s for ${latency.seconds} s`
          : 'not measured',
        changes: latency?.changes ?? null,
        measured: latency?.seen ?? null,
        'p50 ms': latency?.p50 ?? null,
        'p99 ms': latency?.p99 ?? null,
        'max ms': latency?.max ?? null,
      },
    ]);
    printTable('Kafki worker (child process)', [
      { figure: 'peak RSS (MB)', value: peakRssMb },
      { figure: 'RSS when ready (MB)', value: ready.rssMb },
      {
        figure: 'peak V8 heap used / total (MB)',
        value: `${result.peakHeapUsedMb} / ${result.peakHeapTotalMb}`,
      },
      { figure: 'peak external memory (MB)', value: result.peakExternalMb },
      { figure: 'CPU seconds (user + system)', value: round1(result.cpu.user + result.cpu.system) },
    ]);
    console.log(
      `\nSettings: worker ${JSON.stringify(chosen.worker)}; source ${JSON.stringify(chosen.source)}; sink ${JSON.stringify(chosen.sink)}${chosen.node === undefined ? '' : `; node ${chosen.node}`}`,
    );
    if (result.warnings.length > 0) log(`worker warnings:\n  ${result.warnings.join('\n  ')}`);
    printJsonSummary({
      benchmark: 'elasticsearch',
      rows,
      kafki_snapshot_seconds: round1(kafkiSeconds),
      kafki_snapshot_docs_per_s: kafkiRate,
      bulk_helper_seconds: bulk ? round1(bulk.seconds) : null,
      bulk_helper_docs_per_s: bulkRate,
      ratio_vs_bulk_helper: bulkRate === null ? null : ratio(kafkiRate, bulkRate),
      latency_changes_per_s: latency?.perSecond ?? null,
      latency_seconds: latency?.seconds ?? null,
      latency_changes: latency?.changes ?? null,
      latency_measured: latency?.seen ?? null,
      latency_p50_ms: latency?.p50 ?? null,
      latency_p99_ms: latency?.p99 ?? null,
      latency_max_ms: latency?.max ?? null,
      worker_peak_rss_mb: peakRssMb,
      worker_cpu_seconds: round1(result.cpu.user + result.cpu.system),
      snapshot_cpu_seconds: kafkiCpu,
      bulk_helper_cpu_seconds: bulk?.cpu ?? null,
      settings: chosen,
    });
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
