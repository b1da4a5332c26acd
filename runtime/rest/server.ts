// The REST server: fastify with our JSON parser, JSON Schema validation through ajv (the schemas
// under schemas/rest), bearer/mTLS checks, the route list, and the one error mapper. Routes are
// thin: route → herder call → response.

import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../api/logger.ts';
import type { Herder } from '../herder/herder.ts';
import { bearerTokenVerifier, checkPresentedClientCertificate } from './auth.ts';
import { fromFastifyError, mapError } from './error-mapper.ts';
import { MalformedJsonError, UnauthorizedError } from './errors.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { RestConfigError, type RestServerConfig, type RestTlsConfig } from './rest-config.ts';
import type { MetricsSource, RouteContext, RouteSpec } from './route.ts';
import { allRoutes } from './routes/index.ts';
import { createRestAjv } from './schemas.ts';

export interface RestServerOptions {
  herder: Herder;
  metrics: MetricsSource;
  config: RestServerConfig;
  logger: Logger;
}

export interface RestServer {
  /** The URL clients reach the server at (with the real port when the listener said 0). */
  readonly url: string;
  close(): Promise<void>;
}

const maxBodyBytes = 8 * 1024 * 1024;

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new RestConfigError(`${key}: cannot read ${path}: ${(error as Error).message}`);
  }
}

function httpsOptions(tls: RestTlsConfig): Record<string, unknown> {
  return {
    key: readPem(tls.keyLocation, 'ssl.key.location'),
    cert: readPem(tls.certificateLocation, 'ssl.certificate.location'),
    ...(tls.keyPassword ? { passphrase: tls.keyPassword } : {}),
    ...(tls.caLocation ? { ca: readPem(tls.caLocation, 'ssl.ca.location') } : {}),
    requestCert: tls.clientAuth !== 'none',
    // required: the TLS handshake itself refuses a client without a certificate signed by the CA.
    rejectUnauthorized: tls.clientAuth === 'required',
  };
}

/** JSON.parse with the syntax error kept for the message; prototype-polluting keys refused. */
function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined; // e.g. POST …/restart with a JSON content type and no body
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (key === '__proto__') throw new SyntaxError('the key "__proto__" is not allowed');
      return value;
    });
  } catch (error) {
    throw new MalformedJsonError((error as Error).message);
  }
}

function clientUrl(protocol: string, address: AddressInfo): string {
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const host = wildcard ? '127.0.0.1' : address.address;
  return `${protocol}://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

async function serverVersion(herder: Herder): Promise<string> {
  try {
    return (await herder.serverInfo()).version;
  } catch {
    return '0.0.0';
  }
}

export async function startRestServer(options: RestServerOptions): Promise<RestServer> {
  const { herder, metrics, config, logger } = options;
  const routes: readonly RouteSpec[] = allRoutes;
  const tls = config.tls;
  if (config.listener.protocol === 'https' && !tls) {
    throw new RestConfigError(
      'an https:// listener needs ssl.key.location and ssl.certificate.location',
    );
  }

  const app = Fastify({
    logger: false,
    bodyLimit: maxBodyBytes,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
    ...(config.listener.protocol === 'https' && tls ? { https: httpsOptions(tls) } : {}),
  });

  // Query strings and paths arrive as strings: coerce them ('true' → true, one ?expand → array).
  // Bodies are JSON and validated as they are.
  const bodyAjv = createRestAjv({ coerceTypes: false, useDefaults: true });
  const partsAjv = createRestAjv({ coerceTypes: 'array', useDefaults: true });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    (httpPart === 'body' ? bodyAjv : partsAjv).compile(schema),
  );

  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, parseJsonBody(text as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  const verifyToken = config.authToken ? bearerTokenVerifier(config.authToken) : undefined;
  const checkOptionalClientCert = tls?.clientAuth === 'requested';
  app.addHook('onRequest', async (request) => {
    if (checkOptionalClientCert) checkPresentedClientCertificate(request.raw.socket as TLSSocket);
    const isPublic = (request.routeOptions.config as { public?: boolean }).public === true;
    if (verifyToken && !isPublic) verifyToken(request.headers.authorization);
  });

  app.setErrorHandler((error, request, reply) => {
    const mapped = mapError(fromFastifyError(error));
    if (mapped.status >= 500) {
      logger.error({ err: error, method: request.method, url: request.url }, 'REST request failed');
    }
    if (error instanceof UnauthorizedError && verifyToken) {
      void reply.header('WWW-Authenticate', 'Bearer realm="kafki"');
    }
    return reply.code(mapped.status).type('application/json').send(mapped.body);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    return reply
      .code(404)
      .send({ error_code: 404, message: `Unknown endpoint: ${request.method} ${path}` });
  });

  const openApiDocument = buildOpenApiDocument(routes, {
    version: await serverVersion(herder),
    bearerAuth: verifyToken !== undefined,
  });
  const context: RouteContext = { herder, metrics, openApiDocument: () => openApiDocument };

  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      config: { public: route.public === true },
      schema: {
        ...(route.params ? { params: route.params } : {}),
        ...(route.querystring ? { querystring: route.querystring } : {}),
        ...(route.body ? { body: route.body } : {}),
      },
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const result = await route.handler(context, {
          params: request.params,
          query: request.query,
          body: request.body,
        });
        void reply.code(result.status);
        for (const [name, value] of Object.entries(result.headers ?? {}))
          void reply.header(name, value);
        if (result.body === undefined) return reply.send();
        if (result.contentType) void reply.type(result.contentType);
        return reply.send(result.body);
      },
    });
  }

  await app.listen({ host: config.listener.host, port: config.listener.port });
  const url = clientUrl(config.listener.protocol, app.server.address() as AddressInfo);
  logger.info({ url }, 'REST server listening');
  return {
    url,
    close: async () => {
      await app.close();
    },
  };
}
