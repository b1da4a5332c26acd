// One sink record → one bulk write (or nothing). Pure apart from the per-partition version state
// it is handed; serializes the document exactly once.
//
// Raw Debezium envelopes: op c/u/r index `after`, op d deletes, t (truncate) and m (message) are
// skipped. Unwrapped records (ExtractNewRecordState or any keyed topic): the value is the document.
// The version of either: external.version.header when configured and present, else the source's
// own version header (SOURCE_VERSION_HEADER, kafki.source.version: the commit position, ranked), else
// what the record itself shows (an envelope's source position; an unwrapped row's
// external.version.field (__lsn) or __file/__pos), else the fallback (the log offset, or none).
// Null values (tombstones) follow behavior.on.null.values.
//
// Unchanged TOASTed columns (unavailable-values.ts): an update (or the create of a primary-key
// update) whose row holds the source's placeholder gets those fields from the envelope's `before`
// when it has them (REPLICA IDENTITY FULL); the others are left out of the document and listed
// in `unavailable`, and the task fills them from the document in Elasticsearch right before the
// write is sent (task.ts). With write.method=upsert they are simply left out of the partial
// update, which keeps the stored values. behavior.on.unavailable.values=keep writes the row as it
// is (the placeholder included), as Confluent's connector does.
//
// A tombstone carries no position. It is versioned with the highest position seen on its
// partition so far: every change before it in the partition committed no later than the delete
// (the log is in commit order), so that version is ≥ the deleted row's last version, and every
// later change of the key comes from a later transaction, so it is ≤ theirs. When nothing was
// seen on the partition yet (the task starts right at a tombstone), the delete is sent with the
// document's current version, looked up first (lookupVersion).

import type { ConnectSchema, RecordData, SinkRecord } from '../../runtime/api/index.ts';
import { SOURCE_VERSION_HEADER } from '../../runtime/api/index.ts';
import type { ElasticsearchSinkConfig } from './config.ts';
import { documentIdFromKey, documentIdFromPosition } from './document-id.ts';
import { InvalidRecordError } from './errors.ts';
import type { IndexResolver } from './index-name.ts';
import { parseExactJson, toJson } from './json.ts';
import { isRow, type Row } from './row.ts';
import type { NormalizerCache } from './value-normalizer.ts';
import type { UnavailableDetector } from './unavailable-values.ts';
import { envelopePosition, fieldPosition, headerPosition, maxPosition } from './version.ts';
import type { Position } from './version.ts';

/** Headers the PostgreSQL source (and Debezium) put on the two events of a primary-key update. */
export const NEW_KEY_HEADER = '__debezium.newkey';
export const OLD_KEY_HEADER = '__debezium.oldkey';

/** How the records of a partition are versioned, as far as this task has seen. */
export type VersionScale = 'position' | 'offset' | 'none';

export interface PartitionVersions {
  /** Highest source position seen on the partition. */
  lastPosition: Position | undefined;
  /** What the last record with a version of its own used. */
  scale: VersionScale | undefined;
}

export type WriteAction = 'index' | 'delete' | 'update';

export interface WriteOp {
  readonly action: WriteAction;
  readonly index: string;
  readonly id: string;
  /** External version (version_type external_gte); undefined: unversioned. */
  version: Position | undefined;
  /** A positionless delete with nothing known: version from the current document. */
  readonly lookupVersion: boolean;
  /** The document line (index), the update body (update), undefined for a delete. */
  readonly source: string | undefined;
  /** Schema of the document, for the mapping of an index the connector creates. */
  readonly schema: ConnectSchema | undefined;
  /**
   * Fields whose value the source did not send (unchanged TOAST), left out of `source` and
   * `doc`: the task takes them from the document in Elasticsearch before sending the write.
   */
  readonly unavailable?: readonly string[];
  /** The document (normalized row) without the unavailable fields, to merge them into. */
  readonly doc?: Row;
  /** The create of a primary-key update: the document id of the old key. */
  readonly movedFrom?: string;
  /** The delete of a primary-key update: the document id of the new key. */
  readonly movedTo?: string;
}

export type { Row } from './row.ts';

function isEnvelope(value: Row): boolean {
  return typeof value.op === 'string' && 'after' in value && 'source' in value;
}

function fieldSchema(schema: ConnectSchema | undefined, name: string): ConnectSchema | undefined {
  if (schema?.type !== 'struct' || !schema.fields) return undefined;
  for (const field of schema.fields) if (field.field === name) return field;
  return undefined;
}

