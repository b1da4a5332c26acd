// A small client for a worker's REST API (ours or Kafka Connect's): JSON in and out, optional
// bearer token, custom CA and client certificate for TLS/mTLS. Errors carry the server's message.

import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KafkiError } from '../api/errors.ts';

export interface RestClientOptions {
  url: string;
  token?: string;
  /** PEM files: CA bundle to trust, client certificate and key for mutual TLS. */
  cacert?: string;
  cert?: string;
  key?: string;
  timeoutMs?: number;
}

export interface RestReply<T = unknown> {
  status: number;
  headers: IncomingMessage['headers'];
  body: T;
}

/** The server answered with an error status, or could not be reached (status 0). */
export class RestClientError extends KafkiError {
  readonly status: number;

  constructor(status: number, message: string, cause?: unknown) {
    super('REST_CLIENT', message, { cause });
    this.status = status;
  }
}

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new RestClientError(0, `${option}: cannot read ${path}: ${(error as Error).message}`);
  }
}

export class RestClient {
  private readonly base: URL;
  private readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };

  constructor(private readonly options: RestClientOptions) {
    try {
      this.base = new URL(options.url);
    } catch {
      throw new RestClientError(0, `--url: '${options.url}' is not a URL`);
    }
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new RestClientError(0, `--url must be http:// or https://, got '${options.url}'`);
    }
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new RestClientError(0, '--cert and --key go together');
    }
    this.tls = {
      ...(options.cacert ? { ca: readPem(options.cacert, '--cacert') } : {}),
      ...(options.cert ? { cert: readPem(options.cert, '--cert') } : {}),
      ...(options.key ? { key: readPem(options.key, '--key') } : {}),
    };
  }

  get<T>(path: string): Promise<RestReply<T>> {
    return this.send<T>('GET', path);
  }

  /** Sends the request; resolves for 2xx, throws RestClientError with the server message otherwise. */
  send<T>(method: string, path: string, body?: unknown): Promise<RestReply<T>> {
    const url = new URL(
      path.replace(/^\//, ''),
      this.base.href.endsWith('/') ? this.base : `${this.base.href}/`,
    );
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

    return new Promise((resolve, reject) => {
      const request = send(
        url,
        { method, headers, timeout: this.options.timeoutMs ?? 60_000, ...this.tls },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => reject(new RestClientError(0, error.message, error)));
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text === '' ? undefined : text;
            if (text !== '' && (response.headers['content-type'] ?? '').includes('json')) {
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = text;
              }
            }
            if (status >= 200 && status < 300) {
              resolve({ status, headers: response.headers, body: parsed as T });
              return;
            }
            const message =
              parsed !== null &&
              typeof parsed === 'object' &&
              typeof (parsed as { message?: unknown }).message === 'string'
                ? (parsed as { message: string }).message
                : text || (response.statusMessage ?? 'request failed');
            reject(new RestClientError(status, message));
          });
        },
      );
      request.on('timeout', () =>
        request.destroy(new Error(`no answer from ${this.base.origin} in time`)),
      );
      request.on('error', (error) =>
        reject(new RestClientError(0, `cannot reach ${this.base.origin}: ${error.message}`, error)),
      );
      request.end(payload);
    });
  }
}
