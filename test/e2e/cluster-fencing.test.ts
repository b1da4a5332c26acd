// One runner per task when a member loses Redis but keeps running (a network partition): it
// stops its connectors and tasks on its own before its leases can expire, the other member takes
// them over, no line is lost, and once Redis is back the member rejoins and gets its share again.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addresses, TcpProxy, uniqueName, until } from './harness.ts';
import {
  lines,
  sessionTimeoutMs,
  TestCluster,
  waitForLines,
  waitForSpread,
} from './cluster-helpers.ts';

const run = uniqueName('fencing');
const cluster = new TestCluster(run);

describe('distributed mode: a member cut off from Redis', { timeout: 240_000 }, () => {
  const proxy = new TcpProxy(addresses.redisUrl);
  let cutOff: ReturnType<TestCluster['member']>;
  let other: ReturnType<TestCluster['member']>;
  let input = '';
  let output = '';
  const source = `${run}-src`;
  const sink = `${run}-sink`;
  const all = [source, sink];

  before(async () => {
    const proxyUrl = new URL(await proxy.start());
    cutOff = cluster.member('cut', { 'redis.url': `redis://127.0.0.1:${proxyUrl.port}` });
    other = cluster.member('other');
    input = join(other.dir, 'input.jsonl');
    output = join(other.dir, 'output.jsonl');
    await writeFile(input, lines(0, 100));
    await Promise.all([cutOff.start(), other.start()]);
  });

  after(async () => {
    await proxy.close();
    await cluster.cleanUp();
  });

  it('stops its units itself; the other member takes them over; nothing is lost', async (t) => {
    await other.createConnector(source, {
      'connector.class': 'FileStreamSource',
      file: input,
      topic: `${run}-lines`,
      'poll.interval.ms': '20',
    });
    await other.createConnector(sink, {
      'connector.class': 'FileStreamSink',
      file: output,
      topics: `${run}-lines`,
    });
    await waitForSpread(other, all, { 'cut:8083': 2, 'other:8083': 2 });
    await waitForLines(output, 100, other);

    const cutAt = Date.now();
    proxy.down();
    // The cut-off member notices before its leases expire (0.6 of the session timeout).
    await until('the cut-off member to stop its units', async () =>
      cutOff.grep(/cannot renew leases; stopping every connector and task/).length > 0
        ? true
        : undefined,
    );
    const stoppedAfterMs = Date.now() - cutAt;
    assert.ok(
      stoppedAfterMs < sessionTimeoutMs + 1_000,
      `stopped ${stoppedAfterMs} ms after the cut; its leases expire after ${sessionTimeoutMs} ms`,
    );
    // Without Redis it cannot coordinate a write: refused with 409, nothing applied.
    const refused = await cutOff.request('PUT', `/connectors/${sink}/pause`);
    assert.equal(refused.status, 409, refused.text);
    assert.match(refused.text, /Cannot take the cluster's config lock/);
    const restart = await cutOff.request('POST', `/connectors/${sink}/restart?includeTasks=true`);
    assert.equal(restart.status, 409, restart.text);
    await waitForSpread(other, all, { 'other:8083': 4 });
    assert.equal((await other.status(sink)).connector.state, 'RUNNING');
    t.diagnostic(
      `cut-off member stopped its units ${stoppedAfterMs} ms after the cut; all 4 ran on the other ${Date.now() - cutAt} ms after it`,
    );
    await appendFile(input, lines(100, 200));
    await waitForLines(output, 200, other);
    assert.ok(cutOff.running, 'the cut-off member keeps running, without units');
  });

  it('rejoins when Redis is back and takes its share again', async () => {
    proxy.up();
    await waitForSpread(other, all, { 'cut:8083': 2, 'other:8083': 2 });
    await appendFile(input, lines(200, 300));
    await waitForLines(output, 300, cutOff);
  });
});
