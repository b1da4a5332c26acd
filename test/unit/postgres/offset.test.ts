// Offsets: parsing stored offsets, the resume filter (what a replay drops), and the acknowledgement
// tracker (what may be confirmed to the slot, and when).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AckTracker,
  endOfTransaction,
  parseOffset,
  ResumeFilter,
} from '../../../connectors/postgres/offset.ts';

const partition = { server: 'srv' };

function offset(lsn: number, lsnProc: number, txCommitLsn: number | null, event = 0) {
  return { lsn, lsn_proc: lsnProc, tx_commit_lsn: txCommitLsn, tx_event: event };
}

test('parseOffset: ours, a Debezium-shaped one, and nonsense', () => {
  assert.deepEqual(
    parseOffset({
      offset_version: 1,
      lsn: 10,
      lsn_proc: 8,
      lsn_commit: 8,
      txId: 5,
      ts_usec: 7,
      tx_commit_lsn: 12,
      tx_event: 2,
      snapshot_completed: true,
    }),
    {
      offset_version: 1,
      lsn: 10,
      lsn_proc: 8,
      lsn_commit: 8,
      txId: 5,
      ts_usec: 7,
      tx_commit_lsn: 12,
      tx_event: 2,
      snapshot_completed: true,
      incremental: null,
    },
  );
  // Debezium stores lsn / lsn_commit / txId (numbers or strings): resume from the commit position.
  const debezium = parseOffset({
    lsn: '24023128',
    lsn_commit: '24023000',
    txId: '555',
    ts_usec: '1',
  });
  assert.equal(debezium?.lsn_proc, 24023000);
  assert.equal(debezium?.tx_commit_lsn, null);
  // Without any commit position the server's confirmed_flush_lsn decides (0).
  assert.equal(parseOffset({ lsn: 100 })?.lsn_proc, 0);
  assert.equal(parseOffset({ lsn: 100, snapshot: true })?.snapshot_completed, false);
  assert.equal(parseOffset(null), null);
  assert.equal(parseOffset({ nothing: 1 }), null);
});

test('resume filter: earlier transactions dropped, the resume transaction up to its position, later ones kept', () => {
  const filter = new ResumeFilter(offset(500, 300, 600, 0));
  filter.beginTransaction(550); // committed before the resume transaction
  assert.equal(filter.skip(320, 0), true);
  filter.beginTransaction(600); // the transaction the last durable record belongs to
  assert.equal(filter.skip(400, 0), true);
  assert.equal(filter.skip(500, 0), true, 'the durable record itself');
  assert.equal(filter.skip(500, 1), false, 'the next message at the same LSN (COPY batch)');
  assert.equal(filter.skip(520, 0), false);
  assert.equal(filter.skip(600, endOfTransaction), false, 'its END record was not durable');
  filter.beginTransaction(700);
  assert.equal(filter.skip(650, 0), false);
  assert.equal(filter.active, false, 'turns itself off past the resume transaction');
});

test('resume filter: a non-final record of a message (tx_event - 1) replays the whole message', () => {
  // A primary-key update makes delete + tombstone + create from one message at LSN 500, group 0;
  // the first two carry tx_event -1.
  const filter = new ResumeFilter(offset(500, 300, 600, -1));
  filter.beginTransaction(600);
  assert.equal(filter.skip(500, 0), false);
});

test('resume filter: an END record resumes after the whole transaction', () => {
  const filter = new ResumeFilter(offset(610, 610, 600, endOfTransaction));
  filter.beginTransaction(600);
  assert.equal(filter.skip(500, 3), true);
  assert.equal(filter.skip(610, endOfTransaction), true);
});

test('resume filter: a heartbeat offset (no transaction) drops nothing', () => {
  const filter = new ResumeFilter(offset(900, 900, null));
  filter.beginTransaction(950);
  assert.equal(filter.skip(920, 0), false);
  assert.equal(new ResumeFilter(null).skip(1, 0), false);
});

test('ack tracker: only durable positions, a commit end once its last record is durable', () => {
  const ack = new AckTracker(100);
  assert.equal(ack.safeLsn, 100);
  const first = { ...offset(120, 100, 200, 0) };
  const second = { ...offset(150, 100, 200, 0) };
  ack.emitted(first);
  ack.emitted(second);
  ack.mark(210); // COMMIT of the transaction: end LSN 210
  assert.equal(ack.safeLsn, 100, 'nothing durable yet');
  assert.equal(ack.durable([{ sourcePartition: partition, sourceOffset: first }], partition), 100);
  assert.equal(
    ack.durable([{ sourcePartition: partition, sourceOffset: second }], partition),
    210,
    'the last emitted record is durable: the commit end behind it may be confirmed',
  );
  // Keepalives with nothing in flight move the position at once.
  ack.mark(300);
  assert.equal(ack.safeLsn, 300);
  // Offsets of another partition are ignored; positions never go back.
  assert.equal(
    ack.durable(
      [{ sourcePartition: { server: 'x' }, sourceOffset: offset(999, 999, null) }],
      partition,
    ),
    300,
  );
  ack.mark(250);
  assert.equal(ack.safeLsn, 300);
});

test('ack tracker: a mark while records are in flight waits for them', () => {
  const ack = new AckTracker(0);
  const record = offset(50, 40, 60, 0);
  ack.emitted(record);
  ack.mark(70);
  assert.equal(ack.safeLsn, 0);
  const next = offset(80, 70, 90, 0);
  ack.emitted(next); // carries lsn_proc 70 itself
  assert.equal(ack.durable([{ sourcePartition: partition, sourceOffset: record }], partition), 40);
  assert.equal(ack.durable([{ sourcePartition: partition, sourceOffset: next }], partition), 70);
});
