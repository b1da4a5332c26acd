// Topic administration and the topic metadata the other modules need (partition count, leaders,
// the record size limit), cached for a short while.
//
// Metadata comes from our own cluster connection asking for exactly the topics in question:
// kafkajs's admin and producer remember every topic they touched ("target topics") and refresh them
// all together, so one topic deleted elsewhere makes every later call fail. Only admin calls that do
// not add target topics are used here (createTopics, deleteTopics, listTopics, describeConfigs).

import { InvalidInputError, RetriableError } from '../../api/errors.ts';
import { TopicNotFoundError } from '../errors.ts';
import type { TopicDescription, TopicSpec } from '../log.ts';
import { mapKafkaError, kafkaErrorType } from './errors.ts';
import { TOPIC_RESOURCE, type Admin, type RawConnection } from './kafka-client.ts';
import { cleanupPolicyOf, topicConfigEntries, validateTopicSpec } from './topic-config.ts';

export interface TopicInfo {
  /** Leader node id per partition, index = partition. */
  leaders: number[];
  fetchedAt: number;
}

export interface TopicsConfig {
  brokers: readonly string[];
  metadataMaxAgeMs: number;
  replicationFactor: number | undefined;
  requestTimeoutMs: number;
}

/** Tries of a topic creation that fails with a retriable error (see create). */
const createAttempts = 6;

export class Topics {
  private readonly infos = new Map<string, Promise<TopicInfo | undefined>>();
  private readonly limits = new Map<string, Promise<{ limit: number; fetchedAt: number }>>();

  constructor(
    private readonly admin: Admin,
    private readonly raw: RawConnection,
    private readonly config: TopicsConfig,
  ) {}

  private fail(error: unknown, operation: string, topic?: string): never {
    throw mapKafkaError(error, { brokers: this.config.brokers, operation, topic });
  }

