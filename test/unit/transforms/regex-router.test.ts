import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileJavaRegex,
  parseJavaReplacement,
  renderReplacement,
  splitPatternList,
} from '../../../runtime/transforms/java-regex.ts';
import { validateTransformConfig } from '../../../runtime/transforms/index.ts';
import { TOPIC, createEvent, kept, single } from './fixtures.ts';

const ROUTER = 'org.apache.kafka.connect.transforms.RegexRouter';
const route = (regex: string, replacement: string) => single(ROUTER, { regex, replacement });

describe('RegexRouter', () => {
  it('rewrites a fully matching topic with group references', () => {
    const chain = route('dbserver1\\.([^.]+)\\.([^.]+)', 'cdc_$1_$2');
    const input = createEvent();
    const output = kept(chain, input);
    assert.equal(output.topic, 'cdc_public_customers');
    // Only the topic changes.
    assert.equal(output.value, input.value);
    assert.equal(output.valueSchema, input.valueSchema);
    assert.deepEqual(output.sourcePartition, input.sourcePartition);
  });

  it('needs a full match, like Matcher.matches(): a partial match leaves the topic alone', () => {
    const input = createEvent();
    assert.equal(route('customers', 'c').apply(input), input);
    assert.equal(route('dbserver1', 'x').apply(input), input);
    assert.equal(kept(route('.*customers', 'c'), input).topic, 'c');
  });

  it('supports named groups and escaped dollars in the replacement', () => {
    const chain = route(
      '(?<server>[^.]+)\\.(?<schema>[^.]+)\\.(?<table>[^.]+)',
      '${table}.\\$v1-${server}',
    );
    assert.equal(kept(chain, createEvent()).topic, 'customers.$v1-dbserver1');
  });

  it('translates a leading (?i) flag', () => {
    assert.equal(kept(route('(?i)DBSERVER1\\..*', 'matched'), createEvent()).topic, 'matched');
    assert.equal(route('DBSERVER1\\..*', 'matched').apply(createEvent())?.topic, TOPIC);
  });

  it('treats \\Q…\\E as a literal', () => {
    assert.equal(
      kept(route('\\Qdbserver1.public.\\E(.*)', '$1'), createEvent()).topic,
      'customers',
    );
  });

  it('an unmatched optional group contributes nothing', () => {
    assert.equal(
      kept(route('dbserver1\\.(x)?(.*)', '[$1]$2'), createEvent()).topic,
      '[]public.customers',
    );
  });

  it('validates regex and replacement together', () => {
    const errors = (regex: string, replacement: string) =>
      validateTransformConfig({
        transforms: 'r',
        'transforms.r.type': 'RegexRouter',
        'transforms.r.regex': regex,
        'transforms.r.replacement': replacement,
      });
    assert.deepEqual(errors('(a)(b)', '$1$2'), []);
    assert.deepEqual(
      errors('(a)', '$2').map((error) => [error.field, error.message]),
      [
        [
          'transforms.r.replacement',
          'Invalid value $2 for configuration transforms.r.replacement: No group 2',
        ],
      ],
    );
    assert.match(errors('(?<x>a)', '${y}')[0]!.message, /No group with name \{y\}/);
    assert.match(errors('a', 'b\\')[0]!.message, /character to be escaped is missing/);
    assert.match(errors('a', 'cost$')[0]!.message, /Illegal group reference/);
    assert.match(errors('', 'x')[0]!.message, /must be non-empty/);
    // An empty replacement is allowed (Kafka Connect only requires the key).
    assert.deepEqual(errors('a', ''), []);
  });
});

describe('Java regex translation', () => {
  const message = (source: string) => {
    const compiled = compileJavaRegex(source, true);
    return compiled.ok ? 'ok' : compiled.message;
  };

  it('refuses Java-only syntax instead of silently changing its meaning', () => {
    assert.match(message('a++'), /possessive/);
    assert.match(message('(?>ab)c'), /atomic/);
    assert.match(message('\\p{Alpha}+'), /\\p\{…\} is not supported/);
    assert.match(message('[a-z&&[^aeiou]]'), /nested|intersection/);
    assert.match(message('a(?i:b)'), /inline flags/);
    assert.match(message('(?x)a b'), /\(\?x\) is not supported/);
  });

  it('accepts the common syntax and counts groups', () => {
    const compiled = compileJavaRegex('(a)(?:b)(?<name>c)(d(e))', false);
    assert.ok(compiled.ok);
    assert.equal(compiled.value.groupCount, 4);
    assert.deepEqual(compiled.value.groupNames, ['name']);
  });

  it('anchors for a full match, also across alternatives', () => {
    const compiled = compileJavaRegex('a|b', true);
    assert.ok(compiled.ok);
    assert.equal(compiled.value.regex.test('ab'), false);
    assert.equal(compiled.value.regex.test('b'), true);
  });

  it('maps \\A and \\z, and a leading ] in a class', () => {
    const anchors = compileJavaRegex('\\Aab\\z', false);
    assert.ok(anchors.ok && anchors.value.regex.test('ab') && !anchors.value.regex.test('xab'));
    const bracket = compileJavaRegex('[]a]+', true);
    assert.ok(bracket.ok && bracket.value.regex.test(']a]'));
  });

  it('reads multi-digit group references only while the group exists, as Java does', () => {
    const compiled = compileJavaRegex('(a)', true);
    assert.ok(compiled.ok);
    const parts = parseJavaReplacement('$10', compiled.value);
    assert.ok(parts.ok);
    assert.deepEqual(parts.value, [1, '0']);
    assert.equal(renderReplacement(parts.value, compiled.value.regex.exec('a')!), 'a0');
  });

  it('splits pattern lists on top-level commas only', () => {
    assert.deepEqual(splitPatternList('public\\.a, inventory\\.x{1,3} ,,(b,c)'), [
      'public\\.a',
      'inventory\\.x{1,3}',
      '(b,c)',
    ]);
  });
});
