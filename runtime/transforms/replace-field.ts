// Kafka Connect's ReplaceField$Key / $Value: keep only `include`d fields, drop `exclude`d ones
// (exclude wins), then apply `renames` (old:new,...). The older `whitelist` / `blacklist` names
// still work. With a schema, the struct schema loses and renames the same fields; a null key or
// value (tombstone) passes through.

import type { ConnectField, ConnectSchema, RecordObject } from '../api/record.ts';
import {
  SchemaCache,
  keySide,
  namedField,
  requireStruct,
  requireStructSchema,
  structSchemaBasics,
  valueSide,
} from './record-parts.ts';
import type { RecordSide } from './record-parts.ts';
import type { OptionReader } from './options.ts';
import { TRANSFORMS_VERSION } from './types.ts';
import type { TransformPlugin } from './types.ts';

const PURPOSE = 'field replacement';

/** A list option under its current name, or under the deprecated one when only that is set. */
function listWithLegacyName(options: OptionReader, name: string, legacy: string): string[] {
  if (!options.has(name) && options.has(legacy)) return options.list(legacy);
  return options.list(name);
}

function parseRenames(options: OptionReader): Map<string, string> {
  const renames = new Map<string, string>();
  for (const mapping of options.list('renames')) {
    const parts = mapping.split(':');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      options.invalid(
        'renames',
        options.raw('renames') ?? '',
        `Invalid rename mapping: ${mapping}`,
      );
      continue;
    }
    renames.set(parts[0]!, parts[1]!);
  }
  return renames;
}

interface Plan {
  readonly schema: ConnectSchema;
  /** [output name, input name] in output order. */
  readonly fields: ReadonlyArray<readonly [string, string]>;
}

function replaceField(side: RecordSide, suffix: '$Key' | '$Value'): TransformPlugin {
  return {
    kind: 'transformation',
    className: `org.apache.kafka.connect.transforms.ReplaceField${suffix}`,
    aliases: [`ReplaceField${suffix}`],
    version: TRANSFORMS_VERSION,
    summary: `Keeps, drops and renames top-level fields of the record ${side.name}.`,
    create(options) {
      const exclude = new Set(listWithLegacyName(options, 'exclude', 'blacklist'));
      const include = new Set(listWithLegacyName(options, 'include', 'whitelist'));
      const renames = parseRenames(options);
      const keep = (name: string) =>
        !exclude.has(name) && (include.size === 0 || include.has(name));
      const renamed = (name: string) => renames.get(name) ?? name;

      const plans = new SchemaCache<Plan>();
      const plan = (schema: ConnectSchema): Plan => {
        const fields: ConnectField[] = [];
        const mapping: Array<readonly [string, string]> = [];
        for (const field of requireStructSchema(schema, PURPOSE)) {
          if (!keep(field.field)) continue;
          const name = renamed(field.field);
          fields.push(namedField(name, field));
          mapping.push([name, field.field]);
        }
        return { schema: structSchemaBasics(schema, fields), fields: mapping };
      };

      return (record) => {
        const data = side.data(record);
        if (data === null) return record;
        const schema = side.schema(record);
        if (schema === undefined) {
          const value = requireStruct(data, PURPOSE, false);
          const updated: RecordObject = {};
          for (const name of Object.keys(value)) {
            if (keep(name)) updated[renamed(name)] = value[name]!;
          }
          return side.with(record, updated, undefined);
        }
        const value = requireStruct(data, PURPOSE, true);
        const { schema: updatedSchema, fields } = plans.get(schema, plan);
        const updated: RecordObject = {};
        for (const [to, from] of fields) updated[to] = value[from] ?? null;
        return side.with(record, updated, updatedSchema);
      };
    },
  };
}

export const replaceFieldKey = replaceField(keySide, '$Key');
export const replaceFieldValue = replaceField(valueSide, '$Value');
