// Smoke: keyed messages make a round trip through Kafka with kafkajs (idempotent producer, acks=-1,
// gzip → consumer group → committed offsets), and the admin calls Kafki relies on answer. These are
// also the kafkajs 2.2.4 features checked against Kafka 4.x, whose broker dropped old protocol versions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName, waitFor } from '../../helpers/wait.ts';

const { Kafka, CompressionTypes, ConfigResourceTypes, Partitioners, logLevel } = kafkajs;

function client(): InstanceType<typeof Kafka> {
  return new Kafka({
    clientId: uniqueName('smoke_kafka'),
    brokers: serviceAddresses().kafkaBrokers,
    connectionTimeout: 5000,
    logLevel: logLevel.ERROR,
  });
}

test('keyed messages round-trip through a consumer group, in order, with offsets committed', async () => {
  const kafka = client();
  const topic = uniqueName('smoke_kafka');
  const groupId = uniqueName('smoke_kafka_group');
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  // A short fetch wait: disconnect waits for the pending long poll.
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  const sent = [
    { key: 'order-1', value: 'created' },
    { key: 'order-2', value: 'created' },
    { key: 'order-1', value: 'paid' },
    { key: 'order-3', value: 'created' },
    { key: 'order-1', value: 'shipped' },
  ];
  await admin.connect();
  try {
    assert.equal(
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true }),
      true,
    );

    await producer.connect();
    const metadata = await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: sent.map(({ key, value }) => ({ key, value, headers: { source: 'smoke' } })),
    });
    assert.equal(metadata.length, 1);
    assert.equal(metadata[0]?.errorCode, 0);
    assert.equal(metadata[0]?.baseOffset, '0');

    const received: { key: string; value: string; offset: string; source: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        received.push({
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          offset: message.offset,
          source: message.headers?.source?.toString() ?? '',
        });
      },
    });
    await waitFor('all messages consumed', async () => received.length >= sent.length, {
      timeoutMs: 60_000,
    });
    assert.deepEqual(
      received.map(({ key, value }) => ({ key, value })),
      sent,
    );
    assert.deepEqual(
      received.map(({ offset }) => offset),
      ['0', '1', '2', '3', '4'],
    );
    assert.ok(received.every(({ source }) => source === 'smoke'));

    await consumer.commitOffsets([{ topic, partition: 0, offset: String(sent.length) }]);
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.deepEqual(committed, [
      { topic, partitions: [{ partition: 0, offset: String(sent.length), metadata: null }] },
    ]);

    const offsets = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets.length, 1);
    assert.equal(offsets[0]?.low, '0');
    assert.equal(offsets[0]?.high, String(sent.length));
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});

test('a compacted topic is created, described and deleted through the admin API', async () => {
  const admin = client().admin();
  const topic = uniqueName('smoke_kafka_compact');
  let deleted = false;
  await admin.connect();
  try {
    assert.equal(
      await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: 2,
            configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
          },
        ],
        waitForLeaders: true,
      }),
      true,
    );

    const described = await admin.describeConfigs({
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] },
      ],
      includeSynonyms: false,
    });
    const entries = described.resources[0]?.configEntries ?? [];
    assert.deepEqual(
      entries.map(({ configName, configValue }) => ({ configName, configValue })),
      [{ configName: 'cleanup.policy', configValue: 'compact' }],
    );

    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(topics[0]?.name, topic);
    assert.deepEqual(topics[0]?.partitions.map(({ partitionId }) => partitionId).sort(), [0, 1]);
    assert.ok(topics[0]?.partitions.every(({ leader }) => leader >= 0));

    assert.ok((await admin.listTopics()).includes(topic));
    await admin.deleteTopics({ topics: [topic] });
    deleted = true;
    await waitFor(
      'the topic to disappear',
      async () => !(await admin.listTopics()).includes(topic),
    );
  } finally {
    if (!deleted) await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
