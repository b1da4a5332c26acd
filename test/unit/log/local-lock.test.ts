import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalLog } from '../../../runtime/log/local/local-log.ts';
import { DataDirLockedError } from '../../../runtime/log/local/errors.ts';
import { recordingLogger, tempDir } from './local-helpers.ts';

const isLockedBy = (dataDir: string, pid: number) => (error: unknown) =>
  error instanceof DataDirLockedError &&
  error.holderPid === pid &&
  error.message.includes(dataDir) &&
  error.message.includes(String(pid));

describe('the data directory lock', () => {
  it('refuses a second open of the same directory and names the holder', async () => {
    const dataDir = await tempDir('lock');
    const log = await LocalLog.open({ dataDir });
    try {
      await assert.rejects(LocalLog.open({ dataDir }), isLockedBy(dataDir, process.pid));
    } finally {
      await log.close();
    }
    // Released on close: the lock file is gone and the directory opens again.
    await assert.rejects(access(join(dataDir, '.lock')));
    const again = await LocalLog.open({ dataDir });
    await again.close();
  });

  it('refuses a directory another live process has open', async () => {
    const dataDir = await tempDir('lock-other');
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
      stdio: 'ignore',
    });
    try {
      await writeFile(join(dataDir, '.lock'), `${child.pid}\n`);
      await assert.rejects(LocalLog.open({ dataDir }), isLockedBy(dataDir, child.pid!));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that is gone, with a warning', async () => {
    const dataDir = await tempDir('lock-stale');
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
      encoding: 'utf8',
    });
    const pid = Number(gone.stdout.trim());
    await writeFile(join(dataDir, '.lock'), `${pid}\n`);
    const logger = recordingLogger();
    const log = await LocalLog.open({ dataDir, logger });
    await log.close();
    assert.ok(
      logger.lines.some((l) => l.level === 'warn' && l.details.holder === String(pid)),
      'the takeover is reported',
    );
  });
});
