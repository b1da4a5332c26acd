// Debezium's ExtractNewRecordState ("unwrap"): replace a change-event envelope by the row state
// after the change, optionally with envelope metadata added as fields (`add.fields`) or headers
// (`add.headers`), and handle deletes and tombstones as configured. With a schema, the output
// schema is the `after` struct's schema plus the added fields (each optional), plus `__deleted`
// (optional string) in the rewrite modes. Records that are not envelopes (heartbeats, schema
// changes, transaction metadata) pass through unchanged; truncate events are dropped.
//
// Deletes and tombstones (delete.tombstone.handling.mode, default `tombstone`):
//   drop                    delete events and tombstones dropped
//   tombstone               delete events dropped, tombstones kept
//   rewrite                 delete events become the `before` row with __deleted="true"
//                           (other rows get __deleted="false"); tombstones dropped
//   rewrite-with-tombstone  as rewrite, tombstones kept
//   delete-to-tombstone     delete events become tombstones (null value, no schema); the
//                           original tombstones are dropped
// The older delete.handling.mode (drop | rewrite | none = delete event becomes a tombstone) and
// drop.tombstones (default true) are honoured when delete.tombstone.handling.mode is not set.

import type {
  ConnectField,
  ConnectRecord,
  ConnectSchema,
  RecordData,
  RecordHeaders,
  RecordObject,
} from '../api/record.ts';
import { envelopeValue } from './change-event.ts';
import type { OptionReader } from './options.ts';
import {
  SchemaCache,
  fieldSchema,
  findField,
  isStruct,
  requireStruct,
  shallowCopy,
  structSchemaBasics,
  valueSide,
} from './record-parts.ts';
import { TRANSFORMS_VERSION } from './types.ts';
import type { TransformPlugin } from './types.ts';

export const DELETED_FIELD = '__deleted';
const PURPOSE = 'source field insertion';
const MODES = [
  'drop',
  'tombstone',
  'rewrite',
  'rewrite-with-tombstone',
  'delete-to-tombstone',
] as const;
const LEGACY_MODES = ['drop', 'rewrite', 'none'] as const;
const deletedFieldSchema: ConnectField = { type: 'string', optional: true, field: DELETED_FIELD };

type DeleteAction = 'drop' | 'rewrite' | 'tombstone';

interface DeleteHandling {
  readonly deletes: DeleteAction;
  readonly keepTombstones: boolean;
}

const modeHandling: Record<(typeof MODES)[number], DeleteHandling> = {
  drop: { deletes: 'drop', keepTombstones: false },
  tombstone: { deletes: 'drop', keepTombstones: true },
  rewrite: { deletes: 'rewrite', keepTombstones: false },
  'rewrite-with-tombstone': { deletes: 'rewrite', keepTombstones: true },
  'delete-to-tombstone': { deletes: 'tombstone', keepTombstones: false },
};

function readDeleteHandling(options: OptionReader): DeleteHandling {
  const mode = options.oneOf('delete.tombstone.handling.mode', MODES, undefined, {
    ignoreCase: true,
  });
  const legacyMode = options.oneOf('delete.handling.mode', LEGACY_MODES, 'drop', {
    ignoreCase: true,
  });
  const dropTombstones = options.boolean('drop.tombstones', true);
  if (options.has('delete.tombstone.handling.mode')) return modeHandling[mode ?? 'tombstone'];
  if (!options.has('delete.handling.mode') && !options.has('drop.tombstones')) {
    return modeHandling.tombstone;
  }
  return {
    deletes: legacyMode === 'none' ? 'tombstone' : legacyMode,
    keepTombstones: !dropTombstones,
  };
}

/** One entry of add.fields / add.headers: `op`, `source.ts_ms`, `table:tbl`, … */
interface FieldReference {
  /** The envelope struct holding the field (`source`, `transaction`), or null for top level. */
  readonly struct: string | null;
  readonly field: string;
  /** The added field's or header's name, prefix included. */
  readonly name: string;
}

/** Debezium's rule for unqualified names: envelope fields, transaction fields, else source. */
function hostStruct(field: string): string | null {
  switch (field) {
    case 'op':
    case 'ts_ms':
    case 'ts_us':
    case 'ts_ns':
      return null;
    case 'id':
    case 'total_order':
    case 'data_collection_order':
      return 'transaction';
    default:
      return 'source';
  }
}

