// The worker settings the REST server owns (listeners, rest.auth.token, ssl.*), checked and typed.
// The keys and their meaning are in schemas/worker.schema.json.

import { InvalidInputError } from '../api/errors.ts';

export type ClientAuth = 'none' | 'requested' | 'required';

export interface RestTlsConfig {
  keyLocation: string;
  certificateLocation: string;
  keyPassword?: string;
  /** CA bundle client certificates are verified against (required when clientAuth is not none). */
  caLocation?: string;
  clientAuth: ClientAuth;
}

export interface RestListener {
  protocol: 'http' | 'https';
  /** '0.0.0.0' when the listener names no host, as Kafka Connect's http://:8083. */
  host: string;
  port: number;
}

export interface RestServerConfig {
  listener: RestListener;
  /** When set, every request except GET /openapi.json needs Authorization: Bearer <token>. */
  authToken?: string;
  tls?: RestTlsConfig;
}

export class RestConfigError extends InvalidInputError {
  constructor(message: string) {
    super('REST_CONFIG', message);
  }
}

export const defaultListener = 'http://127.0.0.1:8083';

export function parseListener(value: string): RestListener {
  const listeners = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (listeners.length !== 1) {
    throw new RestConfigError(
      `listeners: Kafki serves its REST API on exactly one listener, got '${value}'`,
    );
  }
  const match = /^(https?):\/\/(\[[^\]]*\]|[^:/[\]]*)(?::(\d+))?\/?$/i.exec(listeners[0] as string);
  if (!match) {
    throw new RestConfigError(
      `listeners: '${value}' is not a listener URL like http://127.0.0.1:8083 or https://:8443`,
    );
  }
  const port = match[3] === undefined ? 8083 : Number(match[3]);
  if (port > 65535) throw new RestConfigError(`listeners: port ${port} is out of range`);
  const host = (match[2] ?? '').replace(/^\[|\]$/g, '');
  return {
    protocol: (match[1] as string).toLowerCase() as 'http' | 'https',
    host: host === '' ? '0.0.0.0' : host,
    port,
  };
}

function optionalString(
  settings: Readonly<Record<string, unknown>>,
  key: string,
): string | undefined {
  const value = settings[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new RestConfigError(`${key} must be a string`);
  return value;
}

/** Picks and checks the REST keys from a flat worker configuration. */
export function restServerConfig(settings: Readonly<Record<string, unknown>>): RestServerConfig {
  const listener = parseListener(optionalString(settings, 'listeners') ?? defaultListener);
  const authToken = optionalString(settings, 'rest.auth.token');
  const keyLocation = optionalString(settings, 'ssl.key.location');
  const certificateLocation = optionalString(settings, 'ssl.certificate.location');
  const caLocation = optionalString(settings, 'ssl.ca.location');
  const keyPassword = optionalString(settings, 'ssl.key.password');
  const clientAuth = optionalString(settings, 'ssl.client.auth') ?? 'none';
  if (clientAuth !== 'none' && clientAuth !== 'requested' && clientAuth !== 'required') {
    throw new RestConfigError(
      `ssl.client.auth must be none, requested or required, got '${clientAuth}'`,
    );
  }

  if (listener.protocol === 'http') {
    if (clientAuth !== 'none') {
      throw new RestConfigError('ssl.client.auth needs an https:// listener');
    }
    return { listener, ...(authToken ? { authToken } : {}) };
  }
  if (!keyLocation || !certificateLocation) {
    throw new RestConfigError(
      'an https:// listener needs ssl.key.location and ssl.certificate.location',
    );
  }
  if (clientAuth !== 'none' && !caLocation) {
    throw new RestConfigError(
      `ssl.client.auth=${clientAuth} needs ssl.ca.location to verify client certificates`,
    );
  }
  return {
    listener,
    ...(authToken ? { authToken } : {}),
    tls: {
      keyLocation,
      certificateLocation,
      clientAuth,
      ...(keyPassword ? { keyPassword } : {}),
      ...(caLocation ? { caLocation } : {}),
    },
  };
}
