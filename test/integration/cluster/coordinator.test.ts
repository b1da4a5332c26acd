// The cluster's Redis state on a real Redis: a unit's lease has one holder at a time and passes
// on only when released or expired; renewals report leases that were lost; members that stop
// heartbeating drop out; leadership is exclusive; an unreachable Redis is a clear error.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import pino from 'pino';
import { RedisCoordinator } from '../../../runtime/cluster/coordinator.ts';
import { KafkiError } from '../../../runtime/api/errors.ts';
import { serviceAddresses } from '../../services/addresses.ts';
import { TcpProxy } from '../../helpers/tcp-proxy.ts';
import { uniqueName } from '../../helpers/wait.ts';

const { redisUrl } = serviceAddresses();
const group = uniqueName('coordinator');
const silent = pino({ level: 'silent' });
const opened: RedisCoordinator[] = [];

async function member(id: string, sessionTimeoutMs = 60_000): Promise<RedisCoordinator> {
  const coordinator = new RedisCoordinator({
    redisUrl,
    groupId: group,
    memberId: id,
    sessionTimeoutMs,
    logger: silent,
  });
  await coordinator.start();
  opened.push(coordinator);
  return coordinator;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RedisCoordinator', () => {
  after(async () => {
    await Promise.all(opened.map((coordinator) => coordinator.close()));
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`kafki:{${group}}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('gives a lease to one member until it is released', async () => {
    const a = await member('a');
    const b = await member('b');
    assert.equal(await a.acquireLease('u1'), true);
    assert.equal(await a.acquireLease('u1'), true, 'the holder may take it again');
    assert.equal(await b.acquireLease('u1'), false);
    assert.deepEqual(await b.leaseHolders(['u1', 'u2']), new Map([['u1', 'a']]));
    await b.releaseLease('u1'); // not b's: no effect
    assert.equal(await b.acquireLease('u1'), false);
    await a.releaseLease('u1');
    assert.equal(await b.acquireLease('u1'), true);
    assert.deepEqual(await a.renewLeases(['u1']), ['u1'], 'a no longer holds it');
    assert.deepEqual(await b.renewLeases(['u1']), []);
  });

  it('lets a lease expire after the session timeout when its holder stops renewing', async () => {
    const a = await member('short-a', 400);
    const b = await member('short-b', 400);
    assert.equal(await a.acquireLease('u3'), true);
    await sleep(200);
    assert.deepEqual(await a.renewLeases(['u3']), []);
    await sleep(250);
    assert.equal(await b.acquireLease('u3'), false, 'renewed: still held');
    await sleep(500);
    assert.equal(await b.acquireLease('u3'), true, 'expired: free');
    assert.deepEqual(await a.renewLeases(['u3']), ['u3']);
  });

  it('forgets members that stop heartbeating, and has one leader at a time', async () => {
    const a = await member('hb-a', 400);
    const b = await member('hb-b', 400);
    await a.heartbeat({ url: 'http://a' });
    const live = await b.heartbeat({ url: 'http://b' });
    assert.ok(live.includes('hb-a') && live.includes('hb-b'));
    const leaders = [await a.lead(), await b.lead()];
    assert.equal(leaders.filter(Boolean).length, 1);
    await sleep(600);
    const after = await b.heartbeat({ url: 'http://b' });
    assert.ok(!after.includes('hb-a'), `hb-a expired: ${after.join(',')}`);
    assert.ok(after.includes('hb-b'));
    assert.equal(await b.lead(), true, 'the leader lease expired with its member');
  });

  it('publishes assignments with growing generations and delivers commands once', async () => {
    const a = await member('pub-a');
    const first = await a.publishAssignment(new Map([['u', 'pub-a']]), 5);
    assert.ok(first >= 5);
    const second = await a.publishAssignment(new Map(), 0);
    assert.equal(second, first + 1);
    const read = await a.readAssignment();
    assert.equal(read.generation, second);
    assert.equal(read.units.size, 0);
    await a.send('pub-a', { kind: 'restart-task', connector: 'c', task: 2 });
    assert.deepEqual(await a.receive(), [{ kind: 'restart-task', connector: 'c', task: 2 }]);
    assert.deepEqual(await a.receive(), []);
  });

  it('fails a call that gets no answer instead of waiting for ever', async () => {
    const proxy = new TcpProxy(redisUrl);
    const port = new URL(await proxy.start()).port;
    const coordinator = new RedisCoordinator({
      redisUrl: `redis://127.0.0.1:${port}`,
      groupId: group,
      memberId: 'partitioned',
      sessionTimeoutMs: 2_000,
      logger: silent,
    });
    try {
      await coordinator.start();
      await coordinator.heartbeat({ url: 'http://partitioned' });
      // Packets dropped, connection kept: no answer, no error from the socket.
      proxy.stall();
      const heartbeat = coordinator.heartbeat({ url: 'http://partitioned' });
      const outcome = await Promise.race([
        heartbeat.then(
          () => 'answered',
          (error: Error) => `failed: ${error.message}`,
        ),
        sleep(1_900).then(() => 'still waiting'),
      ]);
      assert.match(outcome, /^failed: .*timed out/i);
      proxy.up();
      assert.ok(
        (await coordinator.heartbeat({ url: 'http://partitioned' })).length > 0,
        'answers again once the packets flow',
      );
    } finally {
      proxy.up();
      await coordinator.close();
      await proxy.close();
    }
  });

  it('refuses an unreachable Redis with a clear error', async () => {
    const coordinator = new RedisCoordinator({
      redisUrl: 'redis://127.0.0.1:1',
      groupId: group,
      memberId: 'x',
      sessionTimeoutMs: 2_000,
      logger: silent,
    });
    await assert.rejects(coordinator.start(), (error: unknown) => {
      assert.ok(error instanceof KafkiError);
      assert.equal(error.code, 'REDIS_UNREACHABLE');
      assert.match(error.message, /Cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(redis\.url\)/);
      return true;
    });
  });
});
