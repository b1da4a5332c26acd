// In-process consumer group membership: members join and leave, and every change (or a topic
// appearing or disappearing) rebalances the group at once. Revocations are applied to every
// member before any member gets new partitions, so no partition ever has two owners, even from
// inside a rebalance listener.

import type { TopicPartition } from '../log.ts';
import { assignPartitions, partitionKey } from './assignor.ts';

export interface GroupMember {
  readonly memberId: string;
  readonly topics: readonly string[];
  assignment(): TopicPartition[];
  /** Makes partitions the member's assignment (synchronously). */
  applyAssignment(partitions: readonly TopicPartition[]): void;
}

interface Group {
  members: GroupMember[];
  owners: Map<string, string>;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly partitionCount: (topic: string) => number | undefined) {}

  join(groupId: string, member: GroupMember): void {
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = { members: [], owners: new Map() };
      this.groups.set(groupId, group);
    }
    group.members.push(member);
    this.rebalance(group);
  }

  leave(groupId: string, member: GroupMember): void {
    const group = this.groups.get(groupId);
    if (group === undefined || !group.members.includes(member)) return;
    group.members = group.members.filter((m) => m !== member);
    member.applyAssignment([]);
    if (group.members.length === 0) this.groups.delete(groupId);
    else this.rebalance(group);
  }

  /** A topic was created or deleted: subscriptions may cover different partitions now. */
  topicsChanged(): void {
    for (const group of this.groups.values()) this.rebalance(group);
  }

  private rebalance(group: Group): void {
    const target = assignPartitions(group.members, this.partitionCount, group.owners);
    group.owners = new Map();
    for (const [memberId, partitions] of target) {
      for (const tp of partitions) group.owners.set(partitionKey(tp.topic, tp.partition), memberId);
    }
    const members = [...group.members];
    // First every member gives up what it loses, then every member takes what it gains.
    for (const member of members) {
      const keep = new Set(
        (target.get(member.memberId) ?? []).map((tp) => partitionKey(tp.topic, tp.partition)),
      );
      member.applyAssignment(
        member.assignment().filter((tp) => keep.has(partitionKey(tp.topic, tp.partition))),
      );
    }
    for (const member of members) member.applyAssignment(target.get(member.memberId) ?? []);
  }
}