function readReferences(options: OptionReader, option: string, prefix: string): FieldReference[] {
  const references: FieldReference[] = [];
  for (const entry of options.list(option)) {
    const parts = entry.split(':');
    const path = parts[0]!.split('.');
    if (
      parts.length > 2 ||
      path.length > 2 ||
      path.some((part) => part === '') ||
      parts[1] === ''
    ) {
      options.invalid(option, options.raw(option) ?? '', `Unexpected field name: ${entry}`);
      continue;
    }
    const field = path.length === 1 ? path[0]! : path[1]!;
    const struct = path.length === 1 ? hostStruct(field) : path[0]!;
    const suffix =
      parts.length === 2 ? parts[1]! : path.length === 1 ? field : `${struct}_${field}`;
    references.push({ struct, field, name: prefix + suffix });
  }
  return references;
}

/** A reference resolved against an envelope schema: where its value is and its schema. */
interface Resolved {
  readonly reference: FieldReference;
  /** Read from the host struct (true) or, when the host lacks it, from the envelope itself. */
  readonly inHost: boolean;
  readonly schema: ConnectSchema | undefined;
}

function resolve(
  reference: FieldReference,
  envelope: ConnectSchema | undefined,
): Resolved | undefined {
  if (envelope === undefined) return { reference, inHost: true, schema: undefined };
  const host = reference.struct === null ? envelope : findField(envelope, reference.struct);
  const inHost = findField(host, reference.field);
  const found = inHost ?? findField(envelope, reference.field);
  // Debezium adds only the fields its schema knows; a typo adds nothing rather than nulls.
  if (found === undefined) return undefined;
  return {
    reference,
    inHost: inHost !== undefined,
    schema: { ...fieldSchema(found), optional: true },
  };
}

function referencedValue(resolved: Resolved, envelope: RecordObject): RecordData {
  const { struct, field } = resolved.reference;
  const host = struct === null ? envelope : envelope[struct];
  if (host === null || host === undefined) return null;
  if (isStruct(host) && (resolved.schema !== undefined ? resolved.inHost : field in host)) {
    return host[field] ?? null;
  }
  return envelope[field] ?? null;
}

function headerText(value: RecordData): string | undefined {
  if (value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'object') {
    return JSON.stringify(value, (_key, item: unknown) =>
      typeof item === 'bigint' ? item.toString() : item,
    );
  }
  return String(value);
}

/** Everything derived from one envelope schema (or from none, for schemaless events). */
interface Plan {
  readonly fields: readonly Resolved[];
  readonly headers: readonly Resolved[];
  /** Output schemas for creates/updates/reads and for rewritten deletes. */
  readonly upsertSchema: ConnectSchema | undefined;
  readonly deleteSchema: ConnectSchema | undefined;
}

function rowSchema(
  envelope: ConnectSchema,
  image: 'after' | 'before',
  added: readonly Resolved[],
  deleted: boolean,
): ConnectSchema | undefined {
  const member = findField(envelope, image);
  if (member === undefined) return undefined;
  const row = fieldSchema(member);
  if (added.length === 0 && !deleted) return row;
  const fields: ConnectField[] = [...(row.fields ?? [])];
  for (const resolved of added)
    fields.push({ ...resolved.schema!, field: resolved.reference.name });
  if (deleted) fields.push(deletedFieldSchema);
  return structSchemaBasics(row, fields);
}

