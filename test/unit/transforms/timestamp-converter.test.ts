import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectSchema } from '../../../runtime/api/record.ts';
import { compileDateFormat } from '../../../runtime/transforms/date-format.ts';
import { buildTransformChain, validateTransformConfig } from '../../../runtime/transforms/index.ts';
import { alice, createEvent, customerRowSchema, kept, single, sinkRecord } from './fixtures.ts';

const VALUE = 'org.apache.kafka.connect.transforms.TimestampConverter$Value';
/** 2024-03-01T12:34:56.789Z */
const MS = 1_709_296_496_789;
const DAY = 19_783; // 2024-03-01
const TIME = 45_296_789; // 12:34:56.789
const TIMESTAMP_NAME = 'org.apache.kafka.connect.data.Timestamp';

const convert = (options: Record<string, string>) => single(VALUE, options);
const chainConfigFor = (field: string) => ({
  transforms: 'ts',
  'transforms.ts.field': field,
  'transforms.ts.target.type': 'unix',
});
const fieldOf = (schema: ConnectSchema | undefined, name: string) =>
  schema?.fields?.find((member) => member.field === name);

describe('TimestampConverter$Value on a field with a schema', () => {
  const row = () => sinkRecord({ ...alice }, customerRowSchema);

  it('Timestamp → string with a SimpleDateFormat pattern, in UTC', () => {
    const output = kept(
      convert({
        field: 'updated_at',
        'target.type': 'string',
        format: "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
      }),
      row(),
    );
    assert.equal((output.value as Record<string, unknown>).updated_at, '2024-03-01T12:34:56.789Z');
    assert.deepEqual(fieldOf(output.valueSchema, 'updated_at'), {
      type: 'string',
      optional: true,
      field: 'updated_at',
    });
    // Other fields and the struct's identity are kept.
    assert.deepEqual(fieldOf(output.valueSchema, 'name'), fieldOf(customerRowSchema, 'name'));
    assert.equal(output.valueSchema?.name, customerRowSchema.name);
  });

  it('Timestamp → unix in every precision', () => {
    const expected: Record<string, number | bigint> = {
      seconds: 1_709_296_496,
      milliseconds: MS,
      microseconds: MS * 1000,
      nanoseconds: BigInt(MS) * 1_000_000n,
    };
    for (const [precision, value] of Object.entries(expected)) {
      const output = kept(
        convert({ field: 'updated_at', 'target.type': 'unix', 'unix.precision': precision }),
        row(),
      );
      assert.equal((output.value as Record<string, unknown>).updated_at, value, precision);
      assert.equal(fieldOf(output.valueSchema, 'updated_at')?.type, 'int64');
      assert.equal(fieldOf(output.valueSchema, 'updated_at')?.name, undefined);
    }
  });

  it('Timestamp → Date and Time as Connect logical numbers', () => {
    const date = kept(convert({ field: 'updated_at', 'target.type': 'Date' }), row());
    assert.equal((date.value as Record<string, unknown>).updated_at, DAY);
    assert.deepEqual(fieldOf(date.valueSchema, 'updated_at'), {
      type: 'int32',
      optional: true,
      name: 'org.apache.kafka.connect.data.Date',
      version: 1,
      field: 'updated_at',
    });
    const time = kept(convert({ field: 'updated_at', 'target.type': 'Time' }), row());
    assert.equal((time.value as Record<string, unknown>).updated_at, TIME);
    assert.equal(
      fieldOf(time.valueSchema, 'updated_at')?.name,
      'org.apache.kafka.connect.data.Time',
    );
  });

  it('string → Timestamp, parsing with the format', () => {
    const schema: ConnectSchema = { type: 'struct', fields: [{ field: 'at', type: 'string' }] };
    const output = kept(
      convert({ field: 'at', 'target.type': 'Timestamp', format: 'dd/MM/yyyy HH:mm:ss' }),
      sinkRecord({ at: '01/03/2024 12:34:56' }, schema),
    );
    assert.equal((output.value as Record<string, unknown>).at, MS - 789);
    assert.deepEqual(fieldOf(output.valueSchema, 'at'), {
      type: 'int64',
      optional: false,
      name: TIMESTAMP_NAME,
      version: 1,
      field: 'at',
    });
  });

  it('int64 is read as unix time in unix.precision', () => {
    const schema: ConnectSchema = {
      type: 'struct',
      fields: [{ field: 'at', type: 'int64', optional: true }],
    };
    const output = kept(
      convert({ field: 'at', 'target.type': 'Timestamp', 'unix.precision': 'microseconds' }),
      sinkRecord({ at: MS * 1000 + 999 }, schema),
    );
    assert.equal((output.value as Record<string, unknown>).at, MS);
  });

  it('keeps null field values null', () => {
    const output = kept(
      convert({ field: 'updated_at', 'target.type': 'unix' }),
      sinkRecord({ ...alice, updated_at: null }, customerRowSchema),
    );
    assert.equal((output.value as Record<string, unknown>).updated_at, null);
  });

  it('refuses a schema type that is no timestamp', () => {
    assert.throws(
      () => convert({ field: 'score', 'target.type': 'unix' }).apply(row()),
      /does not correspond to a known timestamp type format/,
    );
  });

  it('reports an input string that does not match the pattern', () => {
    const schema: ConnectSchema = { type: 'struct', fields: [{ field: 'at', type: 'string' }] };
    assert.throws(
      () =>
        convert({ field: 'at', 'target.type': 'unix', format: 'yyyy-MM-dd' }).apply(
          sinkRecord({ at: 'March 1' }, schema),
        ),
      /Could not parse timestamp: value \(March 1\) does not match pattern \(yyyy-MM-dd\)/,
    );
  });
});

