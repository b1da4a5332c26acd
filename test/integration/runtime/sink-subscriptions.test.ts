// Sink subscriptions against the real logs (the embedded one and Kafka):
// - a sink task subscribed before its topics exist (`topics` naming missing topics, a
//   `topics.regex` matching nothing yet) stays RUNNING and consumes them once they are created,
//   on both backends alike (Kafka Connect's behaviour; the docker-compose demo registers the
//   source and the sink back to back);
// - on Kafka, a commit for partitions a rebalance revoked while the task was busy (here: inside
//   preCommit(), when a second member joins the sink's group) drops those partitions' positions
//   and commits the rest, instead of failing the task with PartitionNotAssignedError: the new
//   owner reads them again from the last commit (duplicates, never a loss).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Herder } from '../../../runtime/herder/herder.ts';
import { KafkaLog } from '../../../runtime/log/kafka/index.ts';
import type { GroupConsumer } from '../../../runtime/log/log.ts';
import { sinkGroupId } from '../../../runtime/worker/sink-task-runner.ts';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName, waitFor } from '../../helpers/wait.ts';
import { startRuntime, tempDir } from './harness.ts';
import { probe } from './test-plugins.ts';

const brokers = serviceAddresses().kafkaBrokers;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const kafkaWorker = (run: string) => ({
  'log.backend': 'kafka',
  'bootstrap.servers': brokers.join(','),
  'config.storage.topic': `${run}-configs`,
  'offset.storage.topic': `${run}-offsets`,
  'status.storage.topic': `${run}-status`,
  'offset.storage.partitions': 1,
  'status.storage.partitions': 1,
});

/** The first FAILED task of the connectors, as "name: trace", or undefined. */
async function failedTask(herder: Herder, names: readonly string[]): Promise<string | undefined> {
  for (const name of names) {
    const status = await herder.connectorStatus(name);
    const failed = status.tasks.find((task) => task.state === 'FAILED');
    if (failed) return `${name}/${failed.id}: ${failed.trace ?? ''}`;
  }
  return undefined;
}

/** Waits for `condition`, failing at once (with the trace) when a task of `names` fails. */
async function until(
  description: string,
  herder: Herder,
  names: readonly string[],
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const failure = await waitFor(
    description,
    async () => {
      const failed = await failedTask(herder, names);
      if (failed) return { failed };
      return (await condition()) ? { failed: undefined } : undefined;
    },
    { timeoutMs },
  );
  assert.equal(failure.failed, undefined, `a task failed while waiting for ${description}`);
}

async function allRunning(herder: Herder, name: string): Promise<boolean> {
  const status = await herder.connectorStatus(name);
  return status.tasks.length > 0 && status.tasks.every((task) => task.state === 'RUNNING');
}

/** Deletes the run's topics on Kafka. */
async function deleteKafkaTopics(prefix: string): Promise<void> {
  const log = await KafkaLog.open({ brokers, clientId: 'kafki-test-cleanup' });
  try {
    const topics = (await log.listTopics()).filter((topic) => topic.startsWith(prefix));
    await Promise.allSettled(topics.map((topic) => log.deleteTopic(topic)));
  } finally {
    await log.close();
  }
}

const numbers = (name: string) =>
  probe(name).received.map((record) => (record.value as { n: number }).n);

for (const backend of ['local', 'kafka'] as const) {
  describe(`sink subscriptions before the topics exist (log.backend=${backend})`, () => {
    it('stays RUNNING and consumes named and matching topics once they are created', async () => {
      const run = uniqueName(`subs_${backend}`);
      const runtime = await startRuntime(tempDir('sink-subscriptions'), {
        worker: backend === 'kafka' ? kafkaWorker(run) : {},
      });
      try {
        const { herder } = runtime;
        const named = `${run}-named`;
        const matching = `${run}-matching`;
        const [first, second] = [`${run}-a`, `${run}-b`];
        await herder.createConnector(named, {
          'connector.class': 'collector',
          topics: `${first},${second}`,
        });
        await herder.createConnector(matching, {
          'connector.class': 'collector',
          'topics.regex': `${run}-rx-.*`,
        });
        const sinks = [named, matching];
        await until('both sinks RUNNING', herder, sinks, async () =>
          (await Promise.all(sinks.map((name) => allRunning(herder, name)))).every(Boolean),
        );
        // Several refreshes of the missing topics later, still waiting, not failed.
        await sleep(2_500);
        assert.equal(await failedTask(herder, sinks), undefined);
        assert.ok((await allRunning(herder, named)) && (await allRunning(herder, matching)));
        assert.equal(probe(named).received.length + probe(matching).received.length, 0);

        // One of the two named topics appears: it is consumed while the other is waited for.
        probe(`${run}-gen-a`).count = 40;
        await herder.createConnector(`${run}-gen-a`, {
          'connector.class': 'generator',
          topic: first,
        });
        await until('the first named topic', herder, sinks, () => numbers(named).length >= 40);
        probe(`${run}-gen-b`).count = 30;
        await herder.createConnector(`${run}-gen-b`, {
          'connector.class': 'generator',
          topic: second,
        });
        await until('both named topics', herder, sinks, () => numbers(named).length >= 70);
        const byTopic = (topic: string) =>
          probe(named)
            .received.filter((record) => record.topic === topic)
            .map((record) => (record.value as { n: number }).n)
            .sort((a, b) => a - b);
        assert.deepEqual(
          byTopic(first),
          Array.from({ length: 40 }, (_, i) => i),
        );
        assert.deepEqual(
          byTopic(second),
          Array.from({ length: 30 }, (_, i) => i),
        );

        probe(`${run}-gen-rx`).count = 25;
        await herder.createConnector(`${run}-gen-rx`, {
          'connector.class': 'generator',
          topic: `${run}-rx-1`,
        });
        await until('the matching topic', herder, sinks, () => numbers(matching).length >= 25);
        assert.deepEqual(
          numbers(matching).sort((a, b) => a - b),
          Array.from({ length: 25 }, (_, i) => i),
        );
        assert.ok(probe(matching).received.every((record) => record.topic === `${run}-rx-1`));
        assert.equal(await failedTask(herder, sinks), undefined);
      } finally {
        await runtime.close();
        if (backend === 'kafka') await deleteKafkaTopics(run);
      }
    });
  });
}

