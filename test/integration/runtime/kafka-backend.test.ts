// The standalone worker on the Kafka backend: the same pipeline and restart guarantees as on the
// embedded log, with config, offset and status stores on Kafka topics.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName, waitFor } from '../../helpers/wait.ts';
import { startRuntime, tempDir } from './harness.ts';
import { probe } from './test-plugins.ts';

describe('herder on log.backend=kafka', () => {
  it('runs a pipeline through Kafka and resumes from stored offsets after a restart', async () => {
    const run = uniqueName('kbk');
    const worker = {
      'log.backend': 'kafka',
      'bootstrap.servers': serviceAddresses().kafkaBrokers.join(','),
      'config.storage.topic': `${run}-configs`,
      'offset.storage.topic': `${run}-offsets`,
      'status.storage.topic': `${run}-status`,
      'offset.storage.partitions': 3,
      'status.storage.partitions': 1,
    };
    const source = `${run}-gen`;
    const sink = `${run}-col`;
    const topic = `${run}-nums`;
    let runtime = await startRuntime(tempDir('kafka-backend'), { worker });
    probe(source).count = 300;
    await runtime.herder.createConnector(source, { 'connector.class': 'generator', topic });
    await runtime.herder.createConnector(sink, { 'connector.class': 'collector', topics: topic });
    await waitFor('300 records through Kafka', async () => probe(sink).received.length === 300, {
      timeoutMs: 60_000,
    });
    assert.ok((await runtime.herder.connectorTopics(source)).includes(topic));
    await runtime.close();

    probe(source).count = 500;
    probe(source).emitted = 0;
    runtime = await startRuntime(tempDir('kafka-backend'), { worker });
    try {
      const status = await runtime.herder.connectorStatus(source);
      assert.equal(status.connector.state, 'RUNNING');
      await waitFor('200 more records', async () => probe(sink).received.length === 500, {
        timeoutMs: 60_000,
      });
      assert.equal(
        probe(source).emitted,
        200,
        'the source resumed from the offset stored on Kafka',
      );
      const numbers = probe(sink).received.map((record) => (record.value as { n: number }).n);
      assert.deepEqual(
        numbers,
        Array.from({ length: 500 }, (_, i) => i),
        'no gap, no duplicate',
      );
    } finally {
      await runtime.close();
    }
  });
});