  async create(spec: TopicSpec): Promise<'created' | 'exists'> {
    validateTopicSpec(spec);
    const configEntries = topicConfigEntries(spec);
    const replicationFactor = spec.replicationFactor ?? this.config.replicationFactor;
    let createdHere = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const created = await this.admin.createTopics({
          topics: [
            {
              topic: spec.name,
              numPartitions: spec.partitions,
              ...(replicationFactor === undefined ? {} : { replicationFactor }),
              configEntries,
            },
          ],
          waitForLeaders: true,
          timeout: this.config.requestTimeoutMs,
        });
        createdHere ||= created;
        this.invalidate(spec.name);
        // A topic another client just created may not have leaders yet, and the broker we ask
        // may not know it yet (the controller said it exists): ask again until it does.
        if (!(await this.find(spec.name))) {
          throw new RetriableError(
            'LOG_KAFKA_RETRIABLE',
            `topic "${spec.name}" exists but the broker has no metadata for it yet`,
          );
        }
        return createdHere ? 'created' : 'exists';
      } catch (error) {
        this.invalidate(spec.name);
        // Workers of a cluster starting together create the same internal topics: the loser can
        // see the topic before its partitions have leaders. Asking again settles it.
        const mapped = mapKafkaError(error, {
          brokers: this.config.brokers,
          operation: `create topic "${spec.name}"`,
        });
        if (!mapped.retriable || attempt >= createAttempts) throw mapped;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  async describe(name: string): Promise<TopicDescription | undefined> {
    // Always asked of the broker: describing is how callers notice a deletion.
    this.invalidate(name);
    const info = await this.find(name);
    if (!info) return undefined;
    try {
      const { resources } = await this.admin.describeConfigs({
        resources: [{ type: TOPIC_RESOURCE, name, configNames: ['cleanup.policy'] }],
        includeSynonyms: false,
      });
      const policy = resources[0]?.configEntries.find(
        (entry) => entry.configName === 'cleanup.policy',
      );
      return {
        name,
        partitions: info.leaders.length,
        cleanupPolicy: cleanupPolicyOf(policy?.configValue),
      };
    } catch (error) {
      // Deleted between the two calls.
      if (kafkaErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION') return undefined;
      this.fail(error, `describe topic "${name}"`, name);
    }
  }

  async list(): Promise<string[]> {
    try {
      // Kafka's own topics (__consumer_offsets, __transaction_state, ...) are not Kafki topics.
      return (await this.admin.listTopics()).filter((topic) => !topic.startsWith('__')).sort();
    } catch (error) {
      this.fail(error, 'list topics');
    }
  }

  async delete(name: string): Promise<void> {
    if (!(await this.find(name))) throw new TopicNotFoundError(name);
    try {
      await this.admin.deleteTopics({ topics: [name], timeout: this.config.requestTimeoutMs });
    } catch (error) {
      this.fail(error, `delete topic "${name}"`, name);
    } finally {
      this.invalidate(name);
    }
  }

  invalidate(name: string): void {
    this.infos.delete(name);
    this.limits.delete(name);
  }

  /** Partitions and leaders of a topic (cached), or TopicNotFoundError. */
  async info(name: string): Promise<TopicInfo> {
    const info = await this.find(name);
    if (!info) throw new TopicNotFoundError(name);
    return info;
  }

  /** The leader of one partition of an existing topic. */
  async leader(name: string, partition: number): Promise<number> {
    const info = await this.info(name);
    const leader = info.leaders[partition];
    if (leader === undefined) {
      throw new InvalidInputError(
        'LOG_PARTITION_NOT_FOUND',
        `partition ${partition} of topic "${name}" does not exist (the topic has ${info.leaders.length})`,
      );
    }
    return leader;
  }

  /** The largest record batch the topic accepts: its max.message.bytes (cached). */
  async maxMessageBytes(name: string): Promise<number> {
    const cached = this.limits.get(name);
    if (cached) {
      const entry = await cached.catch(() => undefined);
      if (entry && Date.now() - entry.fetchedAt < this.config.metadataMaxAgeMs) return entry.limit;
      if (this.limits.get(name) === cached) this.limits.delete(name);
    }
    let pending = this.limits.get(name);
    if (!pending) {
      const fetching = this.describeLimit(name).then((limit) => ({ limit, fetchedAt: Date.now() }));
      pending = fetching;
      this.limits.set(name, fetching);
      fetching.catch(() => {
        if (this.limits.get(name) === fetching) this.limits.delete(name);
      });
    }
    return (await pending).limit;
  }

  private async describeLimit(name: string): Promise<number> {
    try {
      const { resources } = await this.admin.describeConfigs({
        resources: [{ type: TOPIC_RESOURCE, name, configNames: ['max.message.bytes'] }],
        includeSynonyms: false,
      });
      const entry = resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes');
      const limit = Number(entry?.configValue);
      // 1048588 is Kafka's default message.max.bytes.
      return Number.isSafeInteger(limit) && limit > 0 ? limit : 1_048_588;
    } catch (error) {
      this.fail(error, `read the size limit of topic "${name}"`, name);
    }
  }

  private async find(name: string): Promise<TopicInfo | undefined> {
    const cached = this.infos.get(name);
    if (cached) {
      const info = await cached.catch(() => undefined);
      if (info && Date.now() - info.fetchedAt < this.config.metadataMaxAgeMs) return info;
      if (this.infos.get(name) === cached) this.infos.delete(name);
    }
    let pending = this.infos.get(name);
    if (!pending) {
      const fetching = this.fetchInfo(name);
      pending = fetching;
      this.infos.set(name, fetching);
      // Absent topics and failures are not cached.
      const forget = () => {
        if (this.infos.get(name) === fetching) this.infos.delete(name);
      };
      fetching.then((info) => info ?? forget(), forget);
    }
    return pending;
  }

  private async fetchInfo(name: string): Promise<TopicInfo | undefined> {
    let partitions;
    try {
      partitions = await this.raw.partitions(name);
    } catch (error) {
      if (kafkaErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION') return undefined;
      this.fail(error, `read the metadata of topic "${name}"`, name);
    }
    if (partitions.length === 0) return undefined;
    const leaders: number[] = [];
    for (const { partitionId, leader } of partitions) {
      if (leader < 0) {
        throw new RetriableError(
          'LOG_KAFKA_RETRIABLE',
          `partition ${partitionId} of topic "${name}" has no leader yet`,
        );
      }
      leaders[partitionId] = leader;
    }
    return { leaders, fetchedAt: Date.now() };
  }
}
