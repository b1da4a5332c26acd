// The typed config: defaults from the JSON Schema, Debezium's key names, cross-key rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInputError } from '../../../runtime/api/index.ts';
import {
  postgresConfig,
  postgresConfigErrors,
  postgresSourceSchema,
} from '../../../connectors/postgres/config.ts';

const required = {
  'database.hostname': 'db',
  'database.user': 'kafki',
  'database.dbname': 'inventory',
  'topic.prefix': 'srv',
};

test('defaults come from the schema (Debezium defaults)', () => {
  const config = postgresConfig(required);
  assert.equal(config.port, 5432);
  assert.equal(config.slotName, 'debezium');
  assert.equal(config.publicationName, 'dbz_publication');
  assert.equal(config.publicationAutocreateMode, 'all_tables');
  assert.equal(config.snapshotMode, 'initial');
  assert.equal(config.tombstonesOnDelete, true);
  assert.deepEqual([...config.skippedOperations], ['t']);
  assert.equal(config.typeModes.decimal, 'precise');
  assert.equal(config.typeModes.unavailablePlaceholder, '__debezium_unavailable_value');
  assert.equal(config.maxBatchSize, 512);
  assert.equal(config.maxQueueSizeInBytes, 1024 * 1024);
  assert.equal(config.heartbeatTopicPrefix, '__debezium-heartbeat');
  assert.ok(postgresSourceSchema.properties['database.password']?.['x-secret']);
});

test('parsed values and raw strings give the same config; never is no_data', () => {
  const raw = postgresConfig({
    ...required,
    'database.port': '6543',
    'tombstones.on.delete': 'false',
    'snapshot.mode': 'never',
    'skipped.operations': 'none',
  });
  const parsed = postgresConfig({
    ...required,
    'database.port': 6543,
    'tombstones.on.delete': false,
    'snapshot.mode': 'never',
    'skipped.operations': 'none',
  });
  assert.deepEqual(raw, parsed);
  assert.equal(raw.snapshotMode, 'no_data');
  assert.equal(raw.skippedOperations.size, 0);
});

test('bad values and missing keys are InvalidInputError naming the key', () => {
  assert.throws(
    () => postgresConfig({ ...required, 'topic.prefix': '' }),
    (error: unknown) => error instanceof InvalidInputError && /topic\.prefix/.test(error.message),
  );
  assert.throws(
    () => postgresConfig({ ...required, 'decimal.handling.mode': 'exact' }),
    /decimal\.handling\.mode/,
  );
  assert.throws(
    () => postgresConfig({ ...required, 'skipped.operations': 'x' }),
    /skipped\.operations/,
  );
});

test('cross-key rules and regexes', () => {
  const errors = postgresConfigErrors({
    ...required,
    'table.include.list': 'a.b',
    'table.exclude.list': 'c.d',
    'column.include.list': '(',
    'slot.name': 'Bad-Name',
  });
  const fields = errors.map((error) => error.field).sort();
  assert.deepEqual(fields, [
    'column.include.list',
    'slot.name',
    'table.exclude.list',
    'table.include.list',
  ]);
  assert.deepEqual(postgresConfigErrors(required), []);
  assert.deepEqual(
    postgresConfigErrors({ ...required, 'message.key.columns': 'nocolon' }).map(
      (error) => error.field,
    ),
    ['message.key.columns'],
  );
});
