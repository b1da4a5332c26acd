// `npm test [-- path ...]`: bring up the real services the chosen tests need, then run them with
// Node's built-in test runner (its summary reports the pass/fail counts).

import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { bringUp, allServices } from './services/all-services.ts';

const repoRoot = resolve(import.meta.dirname, '..');

function findTests(path: string): string[] {
  const stat = statSync(path);
  if (stat.isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path)
    .filter((entry) => entry !== 'node_modules' && !entry.startsWith('.'))
    .flatMap((entry) => findTests(join(path, entry)));
}

const targets = process.argv.slice(2);
const files = (targets.length ? targets : ['test'])
  .flatMap((target) => findTests(resolve(repoRoot, target)))
  .map((file) => relative(repoRoot, file))
  .sort();

if (files.length === 0) {
  console.error(`no *.test.ts files under ${targets.join(' ') || 'test'}`);
  process.exit(1);
}

// Unit tests need no service; anything else gets the whole set, started once for the run.
const needsServices = files.some((file) => !file.startsWith('test/unit/'));
if (needsServices && process.env.KAFKI_SKIP_SERVICES !== '1') {
  const started = Date.now();
  await bringUp(allServices);
  console.log(`services ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${process.env.KAFKI_TEST_CONCURRENCY ?? '2'}`,
    `--test-timeout=${process.env.KAFKI_TEST_TIMEOUT_MS ?? '1200000'}`,
    ...files,
  ],
  { cwd: repoRoot, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
