// The pgoutput decoder on captured bytes: every message type the connector meets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodePgoutput,
  formatLsn,
  parseLsn,
  PgoutputProtocolError,
  readTuple,
  skipTuple,
  type PgoutputMessage,
} from '../../../connectors/postgres/pgoutput-decoder.ts';
import { fixture } from './fixtures.ts';

function texts(data: Buffer, offset: number): Array<string | null> {
  return readTuple(data, offset).map((value) =>
    value.kind === 'text' ? value.text : value.kind === 'null' ? null : `<${value.kind}>`,
  );
}

function ofTag<T extends PgoutputMessage['tag']>(
  messages: PgoutputMessage[],
  tag: T,
): Array<Extract<PgoutputMessage, { tag: T }>> {
  return messages.filter(
    (message): message is Extract<PgoutputMessage, { tag: T }> => message.tag === tag,
  );
}

test('begin, relation, insert, commit: fields and positions', () => {
  const captured = fixture('crud');
  const messages = captured.map((entry) => entry.message);
  const [begin] = ofTag(messages, 'begin');
  const [commit] = ofTag(messages, 'commit');
  assert.ok(begin && commit);
  // BEGIN carries the commit record's LSN; COMMIT carries it again plus the end LSN.
  assert.equal(begin.finalLsn, commit.commitLsn);
  assert.ok(commit.endLsn > commit.commitLsn);
  assert.equal(begin.commitTimeUs, commit.commitTimeUs);
  assert.ok(
    begin.commitTimeUs > Date.UTC(2020, 0, 1) * 1000,
    'commit time is in microseconds since 1970',
  );
  // The XLogData header of a COMMIT is its end LSN.
  const commitEntry = captured.find((entry) => entry.message.tag === 'commit')!;
  assert.equal(commitEntry.header.walStart, commit.endLsn);

  const relation = ofTag(messages, 'relation')[0]!;
  assert.equal(relation.schema, 'public');
  assert.equal(relation.name, 'fx_crud');
  assert.equal(relation.replicaIdentity, 'default');
  assert.deepEqual(
    relation.columns.map((column) => [
      column.name,
      column.typeOid,
      column.typeModifier,
      column.isKey,
    ]),
    [
      ['id', 23, -1, true],
      ['name', 25, -1, false],
      ['note', 1043, 24, false],
    ],
  );
  const inserts = ofTag(messages, 'insert');
  assert.deepEqual(texts(inserts[0]!.data, inserts[0]!.newTuple), ['1', 'one', 'n1']);
  assert.deepEqual(texts(inserts[1]!.data, inserts[1]!.newTuple), ['2', 'two', null]);
});

test('updates: no old tuple, old key (K) on a key change, old row (O) with REPLICA IDENTITY FULL', () => {
  const updates = ofTag(
    fixture('crud').map((entry) => entry.message),
    'update',
  );
  const [plain, keyChange, full] = updates;
  assert.ok(plain && keyChange && full);
  assert.equal(plain.oldKind, null);
  assert.equal(plain.oldTuple, -1);
  assert.deepEqual(texts(plain.data, plain.newTuple), ['1', 'uno', 'n1']);
  assert.equal(keyChange.oldKind, 'K');
  assert.deepEqual(texts(keyChange.data, keyChange.oldTuple), ['2', null, null]);
  assert.deepEqual(texts(keyChange.data, keyChange.newTuple), ['10', 'two', null]);
  assert.equal(skipTuple(keyChange.data, keyChange.oldTuple) + 1, keyChange.newTuple);
  assert.equal(full.oldKind, 'O');
  assert.deepEqual(texts(full.data, full.oldTuple), ['1', 'a']);
  assert.deepEqual(texts(full.data, full.newTuple), ['1', 'b']);
});

test('deletes, truncate of two tables, logical messages, a relation message after ALTER TABLE', () => {
  const messages = fixture('crud').map((entry) => entry.message);
  const deletes = ofTag(messages, 'delete');
  assert.deepEqual(
    deletes.map((message) => [message.oldKind, texts(message.data, message.oldTuple)]),
    [
      ['K', ['1', null, null]],
      ['O', ['1', 'b']],
    ],
  );
  const [truncate] = ofTag(messages, 'truncate');
  assert.equal(truncate?.relationIds.length, 2);
  assert.equal(truncate?.cascade, false);
  const logical = ofTag(messages, 'message');
  assert.deepEqual(
    logical.map((message) => [
      message.transactional,
      message.prefix,
      message.content.toString('hex'),
    ]),
    [
      [true, 'fx-tx', Buffer.from('in transaction').toString('hex')],
      [false, 'fx-nontx', '00ff'],
    ],
  );
  const relations = ofTag(messages, 'relation').filter((relation) => relation.name === 'fx_crud');
  assert.deepEqual(
    relations.at(-1)?.columns.map((column) => column.name),
    ['id', 'name', 'note', 'extra'],
  );
  const lastInsert = ofTag(messages, 'insert').at(-1)!;
  assert.deepEqual(texts(lastInsert.data, lastInsert.newTuple), ['4', 'four', null, '44']);
});

test('unchanged TOAST values arrive as "u" columns', () => {
  const [update] = ofTag(
    fixture('toast').map((entry) => entry.message),
    'update',
  );
  assert.ok(update);
  assert.deepEqual(texts(update.data, update.newTuple), [
    '1',
    '1',
    '<unchanged-toast>',
    '<unchanged-toast>',
    '<unchanged-toast>',
  ]);
});

test('a COPY batch: several inserts share one WAL position', () => {
  const inserts = fixture('copy').filter((entry) => entry.message.tag === 'insert');
  assert.equal(inserts.length, 5);
  assert.equal(new Set(inserts.map((entry) => entry.header.walStart)).size, 1);
});

test('type messages name the custom types before the relation that uses them', () => {
  const messages = fixture('types').map((entry) => entry.message);
  const types = ofTag(messages, 'type').map((type) => type.name);
  assert.deepEqual(types.sort(), ['fx_mood', 'hstore']);
  const relationIndex = messages.findIndex((message) => message.tag === 'relation');
  assert.ok(messages.findIndex((message) => message.tag === 'type') < relationIndex);
});

test('malformed input is a protocol error, not a crash deeper down', () => {
  assert.throws(() => decodePgoutput(Buffer.from('Z')), PgoutputProtocolError);
  assert.throws(() => decodePgoutput(Buffer.from([0x55, 0, 0, 0, 1, 0x58])), PgoutputProtocolError);
  assert.throws(() => readTuple(Buffer.from([0, 1, 0x71]), 0), PgoutputProtocolError);
});

test('LSN text round trip', () => {
  assert.equal(parseLsn('16/B374D848'), 0x16 * 2 ** 32 + 0xb374d848);
  assert.equal(formatLsn(parseLsn('16/B374D848')), '16/B374D848');
  assert.equal(formatLsn(0), '0/0');
  assert.throws(() => parseLsn('nope'));
});
