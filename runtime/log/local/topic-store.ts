// Topic metadata on disk: `<dataDir>/<topic>/topic.json` holds the TopicSpec as created. It is
// written last when a topic is created (with its partition directories already in place), so
// its presence is the commit point: a topic directory without it is a creation that crashed
// halfway and is removed on open. Deletion renames the directory away first (atomic), then
// removes the files, so a crash mid-delete never leaves half a topic.

import { mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { LogStorageError } from '../errors.ts';
import type { TopicSpec } from '../log.ts';
import { fsyncDir, isErrno, removeTree, writeFileDurably } from './fs-util.ts';
import type { LocalLogLogger } from './options.ts';

const SPEC_FILE = 'topic.json';
const DELETED_PREFIX = '.deleted-';
const FORMAT_VERSION = 1;

interface StoredSpec {
  version: number;
  spec: TopicSpec;
}

export class TopicStore {
  constructor(
    private readonly dataDir: string,
    private readonly logger: LocalLogLogger,
  ) {}

  topicDir(name: string): string {
    return join(this.dataDir, name);
  }

  partitionDir(name: string, partition: number): string {
    return join(this.dataDir, name, String(partition));
  }

  /** Every committed topic; cleans up interrupted creations and deletions. */
  async load(): Promise<TopicSpec[]> {
    const specs: TopicSpec[] = [];
    for (const entry of await readdir(this.dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const path = join(this.dataDir, entry.name);
      if (entry.name.startsWith(DELETED_PREFIX)) {
        await removeTree(path);
        continue;
      }
      if (entry.name.startsWith('.')) continue;
      let stored: StoredSpec;
      try {
        stored = JSON.parse(await readFile(join(path, SPEC_FILE), 'utf8')) as StoredSpec;
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
        if (await this.isUnfinishedCreation(path)) {
          this.logger.warn(
            { dir: path },
            'removing a topic directory without topic.json (a creation that did not finish)',
          );
          await removeTree(path);
        } else {
          this.logger.warn({ dir: path }, 'ignoring a directory that is not a topic');
        }
        continue;
      }
      if (stored.version !== FORMAT_VERSION || stored.spec?.name !== entry.name) {
        throw new Error(`${join(path, SPEC_FILE)} is not a topic spec this version can read`);
      }
      specs.push(stored.spec);
    }
    return specs;
  }

  /** What create() leaves before its commit point: nothing but empty partition directories. */
  private async isUnfinishedCreation(path: string): Promise<boolean> {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (!entry.isDirectory() || !/^\d+$/.test(entry.name)) return false;
      if ((await readdir(join(path, entry.name))).length > 0) return false;
    }
    return true;
  }

  async create(spec: TopicSpec): Promise<void> {
    const dir = this.topicDir(spec.name);
    try {
      await mkdir(dir);
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
      throw new LogStorageError(
        `cannot create topic "${spec.name}": ${dir} exists and is not a topic; move it away`,
      );
    }
    for (let partition = 0; partition < spec.partitions; partition++) {
      await mkdir(this.partitionDir(spec.name, partition), { recursive: true });
    }
    await fsyncDir(dir);
    const stored: StoredSpec = { version: FORMAT_VERSION, spec };
    await writeFileDurably(join(dir, SPEC_FILE), `${JSON.stringify(stored, null, 2)}\n`);
    await fsyncDir(this.dataDir);
  }

  async remove(name: string): Promise<void> {
    const graveyard = join(
      this.dataDir,
      `${DELETED_PREFIX}${name}-${randomBytes(4).toString('hex')}`,
    );
    await rename(this.topicDir(name), graveyard);
    await fsyncDir(this.dataDir);
    await removeTree(graveyard);
  }
}
