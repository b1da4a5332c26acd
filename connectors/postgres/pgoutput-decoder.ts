// A lean decoder for the pgoutput logical replication protocol (protocol version 1), as documented
// in PostgreSQL's "Logical Replication Message Formats". It decodes the message envelope only:
// row data (TupleData) is left in the buffer and described by offsets, so the caller converts each
// column straight from its text bytes to the output representation without an intermediate string
// or object per column.
//
// Lifetime: insert/update/delete messages point into the buffer they were decoded from. The pg
// driver reuses its read buffer once the synchronous 'data' handler returned, so consume (or copy
// with `detachMessage`) before yielding to the event loop.
//
// LSNs and timestamps are JS numbers: exact up to 2^53 (8 PiB of WAL; microsecond times until the
// year 2255).

/** Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01). */
export const pgEpochMicros = 946_684_800_000_000;

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

export interface RelationColumn {
  name: string;
  typeOid: number;
  typeModifier: number;
  /** Part of the replica identity (not necessarily the primary key). */
  isKey: boolean;
}

export interface BeginMessage {
  tag: 'begin';
  /** LSN of the transaction's commit record. */
  finalLsn: number;
  /** Commit time, microseconds since the Unix epoch. */
  commitTimeUs: number;
  xid: number;
}

export interface CommitMessage {
  tag: 'commit';
  flags: number;
  /** LSN of the commit record. */
  commitLsn: number;
  /** LSN just past the commit record: the position to acknowledge once the transaction is durable. */
  endLsn: number;
  commitTimeUs: number;
}

export interface OriginMessage {
  tag: 'origin';
  originLsn: number;
  name: string;
}

export interface RelationMessage {
  tag: 'relation';
  relationId: number;
  schema: string;
  name: string;
  replicaIdentity: ReplicaIdentity;
  columns: RelationColumn[];
}

export interface TypeMessage {
  tag: 'type';
  typeOid: number;
  schema: string;
  name: string;
}

/** 'K': the old key (replica identity columns); 'O': the whole old row (REPLICA IDENTITY FULL). */
export type OldTupleKind = 'K' | 'O';

export interface InsertMessage {
  tag: 'insert';
  relationId: number;
  data: Buffer;
  /** Offset of the new row's TupleData in `data`. */
  newTuple: number;
}

export interface UpdateMessage {
  tag: 'update';
  relationId: number;
  data: Buffer;
  oldKind: OldTupleKind | null;
  /** Offset of the old row's TupleData, -1 when the server sent none. */
  oldTuple: number;
  newTuple: number;
}

export interface DeleteMessage {
  tag: 'delete';
  relationId: number;
  data: Buffer;
  oldKind: OldTupleKind;
  oldTuple: number;
}

export interface TruncateMessage {
  tag: 'truncate';
  relationIds: number[];
  cascade: boolean;
  restartIdentity: boolean;
}

/** pg_logical_emit_message() output (requires the `messages` option). */
export interface LogicalMessage {
  tag: 'message';
  transactional: boolean;
  lsn: number;
  prefix: string;
  content: Buffer;
}

export type PgoutputMessage =
  | BeginMessage
  | CommitMessage
  | OriginMessage
  | RelationMessage
  | TypeMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalMessage;

export class PgoutputProtocolError extends Error {
  override readonly name = 'PgoutputProtocolError';
}

export function readLsn(data: Buffer, offset: number): number {
  return data.readUInt32BE(offset) * 4294967296 + data.readUInt32BE(offset + 4);
}

function readTimestamp(data: Buffer, offset: number): number {
  return data.readInt32BE(offset) * 4294967296 + data.readUInt32BE(offset + 4) + pgEpochMicros;
}

function cstringEnd(data: Buffer, offset: number): number {
  const end = data.indexOf(0, offset);
  if (end < 0) throw new PgoutputProtocolError(`unterminated string at offset ${offset}`);
  return end;
}

const identities: Record<number, ReplicaIdentity> = {
  0x64: 'default',
  0x6e: 'nothing',
  0x66: 'full',
  0x69: 'index',
};

/** Offset just past the TupleData starting at `offset`. */
export function skipTuple(data: Buffer, offset: number): number {
  const count = data.readInt16BE(offset);
  let position = offset + 2;
  for (let i = 0; i < count; i++) {
    const kind = data[position++];
    if (kind === 0x74 || kind === 0x62) position += 4 + data.readInt32BE(position);
    else if (kind !== 0x6e && kind !== 0x75)
      throw new PgoutputProtocolError(`unknown tuple column kind 0x${kind?.toString(16)}`);
  }
  return position;
}

