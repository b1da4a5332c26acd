// The kafka backend's errors: an unreachable broker fails fast and names the brokers, a missing
// topic is TopicNotFoundError everywhere and is never auto-created, the record size limit is the
// topic's (to the byte, before sending) and the broker's own refusal maps to the same error; and
// kafkajs's logging goes to the logger passed in, or nowhere.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { isRetriable } from '../../../runtime/api/errors.ts';
import {
  BrokerUnreachableError,
  RecordTooLargeError,
  TopicNotFoundError,
} from '../../../runtime/log/errors.ts';
import { KafkaLog, type KafkaLogger } from '../../../runtime/log/kafka/index.ts';
import { createKafkaClient, TOPIC_RESOURCE } from '../../../runtime/log/kafka/kafka-client.ts';
import { singleRecordBatchSize } from '../../../runtime/log/kafka/record-size.ts';
import { serviceAddresses } from '../../services/addresses.ts';
import { uniqueName, waitFor } from '../../helpers/wait.ts';

const brokers = serviceAddresses().kafkaBrokers;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const address = server.address();
  await new Promise((resolveClose) => server.close(resolveClose));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function setMaxMessageBytes(topic: string, bytes: number): Promise<void> {
  const admin = createKafkaClient({
    brokers,
    clientId: 'kafki-test-errors-admin',
    connectionTimeoutMs: 3000,
    requestTimeoutMs: 30_000,
    retry: { retries: 3 },
    logLevel: 'nothing',
  }).admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: TOPIC_RESOURCE,
          name: topic,
          configEntries: [{ name: 'max.message.bytes', value: String(bytes) }],
        },
      ],
    });
    // The broker applies it asynchronously (through the KRaft metadata log).
    await waitFor(`max.message.bytes=${bytes} on ${topic}`, async () => {
      const { resources } = await admin.describeConfigs({
        resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['max.message.bytes'] }],
        includeSynonyms: false,
      });
      return resources[0]?.configEntries[0]?.configValue === String(bytes);
    });
  } finally {
    await admin.disconnect();
  }
}

