// Retrying calls to Elasticsearch: which failures are worth another try, and the wait before it.
// Exponential backoff with full jitter (a random wait between 0 and retry.backoff.ms × 2^(n-1)
// before retry n, capped), as Confluent's connector and AWS's backoff study recommend: many tasks
// retrying against one overloaded cluster spread out instead of hammering it in step.

import { errors } from '@elastic/elasticsearch';
import { KafkiError } from '../../runtime/api/index.ts';
import { sleep as abortableSleep } from '../../runtime/cdc/backoff.ts';
import { describeCause, ErrorCodes } from './errors.ts';
import type { EsErrorCause } from './errors.ts';

export interface RetryPolicy {
  /** Retries after the first attempt (max.retries). */
  readonly maxRetries: number;
  /** retry.backoff.ms */
  readonly backoffMs: number;
  readonly maxBackoffMs?: number;
  /** read.timeout.ms: a bulk request that timed out is tried again with twice its timeout. */
  readonly readTimeoutMs?: number;
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const defaultMaxBackoffMs = 5 * 60_000;

/** Wait before retry number `retry` (1 for the first retry). */
export function backoffDelay(policy: RetryPolicy, retry: number): number {
  const ceiling = Math.min(
    policy.maxBackoffMs ?? defaultMaxBackoffMs,
    policy.backoffMs * 2 ** Math.min(retry - 1, 30),
  );
  return Math.floor((policy.random ?? Math.random)() * ceiling);
}

export function sleepFor(policy: RetryPolicy, retry: number, signal?: AbortSignal): Promise<void> {
  return (policy.sleep ?? abortableSleep)(backoffDelay(policy, retry), signal);
}

export interface RequestFailure {
  retriable: boolean;
  /** Elasticsearch asks us to slow down (see isLoadShedding); it is not broken. */
  backpressure: boolean;
  /** No answer within the request timeout: Elasticsearch is slow, or out of reach. */
  timedOut: boolean;
  reason: string;
}

/**
 * A 429 that says "too busy now": full write queues, indexing pressure, a tripped circuit breaker.
 * Other 429s (the flood-stage disk block, cluster_block_exception) last until an operator acts
 * and spend max.retries like any retriable failure.
 */
export function isLoadShedding(status: number, cause: EsErrorCause | string | undefined): boolean {
  if (status !== 429) return false;
  const type = typeof cause === 'string' ? cause : cause?.type;
  return type === 'es_rejected_execution_exception' || type === 'circuit_breaking_exception';
}

/**
 * Ceiling of the wait between tries while Elasticsearch sheds load (isLoadShedding). Such tries do not spend
 * max.retries: an overloaded cluster is a reason to slow down, not to fail the task (Logstash and
 * Beats retry 429 without limit too). The task stays stoppable, the wait is jittered.
 */
export const backpressureMaxBackoffMs = 10_000;

/**
 * Ceiling of a request's timeout after timeouts: a loaded cluster may need far longer than
 * read.timeout.ms for a large bulk, and a request given up on keeps running there, so retrying it
 * with the same short timeout only adds load.
 */
export const maxRequestTimeoutMs = 120_000;

/**
 * The timeout for the next try of a request that failed with `failure` under `timeoutMs`: twice
 * it when the request timed out and may still grow, else undefined (the failure spends
 * max.retries, if it is retriable at all).
 */
export function longerTimeout(failure: RequestFailure, timeoutMs: number | undefined) {
  if (!failure.timedOut || timeoutMs === undefined || timeoutMs >= maxRequestTimeoutMs)
    return undefined;
  return Math.min(timeoutMs * 2, maxRequestTimeoutMs);
}

/** Wait before try number `retry` while Elasticsearch keeps answering 429. */
export function backpressureDelay(policy: RetryPolicy, retry: number): number {
  return backoffDelay(
    {
      ...policy,
      backoffMs: Math.max(policy.backoffMs, 100),
      maxBackoffMs: Math.min(policy.maxBackoffMs ?? defaultMaxBackoffMs, backpressureMaxBackoffMs),
    },
    retry,
  );
}

export function sleepUnderBackpressure(
  policy: RetryPolicy,
  retry: number,
  signal?: AbortSignal,
): Promise<void> {
  return (policy.sleep ?? abortableSleep)(backpressureDelay(policy, retry), signal);
}

/** Connection errors, timeouts, 429 and 5xx may pass later; everything else will not. */
export function classifyRequestError(error: unknown): RequestFailure {
  if (error instanceof errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const body = error.body as { error?: EsErrorCause | string } | string | undefined;
    const cause =
      typeof body === 'object' && body !== null
        ? typeof body.error === 'string'
          ? body.error
          : describeCause(body.error)
        : String(body ?? error.message);
    return {
      retriable: status === 429 || status >= 500,
      backpressure: isLoadShedding(
        status,
        typeof body === 'object' && body !== null ? body.error : undefined,
      ),
      timedOut: false,
      reason: `status ${status}: ${cause}`,
    };
  }
  if (
    error instanceof errors.ConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.NoLivingConnectionsError
  ) {
    return {
      retriable: true,
      backpressure: false,
      timedOut: error instanceof errors.TimeoutError,
      reason: `${error.name}: ${error.message}`,
    };
  }
  if (error instanceof Error) {
    const reason = `${error.name}: ${error.message}`;
    return { retriable: isNetworkError(error), backpressure: false, timedOut: false, reason };
  }
  return { retriable: false, backpressure: false, timedOut: false, reason: String(error) };
}

// Streamed answers (`asStream`) are read outside the client, so a connection dropped mid-body
// reaches us as undici's or Node's own error rather than the client's ConnectionError.
const networkErrorCodes = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function isNetworkError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && networkErrorCodes.has(code);
}

/**
 * Run `call` with a timeout (read.timeout.ms at first); on a retriable failure wait and run it
 * again, up to maxRetries times. 429s of a cluster shedding load do not count (see
 * backpressureMaxBackoffMs), nor do timeouts while the timeout can still double
 * (longerTimeout). Throws a non-retriable KafkiError with Elasticsearch's reason when out of
 * retries or not retriable.
 */
export async function withRetries<T>(
  what: string,
  policy: RetryPolicy,
  call: (timeoutMs: number | undefined) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  let retry = 0; // retries spent from max.retries
  let pressured = 0; // tries Elasticsearch answered with 429 (or timed out) in a row
  let timeoutMs = policy.readTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(timeoutMs);
    } catch (error) {
      const failure = classifyRequestError(error);
      const longer = longerTimeout(failure, timeoutMs);
      if ((failure.backpressure || longer !== undefined) && !signal?.aborted) {
        timeoutMs = longer ?? timeoutMs;
        await sleepUnderBackpressure(policy, ++pressured, signal);
        continue;
      }
      if (!failure.retriable || retry >= policy.maxRetries || signal?.aborted) {
        throw new KafkiError(
          ErrorCodes.writeFailed,
          `${what} failed${failure.retriable ? ` after ${attempt} attempts (max.retries=${policy.maxRetries})` : ''}: ${failure.reason}`,
          { cause: error },
        );
      }
      pressured = 0;
      await sleepFor(policy, ++retry, signal);
    }
  }
}
