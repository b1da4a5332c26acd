// Creates the topics sources write to on first use (the log refuses appends to a missing topic),
// remembering which exist so the hot path asks the log only once per topic.

import type { KafkiLog } from '../log/log.ts';

export class TopicCreator {
  private readonly known = new Set<string>();

  constructor(
    private readonly log: KafkiLog,
    private readonly defaults: { partitions: number; replicationFactor: number },
  ) {}

  async ensure(topics: Iterable<string>, partitions = this.defaults.partitions): Promise<void> {
    for (const topic of topics) {
      if (this.known.has(topic)) continue;
      await this.log.createTopic({
        name: topic,
        partitions,
        cleanupPolicy: 'delete',
        replicationFactor: this.defaults.replicationFactor,
      });
      this.known.add(topic);
    }
  }
}
