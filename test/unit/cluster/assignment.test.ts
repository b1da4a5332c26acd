// The leader's assignment: balanced (max - min <= 1), sticky (units stay on live members), and a
// deterministic function of its inputs.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  assignUnits,
  parseUnitId,
  sameAssignment,
  unitId,
} from '../../../runtime/cluster/assignment.ts';

const units = (count: number) =>
  Array.from({ length: count }, (_, i) => unitId({ connector: 'c', task: i }));

function loads(assignment: ReadonlyMap<string, string>, members: readonly string[]) {
  const counts = new Map(members.map((member) => [member, 0]));
  for (const member of assignment.values()) counts.set(member, (counts.get(member) ?? 0) + 1);
  return [...counts.values()];
}

function moved(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>) {
  return [...after].filter(([unit, member]) => before.has(unit) && before.get(unit) !== member)
    .length;
}

describe('assignUnits', () => {
  it('spreads units evenly over the members and places every unit once', () => {
    const all = units(10);
    const assignment = assignUnits(all, ['w1', 'w2', 'w3'], new Map());
    assert.deepEqual([...assignment.keys()].sort(), [...all].sort());
    const counts = loads(assignment, ['w1', 'w2', 'w3']);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `loads ${counts}`);
  });

  it('a joining member takes only its share; nothing else moves', () => {
    const all = units(9);
    const before = assignUnits(all, ['w1', 'w2'], new Map());
    const after = assignUnits(all, ['w1', 'w2', 'w3'], before);
    assert.deepEqual(loads(after, ['w1', 'w2', 'w3']), [3, 3, 3]);
    // Exactly the three units w3 now runs changed hands.
    assert.equal(moved(before, after), 3);
    for (const [unit, member] of after) if (member !== 'w3') assert.equal(before.get(unit), member);
  });

  it("a departed member's units go to the others; the rest stay", () => {
    const all = units(9);
    const before = assignUnits(all, ['w1', 'w2', 'w3'], new Map());
    const after = assignUnits(all, ['w1', 'w3'], before);
    assert.ok(![...after.values()].includes('w2'));
    const counts = loads(after, ['w1', 'w3']);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1);
    for (const [unit, member] of before) if (member !== 'w2') assert.equal(after.get(unit), member);
  });

  it('new units go to the least loaded member, removed units free their place', () => {
    const before = assignUnits(units(4), ['w1', 'w2'], new Map());
    const grown = assignUnits(units(6), ['w1', 'w2'], before);
    assert.deepEqual(loads(grown, ['w1', 'w2']), [3, 3]);
    assert.equal(moved(before, grown), 0);
    const shrunk = assignUnits(units(2), ['w1', 'w2'], grown);
    assert.equal(shrunk.size, 2);
    assert.deepEqual(loads(shrunk, ['w1', 'w2']).sort(), [1, 1]);
  });

  it('is deterministic and stable: the same inputs give the same assignment', () => {
    const first = assignUnits(units(7), ['w2', 'w1'], new Map());
    const second = assignUnits(units(7), ['w1', 'w2'], new Map());
    assert.ok(sameAssignment(first, second));
    assert.ok(sameAssignment(assignUnits(units(7), ['w1', 'w2'], first), first));
  });

  it('assigns nothing without members', () => {
    assert.equal(assignUnits(units(3), [], new Map()).size, 0);
  });
});

describe('unit ids', () => {
  it('round-trip connectors and tasks whatever the connector name holds', () => {
    for (const unit of [{ connector: 'a' }, { connector: 'x/1:"2"', task: 3 }]) {
      assert.deepEqual(parseUnitId(unitId(unit)), unit);
    }
    assert.notEqual(unitId({ connector: 'a', task: 1 }), unitId({ connector: 'a,1' }));
    assert.equal(parseUnitId('not json'), undefined);
    assert.equal(parseUnitId('[1]'), undefined);
  });
});
