// Talking to Elasticsearch: bulk bodies built by the sink (NDJSON strings, each document
// serialized once) sent as they are through the client's transport, with a filter_path that keeps
// only what the sink reads from the answer (status and error per item), plus the few other calls
// the sink makes (index creation, version lookup).
//
// BulkWriter adds the retry rules on top: whole-request failures (connection, timeout, 5xx)
// and retriable item failures (5xx per document) are retried with backoff up to max.retries,
// 429s of a cluster shedding load (isLoadShedding) with backoff for as long as they last, timeouts with twice
// the timeout each time (up to maxRequestTimeoutMs) before they spend max.retries;
// a later write of the same document in the same request is sent again after the retried one so
// the order of writes per document holds; documents Elasticsearch refuses are returned as
// malformed; anything else ends in a non-retriable KafkiError carrying Elasticsearch's reason.

import type { Readable } from 'node:stream';
import type { Client } from '@elastic/elasticsearch';
import { KafkiError } from '../../runtime/api/index.ts';
import type { Row, WriteOp } from './document-mapper.ts';
import { parseExactJson } from './json.ts';
import { classifyItem, describeCause, ErrorCodes } from './errors.ts';
import type { EsErrorCause } from './errors.ts';
import {
  classifyRequestError,
  isLoadShedding,
  longerTimeout,
  sleepFor,
  sleepUnderBackpressure,
} from './retry.ts';
import type { RetryPolicy } from './retry.ts';

export interface BulkItemResult {
  status: number;
  error?: EsErrorCause;
}

export interface BulkResponseBody {
  errors: boolean;
  items?: Array<Record<string, BulkItemResult>>;
}

/**
 * Sends one NDJSON bulk body and resolves with the (filtered) answer, or throws the client's
 * error; `timeoutMs` overrides read.timeout.ms for this request.
 */
export type BulkSend = (body: string, timeoutMs?: number) => Promise<BulkResponseBody>;

export interface IndexRef {
  index: string;
  id: string;
}

/** A document as stored: its version and (part of) its _source. */
export interface StoredDocument {
  version: number | undefined;
  source: Row;
}

