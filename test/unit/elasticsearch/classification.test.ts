// Retry classification of Elasticsearch answers, on bulk item answers captured from
// Elasticsearch 8.19 (filter_path=errors,items.*.status,items.*.error) and on client errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from '@elastic/elasticsearch';
import { classifyItem, describeCause } from '../../../connectors/elasticsearch/errors.ts';
import type { EsErrorCause } from '../../../connectors/elasticsearch/errors.ts';
import {
  backoffDelay,
  classifyRequestError,
  withRetries,
} from '../../../connectors/elasticsearch/retry.ts';

// Captured from Elasticsearch 8.19.21.
const captured = {
  created: { index: { status: 201 } },
  updated: { index: { status: 200 } },
  versionConflict: {
    index: {
      status: 409,
      error: {
        type: 'version_conflict_engine_exception',
        reason: '[1]: version conflict, current version [5] is higher than the one provided [4]',
        index_uuid: 'qAvsu5zsTku-fF_yybSvig',
        shard: '0',
        index: 't_probe',
      },
    },
  },
  deleteMissing: { delete: { status: 404 } },
  unparsable: {
    index: {
      status: 400,
      error: {
        type: 'document_parsing_exception',
        reason:
          "[1:6] failed to parse field [d] of type [date] in document with id '2'. Preview of field's value: 'notadate'",
        caused_by: {
          type: 'illegal_argument_exception',
          reason:
            'failed to parse date field [notadate] with format [strict_date_optional_time||epoch_millis]',
          caused_by: {
            type: 'date_time_parse_exception',
            reason: 'Failed to parse with all enclosed parsers',
          },
        },
      },
    },
  },
  floodStage: {
    index: {
      status: 429,
      error: {
        type: 'cluster_block_exception',
        reason:
          'index [t_block] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];',
      },
    },
  },
  writeBlock: {
    index: {
      status: 403,
      error: {
        type: 'cluster_block_exception',
        reason: 'index [t_block] blocked by: [FORBIDDEN/8/index write (api)];',
      },
    },
  },
  rejectedExecution: {
    index: {
      status: 429,
      error: {
        type: 'es_rejected_execution_exception',
        reason: 'rejected execution of coordinating operation',
      },
    },
  },
  unavailableShards: {
    index: {
      status: 503,
      error: { type: 'unavailable_shards_exception', reason: '[i][0] primary shard is not active' },
    },
  },
} as const;

function classify(
  item: Record<string, { status: number; error?: EsErrorCause }>,
  versioned = true,
) {
  const [action, result] = Object.entries(item)[0]!;
  return classifyItem(action as 'index' | 'delete', result.status, result.error, versioned);
}

test('bulk item answers: applied, retried, malformed or fatal', () => {
  assert.equal(classify(captured.created), 'applied');
  assert.equal(classify(captured.updated), 'applied');
  assert.equal(classify(captured.versionConflict), 'applied', 'a newer version is already there');
  assert.equal(classify(captured.versionConflict, false), 'retry', 'unversioned conflicts retry');
  assert.equal(classify(captured.deleteMissing), 'applied', 'nothing to delete');
  assert.equal(classify(captured.unparsable), 'malformed');
  assert.equal(classify(captured.floodStage), 'retry');
  assert.equal(classify(captured.rejectedExecution), 'retry');
  assert.equal(classify(captured.unavailableShards), 'retry');
  assert.equal(classify(captured.writeBlock), 'fatal');
  assert.equal(
    classifyItem(
      'index',
      404,
      { type: 'index_not_found_exception', reason: 'no such index [x]' },
      true,
    ),
    'fatal',
  );
  assert.equal(
    classifyItem('index', 400, { type: 'strict_dynamic_mapping_exception', reason: 'x' }, true),
    'malformed',
  );
});

test('the reason of an error names each cause', () => {
  assert.equal(
    describeCause(captured.unparsable.index.error),
    "document_parsing_exception: [1:6] failed to parse field [d] of type [date] in document with id '2'. Preview of field's value: 'notadate' (caused by illegal_argument_exception: failed to parse date field [notadate] with format [strict_date_optional_time||epoch_millis] (caused by date_time_parse_exception: Failed to parse with all enclosed parsers))",
  );
  assert.equal(describeCause(undefined), 'no reason given');
});

