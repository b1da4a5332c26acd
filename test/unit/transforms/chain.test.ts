import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectRecord } from '../../../runtime/api/record.ts';
import {
  SmtRegistry,
  TransformConfigError,
  TransformDataError,
  buildTransformChain,
  transformPluginInfos,
  validateTransformConfig,
} from '../../../runtime/transforms/index.ts';
import type { TransformPlugin } from '../../../runtime/transforms/index.ts';
import { alice, createEvent, deleteEvent, kept, sinkRecord, tombstone } from './fixtures.ts';

describe('transform chain: building', () => {
  it('is the identity without transforms', () => {
    const chain = buildTransformChain({ name: 'c', 'connector.class': 'X' });
    assert.equal(chain.identity, true);
    const input = createEvent();
    assert.equal(chain.apply(input), input);
    assert.deepEqual(buildTransformChain({ transforms: '' }).aliases, []);
  });

  it('runs transforms in the listed order, each seeing the previous output', () => {
    const chain = buildTransformChain({
      transforms: 'unwrap, route',
      'transforms.unwrap.type': 'io.debezium.transforms.ExtractNewRecordState',
      'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
      'transforms.route.regex': '([^.]+)\\.([^.]+)\\.([^.]+)',
      'transforms.route.replacement': '$3',
    });
    assert.equal(chain.identity, false);
    assert.deepEqual(chain.aliases, ['unwrap', 'route']);
    const output = kept(chain, createEvent());
    assert.equal(output.topic, 'customers');
    assert.deepEqual(output.value, alice);
  });

  it('stops at the first transform that drops the record', () => {
    const chain = buildTransformChain({
      transforms: 'unwrap,route',
      'transforms.unwrap.type': 'unwrap',
      'transforms.route.type': 'RegexRouter',
      'transforms.route.regex': '.*',
      'transforms.route.replacement': 'x',
    });
    assert.equal(chain.apply(deleteEvent()), null);
  });

  it('accepts the parsed config form (transforms already a list, booleans typed)', () => {
    const chain = buildTransformChain({
      transforms: ['drop'],
      'transforms.drop.type': 'Filter',
      'transforms.drop.predicate': 'isTombstone',
      'transforms.drop.negate': false,
      predicates: 'isTombstone',
      'predicates.isTombstone.type': 'RecordIsTombstone',
    });
    assert.equal(chain.apply(tombstone()), null);
    assert.notEqual(chain.apply(createEvent()), null);
  });

  it('apply works detached from the chain object', () => {
    const { apply } = buildTransformChain({ transforms: 'f', 'transforms.f.type': 'Filter' });
    assert.equal(apply(createEvent()), null);
  });

  it('never modifies the input record (inputs are frozen)', () => {
    const chain = buildTransformChain({
      transforms: 'unwrap,mask,insert,rename,ts',
      'transforms.unwrap.type': 'unwrap',
      'transforms.unwrap.add.fields': 'op',
      'transforms.unwrap.add.headers': 'op',
      'transforms.mask.type': 'MaskField$Value',
      'transforms.mask.fields': 'email',
      'transforms.insert.type': 'InsertField$Value',
      'transforms.insert.topic.field': 'topic',
      'transforms.rename.type': 'ReplaceField$Value',
      'transforms.rename.renames': 'name:full_name',
      'transforms.ts.type': 'TimestampConverter$Value',
      'transforms.ts.field': 'updated_at',
      'transforms.ts.target.type': 'string',
      'transforms.ts.format': 'yyyy-MM-dd',
    });
    const input = createEvent();
    const snapshot = structuredClone(input);
    const output = kept(chain, input);
    assert.deepEqual(input, snapshot);
    assert.deepEqual(output.value, {
      id: 1,
      full_name: 'Alice',
      email: '',
      score: 9.5,
      active: true,
      updated_at: '2024-03-01',
      __op: 'c',
      topic: 'dbserver1.public.customers',
    });
  });
});

