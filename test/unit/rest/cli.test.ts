// The CLI in-process: `kafki connectors …` against the REST server over the fake herder (tables,
// exit codes, server messages), connector files, and `kafki standalone` with a fake runtime.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { CliIo } from '../../../runtime/cli/io.ts';
import { runCli } from '../../../runtime/cli/main.ts';
import type {
  LoadedWorkerConfig,
  StandaloneDependencies,
} from '../../../runtime/cli/standalone-command.ts';
import { formatTable } from '../../../runtime/cli/table.ts';
import { waitFor } from '../../helpers/wait.ts';
import { FakeHerder } from '../../helpers/fake-herder.ts';
import {
  fakeMetrics,
  recordingLogger,
  sourceConfig,
  startTestServer,
  type TestServer,
} from './harness.ts';

function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (text) => stdout.push(text), err: (text) => stderr.push(text) };
}

const noStandalone: StandaloneDependencies<LoadedWorkerConfig> = {
  loadWorkerConfig: () => Promise.reject(new Error('not in this test')),
  createLogger: () => recordingLogger(),
  createRuntime: () => Promise.reject(new Error('not in this test')),
  createDistributedRuntime: () => Promise.reject(new Error('not in this test')),
  signals: new EventEmitter(),
};

describe('kafki connectors', () => {
  let server: TestServer;
  let dir: string;

  before(async () => {
    server = await startTestServer({ authToken: 'tok' });
    dir = await mkdtemp(join(tmpdir(), 'kafki-cli-'));
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => server.herder.connectorsByName.clear());

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const io = captureIo();
    const code = await runCli(
      ['connectors', '--url', server.url, '--token', 'tok', ...args],
      io,
      noStandalone,
    );
    return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
  }

  async function connectorFile(name: string, content: unknown): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }

  it('create -f with {name, config}, then list and status as tables', async () => {
    const file = await connectorFile('lines.json', { name: 'lines', config: sourceConfig });
    const created = await cli('create', '-f', file);
    assert.equal(created.code, 0, created.err);
    assert.equal(created.out, 'Created connector lines (source, 2 task(s)).');

    const list = await cli('list');
    assert.equal(list.code, 0, list.err);
    const [header, row] = list.out.split('\n');
    assert.match(header ?? '', /^NAME\s+TYPE\s+STATE\s+TASKS RUNNING\s+CLASS\s+WORKER$/);
    assert.match(
      row ?? '',
      /^lines\s+source\s+RUNNING\s+2\/2\s+org\.kafki\.FakeSourceConnector\s+127\.0\.0\.1:8083$/,
    );

    server.herder.setTaskState('lines', 1, 'FAILED', 'Error: disk full\n    at read (file.ts:1:1)');
    const status = await cli('status', 'lines');
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /^Connector: lines$/m);
    assert.match(status.out, /^State: {5}RUNNING$/m);
    assert.match(status.out, /^Worker: {4}127\.0\.0\.1:8083$/m);
    assert.match(status.out, /^TASK\s+STATE\s+WORKER\s+TRACE$/m);
    assert.match(status.out, /^0\s+RUNNING\s+127\.0\.0\.1:8083$/m);
    assert.match(status.out, /^1\s+FAILED\s+127\.0\.0\.1:8083\s+Error: disk full$/m);
    assert.doesNotMatch(status.out, /at read/);
  });

  it('create -f with a flat config map, and --json', async () => {
    const file = await connectorFile('flat.json', {
      name: 'flat',
      ...sourceConfig,
      'tasks.max': 1,
    });
    const created = await cli('--json', 'create', '-f', file);
    assert.equal(created.code, 0, created.err);
    assert.equal((JSON.parse(created.out) as { name: string }).name, 'flat');
    assert.equal(server.herder.connectorsByName.get('flat')?.config['tasks.max'], '1');
  });

  it('pause, resume, stop, restart and delete', async () => {
    await server.request('POST', '/connectors', {
      body: { name: 'a', config: sourceConfig },
      headers: { Authorization: 'Bearer tok' },
    });
    assert.equal((await cli('pause', 'a')).out, 'Pausing connector a.');
    assert.equal(server.herder.connectorsByName.get('a')?.target, 'PAUSED');
    assert.equal((await cli('resume', 'a')).out, 'Resuming connector a.');
    assert.equal(server.herder.connectorsByName.get('a')?.target, 'RUNNING');
    assert.equal((await cli('restart', 'a')).out, 'Restarted connector a.');

    server.herder.setTaskState('a', 0, 'FAILED', 'boom');
    const restart = await cli('restart', 'a', '--include-tasks', '--only-failed');
    assert.equal(restart.code, 0, restart.err);
    assert.match(restart.out, /^0\s+RESTARTING/m);
    assert.deepEqual(server.herder.calls.at(-1)?.args, [
      'a',
      { includeTasks: true, onlyFailed: true },
    ]);

    assert.equal((await cli('stop', 'a')).out, 'Stopped connector a.');
    assert.equal((await cli('delete', 'a')).out, 'Deleted connector a.');
    assert.equal(server.herder.connectorsByName.has('a'), false);
  });

  it('exits 1 with the server message on errors', async () => {
    const missing = await cli('status', 'nope');
    assert.equal(missing.code, 1);
    assert.equal(missing.err, 'Error (HTTP 404): Connector nope not found');

    const file = await connectorFile('bad.json', {
      name: 'bad',
      config: { 'connector.class': 'Nope' },
    });
    const invalid = await cli('create', '-f', file);
    assert.equal(invalid.code, 1);
    assert.match(invalid.err, /^Error \(HTTP 400\): .*unknown class Nope/s);
  });

  it('exits 1 on a wrong token and when the worker is unreachable', async () => {
    const io = captureIo();
    const code = await runCli(
      ['connectors', '--url', server.url, '--token', 'wrong', 'list'],
      io,
      noStandalone,
    );
    assert.equal(code, 1);
    assert.equal(io.stderr.join(''), 'Error (HTTP 401): Invalid bearer token');

    const down = captureIo();
    const downCode = await runCli(
      ['connectors', '--url', 'http://127.0.0.1:1', 'list'],
      down,
      noStandalone,
    );
    assert.equal(downCode, 1);
    assert.match(down.stderr.join(''), /cannot reach http:\/\/127\.0\.0\.1:1/);
  });

  it('exits 1 for a missing or malformed connector file, 2 for usage errors', async () => {
    const missing = await cli('create', '-f', join(dir, 'absent.json'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot read connector config .*absent\.json \(ENOENT\)/);
    const broken = await cli('create', '-f', await connectorFile('broken.json', '{"name": '));
    assert.equal(broken.code, 1);
    assert.match(broken.err, /not valid JSON/);
    assert.equal((await cli('create')).code, 2);
    assert.equal((await cli('status')).code, 2);
    assert.equal(await runCli(['nonsense'], captureIo(), noStandalone), 2);
  });

  it('kafki worker without its config file is a usage error (exit 2)', async () => {
    const io = captureIo();
    assert.equal(await runCli(['worker'], io, noStandalone), 2);
    assert.match(io.stderr.join(''), /missing required argument 'worker-config'/);
  });
});

