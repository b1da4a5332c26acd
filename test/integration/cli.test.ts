// The kafki CLI as users run it: `bin/kafki standalone worker.json connector.json` in a child
// process, then `bin/kafki connectors …` child processes against its REST API (create, list,
// status, pause, resume, delete), and a graceful shutdown on SIGTERM.

import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../helpers/wait.ts';

const kafki = resolve(import.meta.dirname, '../../bin/kafki');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(...args: string[]): Promise<Run> {
  return new Promise((resolveRun) => {
    execFile(process.execPath, [kafki, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolveRun({ code, stdout, stderr });
    });
  });
}

describe('kafki CLI against a running standalone worker', () => {
  let dir: string;
  let worker: ChildProcess;
  let stdout = '';
  let stderr = '';
  let url = '';
  let exited: Promise<number | null>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kafki-cli-it-'));
    await writeFile(join(dir, 'in.txt'), 'one\ntwo\n');
    await writeFile(
      join(dir, 'worker.json'),
      JSON.stringify({
        'worker.id': 'cli-worker:8083',
        'log.dir': join(dir, 'data'),
        listeners: 'http://127.0.0.1:0',
        'log.level': 'warn',
      }),
    );
    // Registered at start, in Kafka Connect's flat form.
    await writeFile(
      join(dir, 'boot.json'),
      JSON.stringify({
        name: 'boot',
        'connector.class': 'FileStreamSource',
        file: join(dir, 'in.txt'),
        topic: 'boot-lines',
        format: 'string',
      }),
    );
    worker = spawn(
      process.execPath,
      [kafki, 'standalone', join(dir, 'worker.json'), join(dir, 'boot.json')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    worker.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    worker.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    exited = new Promise((resolveExit) => worker.on('exit', (code) => resolveExit(code)));
    url = await waitFor(
      'the standalone worker to serve REST',
      async () => {
        if (worker.exitCode !== null)
          throw new Error(`worker exited ${worker.exitCode}: ${stderr}${stdout}`);
        return /serving its REST API at (\S+)/.exec(stdout)?.[1];
      },
      { timeoutMs: 60_000 },
    );
  });

  after(async () => {
    if (worker.exitCode === null) worker.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('registered the connector file given at start', async () => {
    assert.match(stdout, /^Connector boot created\.$/m);
    const list = await run('connectors', '--url', url, 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^boot\s+source\s+RUNNING\s+/m);
  });

  it('create -f, status, pause, resume and delete round-trip', async () => {
    const file = join(dir, 'lines.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'lines',
        config: {
          'connector.class': 'FileStreamSource',
          file: join(dir, 'in.txt'),
          topic: 'lines',
          format: 'string',
        },
      }),
    );
    const created = await run('connectors', '--url', url, 'create', '-f', file);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout.trim(), 'Created connector lines (source, 1 task(s)).');

    const status = await waitFor('lines to run', async () => {
      const result = await run('connectors', '--url', url, 'status', 'lines');
      return /^0\s+RUNNING\s+cli-worker:8083/m.test(result.stdout) ? result : undefined;
    });
    assert.match(status.stdout, /^Connector: lines$/m);
    assert.match(status.stdout, /^Worker: +cli-worker:8083$/m);

    assert.equal((await run('connectors', '--url', url, 'pause', 'lines')).code, 0);
    await waitFor('lines to pause', async () =>
      /^State: +PAUSED$/m.test((await run('connectors', '--url', url, 'status', 'lines')).stdout),
    );
    assert.equal((await run('connectors', '--url', url, 'resume', 'lines')).code, 0);
    const restarted = await run('connectors', '--url', url, 'restart', 'lines', '--include-tasks');
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.match(restarted.stdout, /^Restarting connector lines\./m);

    const deleted = await run('connectors', '--url', url, 'delete', 'lines');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout.trim(), 'Deleted connector lines.');
    const gone = await run('connectors', '--url', url, 'status', 'lines');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^Error \(HTTP 404\): .*lines/m);
  });

  it('a create the worker refuses exits 1 with the server message', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify({ name: 'bad', config: { 'connector.class': 'com.example.Nope' } }),
    );
    const result = await run('connectors', '--url', url, 'create', '-f', file);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^Error \(HTTP 400\): /);
    assert.match(result.stderr, /FileStreamSourceConnector/);
  });

  it('kafki worker refuses the local log with a clear error (exit 1)', async () => {
    const result = await run('worker', join(dir, 'worker.json'));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Distributed mode \(kafki worker\) needs log\.backend=kafka/);
  });

  it('shuts down gracefully on SIGTERM with exit code 0', async () => {
    worker.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /^SIGTERM: shutting down\.$/m);
    assert.match(stdout, /^Stopped\.$/m);
    const after = await run('connectors', '--url', url, 'list');
    assert.equal(after.code, 1);
    assert.match(after.stderr, /cannot reach/);
  });
});
