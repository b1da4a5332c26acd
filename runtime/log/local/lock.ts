// The data directory lock: `<dataDir>/.lock` holds the pid of the process that has the log open,
// created with O_EXCL so two processes never both own it. A lock left by a process that no
// longer exists (kill -9, power cut) is taken over, with a warning.
//
// Limits: liveness is checked with kill(pid, 0), so a reused pid makes a stale lock look held
// (the error says which pid and which file to remove), and the directory is assumed to be on a
// local disk used by one host.

import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirLockedError } from './errors.ts';
import { isErrno } from './fs-util.ts';
import type { LocalLogLogger } from './options.ts';

const LOCK_FILE = '.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return isErrno(error, 'EPERM');
  }
}

export class DataDirLock {
  private constructor(private readonly path: string) {}

  static async acquire(dataDir: string, logger: LocalLogLogger): Promise<DataDirLock> {
    const path = join(dataDir, LOCK_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(path, 'wx');
        try {
          await handle.writeFile(`${process.pid}\n`);
          await handle.datasync();
        } finally {
          await handle.close();
        }
        return new DataDirLock(path);
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
      let content: string;
      try {
        content = await readFile(path, 'utf8');
      } catch (error) {
        if (isErrno(error, 'ENOENT')) continue; // released meanwhile: try again
        throw error;
      }
      const holder = Number.parseInt(content.trim(), 10);
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new DataDirLockedError(dataDir, holder);
      }
      logger.warn(
        { dataDir, holder: content.trim() },
        'taking over the lock of a process that is gone (it did not close the log)',
      );
      try {
        await unlink(path);
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
      }
    }
    throw new DataDirLockedError(dataDir, Number.parseInt(await readFile(path, 'utf8'), 10));
  }

  async release(): Promise<void> {
    try {
      const holder = Number.parseInt((await readFile(this.path, 'utf8')).trim(), 10);
      if (holder === process.pid) await unlink(this.path);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
  }
}