/** The document id a key header (`__debezium.oldkey`/`newkey`, the key as JSON) stands for. */
function idFromKeyHeader(record: SinkRecord, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const key = parseExactJson(text);
    return documentIdFromKey({ ...record, key, keySchema: record.keySchema });
  } catch {
    return undefined;
  }
}

export class DocumentMapper {
  constructor(
    private readonly config: ElasticsearchSinkConfig,
    private readonly indices: IndexResolver,
    private readonly normalizers: NormalizerCache,
    private readonly unavailable?: UnavailableDetector,
  ) {}

  /** The write for `record`, or undefined when it asks for none. Throws InvalidRecordError. */
  map(record: SinkRecord, versions: PartitionVersions): WriteOp | undefined {
    const { config } = this;
    const index = this.indices.indexFor(record.topic);
    const keyIgnore = config.keyIgnore || config.topicKeyIgnore.has(record.topic);
    const value = record.value;

    if (value === null) return this.tombstone(record, index, keyIgnore, versions);
    if (!isRow(value)) {
      throw new InvalidRecordError(
        `The value of record ${record.topic}/${record.partition}@${record.offset} is a ${Array.isArray(value) ? 'array' : typeof value}, not an object; only objects can be indexed`,
      );
    }

    if (keyIgnore) {
      // Append-only: every record is its own document, the value as it is (an envelope whole).
      return {
        action: 'index',
        index,
        id: documentIdFromPosition(record),
        version: undefined,
        lookupVersion: false,
        source: this.serialize(record, value, record.valueSchema),
        schema: record.valueSchema,
      };
    }

    let row: Row | undefined;
    let rowSchema: ConnectSchema | undefined;
    let position: Position | undefined;
    let remove = false;
    // Only updates (and the create of a primary-key update) can carry unchanged TOAST values.
    let mayLackValues = false;
    let before: RecordData = null;
    if (isEnvelope(value)) {
      switch (value.op) {
        case 'c':
        case 'u':
        case 'r': {
          const after = value.after ?? null;
          if (!isRow(after)) {
            throw new InvalidRecordError(
              `The ${value.op} event of record ${record.topic}/${record.partition}@${record.offset} has no 'after' row`,
            );
          }
          row = after;
          rowSchema = fieldSchema(record.valueSchema, 'after');
          mayLackValues =
            value.op === 'u' ||
            (value.op === 'c' && record.headers?.[OLD_KEY_HEADER] !== undefined);
          before = value.before ?? null;
          break;
        }
        case 'd':
          remove = true;
          break;
        default:
          // Truncate and logical-decoding messages have no document to write.
          return undefined;
      }
      position = this.headerVersion(record) ?? envelopePosition(value.source);
    } else {
      row = value;
      rowSchema = record.valueSchema;
      // Unwrapped: __op (add.fields=op) tells snapshot reads and inserts apart.
      const op = value[`__op`];
      mayLackValues = (op !== 'r' && op !== 'c') || record.headers?.[OLD_KEY_HEADER] !== undefined;
      position =
        this.headerVersion(record) ??
        fieldPosition(value, config.versionField) ??
        headerPosition(record.headers, config.versionField);
    }

    const id = documentIdFromKey(record);
    let version: Position | undefined;
    if (position !== undefined) {
      version = position;
      versions.lastPosition = maxPosition(versions.lastPosition, position);
      versions.scale = 'position';
    } else if (config.versionFallback === 'offset') {
      version = record.offset;
      versions.scale = 'offset';
    } else {
      versions.scale = 'none';
    }

    if (remove || row === undefined) {
      const movedTo = idFromKeyHeader(record, record.headers?.[NEW_KEY_HEADER]);
      return {
        action: 'delete',
        index,
        id,
        version,
        lookupVersion: false,
        source: undefined,
        schema: undefined,
        ...(movedTo !== undefined ? { movedTo } : {}),
      };
    }
    let missing: string[] | undefined;
    if (mayLackValues && this.unavailable) {
      missing = this.unavailable.find(row, rowSchema);
      if (missing) ({ row, missing } = this.withoutPlaceholders(row, rowSchema, before, missing));
    }
    const doc = this.normalized(record, row, rowSchema);
    const source = toJson(doc);
    if (config.writeMethod === 'upsert') {
      // Elasticsearch cannot version partial updates (neither does Confluent's connector). A
      // field left out of the partial document keeps its stored value.
      return {
        action: 'update',
        index,
        id,
        version: undefined,
        lookupVersion: false,
        source: `{"doc":${source},"doc_as_upsert":true}`,
        schema: rowSchema,
      };
    }
    if (missing) {
      const movedFrom = idFromKeyHeader(record, record.headers?.[OLD_KEY_HEADER]);
      return {
        action: 'index',
        index,
        id,
        version,
        lookupVersion: false,
        source,
        schema: rowSchema,
        unavailable: missing,
        doc: doc as Row,
        ...(movedFrom !== undefined ? { movedFrom } : {}),
      };
    }
    return { action: 'index', index, id, version, lookupVersion: false, source, schema: rowSchema };
  }

