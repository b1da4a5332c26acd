// Child process of the PostgreSQL kill -9 test: the task-level loop a worker runs, with a file as
// the durable log. poll → (announce "in-flight", wait a moment: the window between receipt and
// durability the test kills in) → append the records to the log file and fsync → store the offset
// (write, fsync, rename) → commit. On start it resumes from the stored offset.
//
//   node --import tsx test/crash/postgres-kill-child.ts <dir> <config.json>

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { RawConfig, SourceOffset, SourceTaskContext } from '../../runtime/api/index.ts';
import { PostgresSourceTask } from '../../connectors/postgres/task.ts';
import { memoryLogger, type LogEntry } from '../integration/postgres/harness.ts';

// Warnings and errors go to stderr, where the test shows them when something goes wrong.
const entries: LogEntry[] = [];
const stderrLogger = memoryLogger(
  new Proxy(entries, {
    get(target, property, receiver) {
      if (property === 'push') {
        return (entry: LogEntry) => {
          if (entry.level === 'warn' || entry.level === 'error') {
            process.stderr.write(
              `${entry.level}: ${entry.message} ${JSON.stringify(entry.context ?? {})}\n`,
            );
          }
          return 0;
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  }),
);

const [dir, configFile] = process.argv.slice(2) as [string, string];
const config = JSON.parse(readFileSync(configFile, 'utf8')) as RawConfig;
const offsetFile = join(dir, 'offset.json');
const logFile = join(dir, 'log.jsonl');

function storedOffset(): SourceOffset | null {
  try {
    return JSON.parse(readFileSync(offsetFile, 'utf8')) as SourceOffset;
  } catch {
    return null;
  }
}

function storeOffset(offset: SourceOffset): void {
  const temporary = `${offsetFile}.tmp`;
  const fd = openSync(temporary, 'w');
  writeSync(fd, JSON.stringify(offset));
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temporary, offsetFile);
}

process.on('unhandledRejection', (error) => {
  process.stderr.write(`child failed: ${String(error)}\n`);
  process.exit(1);
});

// Orphaned (the test process died): stop rather than stream forever.
setInterval(() => {
  if (process.ppid === 1) process.exit(2);
}, 1000).unref();

const task = new PostgresSourceTask();
const context: SourceTaskContext = {
  connectorName: 'kill-test',
  taskId: 0,
  logger: stderrLogger,
  config,
  offset: async () => storedOffset(),
  reportProgress: () => {},
};
await task.start(config, context);
process.stdout.write('ready\n');

const log = openSync(logFile, 'a');
const signal = new AbortController().signal;
for (;;) {
  const batch = await task.poll(signal);
  if (batch.length === 0) continue;
  // Received, not yet durable: the test kills here.
  process.stdout.write(`in-flight ${batch.length}\n`);
  await new Promise((resolve) => setTimeout(resolve, 30));
  let lines = '';
  for (const record of batch) {
    const value = record.value as { after?: { id?: number } | null } | null;
    if (value?.after?.id !== undefined)
      lines += `${JSON.stringify({ id: value.after.id, lsn: record.sourceOffset.lsn })}\n`;
  }
  writeSync(log, lines);
  fsyncSync(log);
  const last = batch.at(-1)!;
  storeOffset(last.sourceOffset);
  await task.commit([{ sourcePartition: last.sourcePartition, sourceOffset: last.sourceOffset }]);
}
