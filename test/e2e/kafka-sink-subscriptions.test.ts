// log.backend=kafka: sink tasks subscribed before their topics exist. Kafka Connect subscribes
// anyway and picks the topics up when the source creates them; demo/register.sh registers the
// source and the sink back to back, so the demo's sink depends on it. Here the sinks (one with
// `topics=<name>`, one with a `topics.regex` matching nothing yet) are registered first, then the
// source: both stay RUNNING and deliver the table once the source created its topic
// (runtime/worker/sink-task-runner.ts subscribes to the existing topics and looks for the others).
//
// A commit for a partition a rebalance revoked (the second task of a sink joining its group) is
// dropped, not a failure: test/integration/runtime/sink-subscriptions.test.ts.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { countDocs, indexExists, kafkaBackend, uniqueName, until } from './harness.ts';
import { createPipeline, sinkConfig, sourceConfig, type Pipeline } from './scenario.ts';

const run = uniqueName('e2e_ksubs');
const rows = 500;

describe('log.backend=kafka: sink subscriptions', () => {
  let pipeline: Pipeline;

  before(async () => {
    pipeline = await createPipeline({
      name: 'ksubs',
      run,
      preloaded: rows,
      writers: 0,
      worker: kafkaBackend(run),
      kafkaTopics: [run],
    });
    await pipeline.worker.start();
  });

  after(async () => {
    await pipeline?.cleanup();
  });

  it('sinks registered before their topics exist wait for them (topics and topics.regex)', async () => {
    // Each sink writes its own index (RegexRouter), so each one's delivery is checked.
    const route = (suffix: string) => ({
      transforms: 'route',
      'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
      'transforms.route.regex': '(.*)',
      'transforms.route.replacement': `$1-${suffix}`,
    });
    const byName = sinkConfig(pipeline, route('name'));
    const byRegex: Record<string, string> = { ...sinkConfig(pipeline, route('regex')) };
    delete byRegex.topics;
    byRegex['topics.regex'] = `${run}\\.public\\..*`;
    const sinks = [`${pipeline.sink}-name`, `${pipeline.sink}-regex`];
    await pipeline.worker.createConnector(sinks[0]!, byName);
    await pipeline.worker.createConnector(sinks[1]!, byRegex);
    // Running without their topics: waiting, not failed.
    await pipeline.worker.waitRunning(sinks[0]!);
    await pipeline.worker.waitRunning(sinks[1]!);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await pipeline.worker.assertNotFailed(sinks);
    assert.equal(await indexExists(`${pipeline.index}-name`), false, 'nothing to index yet');

    await pipeline.worker.createConnector(pipeline.source, sourceConfig(pipeline));
    for (const suffix of ['name', 'regex']) {
      await until(
        `the table in Elasticsearch through the sink by ${suffix}`,
        async () => {
          await pipeline.worker.assertNotFailed([...sinks, pipeline.source]);
          return (await countDocs(`${pipeline.index}-${suffix}`)) === rows;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    }
  });
});