describe('TimestampConverter on whole values and without schemas', () => {
  it('converts the whole value with its schema', () => {
    const output = kept(
      convert({ 'target.type': 'string', format: 'yyyy-MM-dd' }),
      sinkRecord(MS, { type: 'int64', name: TIMESTAMP_NAME, version: 1 }),
    );
    assert.equal(output.value, '2024-03-01');
    assert.deepEqual(output.valueSchema, { type: 'string', optional: false });
  });

  it('infers the input kind from the value without a schema', () => {
    const toString = convert({ field: 'at', 'target.type': 'string', format: 'yyyyMMddHHmmss' });
    assert.deepEqual(kept(toString, sinkRecord({ at: MS })).value, { at: '20240301123456' });
    const toUnix = convert({
      field: 'at',
      'target.type': 'unix',
      format: 'yyyyMMddHHmmss',
      'unix.precision': 'seconds',
    });
    assert.deepEqual(kept(toUnix, sinkRecord({ at: '20240301123456' })).value, {
      at: 1_709_296_496,
    });
    assert.equal(kept(convert({ 'target.type': 'Date' }), sinkRecord(MS)).value, DAY);
  });

  it('converts a timestamp in the key, leaving the value alone', () => {
    const keySchema: ConnectSchema = {
      type: 'struct',
      name: 'events.Key',
      fields: [{ field: 'at', type: 'int64', name: TIMESTAMP_NAME, version: 1 }],
    };
    const input = sinkRecord({ n: 1 }, undefined, { key: { at: MS }, keySchema });
    const chain = buildTransformChain({
      transforms: 'ts',
      'transforms.ts.type': 'TimestampConverter$Key',
      'transforms.ts.field': 'at',
      'transforms.ts.target.type': 'unix',
      'transforms.ts.unix.precision': 'seconds',
    });
    const output = kept(chain, input);
    assert.deepEqual(output.key, { at: 1_709_296_496 });
    assert.deepEqual(output.keySchema?.fields, [{ type: 'int64', optional: false, field: 'at' }]);
    assert.equal(output.keySchema?.name, 'events.Key');
    assert.equal(output.value, input.value);
    // An int32 column is not a timestamp type in Kafka Connect's eyes.
    assert.throws(
      () =>
        buildTransformChain({
          ...chainConfigFor('id'),
          'transforms.ts.type': 'TimestampConverter$Key',
        }).apply(createEvent()),
      /known timestamp type/,
    );
  });

  it('validates its options', () => {
    const fields = (options: Record<string, string>) => {
      const config: Record<string, string> = { transforms: 't', 'transforms.t.type': VALUE };
      for (const [name, value] of Object.entries(options)) config[`transforms.t.${name}`] = value;
      return validateTransformConfig(config).map((error) => error.field);
    };
    assert.deepEqual(fields({}), ['transforms.t.target.type']);
    assert.deepEqual(fields({ 'target.type': 'iso' }), ['transforms.t.target.type']);
    assert.deepEqual(fields({ 'target.type': 'string' }), ['transforms.t.format']);
    assert.deepEqual(fields({ 'target.type': 'string', format: 'yyyy-MM-dd Q' }), [
      'transforms.t.format',
    ]);
    assert.deepEqual(fields({ 'target.type': 'unix', 'unix.precision': 'hours' }), [
      'transforms.t.unix.precision',
    ]);
    assert.deepEqual(fields({ 'target.type': 'Timestamp', field: 'at' }), []);
  });
});

