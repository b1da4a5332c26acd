// Retries with exponential backoff and jitter: the one place that decides how long to wait after
// a retriable error and when to give up. Sleeping is abortable so a stopping task never waits out
// a long backoff.

import { isRetriable } from '../api/errors.ts';

/** First retry waits about this long; each further one doubles it, up to the configured maximum. */
export const initialBackoffMs = 300;

/**
 * Exponential backoff with "equal jitter": half the exponential delay is fixed, half random, so
 * tasks that failed together (a broker blip) do not retry in lockstep.
 */
export function backoffDelay(
  attempt: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(maxDelayMs, initialBackoffMs * 2 ** Math.min(attempt, 30));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface RetryOptions {
  maxDelayMs: number;
  /** Give up after this long (ms); -1 retries until aborted. */
  timeoutMs: number;
  signal?: AbortSignal;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
  now?: () => number;
}

/**
 * Run `operation`; on a retriable error (KafkiError.retriable) wait and try again. Non-retriable
 * errors, an aborted signal and an exhausted timeout rethrow the last error.
 */
export async function retryRetriable<T>(
  operation: () => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const now = options.now ?? Date.now;
  const started = now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isRetriable(error) || options.signal?.aborted) throw error;
      const delay = backoffDelay(attempt, options.maxDelayMs, options.random);
      if (options.timeoutMs >= 0 && now() + delay - started > options.timeoutMs) throw error;
      options.onRetry?.(error, attempt + 1, delay);
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}