export const extractNewRecordState: TransformPlugin = {
  kind: 'transformation',
  className: 'io.debezium.transforms.ExtractNewRecordState',
  aliases: ['ExtractNewRecordState', 'unwrap', 'io.debezium.transforms.UnwrapFromEnvelope'],
  version: TRANSFORMS_VERSION,
  summary:
    'Replaces a Debezium change event by its new row state, with optional metadata fields/headers and delete/tombstone handling.',
  create(options) {
    const handling = readDeleteHandling(options);
    const rewrite = handling.deletes === 'rewrite';
    const fieldRefs = readReferences(
      options,
      'add.fields',
      options.string('add.fields.prefix', '__'),
    );
    const headerRefs = readReferences(
      options,
      'add.headers',
      options.string('add.headers.prefix', '__'),
    );
    const routeField = options.string('route.by.field', '').trim();
    options.boolean('replace.null.with.default', true); // row values carry no substituted defaults
    const dropFieldsHeader = options.raw('drop.fields.header.name');
    if (dropFieldsHeader !== undefined && dropFieldsHeader.trim() !== '') {
      options.invalid(
        'drop.fields.header.name',
        dropFieldsHeader,
        'dropping fields named by a header is not supported by Kafki',
      );
    }
    const opHeader = headerRefs.find(
      (reference) => reference.struct === null && reference.field === 'op',
    );

    const schemalessPlan: Plan = {
      fields: fieldRefs.map((reference) => resolve(reference, undefined)!),
      headers: headerRefs.map((reference) => resolve(reference, undefined)!),
      upsertSchema: undefined,
      deleteSchema: undefined,
    };
    const plans = new SchemaCache<Plan>();
    const plan = (envelope: ConnectSchema): Plan => {
      const fields = fieldRefs.flatMap((reference) => resolve(reference, envelope) ?? []);
      return {
        fields,
        headers: headerRefs.flatMap((reference) => resolve(reference, envelope) ?? []),
        upsertSchema: rowSchema(envelope, 'after', fields, rewrite),
        deleteSchema: rowSchema(envelope, 'before', fields, true),
      };
    };

    const withHeaders = (
      record: ConnectRecord,
      envelope: RecordObject,
      steps: Plan,
    ): RecordHeaders | undefined => {
      if (steps.headers.length === 0) return record.headers;
      const headers: RecordHeaders = record.headers ? shallowCopy(record.headers) : {};
      for (const resolved of steps.headers) {
        const text = headerText(referencedValue(resolved, envelope));
        if (text !== undefined) headers[resolved.reference.name] = text;
      }
      return headers;
    };

    const routed = (row: RecordObject, topic: string): string => {
      if (routeField === '') return topic;
      const target = row[routeField];
      return typeof target === 'string' && target !== '' ? target : topic;
    };

    return <R extends ConnectRecord>(record: R): R | null => {
      if (record.value === null) {
        if (!handling.keepTombstones) return null;
        // Debezium marks kept tombstones with the op header, when one is requested.
        if (opHeader === undefined) return record;
        return { ...record, headers: { ...record.headers, [opHeader.name]: 'd' } };
      }
      const envelope = envelopeValue(record);
      if (envelope === undefined) return record;
      const after = envelope.after;
      const before = envelope.before;
      // Neither image: a truncate event, which has no row to extract.
      if ((after === null || after === undefined) && (before === null || before === undefined))
        return null;

      const isDelete = after === null || after === undefined;
      if (isDelete && handling.deletes === 'drop') return null;
      const schema = record.valueSchema;
      const steps = schema === undefined ? schemalessPlan : plans.get(schema, plan);
      const headers = withHeaders(record, envelope, steps);

      const row = requireStruct(isDelete ? before! : after, PURPOSE, schema !== undefined);
      const topic = routed(row, record.topic);
      // One shallow copy of the record, filled in below; `headers` stays absent if it was.
      let copy: R;
      if (headers === record.headers) copy = { ...record, topic };
      else if ('headers' in record) copy = { ...record, topic, headers };
      else {
        copy = shallowCopy(record);
        copy.topic = topic;
        copy.headers = headers;
      }
      if (isDelete && handling.deletes === 'tombstone')
        return valueSide.with(copy, null, undefined);

      let output: RecordObject = row;
      if (steps.fields.length > 0 || rewrite) {
        output = shallowCopy(row);
        for (const resolved of steps.fields) {
          output[resolved.reference.name] = referencedValue(resolved, envelope);
        }
        if (rewrite) output[DELETED_FIELD] = isDelete ? 'true' : 'false';
      }
      const outputSchema =
        schema === undefined ? undefined : isDelete ? steps.deleteSchema : steps.upsertSchema;
      if (outputSchema === undefined) return valueSide.with(copy, output, undefined);
      copy.value = output;
      copy.valueSchema = outputSchema;
      return copy;
    };
  },
};