/** What the sink needs from Elasticsearch; one implementation over the official client. */
export interface EsTransport {
  bulk: BulkSend;
  /** Current _version of each document, undefined when it does not exist. */
  versions(refs: readonly IndexRef[], timeoutMs?: number): Promise<Array<number | undefined>>;
  /**
   * The `fields` of each document's _source as stored now (real-time get), undefined when it
   * does not exist; 64-bit integers stay exact. Optional: without it, unavailable values cannot
   * be read back and are left out of the documents.
   */
  sources?(
    refs: readonly IndexRef[],
    fields: readonly string[],
    timeoutMs?: number,
  ): Promise<Array<StoredDocument | undefined>>;
  /** Create an index unless it exists; true when this call created it. */
  createIndex(index: string, body: Record<string, unknown>, timeoutMs?: number): Promise<boolean>;
  indexExists(index: string, timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

const bulkFilter = 'errors,items.*.status,items.*.error';

export function clientTransport(client: Client, readTimeoutMs: number): EsTransport {
  return {
    bulk: (body, timeoutMs) =>
      client.transport.request<BulkResponseBody>(
        {
          method: 'POST',
          path: '/_bulk',
          querystring: { filter_path: bulkFilter },
          bulkBody: body,
        },
        { maxRetries: 0, requestTimeout: timeoutMs ?? readTimeoutMs },
      ),
    async versions(refs, timeoutMs) {
      const answer = await client.mget(
        { docs: refs.map((ref) => ({ _index: ref.index, _id: ref.id })), _source: false },
        { maxRetries: 0, requestTimeout: timeoutMs ?? readTimeoutMs },
      );
      return answer.docs.map((doc) =>
        'found' in doc && doc.found && typeof doc._version === 'number' ? doc._version : undefined,
      );
    },
    async sources(refs, fields, timeoutMs) {
      // The answer is parsed here (not by the client) so that integers beyond 2^53 stay exact.
      const stream = await client.transport.request<Readable>(
        {
          method: 'POST',
          path: '/_mget',
          body: { docs: refs.map((ref) => ({ _index: ref.index, _id: ref.id, _source: fields })) },
        },
        { maxRetries: 0, requestTimeout: timeoutMs ?? readTimeoutMs, asStream: true },
      );
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      const answer = parseExactJson(Buffer.concat(chunks).toString('utf8')) as unknown as {
        docs: Array<{ found?: boolean; _version?: number; _source?: Row; error?: EsErrorCause }>;
      };
      return answer.docs.map((doc) => {
        if (doc.error && doc.error.type !== 'index_not_found_exception') {
          throw new KafkiError(
            ErrorCodes.writeFailed,
            `Reading documents back from Elasticsearch failed: ${describeCause(doc.error)}`,
          );
        }
        return doc.found ? { version: doc._version, source: doc._source ?? {} } : undefined;
      });
    },
    async createIndex(index, body, timeoutMs) {
      const answer = await client.indices.create(
        { index, ...body },
        {
          maxRetries: 0,
          requestTimeout: Math.max(timeoutMs ?? readTimeoutMs, 30_000),
          ignore: [400],
        },
      );
      const error = (answer as { error?: EsErrorCause }).error;
      if (error === undefined) return true;
      if (error.type === 'resource_already_exists_exception') return false;
      throw new KafkiError(
        ErrorCodes.indexCreation,
        `Creating index '${index}' failed: ${describeCause(error)}`,
      );
    },
    indexExists: (index, timeoutMs) =>
      client.indices.exists(
        { index },
        { maxRetries: 0, requestTimeout: timeoutMs ?? readTimeoutMs },
      ),
    close: () => client.close(),
  };
}

/** One write as the writer sees it: the op and its NDJSON lines. */
export interface BulkEntry {
  readonly op: WriteOp;
  /** Mutable: a write with unavailable values gets its document completed before it is sent. */
  text: string;
  /**
   * Set by write() when Elasticsearch refused the write as older than the document (a version
   * conflict, which counts as applied: a replay): the document was left as it was.
   */
  superseded?: boolean;
}

export interface Rejected<T extends BulkEntry> {
  entry: T;
  status: number;
  error: EsErrorCause | undefined;
}

export const refKey = (op: Pick<WriteOp, 'index' | 'id'>) => `${op.index}\u0000${op.id}`;

function joinBody(entries: readonly BulkEntry[]): string {
  let body = '';
  for (const entry of entries) body += entry.text;
  return body;
}

export class BulkWriter {
  constructor(
    private readonly transport: EsTransport,
    private readonly policy: RetryPolicy,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * Write `entries` in one bulk request (fewer on retries). Resolves with the documents
   * Elasticsearch refused; everything else is applied (or already newer in Elasticsearch).
   */
  async write<T extends BulkEntry>(entries: readonly T[]): Promise<Array<Rejected<T>>> {
    const rejected: Array<Rejected<T>> = [];
    let pending: readonly T[] = entries;
    // One budget of max.retries for the request and its documents alike; tries answered only
    // with 429 (Elasticsearch shedding load) or timed out (a slow cluster: the next try waits
    // twice as long) wait instead of spending it.
    let retry = 0;
    let pressured = 0;
    let attempts = 0;
    let timeoutMs = this.policy.readTimeoutMs;
    for (;;) {
      let response: BulkResponseBody;
      try {
        attempts++;
        response = await this.transport.bulk(joinBody(pending), timeoutMs);
      } catch (error) {
        const failure = classifyRequestError(error);
        const longer = longerTimeout(failure, timeoutMs);
        if ((failure.backpressure || longer !== undefined) && !this.signal?.aborted) {
          timeoutMs = longer ?? timeoutMs;
          await sleepUnderBackpressure(this.policy, ++pressured, this.signal);
          continue;
        }
        if (!failure.retriable || retry >= this.policy.maxRetries || this.signal?.aborted) {
          throw new KafkiError(
            ErrorCodes.writeFailed,
            `Bulk request of ${pending.length} documents to Elasticsearch failed` +
              (failure.retriable
                ? ` after ${attempts} attempts (max.retries=${this.policy.maxRetries})`
                : '') +
              `: ${failure.reason}`,
            { cause: error },
          );
        }
        pressured = 0;
        await sleepFor(this.policy, ++retry, this.signal);
        continue;
      }
      if (!response.errors) return rejected;
      const items = response.items ?? [];
      if (items.length !== pending.length) {
        throw new KafkiError(
          ErrorCodes.writeFailed,
          `Elasticsearch answered a bulk request of ${pending.length} documents with ${items.length} items`,
        );
      }
      const again: T[] = [];
      const againKeys = new Set<string>();
      let firstRetryReason: string | undefined;
      let onlyBackpressure = true;
      for (let i = 0; i < pending.length; i++) {
        const entry = pending[i]!;
        const key = refKey(entry.op);
        if (againKeys.has(key)) {
          // An earlier write of this document is retried: this one must follow it again.
          again.push(entry);
          continue;
        }
        const item = items[i]!;
        const result = item[entry.op.action] ?? Object.values(item)[0];
        const status = result?.status ?? 0;
        const outcome = classifyItem(
          entry.op.action,
          status,
          result?.error,
          entry.op.version !== undefined,
        );
        switch (outcome) {
          case 'applied':
            if (status === 409) entry.superseded = true;
            break;
          case 'retry':
            again.push(entry);
            againKeys.add(key);
            firstRetryReason ??= `status ${status}: ${describeCause(result?.error)}`;
            if (!isLoadShedding(status, result?.error)) onlyBackpressure = false;
            break;
          case 'malformed':
            rejected.push({ entry, status, error: result?.error });
            break;
          case 'fatal':
            throw new KafkiError(
              ErrorCodes.writeFailed,
              `Elasticsearch refused the ${entry.op.action} of document '${entry.op.id}' in index '${entry.op.index}' (status ${status}): ${describeCause(result?.error)}`,
            );
        }
      }
      if (again.length === 0) return rejected;
      pending = again;
      if (onlyBackpressure && !this.signal?.aborted) {
        await sleepUnderBackpressure(this.policy, ++pressured, this.signal);
        continue;
      }
      if (retry >= this.policy.maxRetries || this.signal?.aborted) {
        throw new KafkiError(
          ErrorCodes.writeFailed,
          `${again.length} documents still failing after ${attempts} attempts (max.retries=${this.policy.maxRetries}): ${firstRetryReason ?? 'unknown'}`,
        );
      }
      pressured = 0;
      await sleepFor(this.policy, ++retry, this.signal);
    }
  }
}
