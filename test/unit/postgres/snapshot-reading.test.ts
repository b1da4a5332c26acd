// The pure parts of snapshot reading: COPY text rows into the stream's row values, key-range SQL,
// pg_current_snapshot() visibility, signal checks, the incremental progress in offsets, and the
// acknowledgement hold a signal puts on the slot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../../runtime/api/index.ts';
import { CaptureFilter, KeyColumnOverrides } from '../../../runtime/cdc/filters.ts';
import {
  parseIncrementalState,
  parseSnapshotText,
  validateSignal,
  visibleIn,
} from '../../../connectors/postgres/incremental-snapshot.ts';
import { AckTracker } from '../../../connectors/postgres/offset.ts';
import { rangeCondition, rangeSelect } from '../../../connectors/postgres/snapshot-chunks.ts';
import {
  relationFromCatalog,
  TableSchema,
  unescapeCopyText,
} from '../../../connectors/postgres/table-schema.ts';
import { defaultTypeModes } from '../../../connectors/postgres/type-mapping.ts';
import { Oid, TypeRegistry } from '../../../connectors/postgres/type-registry.ts';

function table(
  columns: Array<[string, number]>,
  primaryKey: string[] = ['id'],
  filter = new CaptureFilter({}),
): TableSchema {
  return new TableSchema(
    relationFromCatalog(
      42,
      'public',
      't',
      'default',
      columns.map(([name, typeOid]) => ({ name, typeOid, typeModifier: -1 })),
    ),
    { oid: 42, schema: 'public', table: 't', notNull: new Set(['id']), primaryKey },
    new TypeRegistry(),
    {
      topicPrefix: 'p',
      filter,
      keyOverrides: new KeyColumnOverrides(undefined),
      typeModes: defaultTypeModes,
    },
  );
}

function decode(schema: TableSchema, line: string): unknown {
  const data = Buffer.from(`${line}\n`);
  schema.decodeCopyRow(data, 0, data.length - 1);
  return schema.makeRow(schema.values);
}

test('COPY text rows: fields, \\N nulls and every escape COPY TO writes', () => {
  const schema = table([
    ['id', Oid.int4],
    ['name', Oid.text],
    ['flag', Oid.bool],
  ]);
  assert.deepEqual(decode(schema, '1\tplain\tt'), { id: 1, name: 'plain', flag: true });
  assert.deepEqual(decode(schema, '2\t\\N\t\\N'), { id: 2, name: null, flag: null });
  assert.deepEqual(decode(schema, '3\t\tf'), { id: 3, name: '', flag: false });
  assert.deepEqual(decode(schema, '4\ta\\tb\\nc\\\\d\\re\\bf\\fg\\vh\tt'), {
    id: 4,
    name: 'a\tb\nc\\d\re\bf\fg\vh',
    flag: true,
  });
  assert.deepEqual(decode(schema, '5\t\\\\N\tt'), { id: 5, name: '\\N', flag: true });
  assert.deepEqual(decode(schema, '6\tü 🎉\tt'), { id: 6, name: 'ü 🎉', flag: true });
  assert.equal(schema.keyFromValues()?.id, 6);
  assert.throws(() => decode(schema, '7\tshort'), /2 fields, expected 3/);
});

test('COPY text rows: only the columns the events use are read, in column order', () => {
  const schema = table(
    [
      ['id', Oid.int4],
      ['secret', Oid.text],
      ['v', Oid.int8],
    ],
    ['id'],
    new CaptureFilter({ columnExclude: 'public\\.t\\.secret' }),
  );
  assert.deepEqual(schema.readColumnNames, ['"id"', '"v"']);
  assert.deepEqual(decode(schema, '9\t12345678901'), { id: 9, v: 12345678901 });
});

test('unescapeCopyText: octal and hex forms too (COPY FROM syntax)', () => {
  const text = (raw: string) => {
    const data = Buffer.from(raw, 'latin1');
    return unescapeCopyText(data, 0, data.length).toString('latin1');
  };
  assert.equal(text('a\\101\\x42c'), 'aABc');
  assert.equal(text('\\7\\18x'), '\x07\x018x');
  assert.equal(text('trailing\\'), 'trailing\\');
  assert.equal(text('\\q'), 'q');
});