describe('kafka log: errors', () => {
  let log: KafkaLog;
  before(async () => {
    log = await KafkaLog.open({ brokers, clientId: 'kafki-test-errors' });
  });
  after(async () => {
    await log.close();
  });

  it('fails fast with BrokerUnreachableError naming the brokers when nothing listens', async () => {
    const unreachable = [`127.0.0.1:${await closedPort()}`, `127.0.0.1:${await closedPort()}`];
    const started = Date.now();
    await assert.rejects(KafkaLog.open({ brokers: unreachable }), (error: unknown) => {
      assert.ok(error instanceof BrokerUnreachableError, String(error));
      assert.ok(isRetriable(error));
      assert.deepEqual(error.brokers, unreachable);
      assert.match(error.message, new RegExp(`${unreachable[0]}, ${unreachable[1]}`));
      return true;
    });
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  it('reports a missing topic as TopicNotFoundError everywhere, quickly, and never creates it', async () => {
    const missing = uniqueName('kafka_missing');
    const started = Date.now();
    const notFound = (error: unknown) =>
      error instanceof TopicNotFoundError &&
      error.topic === missing &&
      error.message.includes(missing);
    await assert.rejects(log.append(missing, [{ key: null, value: Buffer.from('x') }]), notFound);
    await assert.rejects(log.read(missing, 0, 0), notFound);
    await assert.rejects(log.offsets(missing), notFound);
    await assert.rejects(log.committedOffsets(uniqueName('group'), missing), notFound);
    await assert.rejects(
      log.consumer({ groupId: uniqueName('group'), topics: [missing], startFrom: 'earliest' }),
      notFound,
    );
    await assert.rejects(log.deleteTopic(missing), notFound);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.equal(await log.describeTopic(missing), undefined);
    assert.ok(!(await log.listTopics()).includes(missing), 'the topic was auto-created');
  });

  it('refuses a record one byte over the topic limit before sending, and accepts one at the limit', async () => {
    const topic = uniqueName('kafka_limit');
    await log.createTopic({ name: topic, partitions: 1, cleanupPolicy: 'delete' });
    const fits = {
      key: Buffer.from('k'),
      value: Buffer.alloc(19_900, 1),
      headers: { h: Buffer.from('v') },
    };
    // The topic's limit is exactly this record's size as a batch.
    const limit = singleRecordBatchSize(fits);
    await setMaxMessageBytes(topic, limit);
    // The broker takes exactly its limit: the size computation matches its own.
    assert.deepEqual(await log.append(topic, [fits]), [{ partition: 0, offset: 0 }]);
    const over = { ...fits, value: Buffer.alloc(fits.value.length + 1, 1) };
    await assert.rejects(
      log.append(topic, [{ key: null, value: Buffer.from('small') }, over]),
      (error: unknown) => {
        assert.ok(error instanceof RecordTooLargeError, String(error));
        assert.equal(error.topic, topic);
        assert.equal(error.size, limit + 1);
        assert.equal(error.limit, limit);
        assert.ok(!isRetriable(error));
        assert.match(
          error.message,
          new RegExp(`${limit + 1} bytes for topic "${topic}" exceeds the limit of ${limit} bytes`),
        );
        return true;
      },
    );
    assert.deepEqual(
      await log.offsets(topic),
      [{ partition: 0, start: 0, end: 1 }],
      'nothing of it was written',
    );
    await log.deleteTopic(topic);
  });

  it("maps the broker's MESSAGE_TOO_LARGE when the limit was lowered after it was looked up", async () => {
    const topic = uniqueName('kafka_limit_lowered');
    await log.createTopic({ name: topic, partitions: 1, cleanupPolicy: 'delete' });
    await log.append(topic, [{ key: null, value: Buffer.alloc(5000) }]); // looks the limit up
    await setMaxMessageBytes(topic, 2000);
    // Our cached limit still says 1 MiB, so only the broker refuses (once its log has the config).
    const refused = await waitFor('the broker to refuse 5000 bytes', () =>
      log.append(topic, [{ key: null, value: Buffer.alloc(5000) }]).then(
        () => false,
        (error: unknown) => error,
      ),
    );
    assert.ok(refused instanceof RecordTooLargeError, String(refused));
    assert.equal(refused.limit, 2000, 'reports the current limit');
    await log.deleteTopic(topic);
  });

  it("routes kafkajs's log lines to the logger, and stays silent without one", async () => {
    const lines: { level: string; fields: object; message: string | undefined }[] = [];
    const logger: KafkaLogger = {
      error: (fields, message) => lines.push({ level: 'error', fields, message }),
      warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
      info: (fields, message) => lines.push({ level: 'info', fields, message }),
      debug: (fields, message) => lines.push({ level: 'debug', fields, message }),
    };
    const written: unknown[] = [];
    const originals = {
      log: console.log,
      info: console.info,
      warn: console.warn,
      error: console.error,
    };
    for (const name of ['log', 'info', 'warn', 'error'] as const) {
      console[name] = (...args: unknown[]) => written.push(args);
    }
    try {
      const loud = await KafkaLog.open({ brokers, logger, logLevel: 'info' });
      const quiet = await KafkaLog.open({ brokers });
      for (const each of [loud, quiet]) {
        const topic = uniqueName('kafka_logging');
        await each.createTopic({ name: topic, partitions: 1, cleanupPolicy: 'delete' });
        await each.append(topic, [{ key: null, value: Buffer.from('x') }]);
        const consumer = await each.consumer({
          groupId: uniqueName('group'),
          topics: [topic],
          startFrom: 'earliest',
        });
        while ((await consumer.poll({ maxWaitMs: 200 })).length === 0);
        await consumer.close();
        await each.deleteTopic(topic);
        await each.close();
      }
    } finally {
      Object.assign(console, originals);
    }
    assert.deepEqual(written, [], 'kafkajs wrote to the console');
    const joined = lines.find((line) => line.message === 'Consumer has joined the group');
    assert.ok(joined, JSON.stringify(lines.map((line) => line.message)));
    assert.equal(joined.level, 'info');
    assert.equal((joined.fields as { component?: string }).component, 'kafkajs');
    assert.ok(!lines.some((line) => line.level === 'debug'), 'debug lines below the chosen level');
  });
});
