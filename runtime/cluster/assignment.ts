// Who runs what in a cluster. The units of work are each connector (its instance generates task
// configs) and each of its tasks. The leader computes the assignment from the live members and
// the previous assignment: balanced (the busiest and the idlest member differ by one unit at
// most) and sticky (a unit stays where it runs unless balance needs it elsewhere), so a join or a
// leave moves as few units as it can — the spirit of Kafka Connect's incremental cooperative
// assignor. Moving a unit is safe because its old owner must release the unit's lease before the
// new one can start it (see coordinator.ts).

export interface Unit {
  connector: string;
  /** Absent for the connector itself. */
  task?: number;
}

/** A unit's id: JSON, so no connector name can make two units collide. */
export function unitId(unit: Unit): string {
  return JSON.stringify(unit.task === undefined ? [unit.connector] : [unit.connector, unit.task]);
}

export function parseUnitId(id: string): Unit | undefined {
  try {
    const parsed: unknown = JSON.parse(id);
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'string') return undefined;
    if (parsed.length === 1) return { connector: parsed[0] };
    if (parsed.length === 2 && Number.isInteger(parsed[1])) {
      return { connector: parsed[0], task: parsed[1] as number };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** unit id → member id */
export type Assignment = ReadonlyMap<string, string>;

/**
 * Place every unit on a member. Units already on a live member stay there while it holds no more
 * than its share; the surplus and the units of departed members go to the members below theirs.
 * Deterministic: the same inputs give the same assignment on any worker.
 */
export function assignUnits(
  units: readonly string[],
  members: readonly string[],
  previous: Assignment,
): Map<string, string> {
  const result = new Map<string, string>();
  if (members.length === 0) return result;
  const sortedMembers = [...new Set(members)].sort();
  const sortedUnits = [...new Set(units)].sort();
  const kept = new Map<string, string[]>(sortedMembers.map((member) => [member, []]));
  const pool: string[] = [];
  for (const unit of sortedUnits) {
    const owner = previous.get(unit);
    const owned = owner === undefined ? undefined : kept.get(owner);
    if (owned) owned.push(unit);
    else pool.push(unit);
  }

  // Each member's share: `base` units, one more for the first `extra` members. The members that
  // already hold the most get the extra ones, so fewer units move.
  const base = Math.floor(sortedUnits.length / sortedMembers.length);
  const extra = sortedUnits.length % sortedMembers.length;
  const byLoad = [...sortedMembers].sort(
    (a, b) => kept.get(b)!.length - kept.get(a)!.length || (a < b ? -1 : 1),
  );
  const share = new Map(byLoad.map((member, i) => [member, base + (i < extra ? 1 : 0)]));

  for (const member of sortedMembers) {
    const owned = kept.get(member)!;
    const quota = share.get(member)!;
    if (owned.length > quota) pool.push(...owned.splice(quota));
  }
  pool.sort();
  for (const member of sortedMembers) {
    const owned = kept.get(member)!;
    const quota = share.get(member)!;
    while (owned.length < quota && pool.length > 0) owned.push(pool.shift()!);
  }
  for (const [member, owned] of kept) for (const unit of owned) result.set(unit, member);
  return result;
}

export function sameAssignment(a: Assignment, b: Assignment): boolean {
  if (a.size !== b.size) return false;
  for (const [unit, member] of a) if (b.get(unit) !== member) return false;
  return true;
}