function responseError(statusCode: number, body: unknown): errors.ResponseError {
  return new errors.ResponseError({
    body,
    statusCode,
    headers: {},
    warnings: null,
    meta: {} as never,
  });
}

test('request failures: connection errors, timeouts, 429 and 5xx retry; the rest does not', () => {
  assert.equal(
    classifyRequestError(new errors.ConnectionError('connect ECONNREFUSED')).retriable,
    true,
  );
  assert.equal(classifyRequestError(new errors.TimeoutError('Request timed out')).retriable, true);
  assert.equal(classifyRequestError(new errors.TimeoutError('Request timed out')).timedOut, true);
  assert.equal(
    classifyRequestError(new errors.NoLivingConnectionsError('none', {} as never)).retriable,
    true,
  );
  // A streamed answer cut mid-body surfaces as undici's own error, not the client's.
  const cut = Object.assign(new Error('other side closed'), {
    name: 'SocketError',
    code: 'UND_ERR_SOCKET',
  });
  assert.equal(classifyRequestError(cut).retriable, true);
  assert.equal(classifyRequestError(new TypeError('x is not a function')).retriable, false);
  const tooMany = classifyRequestError(
    responseError(429, {
      error: { type: 'es_rejected_execution_exception', reason: 'queue full' },
    }),
  );
  assert.deepEqual(tooMany, {
    retriable: true,
    backpressure: true,
    timedOut: false,
    reason: 'status 429: es_rejected_execution_exception: queue full',
  });
  assert.equal(classifyRequestError(responseError(502, 'Bad Gateway')).retriable, true);
  assert.equal(classifyRequestError(responseError(503, 'x')).backpressure, false);
  const diskBlock = classifyRequestError(
    responseError(429, { error: { type: 'cluster_block_exception', reason: 'flood stage' } }),
  );
  assert.equal(diskBlock.retriable, true);
  assert.equal(diskBlock.backpressure, false, 'a disk block lasts: it spends max.retries');
  assert.equal(classifyRequestError(responseError(503, { error: { type: 'x' } })).retriable, true);
  const unauthorized = classifyRequestError(
    responseError(401, { error: { type: 'security_exception', reason: 'missing authentication' } }),
  );
  assert.deepEqual(unauthorized, {
    retriable: false,
    backpressure: false,
    timedOut: false,
    reason: 'status 401: security_exception: missing authentication',
  });
  assert.equal(classifyRequestError(responseError(413, '')).retriable, false);
  assert.equal(classifyRequestError(new TypeError('bad')).retriable, false);
});

test('backoff: full jitter below retry.backoff.ms × 2^(n-1), capped', () => {
  const policy = (random: number) => ({ maxRetries: 5, backoffMs: 100, random: () => random });
  assert.equal(backoffDelay(policy(0), 1), 0);
  assert.equal(backoffDelay(policy(0.5), 1), 50);
  assert.equal(backoffDelay(policy(0.999), 1), 99);
  assert.equal(backoffDelay(policy(0.999), 4), 799);
  assert.equal(backoffDelay(policy(0.5), 3), 200);
  assert.equal(
    backoffDelay({ maxRetries: 99, backoffMs: 100, maxBackoffMs: 1000, random: () => 0.5 }, 40),
    500,
  );
});

test('withRetries: a timed-out call is made again with twice the timeout before timeouts spend max.retries', async () => {
  const policy = { maxRetries: 1, backoffMs: 1, readTimeoutMs: 30_000, sleep: async () => {} };
  const timeouts: Array<number | undefined> = [];
  const answer = await withRetries('Reading', policy, async (timeoutMs) => {
    timeouts.push(timeoutMs);
    if (timeouts.length < 3) throw new errors.TimeoutError('Request timed out');
    return 'found';
  });
  assert.equal(answer, 'found');
  assert.deepEqual(timeouts, [30_000, 60_000, 120_000]);

  // At 120 s the timeouts spend max.retries (1 here): one more try, then the failure.
  const failing: Array<number | undefined> = [];
  await assert.rejects(
    withRetries('Reading 3 documents', policy, async (timeoutMs) => {
      failing.push(timeoutMs);
      throw new errors.TimeoutError('Request timed out');
    }),
    /Reading 3 documents failed after 4 attempts \(max\.retries=1\): TimeoutError/,
  );
  assert.deepEqual(failing, [30_000, 60_000, 120_000, 120_000]);
});
