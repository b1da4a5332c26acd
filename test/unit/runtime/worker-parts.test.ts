import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidInputError,
  isRetriable,
  RecordRejectedError,
  RetriableError,
} from '../../../runtime/api/errors.ts';
import { originalPosition, SOURCE_VERSION_HEADER } from '../../../runtime/api/record.ts';
import type { SinkRecord } from '../../../runtime/api/record.ts';
import { backoffDelay, retryRetriable } from '../../../runtime/worker/backoff.ts';
import { ByteBudget } from '../../../runtime/worker/byte-budget.ts';
import { PluginRegistry } from '../../../runtime/plugins/registry.ts';
import { builtinPlugins } from '../../../connectors/index.ts';
import { noTransforms } from '../../../runtime/worker/transform-chain.ts';

describe('backoff', () => {
  it('grows exponentially up to the maximum, with jitter in the upper half', () => {
    assert.equal(
      backoffDelay(0, 60_000, () => 0),
      150,
    );
    assert.equal(
      backoffDelay(0, 60_000, () => 1),
      300,
    );
    assert.equal(
      backoffDelay(3, 60_000, () => 1),
      2400,
    );
    assert.equal(
      backoffDelay(20, 60_000, () => 1),
      60_000,
    );
    assert.equal(
      backoffDelay(20, 60_000, () => 0),
      30_000,
    );
  });

  it('retries retriable errors only, and gives up at the timeout', async () => {
    let calls = 0;
    const result = await retryRetriable(
      async () => {
        if (++calls < 3) throw new RetriableError('X', 'blip');
        return 'ok';
      },
      { maxDelayMs: 1, timeoutMs: -1 },
    );
    assert.equal(result, 'ok');
    assert.equal(calls, 3);

    calls = 0;
    await assert.rejects(
      retryRetriable(
        async () => {
          calls++;
          throw new InvalidInputError('Y', 'bad');
        },
        { maxDelayMs: 1, timeoutMs: -1 },
      ),
      /bad/,
    );
    assert.equal(calls, 1);

    let now = 0;
    calls = 0;
    await assert.rejects(
      retryRetriable(
        async () => {
          calls++;
          now += 1000;
          throw new RetriableError('X', 'still down');
        },
        { maxDelayMs: 1, timeoutMs: 2500, now: () => now },
      ),
      /still down/,
    );
    assert.equal(calls, 3);
  });
});

describe('ByteBudget', () => {
  it('blocks a batch until the bytes in flight leave room, and lets one oversize batch through alone', async () => {
    const budget = new ByteBudget(100);
    await budget.acquire(60);
    let second = false;
    const pending = budget.acquire(60).then(() => (second = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(second, false);
    budget.release(60);
    await pending;
    assert.equal(budget.inFlight, 60);
    budget.release(60);
    await budget.acquire(500);
    assert.equal(budget.inFlight, 500);
  });
});

describe('plugin registry', () => {
  it('finds plugins by class name, declared aliases and Kafka Connect implicit aliases', () => {
    const registry = new PluginRegistry(builtinPlugins);
    for (const name of [
      'org.apache.kafka.connect.file.FileStreamSourceConnector',
      'FileStreamSource',
      'file-source',
      'FileStreamSourceConnector',
    ]) {
      assert.equal(registry.find(name)?.kind, 'source', name);
    }
    assert.equal(registry.find('file-sink')?.kind, 'sink');
    assert.equal(registry.find('nope'), undefined);
    assert.match(
      registry.describeAvailable(),
      /FileStreamSinkConnector \(aliases: FileStreamSink, file-sink\)/,
    );
    assert.throws(
      () => registry.register({ ...builtinPlugins[0]!, className: 'other.FileStreamSource' }),
      /claimed by both/,
    );
  });
});

describe('transform hook without a transforms module', () => {
  it('is the identity without transforms and refuses any configured transform', () => {
    const chain = noTransforms.build({ transforms: [] });
    const record = { topic: 't', key: null, value: 1 };
    assert.equal(chain.identity, true);
    assert.equal(chain.apply(record), record);
    assert.deepEqual(
      noTransforms
        .problems({
          transforms: ['unwrap'],
          'transforms.unwrap.type': 'io.debezium.transforms.ExtractNewRecordState',
        })
        .map((p) => p.field),
      ['transforms.unwrap.type'],
    );
    assert.deepEqual(
      noTransforms.problems({ transforms: 'a' }).map((p) => p.message),
      ['Missing required configuration "transforms.a.type" which has no default value.'],
    );
    assert.throws(() => noTransforms.build({ transforms: ['a'] }), /transforms\.a\.type/);
  });
});

describe('sink record contract', () => {
  it('RecordRejectedError names the records and their reasons, and is not retriable', () => {
    const record: SinkRecord = {
      topic: 'renamed',
      partition: 2,
      offset: 7,
      originalTopic: 'orders',
      originalPartition: 2,
      originalOffset: 7,
      key: 'k',
      value: 'v',
    };
    const reason = new InvalidInputError('BAD', 'not an object');
    const error = new RecordRejectedError([{ record, reason }]);
    assert.equal(error.code, 'RECORD_REJECTED');
    assert.equal(isRetriable(error), false);
    assert.equal(error.cause, reason);
    assert.deepEqual(error.rejections, [{ record, reason }]);
    assert.match(
      error.message,
      /^1 record\(s\) rejected; the first \(orders\/2@7\): not an object$/,
    );
  });

  it('original coordinates: the original* members, else the record’s own', () => {
    const base = { key: null, value: null, partition: 1, offset: 5 };
    assert.deepEqual(
      originalPosition({
        ...base,
        topic: 'renamed',
        originalTopic: 'orders',
        originalPartition: 0,
        originalOffset: 9,
      }),
      { topic: 'orders', partition: 0, offset: 9 },
    );
    assert.deepEqual(originalPosition({ ...base, topic: 'orders' }), {
      topic: 'orders',
      partition: 1,
      offset: 5,
    });
    assert.equal(SOURCE_VERSION_HEADER, 'kafki.source.version');
  });
});