describe('SimpleDateFormat subset', () => {
  const format = (pattern: string) => {
    const compiled = compileDateFormat(pattern);
    assert.ok(compiled.ok, pattern);
    return compiled.value;
  };

  it('formats the supported letters', () => {
    assert.equal(format('EEE, d MMM yyyy HH:mm:ss Z').format(MS), 'Fri, 1 Mar 2024 12:34:56 +0000');
    assert.equal(
      format("EEEE MMMM dd yy h:mm a 'o''clock'").format(MS),
      "Friday March 01 24 12:34 PM o'clock",
    );
    assert.equal(
      format('y-M-d H:m:s.S').format(Date.UTC(2024, 0, 2, 3, 4, 5, 6)),
      '2024-1-2 3:4:5.6',
    );
    // S counts milliseconds, so SSSSSS pads the milliseconds: a classic SimpleDateFormat trap.
    assert.equal(format('ss.SSSSSS').format(MS), '56.000789');
  });

  it('parses what it formats, with zone offsets applied', () => {
    for (const pattern of [
      "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
      'dd MMM yyyy hh:mm:ss.SSS a',
      'yyyyMMddHHmmssSSS',
    ]) {
      const compiled = format(pattern);
      assert.deepEqual(compiled.parse(compiled.format(MS)), { ok: true, value: MS }, pattern);
    }
    const zoned = format("yyyy-MM-dd'T'HH:mmXXX");
    assert.deepEqual(zoned.parse('2024-03-01T14:34+02:00'), { ok: true, value: MS - 56_789 });
    assert.deepEqual(format('yyyy-MM-dd HH:mm Z').parse('2024-03-01 07:34 -0500'), {
      ok: true,
      value: MS - 56_789,
    });
  });

  it('is lenient like SimpleDateFormat: trailing text ignored, out-of-range fields roll over', () => {
    assert.deepEqual(format('yyyy-MM-dd').parse('2024-03-01T12:00'), {
      ok: true,
      value: Date.UTC(2024, 2, 1),
    });
    assert.deepEqual(format('yyyy-MM-dd').parse('2024-13-01'), {
      ok: true,
      value: Date.UTC(2025, 0, 1),
    });
    assert.equal(format('yyyy-MM-dd').parse('2024/03/01').ok, false);
  });

  it('refuses unsupported letters and unterminated quotes', () => {
    assert.equal(compileDateFormat('yyyy-ww').ok, false);
    assert.equal(compileDateFormat("yyyy 'at").ok, false);
    assert.equal(compileDateFormat('XXXX').ok, false);
  });
});