describe('tables', () => {
  it('pads columns to the widest cell', () => {
    assert.equal(
      formatTable(
        ['A', 'BB'],
        [
          ['xxx', 'y'],
          ['z', ''],
        ],
      ),
      'A    BB\nxxx  y\nz',
    );
  });
});

describe('kafki standalone', () => {
  it('starts REST, registers the connector files, and shuts down on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kafki-standalone-'));
    const connector = join(dir, 'lines.json');
    await writeFile(connector, JSON.stringify({ name: 'lines', config: sourceConfig }));
    const herder = new FakeHerder();
    const signals = new EventEmitter();
    let closed = 0;
    const io = captureIo();
    const running = runCli(['standalone', join(dir, 'worker.json'), connector], io, {
      loadWorkerConfig: async (path) => {
        assert.equal(path, join(dir, 'worker.json'));
        return { logLevel: 'info', values: { listeners: 'http://127.0.0.1:0' } };
      },
      createLogger: () => recordingLogger(),
      createRuntime: async () => ({
        herder,
        metrics: fakeMetrics,
        workerId: 'w1',
        close: async () => {
          closed += 1;
        },
      }),
      createDistributedRuntime: () => Promise.reject(new Error('standalone asked')),
      signals,
    });
    const url = await waitFor(
      'the REST URL',
      async () => /serving its REST API at (\S+)/.exec(io.stdout.join('\n'))?.[1],
    );
    assert.equal(io.stdout[0], 'Connector lines created.');
    const status = await fetch(`${url}/connectors/lines/status`);
    assert.equal(status.status, 200);
    signals.emit('SIGTERM', 'SIGTERM');
    assert.equal(await running, 0);
    assert.equal(closed, 1);
    await assert.rejects(fetch(`${url}/connectors`));
    await rm(dir, { recursive: true, force: true });
  });

  it('fails with exit 1 before starting anything when a connector file is broken', async () => {
    let started = false;
    const io = captureIo();
    const code = await runCli(['standalone', 'worker.json', '/nonexistent/c.json'], io, {
      loadWorkerConfig: async () => ({ logLevel: 'info', values: {} }),
      createLogger: () => recordingLogger(),
      createRuntime: async () => {
        started = true;
        throw new Error('should not start');
      },
      createDistributedRuntime: () => Promise.reject(new Error('standalone asked')),
      signals: new EventEmitter(),
    });
    assert.equal(code, 1);
    assert.equal(started, false);
    assert.match(io.stderr.join(''), /cannot read connector config \/nonexistent\/c\.json/);
  });
});

describe('kafki worker', () => {
  it('runs a cluster member with its REST API, takes no connector files, and leaves on SIGINT', async () => {
    const signals = new EventEmitter();
    let closed = 0;
    let standaloneAsked = false;
    const io = captureIo();
    const running = runCli(['worker', 'worker.json'], io, {
      loadWorkerConfig: async () => ({
        logLevel: 'info',
        values: { listeners: 'http://127.0.0.1:0' },
      }),
      createLogger: () => recordingLogger(),
      createRuntime: async () => {
        standaloneAsked = true;
        throw new Error('standalone asked');
      },
      createDistributedRuntime: async () => ({
        herder: new FakeHerder(),
        metrics: fakeMetrics,
        workerId: 'm1',
        close: async () => {
          closed += 1;
        },
      }),
      signals,
    });
    const url = await waitFor(
      'the REST URL',
      async () =>
        /Kafki cluster member m1 is serving its REST API at (\S+)/.exec(io.stdout.join('\n'))?.[1],
    );
    assert.equal((await fetch(`${url}/connectors`)).status, 200);
    signals.emit('SIGINT', 'SIGINT');
    assert.equal(await running, 0);
    assert.equal(closed, 1);
    assert.equal(standaloneAsked, false);
    assert.equal(await runCli(['worker', 'w.json', 'extra.json'], captureIo(), noStandalone), 2);
  });
});
