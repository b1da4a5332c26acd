import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseJson, stringifyJson } from '../../../runtime/converters/json-codec.ts';
import { JsonConverter } from '../../../runtime/converters/json-converter.ts';
import { StringConverter } from '../../../runtime/converters/string-converter.ts';
import { ConverterRegistry } from '../../../runtime/converters/registry.ts';
import type { ConnectSchema } from '../../../runtime/api/record.ts';

describe('JSON codec', () => {
  it('writes plain data exactly like JSON.stringify', () => {
    const value = { a: 1, b: 'x"y', c: [true, null, 2.5], d: { e: 'ü' } };
    assert.equal(stringifyJson(value), JSON.stringify(value));
  });

  it('writes 64-bit integers exactly and reads them back as bigint', () => {
    const big = 9223372036854775807n;
    const text = stringifyJson({ id: big, small: 5, nested: [big, -big] });
    assert.equal(
      text,
      '{"id":9223372036854775807,"small":5,"nested":[9223372036854775807,-9223372036854775807]}',
    );
    const back = parseJson(text) as Record<string, unknown>;
    assert.equal(back.id, big);
    assert.equal(back.small, 5);
    assert.deepEqual(back.nested, [big, -big]);
  });

  it('keeps safe integers as numbers even on the exact path', () => {
    const back = parseJson('{"a":9007199254740991,"b":"1234567890123456789","c":1.5e3}') as Record<
      string,
      unknown
    >;
    assert.equal(back.a, 9007199254740991);
    assert.equal(back.b, '1234567890123456789');
    assert.equal(back.c, 1500);
  });

  it('reads long integers exactly wherever they are, and only outside strings', () => {
    const big = 1732412345678901234n;
    assert.equal(parseJson('1732412345678901234'), big);
    assert.equal(parseJson(' -1732412345678901234 '), -big);
    assert.deepEqual(parseJson('[1732412345678901234, 1, 1732412345678901234]'), [big, 1, big]);
    assert.deepEqual(parseJson('{"a":{"b":[{"c":1732412345678901234}]},"d":1732412345678901}'), {
      a: { b: [{ c: big }] },
      d: 1732412345678901,
    });
    // digits in strings (also after escaped quotes and backslashes) stay text
    assert.deepEqual(
      parseJson(
        '{"s":"x:1732412345678901234,","t":"\\":1732412345678901234]\\\\","n":1732412345678901234}',
      ),
      { s: 'x:1732412345678901234,', t: '":1732412345678901234]\\', n: big },
    );
    // fractions and exponents stay numbers; a leading zero is still invalid JSON
    assert.deepEqual(
      parseJson('[1732412345678901234.5,1e1732412345678901234,0.17324123456789012345]'),
      [Number('1732412345678901234.5'), Infinity, Number('0.17324123456789012345')],
    );
    assert.throws(() => parseJson('[01732412345678901234]'), SyntaxError);
    assert.throws(() => parseJson('{"a":1732412345678901234 "b"}'), SyntaxError);
    assert.throws(() => parseJson('{"a":1,1732412345678901234}'), SyntaxError);
    // a text with an escaped NUL, and an own __proto__ member
    assert.deepEqual(parseJson('{"a":"\\u0000x","b":1732412345678901234}'), {
      a: '\u0000x',
      b: big,
    });
    const proto = parseJson('{"__proto__":1732412345678901234}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(proto, '__proto__')?.value, big);
  });

  it('writes Buffers as base64 strings, not as {"type":"Buffer"}', () => {
    assert.equal(stringifyJson({ raw: Buffer.from('hi') }), '{"raw":"aGk="}');
    // A user object that merely looks like a serialized Buffer stays what it is.
    const lookalike = { type: 'Buffer', data: [1] };
    assert.equal(stringifyJson(lookalike), JSON.stringify(lookalike));
  });

  it('rejects malformed JSON on the exact path too', () => {
    assert.throws(() => parseJson('{"a":12345678901234567890'), SyntaxError);
    assert.throws(() => parseJson('[12345678901234567890] x'), SyntaxError);
  });
});

describe('JsonConverter', () => {
  const schema: ConnectSchema = {
    type: 'struct',
    name: 'server.inventory.customers.Value',
    optional: false,
    fields: [
      { field: 'id', type: 'int64', optional: false },
      { field: 'email', type: 'string', optional: true },
      { field: 'photo', type: 'bytes', optional: true },
      { field: 'tags', type: 'array', items: { type: 'string' }, optional: true },
    ],
  };

  it("writes Kafka Connect's {schema, payload} envelope, field order included", () => {
    const bytes = new JsonConverter(true).fromConnect('t', schema, {
      id: 12345678901234567n,
      email: 'a@b.c',
      photo: Buffer.from([1, 2, 3]),
      tags: ['x'],
    });
    assert.equal(
      bytes!.toString(),
      '{"schema":{"type":"struct","fields":[' +
        '{"type":"int64","optional":false,"field":"id"},' +
        '{"type":"string","optional":true,"field":"email"},' +
        '{"type":"bytes","optional":true,"field":"photo"},' +
        '{"type":"array","items":{"type":"string","optional":false},"optional":true,"field":"tags"}],' +
        '"optional":false,"name":"server.inventory.customers.Value"},' +
        '"payload":{"id":12345678901234567,"email":"a@b.c","photo":"AQID","tags":["x"]}}',
    );
  });

  it('reads its own output back, bytes and 64-bit integers intact', () => {
    const converter = new JsonConverter(true);
    const value = { id: 12345678901234567n, email: null, photo: Buffer.from('zz'), tags: [] };
    const back = converter.toConnect('t', converter.fromConnect('t', schema, value));
    assert.equal(back.schema?.name, schema.name);
    assert.deepEqual(back.value, value);
  });

  it('decodes bytes nested in arrays, maps and structs', () => {
    const nested: ConnectSchema = {
      type: 'struct',
      name: 'nested',
      optional: false,
      fields: [
        {
          field: 'chunks',
          type: 'array',
          optional: true,
          items: { type: 'bytes', optional: true },
        },
        {
          field: 'blobs',
          type: 'map',
          optional: true,
          keys: { type: 'string', optional: false },
          values: { type: 'bytes', optional: false },
        },
        {
          field: 'inner',
          type: 'struct',
          optional: true,
          fields: [
            { field: 'raw', type: 'bytes', optional: true },
            { field: 'n', type: 'int32', optional: true },
          ],
        },
        { field: 'label', type: 'string', optional: true },
      ],
    };
    const converter = new JsonConverter(true);
    const value = {
      chunks: [Buffer.from([0, 255]), null],
      blobs: { a: Buffer.from('x'), b: Buffer.alloc(0) },
      inner: { raw: Buffer.from('raw'), n: 7 },
      label: 'AAEC',
    };
    for (let read = 0; read < 2; read++) {
      // the second read takes the known-head path
      const back = converter.toConnect('t', converter.fromConnect('t', nested, value));
      assert.deepEqual(back.value, value);
    }
  });

  it('reads envelopes of a schema read before without parsing it again (one schema object)', () => {
    const writer = new JsonConverter(true);
    const reader = new JsonConverter(true);
    const first = { id: 1, email: 'a', photo: Buffer.from('p'), tags: ['t'] };
    const second = { id: 12345678901234567n, email: null, photo: null, tags: null };
    const a = reader.toConnect('t', writer.fromConnect('t', schema, first));
    const b = reader.toConnect('t', writer.fromConnect('t', schema, second));
    assert.deepEqual(a.value, first);
    assert.deepEqual(b.value, second);
    assert.equal(b.schema, a.schema);
    // the same head with a null payload, and envelopes that only start like a known one
    const head = writer
      .fromConnect('t', schema, null)!
      .toString()
      .replace(/null}$/, '');
    assert.deepEqual(reader.toConnect('t', Buffer.from(`${head}null}`)), {
      schema: a.schema,
      value: null,
    });
    assert.throws(
      () => reader.toConnect('t', Buffer.from(`${head}{"id":1},"extra":2}`)),
      /requires "schema" and "payload"/,
    );
    assert.throws(
      () => reader.toConnect('t', Buffer.from(`${head}{"id":}`)),
      /the \d+ bytes are not valid JSON/,
    );
    // another spacing is read the slow way, the same
    const spaced = Buffer.from(`{"schema": {"type":"string","optional":true}, "payload": "x"}`);
    assert.deepEqual(reader.toConnect('t', spaced), {
      schema: { type: 'string', optional: true },
      value: 'x',
    });
  });

  it('writes schemaless data with schema null, and a null key/value without schema as null', () => {
    const converter = new JsonConverter(true);
    assert.equal(
      converter.fromConnect('t', undefined, { a: 1 })!.toString(),
      '{"schema":null,"payload":{"a":1}}',
    );
    assert.equal(converter.fromConnect('t', undefined, null), null);
    assert.equal(
      converter.fromConnect('t', { type: 'string', optional: true }, null)!.toString(),
      '{"schema":{"type":"string","optional":true},"payload":null}',
    );
  });

  it('without schemas.enable writes the data alone', () => {
    assert.equal(
      new JsonConverter(false).fromConnect('t', schema, { a: 1 })!.toString(),
      '{"a":1}',
    );
    assert.deepEqual(new JsonConverter(false).toConnect('t', Buffer.from('{"a":1}')), {
      value: { a: 1 },
    });
  });

  it('refuses plain JSON when schemas.enable expects an envelope, and broken JSON', () => {
    assert.throws(
      () => new JsonConverter(true).toConnect('t', Buffer.from('{"a":1}')),
      /requires "schema" and "payload"/,
    );
    assert.throws(
      () => new JsonConverter(false).toConnect('t', Buffer.from('{"password":"hunter2"')),
      (error: unknown) =>
        error instanceof Error &&
        /serialization error of topic t: the 21 bytes are not valid JSON/.test(error.message) &&
        !error.message.includes('hunter2') &&
        error.cause === undefined,
    );
  });

  it('is picked by class name or alias with its prefixed options; StringConverter round-trips text', () => {
    const registry = new ConverterRegistry();
    const { key, value } = registry.forConnector(
      {
        'key.converter': 'StringConverter',
        'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'value.converter.schemas.enable': false,
      },
      { key: 'json', value: 'json', keySchemasEnable: true, valueSchemasEnable: true },
    );
    assert.ok(key instanceof StringConverter);
    assert.equal(value.fromConnect('t', undefined, { a: 1 })!.toString(), '{"a":1}');
    assert.deepEqual(key.toConnect('t', key.fromConnect('t', undefined, 'héllo')), {
      schema: { type: 'string', optional: true },
      value: 'héllo',
    });
    assert.deepEqual(
      registry.problems({ 'key.converter': 'nope' }).map((p) => p.field),
      ['key.converter'],
    );
  });
});

describe('JSON writer of a record stream', () => {
  it('gives the same text as stringifyJson whichever path it takes', async () => {
    const { createJsonWriter } = await import('../../../runtime/converters/json-codec.ts');
    const write = createJsonWriter();
    const values = [
      { a: 1 },
      { b: 2n ** 63n },
      { c: 'plain' },
      { d: Buffer.from('x') },
      [1, 2],
      null,
    ];
    for (let round = 0; round < 300; round++) {
      for (const value of values) assert.equal(write(value), stringifyJson(value));
    }
  });
});
