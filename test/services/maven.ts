// Fetch a JVM service's jars from Maven Central once, through a small pom per service.
// A marker holding the pom's hash makes the step idempotent; a changed pom re-resolves.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceDir } from './daemon.ts';
import { ServiceStartError } from './service.ts';

/** Copies the pom's runtime dependencies into .services/<name>/lib and returns that folder. */
export function resolveJars(name: string, pomPath: string): string {
  const lib = join(serviceDir(name), 'lib');
  const marker = join(serviceDir(name), 'lib.sha256');
  const hash = createHash('sha256').update(readFileSync(pomPath)).digest('hex');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === hash && existsSync(lib)) return lib;
  rmSync(lib, { recursive: true, force: true });
  try {
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        pomPath,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${lib}`,
        '-DincludeScope=runtime',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (error) {
    const output =
      error instanceof Error && 'stdout' in error ? String(error.stdout) : String(error);
    throw new ServiceStartError(
      name,
      `Maven could not fetch the jars (${pomPath})`,
      output.slice(-3000),
    );
  }
  writeFileSync(marker, hash);
  return lib;
}

/** Java class path for every jar in a folder. */
export function classPath(lib: string, ...extra: string[]): string {
  return [join(lib, '*'), ...extra].join(':');
}
