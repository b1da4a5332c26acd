// Quick check of dead-letter reporting (not a test): a standalone runtime, a generator writing N
// records and the async collector sink reporting every one of them errant
// (errors.tolerance=all, a dead-letter topic), either one report at a time, each awaited, or all
// together (every other one as a copy the runtime reads back from the log). Prints the reports/s
// from the first report until the last is durable.
//
//   node --import tsx test/integration/runtime/measure-errant.ts [records] [serial|together]

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../../helpers/wait.ts';
import { startRuntime, tempDir } from './harness.ts';
import { probe } from './test-plugins.ts';

const total = Number(process.argv[2] ?? 5000);
const mode = process.argv[3] ?? 'together';
if (mode !== 'serial' && mode !== 'together')
  throw new Error(`mode: serial or together, not ${mode}`);

const dir = tempDir('measure-errant');
const runtime = await startRuntime(join(dir, 'data'));
try {
  Object.assign(probe('m-gen'), { count: total, batchSize: 500 });
  probe('m-sink').errantWhen = () => true;
  await runtime.herder.createConnector('m-gen', { 'connector.class': 'generator', topic: 'm' });
  await runtime.herder.createConnector('m-sink', {
    'connector.class': 'async-collector',
    topics: 'm',
    'errors.tolerance': 'all',
    'errors.deadletterqueue.topic.name': 'm-dlq',
  });
  await waitFor('every record put', async () => probe('m-sink').held.length === total, {
    timeoutMs: 120_000,
  });
  const sink = probe('m-sink');
  const started = performance.now();
  await (mode === 'serial' ? sink.confirm! : sink.confirmTogether!)();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({ reports: total, mode, seconds, per_second: Math.round(total / seconds) }),
  );
} finally {
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
}
