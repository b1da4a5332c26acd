// The cluster's shared state in Redis, for one group.id: who is alive (members renew a heartbeat
// that expires after session.timeout.ms), who leads (a lease the leader renews), the assignment
// the leader publishes (with a generation number that grows on every change), a lease per unit of
// work (a unit runs only on the member holding its lease: one runner per task, even while an
// assignment changes hands), an inbox per member for operations on units it runs (restarts,
// signals), and what each running task reports (progress, whether it takes signals).
//
// Times come from Redis's clock inside Lua scripts, so the members' clocks need not agree. Keys
// share one hash tag, so the scripts also work on a Redis Cluster.

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { InvalidInputError, KafkiError } from '../api/errors.ts';
import type { Logger } from '../api/logger.ts';
import type { ConnectorSignal } from '../herder/herder.ts';
import type { TaskProgress } from '../herder/store-backed-herder.ts';

export interface CoordinatorOptions {
  redisUrl: string;
  groupId: string;
  memberId: string;
  sessionTimeoutMs: number;
  logger: Logger;
}

export interface MemberInfo {
  /** The member's REST URL, for operators. */
  url: string;
}

export interface PublishedAssignment {
  generation: number;
  /** unit id → member id */
  units: Map<string, string>;
}

/** Operations the member running a unit carries out for whichever member took the request. */
export type UnitCommand =
  | { kind: 'restart-connector'; connector: string }
  | { kind: 'restart-task'; connector: string; task: number }
  | { kind: 'signal'; connector: string; task: number; signal: ConnectorSignal };

/** What a running task reports, readable from any member. */
export interface TaskReport {
  worker: string;
  signals: boolean;
  progress?: TaskProgress;
}

const nowMs = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** Renew this member, forget the expired ones, return the live ones. */
const heartbeatScript = `${nowMs}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('HDEL', KEYS[2], member)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

/** Take or renew a lease: free or already ours. */
const acquireScript = `local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Renew the leases still ours; return the (1-based) positions of those we lost. */
const renewScript = `local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
  else
    table.insert(lost, i)
  end
end
return lost`;

const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** A generation above both the stored counter and `minimum`, then the assignment with it. */
const publishScript = `local generation = redis.call('INCR', KEYS[1])
if generation < tonumber(ARGV[1]) then
  generation = tonumber(ARGV[1])
  redis.call('SET', KEYS[1], generation)
end
redis.call('SET', KEYS[2], cjson.encode({generation = generation, units = cjson.decode(ARGV[2])}))
return generation`;

const configLockWaitMs = 30_000;