describe('transform chain: predicates', () => {
  const config = (negate?: string) => ({
    transforms: 'dropTombstones',
    'transforms.dropTombstones.type': 'org.apache.kafka.connect.transforms.Filter',
    'transforms.dropTombstones.predicate': 'isTombstone',
    ...(negate === undefined ? {} : { 'transforms.dropTombstones.negate': negate }),
    predicates: 'isTombstone',
    'predicates.isTombstone.type':
      'org.apache.kafka.connect.transforms.predicates.RecordIsTombstone',
  });

  it('applies the transform only where the predicate holds', () => {
    const chain = buildTransformChain(config());
    assert.equal(chain.apply(tombstone()), null);
    const input = createEvent();
    assert.equal(chain.apply(input), input);
  });

  it('negate=true applies it where the predicate does not hold', () => {
    const chain = buildTransformChain(config('TRUE'));
    const grave = tombstone();
    assert.equal(chain.apply(grave), grave);
    assert.equal(chain.apply(createEvent()), null);
  });

  it('one predicate can serve several transforms', () => {
    const chain = buildTransformChain({
      transforms: 'a,b',
      'transforms.a.type': 'InsertField$Value',
      'transforms.a.static.field': 'from_orders',
      'transforms.a.static.value': 'yes',
      'transforms.a.predicate': 'orders',
      'transforms.b.type': 'Filter',
      'transforms.b.predicate': 'orders',
      'transforms.b.negate': 'true',
      predicates: 'orders',
      'predicates.orders.type': 'TopicNameMatches',
      'predicates.orders.pattern': 'orders',
    });
    assert.deepEqual(kept(chain, sinkRecord({ n: 1 })).value, { n: 1, from_orders: 'yes' });
    assert.equal(chain.apply(sinkRecord({ n: 1 }, undefined, { topic: 'other' })), null);
  });
});

