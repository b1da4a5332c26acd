// snapshot.mode decisions (Debezium's semantics), snapshot offsets and how a stored one reads back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOffset, type PostgresOffset } from '../../../connectors/postgres/offset.ts';
import { decideSnapshot, snapshotOffset } from '../../../connectors/postgres/snapshot.ts';

const streamed: PostgresOffset = {
  offset_version: 1,
  lsn: 10,
  lsn_proc: 10,
  lsn_commit: 10,
  txId: 1,
  ts_usec: 1,
  tx_commit_lsn: 12,
  tx_event: 0,
  snapshot_completed: true,
  incremental: null,
};
const interrupted: PostgresOffset = { ...streamed, snapshot_completed: false };

test('which modes snapshot when', () => {
  const decide = (
    mode: Parameters<typeof decideSnapshot>[0],
    offset: PostgresOffset | null,
    created = false,
    usable = true,
  ) => {
    const { snapshot, stream } = decideSnapshot(mode, offset, created, usable);
    return [snapshot, stream];
  };
  assert.deepEqual(decide('no_data', null, true), [false, true]);
  assert.deepEqual(decide('initial', null, true), [true, true]);
  assert.deepEqual(decide('initial', streamed), [false, true]);
  assert.deepEqual(decide('initial', interrupted), [true, true]);
  assert.deepEqual(decide('initial_only', null, true), [true, false]);
  assert.deepEqual(decide('initial_only', streamed), [false, false]);
  assert.deepEqual(decide('always', streamed), [true, true]);
  assert.deepEqual(decide('when_needed', streamed, false, true), [false, true]);
  assert.deepEqual(decide('when_needed', streamed, false, false), [true, true]);
  assert.deepEqual(decide('when_needed', streamed, true, true), [true, true]);
  assert.deepEqual(decide('when_needed', null, true, false), [true, true]);
});

test('snapshot records carry the streaming position; only the last one completes the snapshot', () => {
  const row = snapshotOffset(streamed, 500, false, '{"id":"x"}');
  const last = snapshotOffset(streamed, 500, true, null);
  assert.equal(row.snapshot, true);
  assert.equal(row.snapshot_lsn, 500);
  assert.equal(row.last_snapshot_record, false);
  assert.equal(last.last_snapshot_record, true);

  const during = parseOffset(row)!;
  assert.equal(during.snapshot_completed, false, 'a crash mid-snapshot snapshots again');
  // …and streams from where it would have started, skipping what was delivered before.
  assert.equal(during.lsn_proc, streamed.lsn_proc);
  assert.equal(during.tx_commit_lsn, streamed.tx_commit_lsn);
  assert.equal(during.incremental, '{"id":"x"}');
  assert.equal(parseOffset(last)!.snapshot_completed, true);
});

test('Debezium-shaped offsets: snapshot true until last_snapshot_record', () => {
  assert.equal(parseOffset({ lsn: 5, snapshot: true })!.snapshot_completed, false);
  assert.equal(
    parseOffset({ lsn: 5, snapshot: true, last_snapshot_record: true })!.snapshot_completed,
    true,
  );
  assert.equal(parseOffset({ lsn: 5, txId: 3 })!.snapshot_completed, true);
});
