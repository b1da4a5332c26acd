// BulkWriter on a scripted transport: per-document retries keep the order of writes per
// document, request failures are retried with backoff, one budget of max.retries, and the
// messages carry Elasticsearch's reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from '@elastic/elasticsearch';
import { KafkiError } from '../../../runtime/api/index.ts';
import { BulkWriter } from '../../../connectors/elasticsearch/bulk-client.ts';
import type {
  BulkResponseBody,
  EsTransport,
} from '../../../connectors/elasticsearch/bulk-client.ts';
import type { WriteOp } from '../../../connectors/elasticsearch/document-mapper.ts';
import { actionLine } from '../../../connectors/elasticsearch/document-mapper.ts';

function entry(id: string, version?: number, action: WriteOp['action'] = 'index') {
  const op: WriteOp = {
    action,
    index: 'i',
    id,
    version,
    lookupVersion: false,
    source: action === 'delete' ? undefined : `{"id":"${id}"}`,
    schema: undefined,
  };
  return { op, text: actionLine(op) + (op.source ? `${op.source}\n` : '') };
}

type Step = BulkResponseBody | Error;

function scripted(steps: Step[]) {
  const bodies: string[] = [];
  const timeouts: Array<number | undefined> = [];
  const transport: EsTransport = {
    bulk: async (body, timeoutMs) => {
      bodies.push(body);
      timeouts.push(timeoutMs);
      const step = steps.shift();
      if (step === undefined) throw new Error('unexpected request');
      if (step instanceof Error) throw step;
      return step;
    },
    versions: async () => [],
    createIndex: async () => true,
    indexExists: async () => true,
    close: async () => {},
  };
  return { transport, bodies, timeouts };
}

const ok = (n: number): BulkResponseBody => ({
  errors: false,
  items: Array.from({ length: n }, () => ({ index: { status: 201 } })),
});
const status = (code: number, type?: string) => ({
  index: { status: code, ...(type ? { error: { type, reason: `${type} reason` } } : {}) },
});
const idsOf = (body: string) =>
  body
    .split('\n')
    .filter((line) => line.includes('"_id"'))
    .map((line) => (JSON.parse(line) as { index: { _id: string } }).index._id);

function writer(transport: EsTransport, maxRetries = 3) {
  const sleeps: number[] = [];
  return {
    sleeps,
    writer: new BulkWriter(transport, {
      maxRetries,
      backoffMs: 100,
      random: () => 0.5,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    }),
  };
}

test('a retriable item is sent again with every later write of its document, and only those', async () => {
  const { transport, bodies } = scripted([
    {
      errors: true,
      items: [
        status(429, 'es_rejected_execution_exception'),
        status(201),
        status(201),
        status(409, 'version_conflict_engine_exception'),
      ],
    },
    ok(2),
  ]);
  const { writer: w, sleeps } = writer(transport);
  const rejected = await w.write([entry('x', 1), entry('y', 1), entry('x', 2), entry('z', 1)]);
  assert.deepEqual(rejected, []);
  assert.deepEqual(bodies.map(idsOf), [
    ['x', 'y', 'x', 'z'],
    ['x', 'x'],
  ]);
  assert.match(bodies[1]!, /"version":1,.*\n.*\n.*"version":2,/);
  assert.deepEqual(sleeps, [50]);
});

test('documents Elasticsearch refuses are returned; the others are applied', async () => {
  const { transport } = scripted([
    {
      errors: true,
      items: [status(201), status(400, 'document_parsing_exception'), status(201)],
    },
  ]);
  const rejected = await writer(transport).writer.write([entry('a'), entry('b'), entry('c')]);
  assert.deepEqual(
    rejected.map((r) => [r.entry.op.id, r.status, r.error?.type]),
    [['b', 400, 'document_parsing_exception']],
  );
});

test('request failures are retried with backoff, then the writer gives up with the reason', async () => {
  const refused = new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:1');
  const { transport, bodies } = scripted([refused, refused, ok(1)]);
  const first = writer(transport);
  assert.deepEqual(await first.writer.write([entry('a')]), []);
  assert.equal(bodies.length, 3);
  assert.deepEqual(first.sleeps, [50, 100]);

  const failing = scripted([refused, refused, refused]);
  const second = writer(failing.transport, 2);
  await assert.rejects(second.writer.write([entry('a')]), (error: unknown) => {
    assert.ok(error instanceof KafkiError);
    assert.equal(error.retriable, false);
    assert.equal(error.code, 'ELASTICSEARCH_WRITE_FAILED');
    assert.equal(
      error.message,
      'Bulk request of 1 documents to Elasticsearch failed after 3 attempts (max.retries=2): ConnectionError: connect ECONNREFUSED 127.0.0.1:1',
    );
    return true;
  });
});

test('request and item retries share one max.retries budget', async () => {
  const { transport, bodies } = scripted([
    new errors.TimeoutError('Request timed out'),
    { errors: true, items: [status(503, 'unavailable_shards_exception')] },
    { errors: true, items: [status(503, 'unavailable_shards_exception')] },
  ]);
  await assert.rejects(
    writer(transport, 2).writer.write([entry('a')]),
    /1 documents still failing after 3 attempts \(max\.retries=2\): status 503: unavailable_shards_exception: unavailable_shards_exception reason/,
  );
  assert.equal(bodies.length, 3);
});

