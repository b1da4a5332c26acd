// Committed offsets of the consumer groups: one small JSON file per group in `<dataDir>/.groups`,
// replaced atomically (write, fsync, rename, fsync the directory) on every commit. Commits of a
// group are written one at a time; a commit that arrives while a write runs is folded into the
// next write. Readers (committedOffsets, a new partition owner) see only what is durable.

import { mkdir, readFile, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { PartitionOffset } from '../log.ts';
import { writeFileDurably } from './fs-util.ts';

const GROUPS_DIR = '.groups';
const FORMAT_VERSION = 1;

type Offsets = Map<string, Map<number, number>>;

interface GroupFile {
  version: number;
  groupId: string;
  offsets: Record<string, Record<string, number>>;
}

interface GroupState {
  durable: Offsets;
  latest: Offsets;
  /** Bumped by every commit; writtenVersion is the one the file holds. */
  version: number;
  writtenVersion: number;
  writing: Promise<void>;
}

function copy(offsets: Offsets): Offsets {
  return new Map([...offsets].map(([topic, byPartition]) => [topic, new Map(byPartition)]));
}

/** A file name for any group id: readable when it can be, a hash when it is long. */
function fileNameFor(groupId: string): string {
  const readable = encodeURIComponent(groupId).replace(/\./g, '%2E').replace(/\*/g, '%2A');
  return readable.length <= 200
    ? `${readable}.json`
    : `${createHash('sha256').update(groupId).digest('hex')}.json`;
}

export class GroupOffsetStore {
  private readonly dir: string;
  private readonly groups = new Map<string, GroupState>();

  constructor(dataDir: string) {
    this.dir = join(dataDir, GROUPS_DIR);
  }

  async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      const file = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as GroupFile;
      if (file.version !== FORMAT_VERSION) {
        throw new Error(
          `${join(this.dir, name)} is not a group offsets file this version can read`,
        );
      }
      const offsets: Offsets = new Map();
      for (const [topic, byPartition] of Object.entries(file.offsets)) {
        offsets.set(
          topic,
          new Map(Object.entries(byPartition).map(([p, offset]) => [Number(p), offset])),
        );
      }
      this.groups.set(file.groupId, {
        durable: offsets,
        latest: copy(offsets),
        version: 0,
        writtenVersion: 0,
        writing: Promise.resolve(),
      });
    }
  }

  committed(groupId: string, topic: string, partition: number): number | undefined {
    return this.groups.get(groupId)?.durable.get(topic)?.get(partition);
  }

  list(groupId: string, topic: string): PartitionOffset[] {
    const byPartition = this.groups.get(groupId)?.durable.get(topic);
    if (byPartition === undefined) return [];
    return [...byPartition]
      .sort(([a], [b]) => a - b)
      .map(([partition, offset]) => ({ topic, partition, offset }));
  }

  /** Resolves once the offsets are durable. */
  commit(groupId: string, offsets: readonly PartitionOffset[]): Promise<void> {
    let state = this.groups.get(groupId);
    if (state === undefined) {
      state = {
        durable: new Map(),
        latest: new Map(),
        version: 0,
        writtenVersion: 0,
        writing: Promise.resolve(),
      };
      this.groups.set(groupId, state);
    }
    for (const { topic, partition, offset } of offsets) {
      let byPartition = state.latest.get(topic);
      if (byPartition === undefined) {
        byPartition = new Map();
        state.latest.set(topic, byPartition);
      }
      byPartition.set(partition, offset);
    }
    return this.scheduleWrite(groupId, state);
  }

  /** Drops the offsets of a deleted topic from every group. */
  async forgetTopic(topic: string): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const [groupId, state] of this.groups) {
      if (state.latest.delete(topic)) writes.push(this.scheduleWrite(groupId, state));
    }
    await Promise.all(writes);
  }

  async close(): Promise<void> {
    await Promise.all([...this.groups.values()].map((state) => state.writing.catch(() => {})));
  }

  private scheduleWrite(groupId: string, state: GroupState): Promise<void> {
    const version = ++state.version;
    const write = state.writing
      .catch(() => {})
      .then(async () => {
        // An earlier write may already have carried this commit.
        if (state.writtenVersion >= version) return;
        const snapshot = copy(state.latest);
        const snapshotVersion = state.version;
        const file: GroupFile = { version: FORMAT_VERSION, groupId, offsets: {} };
        for (const [topic, byPartition] of snapshot) {
          file.offsets[topic] = Object.fromEntries(
            [...byPartition].map(([partition, offset]) => [String(partition), offset]),
          );
        }
        await writeFileDurably(join(this.dir, fileNameFor(groupId)), JSON.stringify(file));
        state.writtenVersion = snapshotVersion;
        state.durable = snapshot;
      });
    state.writing = write;
    return write;
  }
}
