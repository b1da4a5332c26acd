// Throwaway PKI for the TLS tests, made with the openssl CLI: a CA, a server certificate for
// 127.0.0.1/localhost (its key also written encrypted), a client certificate signed by the CA,
// and a client certificate from another CA.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  serverKey: string;
  serverKeyEncrypted: string;
  serverKeyPassword: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  otherClientKey: string;
  otherClientCert: string;
  remove(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, file: string): void {
  openssl(
    dir,
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-out',
    file,
  );
}

function selfSignedCa(dir: string, name: string): void {
  newKey(dir, `${name}.key`);
  openssl(
    dir,
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  );
}

function signed(dir: string, name: string, ca: string, extensions: string): void {
  newKey(dir, `${name}.key`);
  openssl(dir, 'req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'kafki-pki-'));
  selfSignedCa(dir, 'ca');
  selfSignedCa(dir, 'other-ca');
  signed(
    dir,
    'server',
    'ca',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth',
  );
  signed(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth');
  signed(dir, 'other-client', 'other-ca', 'extendedKeyUsage=clientAuth');
  const password = 'key-password';
  openssl(
    dir,
    'pkey',
    '-in',
    'server.key',
    '-aes256',
    '-passout',
    `pass:${password}`,
    '-out',
    'server-encrypted.key',
  );
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverKey: join(dir, 'server.key'),
    serverKeyEncrypted: join(dir, 'server-encrypted.key'),
    serverKeyPassword: password,
    serverCert: join(dir, 'server.crt'),
    clientKey: join(dir, 'client.key'),
    clientCert: join(dir, 'client.crt'),
    otherClientKey: join(dir, 'other-client.key'),
    otherClientCert: join(dir, 'other-client.crt'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