test('a non-retriable answer fails at once with the reason', async () => {
  const forbidden = new errors.ResponseError({
    body: {
      error: {
        type: 'security_exception',
        reason: 'action [indices:data/write/bulk] is unauthorized',
      },
    },
    statusCode: 403,
    headers: {},
    warnings: null,
    meta: {} as never,
  });
  const { transport, bodies } = scripted([forbidden]);
  await assert.rejects(
    writer(transport).writer.write([entry('a')]),
    /failed: status 403: security_exception: action \[indices:data\/write\/bulk\] is unauthorized/,
  );
  assert.equal(bodies.length, 1);
  const blocked = scripted([{ errors: true, items: [status(403, 'cluster_block_exception')] }]);
  await assert.rejects(
    writer(blocked.transport).writer.write([entry('a')]),
    /refused the index of document 'a' in index 'i' \(status 403\): cluster_block_exception/,
  );
});

test('an answer with the wrong number of items is an error, not a silent success', async () => {
  const { transport } = scripted([{ errors: true, items: [status(201)] }]);
  await assert.rejects(writer(transport).writer.write([entry('a'), entry('b')]), /with 1 items/);
});

const tooManyRequests = () =>
  new errors.ResponseError({
    body: {
      error: {
        type: 'es_rejected_execution_exception',
        reason: 'rejected execution of coordinating operation',
      },
    },
    statusCode: 429,
    headers: {},
    warnings: null,
    meta: {} as never,
  });

test('429 answers are waited out without spending max.retries, with a capped backoff', async () => {
  // Ten request-level 429s, then three documents of which one is still shed with 429.
  const steps: Step[] = Array.from({ length: 10 }, tooManyRequests);
  steps.push({
    errors: true,
    items: [status(201), status(429, 'es_rejected_execution_exception'), status(201)],
  });
  steps.push(ok(1));
  const { transport, bodies } = scripted(steps);
  const { writer: bulkWriter, sleeps } = writer(transport, 1);
  assert.deepEqual(await bulkWriter.write([entry('a'), entry('b'), entry('c')]), []);
  assert.equal(bodies.length, 12);
  assert.deepEqual(idsOf(bodies[11]!), ['b']);
  // random() is 0.5: half of 100 × 2^(n-1), never above half of the 10 s ceiling.
  assert.deepEqual(sleeps.slice(0, 4), [50, 100, 200, 400]);
  assert.ok(Math.max(...sleeps) <= 5_000, `longest wait ${Math.max(...sleeps)} ms`);
  assert.equal(sleeps.length, 11);
});

test('a 5xx after 429s spends the budget as before, and the error names it', async () => {
  const unavailable = { errors: true, items: [status(503, 'unavailable_shards_exception')] };
  const { transport, bodies } = scripted([
    tooManyRequests(),
    unavailable,
    tooManyRequests(),
    unavailable,
  ]);
  await assert.rejects(
    writer(transport, 1).writer.write([entry('a')]),
    /1 documents still failing after 4 attempts \(max\.retries=1\): status 503/,
  );
  assert.equal(bodies.length, 4);
});

test('a stopped task stops waiting out 429s', async () => {
  const abort = new AbortController();
  const steps: Step[] = [tooManyRequests(), tooManyRequests(), tooManyRequests()];
  const { transport, bodies } = scripted(steps);
  const bulkWriter = new BulkWriter(
    transport,
    {
      maxRetries: 5,
      backoffMs: 100,
      sleep: async () => {
        if (bodies.length === 2) abort.abort();
      },
    },
    abort.signal,
  );
  await assert.rejects(bulkWriter.write([entry('a')]), /failed after 3 attempts .*status 429/);
  assert.equal(bodies.length, 3);
});

test('a timed-out bulk is tried again with twice the timeout, without spending max.retries', async () => {
  const timedOut = () => new errors.TimeoutError('Request timed out');
  const { transport, timeouts } = scripted([timedOut(), timedOut(), timedOut(), ok(1)]);
  const sleeps: number[] = [];
  const bulkWriter = new BulkWriter(transport, {
    maxRetries: 0,
    backoffMs: 100,
    readTimeoutMs: 3_000,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  assert.deepEqual(await bulkWriter.write([entry('a')]), []);
  assert.deepEqual(timeouts, [3_000, 6_000, 12_000, 24_000]);
  assert.equal(sleeps.length, 3);
});

test('timeouts at the longest timeout spend max.retries, then fail with the reason', async () => {
  const timedOut = () => new errors.TimeoutError('Request timed out');
  const { transport, timeouts } = scripted(Array.from({ length: 8 }, timedOut));
  const bulkWriter = new BulkWriter(transport, {
    maxRetries: 1,
    backoffMs: 100,
    readTimeoutMs: 40_000,
    sleep: async () => {},
  });
  await assert.rejects(
    bulkWriter.write([entry('a')]),
    /failed after 4 attempts \(max\.retries=1\): TimeoutError: Request timed out/,
  );
  assert.deepEqual(timeouts, [40_000, 80_000, 120_000, 120_000]);
});