describe('sink commits racing a rebalance (log.backend=kafka)', () => {
  let log: KafkaLog;
  before(async () => {
    log = await KafkaLog.open({ brokers, clientId: 'kafki-test-sink-rebalance' });
  });
  after(async () => {
    await log.close();
  });

  it('drops the positions of partitions revoked during preCommit() and commits the rest', async () => {
    const run = uniqueName('sink_rebalance');
    const topic = `${run}-nums`;
    const sink = `${run}-col`;
    const groupId = sinkGroupId(sink);
    const partitions = 4;
    const perPartition = 10;
    await log.createTopic({ name: topic, partitions, cleanupPolicy: 'delete' });
    for (let partition = 0; partition < partitions; partition++) {
      await log.append(
        topic,
        Array.from({ length: perPartition }, (_, i) => ({
          key: null,
          value: Buffer.from(JSON.stringify({ n: partition * 100 + i })),
          partition,
        })),
      );
    }
    const runtime = await startRuntime(tempDir('sink-rebalance'), {
      worker: {
        ...kafkaWorker(run),
        'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
        'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'value.converter.schemas.enable': false,
      },
      log,
    });
    let intruder: GroupConsumer | undefined;
    try {
      const { herder } = runtime;
      const p = probe(sink);
      await herder.createConnector(sink, {
        'connector.class': 'async-collector',
        topics: topic,
      });
      // Everything put, nothing confirmed: preCommit() keeps the positions at 0.
      await until(
        'every record put',
        herder,
        [sink],
        () => p.held.length === partitions * perPartition,
      );

      // The next preCommit() holds on until the group rebalanced under the task.
      let release!: () => void;
      p.preCommitGate = new Promise<void>((resolve) => (release = resolve));
      const calls = p.preCommitCalls;
      await waitFor('a preCommit() held', async () => p.preCommitCalls > calls);
      await p.confirm!();
      assert.equal(p.received.length, partitions * perPartition);

      // A second member joins the sink's group (as a second task would) and takes partitions.
      intruder = await log.consumer({ groupId, topics: [topic], startFrom: 'earliest' });
      await waitFor('the second member to get partitions', async () => {
        await intruder!.poll({ maxWaitMs: 50 });
        return intruder!.assignment().length > 0;
      });
      const revoked = intruder.assignment().map((tp) => tp.partition);
      assert.ok(revoked.length > 0 && revoked.length < partitions);
      const kept = Array.from({ length: partitions }, (_, i) => i).filter(
        (partition) => !revoked.includes(partition),
      );
      // preCommit() answers every partition read, the revoked ones included.
      p.preCommitGate = undefined;
      release();

      const committed = async () =>
        new Map(
          (await log.committedOffsets(groupId, topic)).map(({ partition, offset }) => [
            partition,
            offset,
          ]),
        );
      await until('the kept partitions committed', herder, [sink], async () => {
        const offsets = await committed();
        return kept.every((partition) => offsets.get(partition) === perPartition);
      });
      assert.ok(await allRunning(herder, sink), 'the task kept running');
      const offsets = await committed();
      for (const partition of revoked) {
        assert.ok(
          (offsets.get(partition) ?? 0) === 0,
          `the revoked partition ${partition} was not committed by the task that lost it`,
        );
      }
      await waitFor('the task to close the revoked partitions', async () =>
        revoked.every((partition) => p.closed.includes(`${topic}/${partition}`)),
      );
      assert.ok(
        runtime.logs.some(
          (entry) =>
            entry.level === 'info' &&
            entry.message?.includes('revoked before their positions were committed') === true,
        ),
        'the dropped positions are logged',
      );

      // The second member leaves without committing: the task gets its partitions back and reads
      // them again from the last commit (duplicates, never a loss).
      await intruder.close();
      intruder = undefined;
      await until('every partition committed to its end', herder, [sink], async () => {
        await p.confirm!();
        const now = await committed();
        return Array.from({ length: partitions }, (_, i) => i).every(
          (partition) => now.get(partition) === perPartition,
        );
      });
      const count = new Map<number, number>();
      for (const n of numbers(sink)) count.set(n, (count.get(n) ?? 0) + 1);
      for (let partition = 0; partition < partitions; partition++) {
        for (let i = 0; i < perPartition; i++) {
          const times = count.get(partition * 100 + i) ?? 0;
          if (revoked.includes(partition)) assert.equal(times, 2, `record ${partition}/${i}`);
          else assert.equal(times, 1, `record ${partition}/${i}`);
        }
      }
    } finally {
      await intruder?.close();
      await runtime.close();
      await deleteKafkaTopics(run);
    }
  });
});