describe('transform chain: validation', () => {
  const fields = (config: Record<string, string>) =>
    validateTransformConfig(config).map((error) => error.field);

  it('accepts a valid config', () => {
    assert.deepEqual(
      validateTransformConfig({
        transforms: 'unwrap,route',
        'transforms.unwrap.type': 'unwrap',
        'transforms.route.type': 'RegexRouter',
        'transforms.route.regex': 'a(.*)',
        'transforms.route.replacement': 'b$1',
      }),
      [],
    );
  });

  it('reports a missing type', () => {
    const errors = validateTransformConfig({ transforms: 'x' });
    assert.deepEqual(errors, [
      {
        field: 'transforms.x.type',
        message: 'Missing required configuration "transforms.x.type" which has no default value.',
      },
    ]);
  });

  it('reports an unknown class, listing what is available', () => {
    const [error] = validateTransformConfig({
      transforms: 'x',
      'transforms.x.type': 'com.acme.Nope',
    });
    assert.equal(error!.field, 'transforms.x.type');
    assert.match(
      error!.message,
      /^Invalid value com\.acme\.Nope for configuration transforms\.x\.type: Class com\.acme\.Nope could not be found/,
    );
    assert.match(error!.message, /org\.apache\.kafka\.connect\.transforms\.RegexRouter/);
  });

  it('points an abstract name at its $Key/$Value variants', () => {
    const [error] = validateTransformConfig({
      transforms: 'x',
      'transforms.x.type': 'org.apache.kafka.connect.transforms.ReplaceField',
    });
    assert.match(
      error!.message,
      /abstract and cannot be created\. Did you mean org\.apache\.kafka\.connect\.transforms\.ReplaceField\$Key, org\.apache\.kafka\.connect\.transforms\.ReplaceField\$Value\?/,
    );
  });

  it('refuses a predicate class as a transform and the reverse', () => {
    const errors = validateTransformConfig({
      transforms: 'x',
      'transforms.x.type': 'RecordIsTombstone',
      predicates: 'p',
      'predicates.p.type': 'RegexRouter',
    });
    assert.deepEqual(
      errors.map((error) => [error.field, /Not a (Transformation|Predicate)/.test(error.message)]),
      [
        ['predicates.p.type', true],
        ['transforms.x.type', true],
      ],
    );
  });

  it('reports missing required options of each transform on their own keys', () => {
    assert.deepEqual(
      fields({
        transforms: 'route,mask,ts',
        'transforms.route.type': 'RegexRouter',
        'transforms.mask.type': 'MaskField$Value',
        'transforms.ts.type': 'TimestampConverter$Value',
      }),
      [
        'transforms.route.regex',
        'transforms.route.replacement',
        'transforms.mask.fields',
        'transforms.ts.target.type',
      ],
    );
  });

  it('reports bad regexes', () => {
    const errors = validateTransformConfig({
      transforms: 'route',
      'transforms.route.type': 'RegexRouter',
      'transforms.route.regex': 'orders(',
      'transforms.route.replacement': 'x',
      predicates: 'p',
      'predicates.p.type': 'TopicNameMatches',
      'predicates.p.pattern': '[a-',
    });
    assert.deepEqual(
      errors.map((error) => error.field),
      ['predicates.p.pattern', 'transforms.route.regex'],
    );
    assert.match(
      errors[1]!.message,
      /^Invalid value orders\( for configuration transforms\.route\.regex: not a valid regular expression/,
    );
  });

  it('reports a predicate that is not defined, and negate without a predicate', () => {
    assert.deepEqual(
      fields({
        transforms: 'a,b',
        'transforms.a.type': 'Filter',
        'transforms.a.predicate': 'nope',
        'transforms.b.type': 'Filter',
        'transforms.b.negate': 'true',
      }),
      ['transforms.a.predicate', 'transforms.b.negate'],
    );
  });

  it('reports a predicate whose type is missing or unknown, and a bad negate value', () => {
    assert.deepEqual(
      fields({
        transforms: 'a',
        'transforms.a.type': 'Filter',
        'transforms.a.predicate': 'p',
        'transforms.a.negate': 'yes',
        predicates: 'p,q',
        'predicates.q.type': 'Whatever',
      }),
      ['predicates.p.type', 'predicates.q.type', 'transforms.a.negate'],
    );
  });

  it('reports duplicate aliases', () => {
    assert.deepEqual(fields({ transforms: 'f,f', 'transforms.f.type': 'Filter' }), ['transforms']);
  });

  it('buildTransformChain throws the same errors', () => {
    const config = { transforms: 'route', 'transforms.route.type': 'RegexRouter' };
    assert.throws(
      () => buildTransformChain(config),
      (error: unknown) =>
        error instanceof TransformConfigError &&
        error.retriable === false &&
        error.errors.length === 2 &&
        error.message.includes('transforms.route.regex'),
    );
  });
});

describe('transform chain: runtime errors', () => {
  it('names the failing transform and does not mark the error retriable', () => {
    const chain = buildTransformChain({
      transforms: 'first,insert',
      'transforms.first.type': 'RegexRouter',
      'transforms.first.regex': 'x',
      'transforms.first.replacement': 'y',
      'transforms.insert.type': 'InsertField$Value',
      'transforms.insert.offset.field': 'offset',
    });
    // A source record has no offset: InsertField's offset.field is for sinks only.
    assert.throws(
      () => chain.apply(createEvent(alice, { schemas: false })),
      (error: unknown) =>
        error instanceof TransformDataError &&
        !error.retriable &&
        error.message.startsWith(
          'transform "insert" (org.apache.kafka.connect.transforms.InsertField$Value) failed',
        ) &&
        error.cause instanceof TransformDataError,
    );
  });
});

describe('transform plugins', () => {
  it('lists every transform and predicate with its type and version', () => {
    const infos = transformPluginInfos();
    const byClass = new Map(infos.map((info) => [info.class, info]));
    for (const name of [
      'io.debezium.transforms.ExtractNewRecordState',
      'org.apache.kafka.connect.transforms.RegexRouter',
      'org.apache.kafka.connect.transforms.Filter',
      'io.kafki.transforms.FilterByOperation',
      'org.apache.kafka.connect.transforms.ReplaceField$Key',
      'org.apache.kafka.connect.transforms.ReplaceField$Value',
      'org.apache.kafka.connect.transforms.MaskField$Value',
      'org.apache.kafka.connect.transforms.InsertField$Value',
      'org.apache.kafka.connect.transforms.TimestampConverter$Value',
    ]) {
      assert.equal(byClass.get(name)?.type, 'transformation', name);
    }
    for (const name of ['TopicNameMatches', 'HasHeaderKey', 'RecordIsTombstone']) {
      assert.equal(
        byClass.get(`org.apache.kafka.connect.transforms.predicates.${name}`)?.type,
        'predicate',
      );
    }
    assert.equal(
      byClass.get('io.kafki.transforms.predicates.ChangeEventMatches')?.type,
      'predicate',
    );
    assert.ok(infos.every((info) => /^\d+\.\d+\.\d+$/.test(info.version)));
    assert.deepEqual(
      infos.map((info) => info.class),
      [...infos.map((info) => info.class)].sort(),
    );
  });

  it('a custom registry can add plugins; name clashes are refused', () => {
    const upper: TransformPlugin = {
      kind: 'transformation',
      className: 'com.acme.UpperTopic',
      aliases: ['UpperTopic'],
      version: '2.0.0',
      summary: 'upper-cases the topic',
      create: () => (record) => ({ ...record, topic: record.topic.toUpperCase() }),
    };
    const registry = new SmtRegistry([upper], []);
    const chain = buildTransformChain(
      { transforms: 'u', 'transforms.u.type': 'UpperTopic' },
      registry,
    );
    const output = kept(chain, sinkRecord({}) as ConnectRecord);
    assert.equal(output.topic, 'ORDERS');
    assert.throws(
      () => new SmtRegistry([upper, { ...upper, className: 'com.acme.Other' }], []),
      /claimed by/,
    );
  });
});
