import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SOURCE_VERSION_HEADER } from '../../../runtime/api/index.ts';
import {
  rankBits,
  sourceVersion,
  TransactionVersions,
} from '../../../connectors/postgres/change-version.ts';

const scale = 2 ** rankBits;

test('a version is the LSN × 2^10 plus the rank, exact beyond 2^53 and below 2^63', () => {
  assert.equal(sourceVersion(0x16b374d848), String(0x16b374d848 * scale));
  assert.equal(sourceVersion(0x16b374d848, 7), String(0x16b374d848 * scale + 7));
  const largest = Number.MAX_SAFE_INTEGER;
  const version = BigInt(sourceVersion(largest, scale - 1));
  assert.equal(version, BigInt(largest) * BigInt(scale) + BigInt(scale - 1));
  assert.ok(version < 2n ** 63n);
  // Ranks past the last share it.
  assert.equal(sourceVersion(100, scale + 5), String(100 * scale + scale - 1));
});

test('a transaction ranks its row messages two apart, the create of a key update in between', () => {
  const versions = new TransactionVersions();
  const at = (second = false) => Number(versions.headers(second)[SOURCE_VERSION_HEADER]);
  versions.begin(1000);
  versions.message();
  assert.equal(at(), 1000 * scale);
  versions.message();
  assert.equal(at(), 1000 * scale + 2);
  assert.equal(at(true), 1000 * scale + 3);
  assert.equal(at(), 1000 * scale + 2, 'the first event keeps its version');
  // A new transaction starts again at rank 0, at its own commit LSN.
  versions.begin(2000);
  versions.message();
  assert.equal(at(), 2000 * scale);
});

test('a big transaction stops ranking at the last rank and keeps its order (never goes back)', () => {
  const versions = new TransactionVersions();
  versions.begin(5);
  const seen: number[] = [];
  for (let i = 0; i < scale; i++) {
    versions.message();
    seen.push(Number(versions.headers()[SOURCE_VERSION_HEADER]));
    seen.push(Number(versions.headers(true)[SOURCE_VERSION_HEADER]));
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!);
  assert.equal(seen[scale - 1], 5 * scale + scale - 1, 'the 512th message reaches the last rank');
  assert.ok(seen.slice(scale - 1).every((version) => version === 5 * scale + scale - 1));
  assert.equal(new Set(seen.slice(0, scale - 1)).size, scale - 1, 'distinct before it');
});
