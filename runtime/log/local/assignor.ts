// Which member of a group reads which partition. Pure: members, partition counts and the
// previous owners in, assignment out. Each partition goes to the least-loaded member subscribed
// to its topic, preferring its previous owner on a tie, so with equal subscriptions the counts
// differ by at most one (max − min ≤ 1) and a rebalance moves few partitions.

import type { TopicPartition } from '../log.ts';

export interface MemberSubscription {
  memberId: string;
  topics: readonly string[];
}

export function partitionKey(topic: string, partition: number): string {
  // A topic name never contains "/", so the key is unambiguous.
  return `${topic}/${partition}`;
}

export function assignPartitions(
  members: readonly MemberSubscription[],
  partitionCount: (topic: string) => number | undefined,
  previousOwner: ReadonlyMap<string, string>,
): Map<string, TopicPartition[]> {
  const assignment = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const count = partitionCount(topic) ?? 0;
    const eligible = members.filter((m) => m.topics.includes(topic));
    for (let partition = 0; partition < count; partition++) {
      let chosen: MemberSubscription | undefined;
      let chosenLoad = Infinity;
      const previous = previousOwner.get(partitionKey(topic, partition));
      for (const member of eligible) {
        const load = assignment.get(member.memberId)!.length;
        if (load < chosenLoad || (load === chosenLoad && member.memberId === previous)) {
          chosen = member;
          chosenLoad = load;
        }
      }
      if (chosen !== undefined) assignment.get(chosen.memberId)!.push({ topic, partition });
    }
  }
  return assignment;
}