/** One column of a TupleData, for tests and diagnostics (the hot path reads the bytes directly). */
export type TupleValue =
  | { kind: 'null' }
  | { kind: 'unchanged-toast' }
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Buffer };

export function readTuple(data: Buffer, offset: number): TupleValue[] {
  const count = data.readInt16BE(offset);
  let position = offset + 2;
  const values: TupleValue[] = [];
  for (let i = 0; i < count; i++) {
    const kind = data[position++];
    if (kind === 0x6e) values.push({ kind: 'null' });
    else if (kind === 0x75) values.push({ kind: 'unchanged-toast' });
    else if (kind !== 0x74 && kind !== 0x62) {
      throw new PgoutputProtocolError(`unknown tuple column kind 0x${kind?.toString(16)}`);
    } else {
      const length = data.readInt32BE(position);
      position += 4;
      if (position + length > data.length) {
        throw new PgoutputProtocolError('tuple runs past the message');
      }
      values.push(
        kind === 0x74
          ? { kind: 'text', text: data.toString('utf8', position, position + length) }
          : { kind: 'binary', bytes: Buffer.from(data.subarray(position, position + length)) },
      );
      position += length;
    }
  }
  return values;
}

function decodeRelation(data: Buffer, start: number): RelationMessage {
  const relationId = data.readUInt32BE(start + 1);
  let position = start + 5;
  let end = cstringEnd(data, position);
  const schema = data.toString('utf8', position, end);
  position = end + 1;
  end = cstringEnd(data, position);
  const name = data.toString('utf8', position, end);
  position = end + 1;
  const replicaIdentity = identities[data[position++]!] ?? 'default';
  const count = data.readInt16BE(position);
  position += 2;
  const columns: RelationColumn[] = [];
  for (let i = 0; i < count; i++) {
    const flags = data[position++]!;
    end = cstringEnd(data, position);
    const columnName = data.toString('utf8', position, end);
    position = end + 1;
    const typeOid = data.readUInt32BE(position);
    const typeModifier = data.readInt32BE(position + 4);
    position += 8;
    columns.push({ name: columnName, typeOid, typeModifier, isKey: (flags & 1) === 1 });
  }
  return { tag: 'relation', relationId, schema, name, replicaIdentity, columns };
}

/**
 * Decode one pgoutput message starting at `start` (0 for a bare payload; 25 for a whole XLogData
 * CopyData message, so the stream decodes the driver's chunk without another Buffer view).
 */
export function decodePgoutput(data: Buffer, start = 0): PgoutputMessage {
  try {
    return decodeMessage(data, start);
  } catch (error) {
    if (error instanceof RangeError) {
      throw new PgoutputProtocolError(
        `truncated pgoutput message (type 0x${data[start]?.toString(16)}, ${data.length - start} bytes)`,
      );
    }
    throw error;
  }
}

