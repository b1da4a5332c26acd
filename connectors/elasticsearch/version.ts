// External versions from source positions. Elasticsearch keeps, per document, the highest
// version written (and, for index.gc_deletes, the version of a deleted one) and refuses older
// ones, so versioning every write by where the change sits in the source's log makes writes
// order-independent: a replay or a reordering never brings back an older row.
//
//   - The source's version header (SOURCE_VERSION_HEADER, kafki.source.version, see
//     runtime/api/record.ts): the commit position of the change's transaction, with the change's
//     rank within it in the low bits (PostgreSQL: connectors/postgres/change-version.ts), the
//     snapshot's consistent point for snapshot reads. Used first whenever present (after an explicit
//     external.version.header).
//   - PostgreSQL envelope without it: source.lsn, the change's own LSN. Snapshot reads (op r)
//     carry the snapshot's LSN (the slot's consistent point). A change of a transaction open across
//     the snapshot can have an LSN below it though it committed after it; only the commit
//     position (the header) orders those right.
//   - MySQL/MariaDB envelope: binlog file number × 2^32 + source.pos (a position is below 2^32;
//     file numbers stay far below 2^31, so this fits Elasticsearch's signed 64-bit version).
//   - Unwrapped record: a field such as __lsn (ExtractNewRecordState add.fields=lsn), or
//     __file/__pos, or a header.
// Versions are sent with version_type=external_gte: a replay of the same version is applied
// again instead of failing, and several changes of one row that share a position (one binlog
// event, or a source reporting commit positions) are applied in log order.

import type { RecordData, RecordHeaders } from '../../runtime/api/index.ts';

/** A source position: a non-negative integer up to 2^63-1. */
export type Position = number | bigint;

const maxVersion = 9223372036854775807n;
const twoTo32 = 4294967296;
const decimalPattern = /^\d{1,19}$/;
/** PostgreSQL's text form of an LSN, e.g. 16/B374D848. */
const lsnTextPattern = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** A numeric position from a number, a bigint, a decimal string or an LSN text; else undefined. */
export function toPosition(value: RecordData | undefined): Position | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
    case 'bigint':
      if (value < 0n || value > maxVersion) return undefined;
      return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    case 'string': {
      if (decimalPattern.test(value)) {
        if (value.length <= 15) return Number(value);
        return toPosition(BigInt(value));
      }
      const lsn = lsnTextPattern.exec(value);
      if (lsn) return toPosition(BigInt(`0x${lsn[1]}`) * 4294967296n + BigInt(`0x${lsn[2]}`));
      return undefined;
    }
    default:
      return undefined;
  }
}

/** The number at the end of a binlog file name (mysql-bin.000042 → 42). */
function binlogFileNumber(file: RecordData | undefined): number | undefined {
  if (typeof file !== 'string') return undefined;
  const match = /(\d+)$/.exec(file);
  if (!match) return undefined;
  const number = Number(match[1]);
  return Number.isSafeInteger(number) ? number : undefined;
}

/** MySQL/MariaDB: file number × 2^32 + position, as one ordered 64-bit value. */
export function binlogPosition(
  file: RecordData | undefined,
  pos: RecordData | undefined,
): Position | undefined {
  const fileNumber = binlogFileNumber(file);
  const position = toPosition(pos);
  if (fileNumber === undefined || position === undefined || position >= twoTo32) return undefined;
  const combined = fileNumber * twoTo32 + Number(position);
  if (Number.isSafeInteger(combined)) return combined;
  return toPosition(BigInt(fileNumber) * BigInt(twoTo32) + BigInt(position));
}

/** The position of a Debezium envelope from its source block (PostgreSQL lsn, MySQL file/pos). */
export function envelopePosition(source: RecordData | undefined): Position | undefined {
  if (source === null || typeof source !== 'object' || Array.isArray(source)) return undefined;
  if (Buffer.isBuffer(source)) return undefined;
  const block = source as { [field: string]: RecordData };
  const lsn = toPosition(block.lsn);
  if (lsn !== undefined) return lsn;
  if (block.file !== undefined && block.pos !== undefined) {
    return binlogPosition(block.file, block.pos);
  }
  return undefined;
}

/** The position an unwrapped row carries in `field` (e.g. __lsn) or in __file/__pos. */
export function fieldPosition(
  row: { [field: string]: RecordData },
  field: string | undefined,
): Position | undefined {
  if (field !== undefined) {
    const value = row[field];
    if (value !== undefined) {
      const position = toPosition(value);
      if (position !== undefined) return position;
    }
  }
  if (row.__file !== undefined && row.__pos !== undefined) {
    return binlogPosition(row.__file, row.__pos);
  }
  return undefined;
}

export function headerPosition(
  headers: RecordHeaders | undefined,
  name: string | undefined,
): Position | undefined {
  if (headers === undefined || name === undefined) return undefined;
  const value = headers[name];
  return value === undefined ? undefined : toPosition(value.trim());
}

export function maxPosition(a: Position | undefined, b: Position): Position {
  return a === undefined || b > a ? b : a;
}
