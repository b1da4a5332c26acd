// Driver errors → KafkiError codes, retriability and remedies.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KafkiError } from '../../../runtime/api/index.ts';
import { classifyPostgresError, PostgresErrorCode } from '../../../connectors/postgres/errors.ts';

const context = {
  host: 'db',
  port: 5432,
  database: 'inventory',
  user: 'kafki',
  slotName: 'kafki_slot',
  publicationName: 'kafki_pub',
};

function classify(error: unknown): KafkiError {
  return classifyPostgresError(error, context);
}

test('wal_level not logical: SQLSTATE 55000 with the server text, remedy in the message', () => {
  const error = classify({
    code: '55000',
    message: 'logical decoding requires wal_level >= logical',
  });
  assert.equal(error.code, PostgresErrorCode.walLevel);
  assert.equal(error.retriable, false);
  assert.match(error.message, /wal_level = logical/);
  assert.match(error.message, /restart/);
  // 55000 for another reason is not a wal_level problem
  assert.equal(
    classify({ code: '55000', message: 'something else' }).code,
    PostgresErrorCode.other,
  );
});

test('authentication, missing database, privileges', () => {
  const auth = classify({
    code: '28P01',
    message: 'password authentication failed for user "kafki"',
  });
  assert.equal(auth.code, PostgresErrorCode.authentication);
  assert.match(auth.message, /database\.password/);
  assert.equal(
    classify({ code: '28000', message: 'no pg_hba.conf entry' }).code,
    PostgresErrorCode.authentication,
  );
  assert.equal(
    classify({ code: '3D000', message: 'database "x" does not exist' }).code,
    PostgresErrorCode.databaseMissing,
  );
  const replication = classify({
    code: '42501',
    message: 'must be superuser or replication role to start walsender',
  });
  assert.equal(replication.code, PostgresErrorCode.replicationPrivilege);
  assert.match(replication.message, /ALTER ROLE "kafki" WITH REPLICATION/);
  assert.equal(
    classify({ code: '42501', message: 'permission denied for table t' }).code,
    PostgresErrorCode.privilege,
  );
});

test('slots and publications', () => {
  const inUse = classify({
    code: '55006',
    message: 'replication slot "kafki_slot" is active for PID 42',
  });
  assert.equal(inUse.code, PostgresErrorCode.slotInUse);
  assert.match(inUse.message, /kafki_slot/);
  assert.match(inUse.message, /slot\.name/);
  assert.equal(
    classify({ code: '42704', message: 'publication "kafki_pub" does not exist' }).code,
    PostgresErrorCode.publicationMissing,
  );
  assert.equal(
    classify({ code: '42704', message: 'replication slot "kafki_slot" does not exist' }).code,
    PostgresErrorCode.slotMissing,
  );
  assert.equal(
    classify({ code: '53400', message: 'all replication slots are in use' }).code,
    PostgresErrorCode.slotsExhausted,
  );
});

test('network failures and server restarts are retriable', () => {
  for (const error of [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    new Error('Connection terminated unexpectedly'),
    { code: '57P01', message: 'terminating connection due to administrator command' },
    { code: '57P03', message: 'the database system is starting up' },
    { code: '08006', message: 'connection failure' },
  ]) {
    const classified = classify(error);
    assert.equal(classified.retriable, true, classified.message);
  }
  assert.equal(classify(new Error('boom')).retriable, false);
  const already = new KafkiError('X', 'kept');
  assert.equal(classify(already), already);
});
