import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTransformChain, validateTransformConfig } from '../../../runtime/transforms/index.ts';
import {
  alice,
  createEvent,
  deleteEvent,
  heartbeat,
  readEvent,
  sinkRecord,
  single,
  tombstone,
  truncateEvent,
  updateEvent,
} from './fixtures.ts';

/** A Filter guarded by one predicate `p` of the given type and options. */
function filterWhen(type: string, options: Record<string, string>, negate = false) {
  const config: Record<string, string> = {
    transforms: 'f',
    'transforms.f.type': 'org.apache.kafka.connect.transforms.Filter',
    'transforms.f.predicate': 'p',
    predicates: 'p',
    'predicates.p.type': type,
  };
  if (negate) config['transforms.f.negate'] = 'true';
  for (const [name, value] of Object.entries(options)) config[`predicates.p.${name}`] = value;
  return buildTransformChain(config);
}

const dropped = (chain: ReturnType<typeof filterWhen>, record: Parameters<typeof chain.apply>[0]) =>
  chain.apply(record) === null;

describe('Filter', () => {
  it('without a predicate drops everything', () => {
    const chain = single('Filter');
    assert.equal(chain.apply(createEvent()), null);
    assert.equal(chain.apply(tombstone()), null);
  });
});

describe('TopicNameMatches', () => {
  const type = 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches';

  it('matches the whole topic name', () => {
    const chain = filterWhen(type, { pattern: 'dbserver1\\.public\\..*' });
    assert.equal(dropped(chain, createEvent()), true);
    assert.equal(dropped(chain, sinkRecord({})), false);
    // A substring match is not enough.
    assert.equal(dropped(filterWhen(type, { pattern: 'public' }), createEvent()), false);
  });

  it('with negate keeps only matching topics', () => {
    const chain = filterWhen(type, { pattern: 'orders' }, true);
    assert.equal(dropped(chain, sinkRecord({})), false);
    assert.equal(dropped(chain, createEvent()), true);
  });

  it('requires a valid, non-empty pattern', () => {
    const errors = (options: Record<string, string>) =>
      validateTransformConfig({
        predicates: 'p',
        'predicates.p.type': 'TopicNameMatches',
        ...options,
      });
    assert.deepEqual(
      errors({}).map((error) => error.field),
      ['predicates.p.pattern'],
    );
    assert.match(errors({ 'predicates.p.pattern': '' })[0]!.message, /non-empty/);
    assert.match(
      errors({ 'predicates.p.pattern': '(' })[0]!.message,
      /not a valid regular expression/,
    );
  });
});

describe('HasHeaderKey', () => {
  const type = 'org.apache.kafka.connect.transforms.predicates.HasHeaderKey';

  it('is true when the header is present, whatever its value', () => {
    const chain = filterWhen(type, { name: 'skip' });
    assert.equal(dropped(chain, createEvent(alice, { headers: { skip: '' } })), true);
    assert.equal(dropped(chain, createEvent(alice, { headers: { other: 'x' } })), false);
    assert.equal(dropped(chain, createEvent()), false);
  });

  it('requires name', () => {
    assert.deepEqual(
      validateTransformConfig({ predicates: 'p', 'predicates.p.type': 'HasHeaderKey' }).map(
        (error) => error.field,
      ),
      ['predicates.p.name'],
    );
  });
});

describe('RecordIsTombstone', () => {
  it('is true only for a null value', () => {
    const chain = filterWhen(
      'org.apache.kafka.connect.transforms.predicates.RecordIsTombstone',
      {},
    );
    assert.equal(dropped(chain, tombstone()), true);
    assert.equal(dropped(chain, deleteEvent()), false);
    assert.equal(dropped(chain, sinkRecord(0)), false);
  });
});

describe('ChangeEventMatches', () => {
  const type = 'io.kafki.transforms.predicates.ChangeEventMatches';

  it('matches by operation', () => {
    const chain = filterWhen(type, { operations: 'r' });
    assert.equal(dropped(chain, readEvent()), true);
    assert.equal(dropped(chain, createEvent()), false);
  });

  it('matches by table, qualified or bare, and never matches non-change records', () => {
    for (const tables of [
      'public\\.customers',
      'inventory\\.customers',
      'cust.*',
      'orders,public\\.cust.*',
    ]) {
      const chain = filterWhen(type, { tables });
      assert.equal(dropped(chain, createEvent()), true, tables);
    }
    const chain = filterWhen(type, { tables: 'public\\.orders' });
    assert.equal(dropped(chain, createEvent()), false);
    assert.equal(dropped(filterWhen(type, { operations: 'c,u,d,r' }), heartbeat()), false);
  });

  it('negated with Filter, keeps only the chosen events (and drops non-change records)', () => {
    const chain = filterWhen(type, { operations: 'c,u' }, true);
    assert.equal(dropped(chain, createEvent()), false);
    assert.equal(dropped(chain, updateEvent()), false);
    assert.equal(dropped(chain, deleteEvent()), true);
    assert.equal(dropped(chain, heartbeat()), true);
  });
});

