// PostgreSQL text formats → Debezium numbers and strings, including the edges.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bitsToBytes,
  civilFromDays,
  daysFromCivil,
  decimalBytes,
  formatIsoInterval,
  formatZonedTime,
  formatZonedTimestamp,
  intervalMicros,
  parseArrayLiteral,
  parseDate,
  parseDecimal,
  parseHstore,
  parseIsoInterval,
  parseTime,
  parseTimestamp,
  parseTimestamptz,
  parseTimetz,
  plainMoney,
  unscaledBytes,
  zonedTimestampFromUtcText,
} from '../../../connectors/postgres/text-values.ts';
import { jsonBytes } from '../../../runtime/cdc/json-bytes.ts';

test('calendar arithmetic matches the proleptic Gregorian calendar', () => {
  for (const [y, m, d] of [
    [1970, 1, 1],
    [2000, 2, 29],
    [1900, 3, 1],
    [2038, 1, 19],
    [1, 1, 1],
    [-43, 3, 15],
  ] as const) {
    assert.deepEqual(civilFromDays(daysFromCivil(y, m, d)), [y, m, d]);
  }
  assert.equal(daysFromCivil(2024, 2, 29), Date.UTC(2024, 1, 29) / 86_400_000);
  assert.equal(parseDate('1969-12-31'), -1);
  assert.equal(parseDate('infinity'), 'infinity');
});

test('times and timestamps', () => {
  assert.equal(parseTime('00:00:00'), 0);
  assert.equal(parseTime('24:00:00'), 86_400_000_000);
  assert.equal(parseTime('13:45:06.5'), 49_506_500_000);
  assert.equal(parseTimestamp('1970-01-01 00:00:00.000001'), 1);
  assert.equal(parseTimestamp('1969-12-31 23:59:59.999999'), -1);
  assert.equal(parseTimestamp('-infinity'), '-infinity');
  assert.equal(
    parseTimestamptz('2024-02-29 13:45:06+05:30'),
    Date.UTC(2024, 1, 29, 8, 15, 6) * 1000,
  );
  assert.equal(parseTimestamptz('2024-02-29 13:45:06-03'), Date.UTC(2024, 1, 29, 16, 45, 6) * 1000);
  assert.equal(parseTimetz('01:00:00+02'), 23 * 3_600_000_000, 'wraps below midnight');
  assert.equal(formatZonedTime(parseTimetz('13:45:06+00')), '13:45:06Z');
  assert.equal(formatZonedTimestamp(0, 6), '1970-01-01T00:00:00.000000Z');
  assert.equal(formatZonedTimestamp(-1, 3), '1969-12-31T23:59:59.999Z');
  assert.equal(formatZonedTimestamp(Date.UTC(10000, 0, 1) * 1000, 0), '+10000-01-01T00:00:00Z');
  assert.equal(
    zonedTimestampFromUtcText('2024-02-29 13:45:06.12+00', 6),
    '2024-02-29T13:45:06.120000Z',
  );
  assert.equal(
    zonedTimestampFromUtcText('2024-02-29 13:45:06.123456+00', 2),
    '2024-02-29T13:45:06.12Z',
  );
  assert.equal(zonedTimestampFromUtcText('2024-02-29 13:45:06+01', 6), undefined);
});

test('intervals (IntervalStyle iso_8601)', () => {
  const parts = parseIsoInterval('P1Y2M3DT4H5M6.789S');
  assert.deepEqual(
    [parts.years, parts.months, parts.days, parts.hours, parts.minutes, parts.seconds],
    [1, 2, 3, 4, 5, 6.789],
  );
  assert.equal(formatIsoInterval(parseIsoInterval('PT0S')), 'P0Y0M0DT0H0M0S');
  assert.equal(formatIsoInterval(parseIsoInterval('PT1.500S')), 'P0Y0M0DT0H0M1.5S');
  assert.equal(intervalMicros(parseIsoInterval('P1M')), 30.4375 * 86_400_000_000);
  assert.equal(intervalMicros(parseIsoInterval('PT-0.000001S')), -1);
});

