// FileStreamSource: tails a file of lines into one topic. The source partition is the file name,
// the offset the byte position (and line number) just after the last line handed to the runtime,
// so a restarted task continues at the first line whose record was not durably stored.

import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type {
  Connector,
  ConnectorContext,
  DurableOffset,
  FieldError,
  ParsedConfig,
  RawConfig,
  SourceRecord,
  SourceTask,
  SourceTaskContext,
} from '../../runtime/api/index.ts';
import { parseLine } from './json-lines.ts';
import type { LineFormat } from './json-lines.ts';

const readChunkBytes = 1024 * 1024;
/** poll() returns within about this long when no line arrives (the contract asks for ~1 s). */
const idlePollMs = 500;

export class FileSourceConnector implements Connector {
  private config: ParsedConfig = {};

  async start(config: ParsedConfig, _context: ConnectorContext): Promise<void> {
    this.config = config;
  }

  /** One task: a file has one reader. */
  async taskConfigs(_maxTasks: number): Promise<RawConfig[]> {
    const task: RawConfig = {};
    for (const key of ['file', 'topic', 'format', 'batch.size', 'poll.interval.ms']) {
      const value = this.config[key];
      if (value !== undefined) task[key] = String(value);
    }
    return [task];
  }

  async stop(): Promise<void> {}

  async validateLive(config: ParsedConfig): Promise<FieldError[]> {
    const file = String(config.file);
    try {
      const handle = await open(file, 'r');
      await handle.close();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A file that does not exist yet is fine: the task waits for it.
      if (code !== 'ENOENT')
        return [{ field: 'file', message: `cannot read ${file} (${code ?? 'error'})` }];
    }
    return [];
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class FileSourceTask implements SourceTask {
  private file = '';
  private topic = '';
  private format: LineFormat = 'json';
  private batchSize = 2000;
  private pollIntervalMs = 100;
  private partition: { filename: string } = { filename: '' };
  private position = 0;
  private line = 0;
  private handle: FileHandle | undefined;
  private context!: SourceTaskContext;
  private readonly buffer = Buffer.allocUnsafe(readChunkBytes);

  async start(_config: RawConfig, context: SourceTaskContext): Promise<void> {
    this.context = context;
    this.file = String(context.config.file);
    this.topic = String(context.config.topic);
    this.format = context.config.format === 'string' ? 'string' : 'json';
    this.batchSize = Number(context.config['batch.size'] ?? 2000);
    this.pollIntervalMs = Number(context.config['poll.interval.ms'] ?? 100);
    this.partition = { filename: this.file };
    const stored = await context.offset(this.partition);
    this.position = typeof stored?.position === 'number' ? stored.position : 0;
    this.line = typeof stored?.line === 'number' ? stored.line : 0;
  }

  async poll(signal: AbortSignal): Promise<SourceRecord[]> {
    const deadline = Date.now() + idlePollMs;
    for (;;) {
      const records = await this.readLines();
      if (records.length > 0 || signal.aborted || Date.now() >= deadline) return records;
      await sleep(Math.min(this.pollIntervalMs, Math.max(0, deadline - Date.now())), signal);
    }
  }

  /** Nothing to acknowledge upstream: the offset store is the file's only bookmark. */
  async commit(_offsets: readonly DurableOffset[]): Promise<void> {}

  async stop(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }

  private async openFile(): Promise<FileHandle | undefined> {
    if (this.handle) return this.handle;
    try {
      this.handle = await open(this.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return this.handle;
  }

  private async readLines(): Promise<SourceRecord[]> {
    const handle = await this.openFile();
    if (!handle) return [];
    const { size } = await handle.stat();
    if (size < this.position) {
      this.context.logger.warn(
        { file: this.file, position: this.position, size },
        'the file shrank below the stored position (truncated or replaced); reading it again from the start',
      );
      this.position = 0;
      this.line = 0;
    }
    const records: SourceRecord[] = [];
    while (records.length < this.batchSize && this.position < size) {
      const { bytesRead } = await handle.read(this.buffer, 0, readChunkBytes, this.position);
      if (bytesRead === 0) break;
      let start = 0;
      let newline = this.buffer.indexOf(10, 0);
      if (newline < 0 || newline >= bytesRead) {
        // A line longer than the chunk, or an unfinished last line: wait for the rest.
        if (bytesRead === readChunkBytes) {
          throw new Error(
            `${this.file}: line ${this.line + 1} is longer than ${readChunkBytes} bytes`,
          );
        }
        break;
      }
      while (newline >= 0 && newline < bytesRead && records.length < this.batchSize) {
        let text = this.buffer.toString('utf8', start, newline);
        if (text.endsWith('\r')) text = text.slice(0, -1);
        this.position += newline + 1 - start;
        this.line++;
        if (text.trim() !== '') {
          records.push({
            topic: this.topic,
            key: null,
            value: parseLine(this.format, text, `${this.file} line ${this.line}`),
            ...(this.format === 'string' ? { valueSchema: { type: 'string' as const } } : {}),
            sourcePartition: this.partition,
            sourceOffset: { position: this.position, line: this.line },
          });
        }
        start = newline + 1;
        newline = this.buffer.indexOf(10, start);
      }
    }
    return records;
  }
}
