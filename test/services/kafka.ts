// Kafka: one KRaft node (broker and controller in one JVM) run from Maven Central jars, with its
// config, data and log under .services/kafka/.
//
// Version: Apache Kafka 4.4.0, the newest that resolves here. Kafka 4.0 removed old protocol
// versions (KIP-896). kafkajs 2.2.4 sends min(its newest, the broker's newest) of every API, and
// BrokerApiVersionsCommand against 4.4.0 shows each kafkajs newest version within the broker's range
// (e.g. Produce v7 in 0-13, Fetch v11 in 4-18, ListOffsets v3 in 1-11, OffsetCommit v5 in 2-10,
// CreateTopics v3 in 2-7, DescribeConfigs v2 in 1-4), so it works unchanged. Checked through kafkajs
// (test/integration/smoke/kafka.test.ts): createTopics with cleanup.policy=compact, describeConfigs,
// fetchTopicMetadata, listTopics, an idempotent producer with acks=-1 and gzip, a consumer group that
// joins, consumes and commits, fetchOffsets, fetchTopicOffsets, deleteGroups, deleteTopics.
// Nothing needed the 3.9.x fallback.
//
// The same jars run the perf tool: java -cp '.services/kafka/lib/*' \
//   org.apache.kafka.tools.ProducerPerformance --topic T --num-records N --record-size B \
//   --throughput -1 --command-property bootstrap.servers=127.0.0.1:9092 acks=-1
// (4.4 deprecates --producer-props in favour of --command-property.)

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { hostPort, isLocal, serviceAddresses } from './addresses.ts';
import {
  assertPortsFree,
  runningPid,
  serviceDir,
  startDaemon,
  stopDaemon,
  waitUntilHealthy,
} from './daemon.ts';
import { classPath, resolveJars } from './maven.ts';
import { ServiceStartError, type ServiceStatus, type TestService } from './service.ts';

const { Kafka, logLevel } = kafkajs;

const name = 'kafka';
const pomPath = join(import.meta.dirname, 'kafka', 'pom.xml');
const log4jTemplate = join(import.meta.dirname, 'kafka', 'log4j2.properties');

/** Fixed, so a re-format after a wiped data folder yields the same cluster (22 chars: 16 bytes). */
const clusterId = 'a2Fma2ktdGVzdC1rYWZrYQ'; // base64url of "kafki-test-kafka"
const startTimeoutMs = 120_000;

/** The KRaft controller listener; only this module needs it, so its variable lives here. */
function controllerPort(): number {
  const value = process.env.KAFKI_KAFKA_CONTROLLER_PORT;
  if (value === undefined || value === '') return 9093;
  const port = Number(value);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new ServiceStartError(name, `KAFKI_KAFKA_CONTROLLER_PORT=${value} is not a port`);
  }
  return port;
}

function brokers(): string[] {
  return serviceAddresses().kafkaBrokers;
}

/** The broker this harness would start: the first address. */
function brokerHostPort(): { host: string; port: number } {
  const first = brokers()[0] ?? '127.0.0.1:9092';
  const { host, port } = hostPort(first);
  return { host, port: port || 9092 };
}

interface ClusterInfo {
  clusterId: string;
  brokerCount: number;
  topicCount: number;
}