  /**
   * The row without its placeholder fields, each taken from `before` when that holds a real value
   * (REPLICA IDENTITY FULL logs the old row whole); `missing`: the fields still without a value.
   */
  private withoutPlaceholders(
    row: Row,
    schema: ConnectSchema | undefined,
    before: RecordData,
    fields: readonly string[],
  ): { row: Row; missing: string[] | undefined } {
    const out: Row = { ...row };
    const missing: string[] = [];
    const old = isRow(before) ? before : undefined;
    for (const name of fields) {
      const value = old?.[name];
      if (
        value !== undefined &&
        !this.unavailable!.isPlaceholder(value, fieldSchema(schema, name))
      ) {
        out[name] = value;
      } else {
        delete out[name];
        missing.push(name);
      }
    }
    return { row: out, missing: missing.length > 0 ? missing : undefined };
  }

  private tombstone(
    record: SinkRecord,
    index: string,
    keyIgnore: boolean,
    versions: PartitionVersions,
  ): WriteOp | undefined {
    const behavior = this.config.nullValues;
    if (behavior === 'fail') {
      throw new InvalidRecordError(
        `Record ${record.topic}/${record.partition}@${record.offset} has a null value (a tombstone); ` +
          'set behavior.on.null.values to delete (delete the document) or ignore',
      );
    }
    // Without a key there is no document to delete.
    if (behavior === 'ignore' || keyIgnore) return undefined;
    const id = documentIdFromKey(record);
    const position =
      this.headerVersion(record) ?? headerPosition(record.headers, this.config.versionField);
    let version: Position | undefined;
    let lookupVersion = false;
    if (position !== undefined) {
      version = position;
      versions.lastPosition = maxPosition(versions.lastPosition, position);
    } else if (versions.scale === 'position' && versions.lastPosition !== undefined) {
      version = versions.lastPosition;
    } else if (versions.scale === 'offset') {
      version = record.offset;
    } else if (versions.scale === undefined) {
      lookupVersion = true;
    }
    return {
      action: 'delete',
      index,
      id,
      version,
      lookupVersion,
      source: undefined,
      schema: undefined,
    };
  }

  /**
   * The version a header gives: external.version.header (the user's choice) first, then the
   * source's SOURCE_VERSION_HEADER. The latter is the commit position, which is what orders the
   * writes to one row: a PostgreSQL change's own LSN (source.lsn) can sit below the snapshot's
   * LSN when its transaction was open across the snapshot, though it committed after it.
   */
  private headerVersion(record: SinkRecord): Position | undefined {
    return (
      headerPosition(record.headers, this.config.versionHeader) ??
      headerPosition(record.headers, SOURCE_VERSION_HEADER)
    );
  }

  private serialize(record: SinkRecord, row: Row, schema: ConnectSchema | undefined): string {
    return toJson(this.normalized(record, row, schema));
  }

  private normalized(record: SinkRecord, row: Row, schema: ConnectSchema | undefined): RecordData {
    const schemaIgnore =
      this.config.schemaIgnore || this.config.topicSchemaIgnore.has(record.topic);
    const normalize = schemaIgnore || !schema ? undefined : this.normalizers.for(schema);
    return normalize ? normalize(row) : row;
  }
}

/** Is schema.ignore on for this topic (no mapping from the schema)? */
export function schemaIgnored(config: ElasticsearchSinkConfig, topic: string): boolean {
  return config.schemaIgnore || config.topicSchemaIgnore.has(topic);
}

/** The action line of a bulk write, e.g. {"index":{"_index":"a","_id":"1","version":7,…}}. */
export function actionLine(op: WriteOp): string {
  const version =
    op.version === undefined ? '' : `,"version":${op.version},"version_type":"external_gte"`;
  return `{"${op.action}":{"_index":${JSON.stringify(op.index)},"_id":${JSON.stringify(op.id)}${version}}}\n`;
}
