// FileStreamSink: appends each record's value as one line. put() writes (the OS has the bytes, a
// process crash keeps them); preCommit() fsyncs before it lets the runtime commit the positions,
// so a committed position never points past lines a power loss could take away. After a crash the
// records since the last commit are appended again: at-least-once, duplicates but never gaps.

import { access, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import type {
  Connector,
  ConnectorContext,
  FieldError,
  ParsedConfig,
  RawConfig,
  SinkRecord,
  SinkTask,
  SinkTaskContext,
  TopicPartition,
  TopicPartitionOffset,
} from '../../runtime/api/index.ts';
import { formatLine } from './json-lines.ts';
import type { LineFormat } from './json-lines.ts';

export class FileSinkConnector implements Connector {
  private config: ParsedConfig = {};

  async start(config: ParsedConfig, _context: ConnectorContext): Promise<void> {
    this.config = config;
  }

  /** One task whatever tasks.max says: two writers appending to one file would interleave lines. */
  async taskConfigs(_maxTasks: number): Promise<RawConfig[]> {
    const task: RawConfig = {};
    for (const key of ['file', 'format']) {
      const value = this.config[key];
      if (value !== undefined) task[key] = String(value);
    }
    return [task];
  }

  async stop(): Promise<void> {}

  async validateLive(config: ParsedConfig): Promise<FieldError[]> {
    const directory = dirname(String(config.file));
    try {
      await access(directory, constants.W_OK);
      return [];
    } catch (error) {
      return [
        {
          field: 'file',
          message: `cannot write in ${directory} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        },
      ];
    }
  }
}

export class FileSinkTask implements SinkTask {
  private handle: FileHandle | undefined;
  private format: LineFormat = 'json';
  private unsynced = false;

  async start(_config: RawConfig, context: SinkTaskContext): Promise<void> {
    this.format = context.config.format === 'string' ? 'string' : 'json';
    this.handle = await open(String(context.config.file), 'a');
  }

  async open(_partitions: readonly TopicPartition[]): Promise<void> {}

  async close(_partitions: readonly TopicPartition[]): Promise<void> {}

  async put(records: readonly SinkRecord[]): Promise<void> {
    if (records.length === 0 || !this.handle) return;
    let text = '';
    for (const record of records) text += formatLine(this.format, record.value) + '\n';
    await this.handle.write(text);
    this.unsynced = true;
  }

  async preCommit(consumed: readonly TopicPartitionOffset[]): Promise<TopicPartitionOffset[]> {
    if (this.unsynced && this.handle) {
      await this.handle.sync();
      this.unsynced = false;
    }
    return [...consumed];
  }

  async stop(): Promise<void> {
    if (!this.handle) return;
    if (this.unsynced) await this.handle.sync();
    await this.handle.close();
    this.handle = undefined;
  }
}