/** Redis, where the group coordinates, could not be used (out of reach, or the lock stuck). */
export class CoordinationError extends KafkiError {
  constructor(message: string, cause: unknown) {
    super('CLUSTER_COORDINATION_UNAVAILABLE', message, { retriable: true, cause });
  }
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class RedisCoordinator {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly changesChannel: string;
  private readonly changeListeners: Array<() => void> = [];

  constructor(private readonly options: CoordinatorOptions) {
    const common = {
      lazyConnect: true,
      // Fail fast while disconnected: a heartbeat that cannot reach Redis must say so at once,
      // so the member can stop its units before their leases expire elsewhere.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: Math.min(options.sessionTimeoutMs, 10_000),
      retryStrategy: (times: number) => Math.min(100 * times, 1_000),
    };
    // A command that gets no answer fails too (a connection that neither answers nor breaks).
    this.redis = new Redis(options.redisUrl, {
      ...common,
      commandTimeout: Math.max(500, Math.floor(options.sessionTimeoutMs / 4)),
    });
    this.subscriber = new Redis(options.redisUrl, common);
    let reported = false;
    for (const client of [this.redis, this.subscriber]) {
      client.on('error', (error: Error) => {
        if (reported) return;
        reported = true;
        options.logger.warn({ err: error }, 'Redis connection error; retrying');
        setTimeout(() => (reported = false), 10_000).unref();
      });
    }
    this.prefix = `kafki:{${options.groupId}}:`;
    this.changesChannel = `${this.prefix}changes`;
  }

  get memberId(): string {
    return this.options.memberId;
  }

  async start(): Promise<void> {
    try {
      await Promise.all([this.redis.connect(), this.subscriber.connect()]);
    } catch (error) {
      this.redis.disconnect();
      this.subscriber.disconnect();
      throw new InvalidInputError(
        'REDIS_UNREACHABLE',
        `Cannot reach Redis at ${redactUrl(this.options.redisUrl)} (redis.url): ${(error as Error).message}`,
        error,
      );
    }
    this.subscriber.on('message', (channel: string) => {
      if (channel !== this.changesChannel) return;
      for (const listener of this.changeListeners) listener();
    });
    await this.subscriber.subscribe(this.changesChannel);
  }

  /** Called when any member announces a change (configs, assignment, released leases). */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  async announceChange(): Promise<void> {
    await this.redis.publish(this.changesChannel, this.options.memberId);
  }

  /** Renew this member's heartbeat; returns the live members, this one included. */
  async heartbeat(info: MemberInfo): Promise<string[]> {
    return (await this.redis.eval(
      heartbeatScript,
      2,
      this.key('members'),
      this.key('member-info'),
      this.options.memberId,
      String(this.options.sessionTimeoutMs),
      JSON.stringify(info),
    )) as string[];
  }

  /** Take or keep the leadership; true while this member leads. */
  async lead(): Promise<boolean> {
    return (await this.acquire(this.key('leader'))) === 1;
  }

  async readAssignment(): Promise<PublishedAssignment> {
    const text = await this.reach('read the assignment', () =>
      this.redis.get(this.key('assignment')),
    );
    if (text === null) return { generation: 0, units: new Map() };
    const parsed = JSON.parse(text) as { generation: number; units: Record<string, string> | [] };
    // cjson encodes an empty table as an array.
    const units = Array.isArray(parsed.units) ? {} : parsed.units;
    return { generation: parsed.generation, units: new Map(Object.entries(units)) };
  }

  /** Leader only: publish an assignment under a new generation (at least `minimumGeneration`). */
  async publishAssignment(
    units: ReadonlyMap<string, string>,
    minimumGeneration: number,
  ): Promise<number> {
    const generation = (await this.redis.eval(
      publishScript,
      2,
      this.key('generation'),
      this.key('assignment'),
      String(minimumGeneration),
      JSON.stringify(Object.fromEntries(units)),
    )) as number;
    await this.announceChange();
    return generation;
  }

  /** Take the unit's lease (free or already ours); false while another member holds it. */
  async acquireLease(unit: string): Promise<boolean> {
    return (await this.acquire(this.leaseKey(unit))) === 1;
  }

  /** Renew the given leases; returns the units whose lease is no longer ours. */
  async renewLeases(units: readonly string[]): Promise<string[]> {
    if (units.length === 0) return [];
    const lost = (await this.redis.eval(
      renewScript,
      units.length,
      ...units.map((unit) => this.leaseKey(unit)),
      this.options.memberId,
      String(this.options.sessionTimeoutMs),
    )) as number[];
    return lost.map((position) => units[position - 1]!);
  }

  async releaseLease(unit: string): Promise<void> {
    await this.redis.eval(releaseScript, 1, this.leaseKey(unit), this.options.memberId);
  }

  /** Who holds each unit's lease now. */
  async leaseHolders(units: readonly string[]): Promise<Map<string, string>> {
    const holders = new Map<string, string>();
    if (units.length === 0) return holders;
    const values = await this.reach('read leases', () =>
      this.redis.mget(...units.map((unit) => this.leaseKey(unit))),
    );
    values.forEach((holder, i) => {
      if (holder !== null) holders.set(units[i]!, holder);
    });
    return holders;
  }

  async send(member: string, command: UnitCommand): Promise<void> {
    await this.reach(`send ${command.kind} to ${member}`, () =>
      this.redis.rpush(this.inboxKey(member), JSON.stringify(command)),
    );
    await this.announceChange().catch(() => undefined);
  }

  /** Commands sent to this member since the last call, oldest first. */
  async receive(): Promise<UnitCommand[]> {
    const items = await this.redis.lpop(this.inboxKey(this.options.memberId), 100);
    return (items ?? []).map((item) => JSON.parse(item) as UnitCommand);
  }

  async putTaskReports(reports: ReadonlyMap<string, TaskReport>): Promise<void> {
    if (reports.size === 0) return;
    const fields: string[] = [];
    for (const [unit, report] of reports) fields.push(unit, JSON.stringify(report));
    await this.redis.hset(this.key('task-reports'), ...fields);
  }

  async deleteTaskReport(unit: string): Promise<void> {
    await this.redis.hdel(this.key('task-reports'), unit);
  }

  async taskReports(units: readonly string[]): Promise<Map<string, TaskReport>> {
    const reports = new Map<string, TaskReport>();
    if (units.length === 0) return reports;
    const values = await this.reach('read task reports', () =>
      this.redis.hmget(this.key('task-reports'), ...units),
    );
    values.forEach((value, i) => {
      if (value !== null) reports.set(units[i]!, JSON.parse(value) as TaskReport);
    });
    return reports;
  }

  /**
   * Run `operation` while holding the group's config lock, so that two members cannot both
   * create the same connector (Kafka Connect forwards such writes to its leader instead).
   */
  async withConfigLock<T>(operation: () => Promise<T>): Promise<T> {
    const key = this.key('config-lock');
    const token = randomUUID();
    const deadline = Date.now() + configLockWaitMs;
    try {
      while ((await this.redis.set(key, token, 'PX', configLockWaitMs, 'NX')) === null) {
        if (Date.now() > deadline) {
          throw new Error(`the config lock was not released within ${configLockWaitMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch (error) {
      throw new CoordinationError(
        `Cannot take the cluster's config lock: ${errorText(error)}`,
        error,
      );
    }
    try {
      return await operation();
    } finally {
      await this.redis.eval(releaseScript, 1, key, token).catch(() => undefined);
    }
  }

  /** Leave the group at once (graceful shutdown): the others need not wait for the timeout. */
  async leave(): Promise<void> {
    await this.redis.zrem(this.key('members'), this.options.memberId);
    await this.redis.hdel(this.key('member-info'), this.options.memberId);
    await this.redis.eval(releaseScript, 1, this.key('leader'), this.options.memberId);
    await this.announceChange();
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** Run a Redis call; its failure becomes a CoordinationError saying what could not be done. */
  private async reach<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new CoordinationError(`Cannot ${what} in Redis: ${errorText(error)}`, error);
    }
  }

  private acquire(key: string): Promise<unknown> {
    return this.redis.eval(
      acquireScript,
      1,
      key,
      this.options.memberId,
      String(this.options.sessionTimeoutMs),
    );
  }

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  private leaseKey(unit: string): string {
    return `${this.prefix}lease:${unit}`;
  }

  private inboxKey(member: string): string {
    return `${this.prefix}inbox:${member}`;
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
