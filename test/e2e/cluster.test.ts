// A cluster of real `kafki worker` processes on real Kafka and Redis: connectors registered on
// one member run spread over all of them; when a member is killed (-9) its connectors and tasks
// move to the survivors and no line is lost; a joining member takes its share; a member that
// shuts down hands its work over at once; any member answers any REST request.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { addresses, uniqueName, until, type TaskState } from './harness.ts';
import {
  lines,
  outputLines,
  sessionTimeoutMs,
  TestCluster,
  waitForLines,
  waitForSpread,
} from './cluster-helpers.ts';

const run = uniqueName('cluster');
const cluster = new TestCluster(run);
const members = cluster.members;
const member = (name: string) => cluster.member(name);

describe('distributed mode: a cluster of kafki worker processes', { timeout: 300_000 }, () => {
  const m1 = member('m1');
  const m2 = member('m2');
  const input = join(m1.dir, 'input.jsonl');
  const output = join(m1.dir, 'output.jsonl');
  const otherOutput = join(m1.dir, 'other-output.jsonl');
  const source = `${run}-src`;
  const sink = `${run}-sink`;
  const otherSink = `${run}-other-sink`;
  const topic = `${run}-lines`;
  // 3 connectors with one task each: 6 units, 3 per member when there are two.
  const all = [source, sink, otherSink];

  before(async () => {
    await writeFile(input, lines(0, 200));
    await Promise.all([m1.start(), m2.start()]);
  });

  after(() => cluster.cleanUp());

  it('runs connectors registered on one member spread over both, and moves data', async () => {
    await m1.createConnector(source, {
      'connector.class': 'FileStreamSource',
      file: input,
      topic,
      'poll.interval.ms': '20',
    });
    await m1.createConnector(sink, {
      'connector.class': 'FileStreamSink',
      file: output,
      topics: topic,
    });
    await m2.createConnector(otherSink, {
      'connector.class': 'FileStreamSink',
      file: otherOutput,
      topics: topic,
    });
    // Any member answers: each sees the connectors the other created, and refuses a duplicate.
    for (const via of [m1, m2]) {
      assert.deepEqual(((await via.request('GET', '/connectors')).json as string[]).sort(), [
        otherSink,
        sink,
        source,
      ]);
    }
    const duplicate = await m2.request('POST', '/connectors', {
      name: source,
      config: { 'connector.class': 'FileStreamSource', file: input, topic },
    });
    assert.equal(duplicate.status, 409);
    await waitForSpread(m2, all, { 'm1:8083': 3, 'm2:8083': 3 });
    // Each member's /metrics shows the group: two members, one leader, the same generation.
    const gauge = (text: string, name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    await until('both members to report the group in /metrics', async () => {
      const texts = await Promise.all(
        [m1, m2].map(async (m) => (await m.request('GET', '/metrics')).text),
      );
      const generations = texts.map((text) => gauge(text, 'kafki_cluster_assignment_generation'));
      return (
        texts.every((text) => gauge(text, 'kafki_cluster_members') === 2) &&
        texts.filter((text) => gauge(text, 'kafki_cluster_leader') === 1).length === 1 &&
        generations[0]! > 0 &&
        generations[0] === generations[1]
      );
    });
    await waitForLines(output, 200, m2);
    await waitForLines(otherOutput, 200, m2);
  });

  it('moves the units of a killed member to the survivor; no line is lost', async (t) => {
    await m1.kill();
    await appendFile(input, lines(200, 400));
    const killedAt = Date.now();
    await waitForSpread(m2, all, { 'm2:8083': 6 }, 60_000);
    const movedAfterMs = Date.now() - killedAt;
    assert.ok(
      movedAfterMs < 30_000,
      `every unit should run again within seconds of the death (took ${movedAfterMs} ms)`,
    );
    t.diagnostic(
      `all 6 units running on the survivor ${movedAfterMs} ms after kill -9 (session.timeout.ms ${sessionTimeoutMs})`,
    );
    await waitForLines(output, 400, m2);
    await waitForLines(otherOutput, 400, m2);
  });

  it('gives a joining member its share', async () => {
    const m3 = member('m3');
    await m3.start();
    await waitForSpread(m3, all, { 'm2:8083': 3, 'm3:8083': 3 });
    await appendFile(input, lines(400, 600));
    await waitForLines(output, 600, m3);
  });

  it('pauses, resumes, restarts and stops through any member', async () => {
    const m3 = members[2]!;
    assert.equal((await m3.request('PUT', `/connectors/${sink}/pause`)).status, 202);
    await until('the sink and its task to be PAUSED', async () => {
      const status = await m2.status(sink);
      return (
        status.connector.state === 'PAUSED' &&
        status.tasks.length === 1 &&
        status.tasks[0]!.state === 'PAUSED'
      );
    });
    assert.equal((await m2.request('PUT', `/connectors/${sink}/resume`)).status, 202);
    await waitForSpread(m2, all, { 'm2:8083': 3, 'm3:8083': 3 });
    const restart = await m2.request(
      'POST',
      `/connectors/${sink}/restart?includeTasks=true&onlyFailed=false`,
    );
    assert.equal(restart.status, 202);
    const restarting = restart.json as { connector: { state: string }; tasks: TaskState[] };
    assert.equal(restarting.connector.state, 'RESTARTING');
    assert.deepEqual(
      restarting.tasks.map((task) => task.state),
      ['RESTARTING'],
    );
    await waitForSpread(m3, all, { 'm2:8083': 3, 'm3:8083': 3 });

    // STOPPED: the source's task goes away; its offsets are readable through any member.
    assert.equal((await m3.request('PUT', `/connectors/${source}/stop`)).status, 204);
    await until('the source to be STOPPED without tasks', async () => {
      const status = await m2.status(source);
      return status.connector.state === 'STOPPED' && status.tasks.length === 0;
    });
    const offsets = await m2.request('GET', `/connectors/${source}/offsets`);
    assert.equal(offsets.status, 200);
    assert.equal((offsets.json as { offsets: unknown[] }).offsets.length, 1, offsets.text);
    assert.equal((await m2.request('PUT', `/connectors/${source}/resume`)).status, 202);
    await waitForSpread(m3, all, { 'm2:8083': 3, 'm3:8083': 3 });
    await appendFile(input, lines(600, 700));
    await waitForLines(output, 700, m2);
    await waitForLines(otherOutput, 700, m2);
  });

  it('hands everything over when a member shuts down, and deletes through another', async () => {
    const m3 = members[2]!;
    assert.equal(await m2.stop(), 0);
    await waitForSpread(m3, all, { 'm3:8083': 6 }, 30_000);
    assert.equal((await m3.request('DELETE', `/connectors/${sink}`)).status, 204);
    assert.equal((await m3.request('GET', `/connectors/${sink}/status`)).status, 404);
    // Its owner stops it and gives its leases back.
    const redis = new Redis(addresses.redisUrl);
    try {
      await until('the deleted sink to stop', async () => {
        const leases = await redis.keys(`kafki:{${run}-group}:lease:\\["${sink}"*`);
        return leases.length === 0;
      });
    } finally {
      await redis.quit();
    }
    assert.deepEqual(((await m3.request('GET', '/connectors')).json as string[]).sort(), [
      otherSink,
      source,
    ]);
    await appendFile(input, lines(700, 800));
    await waitForLines(otherOutput, 800, m3);
    // The deleted sink wrote nothing more.
    const deletedSinkLines = await outputLines(output);
    assert.ok(!deletedSinkLines.has(JSON.stringify({ line: 799 })));
  });
});