function decodeMessage(data: Buffer, s: number): PgoutputMessage {
  switch (data[s]) {
    case 0x49: // 'I'
      if (data[s + 5] !== 0x4e) throw new PgoutputProtocolError('insert without a new tuple');
      return { tag: 'insert', relationId: data.readUInt32BE(s + 1), data, newTuple: s + 6 };
    case 0x55: {
      // 'U'
      const relationId = data.readUInt32BE(s + 1);
      const marker = data[s + 5];
      if (marker === 0x4b || marker === 0x4f) {
        const newMarker = skipTuple(data, s + 6);
        if (data[newMarker] !== 0x4e) throw new PgoutputProtocolError('update without a new tuple');
        return {
          tag: 'update',
          relationId,
          data,
          oldKind: marker === 0x4b ? 'K' : 'O',
          oldTuple: s + 6,
          newTuple: newMarker + 1,
        };
      }
      if (marker !== 0x4e) throw new PgoutputProtocolError('update without a new tuple');
      return { tag: 'update', relationId, data, oldKind: null, oldTuple: -1, newTuple: s + 6 };
    }
    case 0x44: {
      // 'D'
      const marker = data[s + 5];
      if (marker !== 0x4b && marker !== 0x4f)
        throw new PgoutputProtocolError('delete without an old tuple');
      return {
        tag: 'delete',
        relationId: data.readUInt32BE(s + 1),
        data,
        oldKind: marker === 0x4b ? 'K' : 'O',
        oldTuple: s + 6,
      };
    }
    case 0x42: // 'B'
      return {
        tag: 'begin',
        finalLsn: readLsn(data, s + 1),
        commitTimeUs: readTimestamp(data, s + 9),
        xid: data.readUInt32BE(s + 17),
      };
    case 0x43: // 'C'
      return {
        tag: 'commit',
        flags: data[s + 1]!,
        commitLsn: readLsn(data, s + 2),
        endLsn: readLsn(data, s + 10),
        commitTimeUs: readTimestamp(data, s + 18),
      };
    case 0x52: // 'R'
      return decodeRelation(data, s);
    case 0x59: {
      // 'Y'
      const typeOid = data.readUInt32BE(s + 1);
      const schemaEnd = cstringEnd(data, s + 5);
      const nameEnd = cstringEnd(data, schemaEnd + 1);
      return {
        tag: 'type',
        typeOid,
        schema: data.toString('utf8', s + 5, schemaEnd),
        name: data.toString('utf8', schemaEnd + 1, nameEnd),
      };
    }
    case 0x54: {
      // 'T'
      const count = data.readUInt32BE(s + 1);
      const options = data[s + 5]!;
      const relationIds: number[] = [];
      for (let i = 0; i < count; i++) relationIds.push(data.readUInt32BE(s + 6 + 4 * i));
      return {
        tag: 'truncate',
        relationIds,
        cascade: (options & 1) !== 0,
        restartIdentity: (options & 2) !== 0,
      };
    }
    case 0x4d: {
      // 'M' (protocol 1: no xid field)
      const transactional = (data[s + 1]! & 1) === 1;
      const lsn = readLsn(data, s + 2);
      const prefixEnd = cstringEnd(data, s + 10);
      const length = data.readUInt32BE(prefixEnd + 1);
      const content = prefixEnd + 5;
      if (content + length > data.length)
        throw new PgoutputProtocolError('message content runs past the message');
      return {
        tag: 'message',
        transactional,
        lsn,
        prefix: data.toString('utf8', s + 10, prefixEnd),
        content: Buffer.from(data.subarray(content, content + length)),
      };
    }
    case 0x4f: {
      // 'O'
      const end = cstringEnd(data, s + 9);
      return {
        tag: 'origin',
        originLsn: readLsn(data, s + 1),
        name: data.toString('utf8', s + 9, end),
      };
    }
    default:
      throw new PgoutputProtocolError(
        `unsupported pgoutput message type 0x${data[s]?.toString(16)} ('${String.fromCharCode(data[s] ?? 0)}')`,
      );
  }
}

/** A copy of a message that no longer points into a shared read buffer. */
export function detachMessage(message: PgoutputMessage): PgoutputMessage {
  if (message.tag === 'insert' || message.tag === 'update' || message.tag === 'delete') {
    return { ...message, data: Buffer.from(message.data) };
  }
  return message;
}

/** The 25-byte XLogData header in front of each pgoutput message on the replication stream. */
export interface XLogDataHeader {
  /** WAL position of the record the message was decoded from. */
  walStart: number;
  walEnd: number;
  sendTimeUs: number;
}

/** Decode a whole CopyData 'w' payload (header + pgoutput message), as captured in fixtures. */
export function decodeXLogData(copyData: Buffer): {
  header: XLogDataHeader;
  message: PgoutputMessage;
} {
  if (copyData[0] !== 0x77) throw new PgoutputProtocolError('not an XLogData message');
  return {
    header: {
      walStart: readLsn(copyData, 1),
      walEnd: readLsn(copyData, 9),
      sendTimeUs: readTimestamp(copyData, 17),
    },
    message: decodePgoutput(copyData, 25),
  };
}

/** "16/B374D848" → number. */
export function parseLsn(text: string): number {
  const slash = text.indexOf('/');
  if (slash < 0) throw new SyntaxError(`not an LSN: ${text}`);
  const hi = Number.parseInt(text.slice(0, slash), 16);
  const lo = Number.parseInt(text.slice(slash + 1), 16);
  if (!Number.isFinite(hi) || !Number.isFinite(lo)) throw new SyntaxError(`not an LSN: ${text}`);
  return hi * 4294967296 + lo;
}

/** number → "16/B374D848" (PostgreSQL's pg_lsn text form). */
export function formatLsn(lsn: number): string {
  const hi = Math.floor(lsn / 4294967296);
  const lo = lsn - hi * 4294967296;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}