/** A real round trip: describeCluster and listTopics through kafkajs, quiet and without retries. */
async function describe(timeoutMs = 5000): Promise<ClusterInfo> {
  const client = new Kafka({
    clientId: 'kafki-harness',
    brokers: brokers(),
    connectionTimeout: 2000,
    requestTimeout: 3000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = client.admin({ retry: { retries: 0 } });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([
      (async () => {
        await admin.connect();
        const cluster = await admin.describeCluster();
        const topics = await admin.listTopics();
        if (cluster.brokers.length === 0) throw new Error('the cluster lists no broker yet');
        return {
          clusterId: cluster.clusterId,
          brokerCount: cluster.brokers.length,
          topicCount: topics.filter((topic) => !topic.startsWith('__')).length,
        };
      })(),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
    await admin.disconnect().catch(() => undefined);
  }
}

async function healthy(): Promise<boolean> {
  await describe();
  return true;
}

/** The version of the jars in .services/kafka/lib (kafka_2.13-X.jar), if fetched. */
function jarVersion(): string | undefined {
  const lib = join(serviceDir(name), 'lib');
  if (!existsSync(lib)) return undefined;
  for (const file of readdirSync(lib)) {
    const match = /^kafka_2\.13-(.+)\.jar$/.exec(file);
    if (match) return match[1];
  }
  return undefined;
}

function serverProperties(dir: string, brokerPort: number, controller: number): string {
  return `# Written by Kafki's test harness (test/services/kafka.ts) on every start; edits are lost.
# One KRaft node: broker and controller in one JVM, static single-voter quorum.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controller}
listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controller}
advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=${join(dir, 'data')}

# A single node: every internal topic has one replica.
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
# Fewer partitions than the default 50 make the first consumer group quicker to start.
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests join groups one consumer at a time: no waiting for more members.
group.initial.rebalance.delay.ms=0

# Compaction shows within seconds in tests: the cleaner looks for dirty logs every second
# (default 15 s). A tombstone goes only on a second pass after delete.retention.ms, so this matters.
log.cleaner.backoff.ms=1000

# Sized for a 2-core test machine with a 512 MiB heap.
num.network.threads=2
num.io.threads=4
log.cleaner.dedupe.buffer.size=33554432
`;
}

/** Format the data folder once: only when meta.properties is absent. */
function formatStorage(dir: string, lib: string, config: string, log4j: string): void {
  if (existsSync(join(dir, 'data', 'meta.properties'))) return;
  try {
    execFileSync(
      'java',
      [
        '-Xmx256m',
        `-Dlog4j2.configurationFile=${log4j}`,
        '-cp',
        classPath(lib),
        'kafka.tools.StorageTool',
        'format',
        '--config',
        config,
        '--cluster-id',
        clusterId,
        '--ignore-formatted',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 120_000 },
    );
  } catch (error) {
    const output =
      error instanceof Error && 'stdout' in error
        ? `${String(error.stdout)}\n${String((error as { stderr?: unknown }).stderr ?? '')}`
        : String(error);
    throw new ServiceStartError(name, 'formatting the KRaft storage failed', output.slice(-3000));
  }
}

export const kafka: TestService = {
  name,
  address: () => brokers().join(','),

  async status(): Promise<ServiceStatus> {
    const address = this.address();
    const ours = runningPid(name) !== undefined;
    try {
      const info = await describe();
      return {
        name,
        address,
        up: true,
        // The jar version is only honest for the JVM this harness started from those jars.
        version: ours ? jarVersion() : undefined,
        detail:
          `KRaft cluster ${info.clusterId}, ${info.brokerCount} broker(s), ${info.topicCount} topic(s)` +
          (ours ? `, controller 127.0.0.1:${controllerPort()}` : ', not started by this harness'),
      };
    } catch (error) {
      return {
        name,
        address,
        up: false,
        detail: (ours ? 'JVM running but not answering: ' : '') + String(error),
      };
    }
  },

  async prepare(): Promise<void> {
    if (isLocal(this.address())) resolveJars(name, pomPath);
  },

  async up(): Promise<void> {
    const address = this.address();
    if (await healthy().catch(() => false)) return;
    if (!isLocal(address)) {
      throw new ServiceStartError(
        name,
        `unreachable at ${address}; start it or point KAFKI_KAFKA_BROKERS elsewhere`,
      );
    }

    // Our JVM from an earlier `up` may still be starting: wait for it rather than start another.
    const earlier = runningPid(name);
    if (earlier !== undefined) {
      await waitUntilHealthy(name, healthy, { timeoutMs: startTimeoutMs, pid: earlier });
      return;
    }

    const { port } = brokerHostPort();
    const controller = controllerPort();
    if (controller === port) {
      throw new ServiceStartError(
        name,
        `the broker and the controller cannot share port ${port}; set KAFKI_KAFKA_CONTROLLER_PORT`,
      );
    }
    await assertPortsFree(name, '127.0.0.1', [port, controller]);

    const lib = resolveJars(name, pomPath);
    const dir = serviceDir(name);
    const config = join(dir, 'server.properties');
    const log4j = join(dir, 'log4j2.properties');
    writeFileSync(config, serverProperties(dir, port, controller));
    writeFileSync(log4j, readFileSync(log4jTemplate, 'utf8'));
    formatStorage(dir, lib, config, log4j);

    const pid = startDaemon({
      name,
      command: 'java',
      args: [
        '-Xms256m',
        '-Xmx512m',
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:+ExitOnOutOfMemoryError',
        '-Djava.awt.headless=true',
        `-Dlog4j2.configurationFile=${log4j}`,
        `-Dkafka.logs.dir=${dir}`,
        '-cp',
        classPath(lib),
        'kafka.Kafka',
        config,
      ],
      cwd: dir,
    });
    await waitUntilHealthy(name, healthy, { timeoutMs: startTimeoutMs, pid });
  },

  async down(): Promise<void> {
    await stopDaemon(name);
  },
};