describe('FilterByOperation', () => {
  const filterBy = (options: Record<string, string>) =>
    single('io.kafki.transforms.FilterByOperation', options);

  it('keeps only the listed operations', () => {
    const chain = filterBy({ operations: 'c,u' });
    assert.notEqual(chain.apply(createEvent()), null);
    assert.notEqual(chain.apply(updateEvent()), null);
    assert.equal(chain.apply(deleteEvent()), null);
    assert.equal(chain.apply(readEvent()), null);
    assert.equal(chain.apply(truncateEvent()), null);
  });

  it('judges tombstones with the deletes they follow, by the topic naming the table', () => {
    assert.equal(filterBy({ operations: 'c,u' }).apply(tombstone()), null);
    assert.notEqual(filterBy({ operations: 'd' }).apply(tombstone()), null);
    assert.notEqual(filterBy({ tables: 'public\\.customers' }).apply(tombstone()), null);
    assert.equal(filterBy({ tables: 'public\\.orders' }).apply(tombstone()), null);
    assert.notEqual(filterBy({ operations: 'c', tombstones: 'keep' }).apply(tombstone()), null);
    assert.equal(filterBy({ operations: 'd', tombstones: 'drop' }).apply(tombstone()), null);
  });

  it('filters by table and operation together', () => {
    const chain = filterBy({ operations: 'c,u,d', tables: 'public\\.customers' });
    assert.notEqual(chain.apply(deleteEvent()), null);
    assert.equal(chain.apply(readEvent()), null);
    assert.equal(filterBy({ tables: 'inventory\\.orders' }).apply(createEvent()), null);
  });

  it('matches MySQL/MariaDB events by <database>.<table>', () => {
    const pg = createEvent(alice, { schemas: false });
    const mysql = {
      ...pg,
      topic: 'shop.inventory.orders',
      value: {
        ...(pg.value as Record<string, never>),
        source: {
          connector: 'mysql',
          name: 'shop',
          db: 'inventory',
          table: 'orders',
          file: 'binlog.000003',
          pos: 154,
        },
      },
    };
    assert.notEqual(filterBy({ tables: 'inventory\\.orders' }).apply(mysql), null);
    assert.equal(filterBy({ tables: 'inventory\\.customers' }).apply(mysql), null);
    assert.notEqual(
      filterBy({ tables: 'inventory\\.orders' }).apply(
        tombstone(1, { topic: 'shop.inventory.orders' }),
      ),
      null,
    );
  });

  it('works on schemaless events and passes records that are not change events', () => {
    const chain = filterBy({ operations: 'u' });
    assert.equal(chain.apply(createEvent(alice, { schemas: false })), null);
    assert.notEqual(chain.apply(updateEvent(alice, alice, { schemas: false })), null);
    const beat = heartbeat();
    assert.equal(chain.apply(beat), beat);
  });

  it('returns the input record itself when keeping it', () => {
    const input = createEvent();
    assert.equal(filterBy({ operations: 'c' }).apply(input), input);
  });

  it('validates its options', () => {
    const fields = (options: Record<string, string>) => {
      const config: Record<string, string> = {
        transforms: 'f',
        'transforms.f.type': 'FilterByOperation',
      };
      for (const [name, value] of Object.entries(options)) config[`transforms.f.${name}`] = value;
      return validateTransformConfig(config).map((error) => error.field);
    };
    assert.deepEqual(fields({}), ['transforms.f.operations']);
    assert.deepEqual(fields({ operations: 'c,x' }), ['transforms.f.operations']);
    assert.deepEqual(fields({ operations: ' , ' }), ['transforms.f.operations']);
    assert.deepEqual(fields({ tables: 'public\\.(' }), ['transforms.f.tables']);
    assert.deepEqual(fields({ operations: 'c', tombstones: 'sometimes' }), [
      'transforms.f.tombstones',
    ]);
    assert.deepEqual(fields({ operations: 'c,u,d', tables: 'a\\.b,c\\.d{1,2}' }), []);
  });
});