test("decimals: unscaled two's complement bytes as Java BigInteger.toByteArray()", () => {
  const hex = (buffer: Buffer | undefined) => buffer?.toString('hex');
  assert.equal(hex(unscaledBytes('0', false)), '00');
  assert.equal(hex(unscaledBytes('127', false)), '7f');
  assert.equal(hex(unscaledBytes('128', false)), '0080');
  assert.equal(hex(unscaledBytes('128', true)), '80');
  assert.equal(hex(unscaledBytes('129', true)), 'ff7f');
  assert.equal(hex(unscaledBytes('256', true)), 'ff00');
  assert.equal(hex(unscaledBytes('12345678901234567890123', false)), '029d42b64e76714244cb');
  assert.equal(hex(unscaledBytes('12345678901234567890123', true)), 'fd62bd49b1898ebdbb35');
  assert.deepEqual(parseDecimal('1.500'), { unscaled: jsonBytes(Buffer.from([15])), scale: 1 });
  assert.deepEqual(parseDecimal('100'), { unscaled: jsonBytes(Buffer.from([100])), scale: 0 });
  assert.deepEqual(parseDecimal('-0.000'), { unscaled: jsonBytes(Buffer.from([0])), scale: 0 });
  assert.deepEqual(parseDecimal('1.5', 3), {
    unscaled: jsonBytes(Buffer.from([0x05, 0xdc])),
    scale: 3,
  });
  assert.deepEqual(parseDecimal('12300', -2), {
    unscaled: jsonBytes(Buffer.from([123])),
    scale: -2,
  });
  assert.equal(parseDecimal('NaN'), undefined);
  assert.equal(parseDecimal('-Infinity'), undefined);
  const text = Buffer.from('x-98765.43y');
  assert.equal(
    hex(decimalBytes(text, 1, text.length - 1, 2)),
    hex(parseDecimal('-98765.43', 2)?.unscaled),
  );
  assert.equal(decimalBytes(Buffer.from('NaN'), 0, 3, 2), undefined);
  assert.equal(
    decimalBytes(Buffer.from('1234567890123456'), 0, 16, 2),
    undefined,
    'beyond 15 digits: general path',
  );
  assert.equal(plainMoney('-$1,234.56'), '-1234.56');
  assert.equal(plainMoney('($5.00)'), '-5.00');
});

test('arrays, hstore and bit strings', () => {
  assert.deepEqual(parseArrayLiteral('{}'), []);
  assert.deepEqual(parseArrayLiteral('{1,NULL,"NULL"}'), ['1', null, 'NULL']);
  assert.deepEqual(parseArrayLiteral('{{1,2},{3,4}}'), [
    ['1', '2'],
    ['3', '4'],
  ]);
  assert.deepEqual(parseArrayLiteral('{"a\\\\b","c\\"d"}'), ['a\\b', 'c"d']);
  assert.deepEqual(parseArrayLiteral('{(0,0),(1,1);(2,2),(3,3)}', ';'), [
    '(0,0),(1,1)',
    '(2,2),(3,3)',
  ]);
  assert.deepEqual(parseArrayLiteral('[0:1]={5,6}'), ['5', '6']);
  assert.throws(() => parseArrayLiteral('nope'));
  assert.deepEqual(parseHstore('"a"=>"1", "b c"=>NULL, "q\\"x"=>"y"'), [
    ['a', '1'],
    ['b c', null],
    ['q"x', 'y'],
  ]);
  assert.deepEqual(parseHstore(''), []);
  assert.deepEqual([...bitsToBytes('000')], []);
  assert.deepEqual([...bitsToBytes('1')], [1]);
  assert.deepEqual([...bitsToBytes('100000000')], [0, 1]);
});
