// Child process of the local log crash test: appends batches to <dataDir> in a loop, with a few
// appends in flight at once, and prints one line per acknowledged (resolved) append:
//   ack <run> <batch> <count> <first offset in partition 0> <first offset in partition 1>
// Record i of a batch goes to partition i % 2 with key r<run>-b<batch>-i<i> and a value derived
// from the key (see expectedValue), so the test can check every acknowledged record byte for byte.
//
// Usage: node --import tsx test/crash/local-log-writer.ts <dataDir> <run> <always|intervalMs>

import { LocalLog } from '../../runtime/log/local/local-log.ts';

export const CRASH_TOPIC = 'crash';
export const RECORDS_PER_BATCH = 40;

export function recordKey(run: number, batch: number, i: number): string {
  return `r${run}-b${batch}-i${i}`;
}

/** About 1 KB, different for every key. */
export function expectedValue(key: string): string {
  return `${key}|`.repeat(Math.ceil(1000 / (key.length + 1))).slice(0, 1000);
}

async function main(): Promise<void> {
  const [dataDir, runArg, policy] = process.argv.slice(2);
  if (dataDir === undefined || runArg === undefined || policy === undefined) {
    throw new Error('usage: local-log-writer.ts <dataDir> <run> <always|intervalMs>');
  }
  const run = Number(runArg);
  const log = await LocalLog.open({
    dataDir,
    fsync: policy === 'always' ? 'always' : { intervalMs: Number(policy) },
  });
  // Small segments so that rolls (and their sealing) happen while the writer is killed.
  await log.createTopic({
    name: CRASH_TOPIC,
    partitions: 2,
    cleanupPolicy: 'delete',
    segmentBytes: 256 * 1024,
  });
  let nextBatch = 0;
  const appendLoop = async () => {
    for (;;) {
      const batch = nextBatch++;
      const records = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => {
        const key = recordKey(run, batch, i);
        return { key: Buffer.from(key), value: Buffer.from(expectedValue(key)), partition: i % 2 };
      });
      const appended = await log.append(CRASH_TOPIC, records);
      // Pipes to a parent are synchronous on Linux: once written, the line survives a kill.
      process.stdout.write(
        `ack ${run} ${batch} ${records.length} ${appended[0]!.offset} ${appended[1]!.offset}\n`,
      );
    }
  };
  await Promise.all([appendLoop(), appendLoop(), appendLoop(), appendLoop()]);
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  await main();
}
