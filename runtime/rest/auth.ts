// API security: the optional bearer token and, for ssl.client.auth=requested, the check that a
// presented client certificate is trusted. (With required, TLS itself refuses the handshake.)

import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { UnauthorizedError } from './errors.ts';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Returns a check for the Authorization header. Both sides are hashed first so the comparison
 * is constant-time and does not leak the token's length either.
 */
export function bearerTokenVerifier(token: string): (authorization: string | undefined) => void {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    if (!match)
      throw new UnauthorizedError('Missing bearer token: send Authorization: Bearer <token>');
    if (!timingSafeEqual(digest((match[1] as string).trim()), expected)) {
      throw new UnauthorizedError('Invalid bearer token');
    }
  };
}

/** With requestCert but not rejectUnauthorized, a certificate that was sent must still be trusted. */
export function checkPresentedClientCertificate(socket: TLSSocket): void {
  const certificate = socket.getPeerCertificate();
  const presented = certificate !== null && Object.keys(certificate).length > 0;
  if (presented && !socket.authorized) {
    throw new UnauthorizedError(
      `Client certificate is not trusted: ${String(socket.authorizationError ?? 'unknown reason')}`,
    );
  }
}