test('key ranges: row comparisons with typed, escaped literals', () => {
  const keys = [
    { name: 'a', typeName: 'integer' },
    { name: 'b', typeName: 'text' },
  ];
  assert.equal(rangeCondition(keys, { lower: null, upper: null }), '');
  assert.equal(
    rangeCondition(keys, { lower: ['1', "it's"], upper: ['2', 'x\\y'] }),
    ` where ("a", "b") > ('1'::integer, 'it''s'::text) and ("a", "b") <= ('2'::integer, E'x\\\\y'::text)`,
  );
  assert.equal(
    rangeSelect('"s"."t"', ['"a"', '"v"'], [{ name: 'id', typeName: 'bigint' }], {
      lower: ['10'],
      upper: null,
    }),
    `select "a", "v" from "s"."t" where "id" > '10'::bigint order by "id"`,
  );
  assert.equal(
    rangeSelect('"t"', ['"v"'], [], { lower: null, upper: null }),
    'select "v" from "t"',
  );
  assert.throws(() => rangeCondition(keys, { lower: ['1'], upper: null }), /2 key columns/);
});

test('pg_current_snapshot(): running (xip) and not yet completed (≥ xmax) are invisible', () => {
  const snapshot = parseSnapshotText('100:105:100,103');
  assert.equal(visibleIn(snapshot, 99), true);
  assert.equal(visibleIn(snapshot, 100), false, 'in xip');
  assert.equal(visibleIn(snapshot, 101), true);
  assert.equal(visibleIn(snapshot, 103), false, 'in xip');
  assert.equal(visibleIn(snapshot, 105), false, 'xmax: committing, not completed');
  assert.equal(visibleIn(snapshot, 200), false);
  // 64-bit xids with an epoch, against pgoutput's 32-bit ones (and wraparound).
  const epoch = parseSnapshotText(`${2 ** 32 + 5}:${2 ** 32 + 10}:${2 ** 32 + 7}`);
  assert.equal(visibleIn(epoch, 6), true);
  assert.equal(visibleIn(epoch, 7), false);
  assert.equal(visibleIn(epoch, 10), false);
  const wrapped = parseSnapshotText(`${2 ** 32 - 3}:${2 ** 32 + 2}:`);
  assert.equal(visibleIn(wrapped, 2 ** 32 - 2), true, 'before the wrap');
  assert.equal(visibleIn(wrapped, 1), true, 'after the wrap, below xmax');
  assert.equal(visibleIn(wrapped, 2), false);
});

test('signals: what execute-snapshot needs, and clear refusals', () => {
  validateSignal('execute-snapshot', { 'data-collections': ['public.t'], type: 'incremental' });
  validateSignal('execute-snapshot', { 'data-collections': ['public\\..*'] });
  validateSignal('stop-snapshot', null);
  validateSignal('log', { message: 'hi' });
  const refused = (type: string, data: unknown, pattern: RegExp) =>
    assert.throws(
      () => validateSignal(type, data),
      (error: unknown) => error instanceof InvalidInputError && pattern.test(error.message),
    );
  refused('snapshot-now', {}, /unknown signal type/);
  refused('execute-snapshot', {}, /needs data-collections/);
  refused('execute-snapshot', { 'data-collections': 'public.t' }, /must be an array/);
  refused(
    'execute-snapshot',
    { 'data-collections': ['public.t'], type: 'blocking' },
    /not supported/,
  );
  refused('log', ['x'], /must be an object/);
});

test('incremental progress in the offset: parsed back, nonsense ignored', () => {
  const state = {
    id: 's1',
    tables: ['public.a', 'public.b'],
    position: ['10', 'x'],
    max: ['99', 'z'],
    chunk: 3,
  };
  assert.deepEqual(parseIncrementalState(JSON.stringify(state)), state);
  assert.equal(parseIncrementalState(null), null);
  assert.equal(parseIncrementalState('{not json'), null);
  assert.equal(parseIncrementalState(JSON.stringify({ ...state, tables: [] })), null);
});

test('a signal holds the slot until a record emitted after it is durable', () => {
  const partition = { server: 'p' };
  const at = (lsn: number) => ({ lsn, lsn_proc: lsn, tx_commit_lsn: lsn, tx_event: 0 });
  const ack = new AckTracker(100);
  ack.mark(150);
  assert.equal(ack.safeLsn, 150, 'nothing emitted: a commit end is safe at once');
  ack.hold();
  ack.mark(200);
  assert.equal(ack.safeLsn, 150, 'held: the signal is not acknowledged yet');
  ack.emitted(at(210));
  ack.mark(230);
  assert.equal(
    ack.durable([{ sourcePartition: partition, sourceOffset: at(210) }], partition),
    230,
  );

  const released = new AckTracker(100);
  released.hold();
  released.mark(300);
  assert.equal(released.safeLsn, 100);
  released.release();
  assert.equal(released.safeLsn, 300, 'the snapshot ended without records: nothing to wait for');
});
