// Values as Elasticsearch should see them, driven by the Connect schema (unless schema.ignore):
//
//   Decimal / VariableScaleDecimal (bytes)  → a JSON number when it has at most 15 significant
//                                             digits (exact in a double), else the exact decimal
//                                             string (Elasticsearch coerces it for a numeric
//                                             field; _source keeps every digit)
//   io.debezium.time.Date, Connect Date      → "YYYY-MM-DD" (days since the epoch are not a date
//                                             format Elasticsearch knows; epoch_millis would be
//                                             off by a factor of 86 400 000)
//   io.debezium.time.MicroTimestamp          → ISO-8601 UTC with 6 fraction digits
//   io.debezium.time.NanoTimestamp           → ISO-8601 UTC with 9 fraction digits
//   Timestamp (ms), ZonedTimestamp (ISO)     → unchanged (Elasticsearch's default date format
//                                             reads both)
//   io.debezium.data.Json                    → unchanged: the JSON text (see mapping.ts)
//
// A normalizer is compiled once per schema shape; a schema with none of these is the identity.

import type { ConnectSchema, RecordData } from '../../runtime/api/index.ts';
import { isRow, type Row } from './row.ts';

export type Normalize = (value: RecordData) => RecordData;

export const LogicalNames = {
  decimal: 'org.apache.kafka.connect.data.Decimal',
  variableScaleDecimal: 'io.debezium.data.VariableScaleDecimal',
  connectDate: 'org.apache.kafka.connect.data.Date',
  connectTime: 'org.apache.kafka.connect.data.Time',
  connectTimestamp: 'org.apache.kafka.connect.data.Timestamp',
  date: 'io.debezium.time.Date',
  time: 'io.debezium.time.Time',
  microTime: 'io.debezium.time.MicroTime',
  nanoTime: 'io.debezium.time.NanoTime',
  zonedTime: 'io.debezium.time.ZonedTime',
  timestamp: 'io.debezium.time.Timestamp',
  microTimestamp: 'io.debezium.time.MicroTimestamp',
  nanoTimestamp: 'io.debezium.time.NanoTimestamp',
  zonedTimestamp: 'io.debezium.time.ZonedTimestamp',
  year: 'io.debezium.time.Year',
  microDuration: 'io.debezium.time.MicroDuration',
  interval: 'io.debezium.time.Interval',
  json: 'io.debezium.data.Json',
  uuid: 'io.debezium.data.Uuid',
  enumeration: 'io.debezium.data.Enum',
  enumSet: 'io.debezium.data.EnumSet',
  xml: 'io.debezium.data.Xml',
  bits: 'io.debezium.data.Bits',
  ltree: 'io.debezium.data.Ltree',
} as const;

const dayMs = 86_400_000;

function bytesOf(value: RecordData): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'base64');
  return undefined;
}

/** Big-endian two's complement unscaled value with `scale` → number or exact decimal string. */
export function decimalValue(bytes: Buffer, scale: number): number | string {
  let unscaled = 0n;
  for (const byte of bytes) unscaled = (unscaled << 8n) | BigInt(byte);
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) unscaled -= 1n << BigInt(bytes.length * 8);
  const negative = unscaled < 0n;
  let digits = (negative ? -unscaled : unscaled).toString();
  let text: string;
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    text = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  } else {
    text = scale < 0 && digits !== '0' ? digits + '0'.repeat(-scale) : digits;
  }
  if (negative) text = `-${text}`;
  const significant = digits.replace(/^0+/, '').length;
  return significant <= 15 ? Number(text) : text;
}

function decimal(scale: number): Normalize {
  return (value) => {
    const bytes = bytesOf(value);
    return bytes === undefined ? value : decimalValue(bytes, scale);
  };
}

const variableScaleDecimal: Normalize = (value) => {
  if (!isRow(value)) return value;
  const bytes = bytesOf(value.value ?? null);
  const scale = typeof value.scale === 'number' ? value.scale : 0;
  return bytes === undefined ? value : decimalValue(bytes, scale);
};

const epochDays: Normalize = (value) => {
  if (typeof value !== 'number' || !Number.isFinite(value)) return value;
  const iso = new Date(value * dayMs).toISOString();
  return iso.slice(0, iso.indexOf('T'));
};

/** µs or ns since the epoch → ISO-8601 with `digits` fraction digits. */
function fractionalTimestamp(unitsPerMs: number, digits: number): Normalize {
  const perMs = BigInt(unitsPerMs);
  return (value) => {
    let big: bigint;
    if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
    else if (typeof value === 'bigint') big = value;
    else return value;
    let ms = big / perMs;
    let rest = big % perMs;
    if (rest < 0n) {
      ms -= 1n;
      rest += perMs;
    }
    const iso = new Date(Number(ms)).toISOString();
    // toISOString ends with .mmmZ: keep the milliseconds, append the sub-millisecond digits.
    return `${iso.slice(0, -1)}${rest.toString().padStart(digits - 3, '0')}Z`;
  };
}

const microTimestamp = fractionalTimestamp(1000, 6);
const nanoTimestamp = fractionalTimestamp(1_000_000, 9);

function compile(schema: ConnectSchema): Normalize | undefined {
  switch (schema.name) {
    case LogicalNames.decimal:
      return decimal(Number(schema.parameters?.scale ?? 0));
    case LogicalNames.variableScaleDecimal:
      return variableScaleDecimal;
    case LogicalNames.date:
    case LogicalNames.connectDate:
      return epochDays;
    case LogicalNames.microTimestamp:
      return microTimestamp;
    case LogicalNames.nanoTimestamp:
      return nanoTimestamp;
    default:
      break;
  }
  switch (schema.type) {
    case 'struct': {
      const steps: Array<[string, Normalize]> = [];
      for (const field of schema.fields ?? []) {
        const step = compile(field);
        if (step) steps.push([field.field, step]);
      }
      if (steps.length === 0) return undefined;
      return (value) => {
        if (!isRow(value)) return value;
        const out: Row = { ...value };
        for (const [name, step] of steps) {
          const item = out[name];
          if (item !== undefined && item !== null) out[name] = step(item);
        }
        return out;
      };
    }
    case 'array': {
      const step = schema.items ? compile(schema.items) : undefined;
      if (!step) return undefined;
      return (value) =>
        Array.isArray(value) ? value.map((item) => (item === null ? item : step(item))) : value;
    }
    case 'map': {
      const step = schema.values ? compile(schema.values) : undefined;
      if (!step) return undefined;
      return (value) => {
        if (!isRow(value)) return value;
        const out: Row = {};
        for (const [name, item] of Object.entries(value)) {
          out[name] = item === null ? item : step(item);
        }
        return out;
      };
    }
    default:
      return undefined;
  }
}

/** A text that is equal for equal schema shapes (converters may build a new object per record). */
function shapeOf(schema: ConnectSchema): string {
  let text = `${schema.type}:${schema.name ?? ''}`;
  if (schema.name === LogicalNames.decimal) text += `:${schema.parameters?.scale ?? ''}`;
  if (schema.fields) {
    text += '{';
    for (const field of schema.fields) text += `${field.field}=${shapeOf(field)},`;
    text += '}';
  }
  if (schema.items) text += `[${shapeOf(schema.items)}]`;
  if (schema.values) text += `<${shapeOf(schema.values)}>`;
  return text;
}

const none: Normalize = (value) => value;

/** Compiled normalizers, by schema object and by schema shape; bounded. */
export class NormalizerCache {
  private readonly byObject = new WeakMap<ConnectSchema, Normalize>();
  private readonly byShape = new Map<string, Normalize>();

  constructor(private readonly maxShapes = 1000) {}

  /** undefined when the schema asks for no change (the common case: no per-record work). */
  for(schema: ConnectSchema): Normalize | undefined {
    let normalize = this.byObject.get(schema);
    if (normalize === undefined) {
      const shape = shapeOf(schema);
      normalize = this.byShape.get(shape);
      if (normalize === undefined) {
        normalize = compile(schema) ?? none;
        if (this.byShape.size >= this.maxShapes) this.byShape.clear();
        this.byShape.set(shape, normalize);
      }
      this.byObject.set(schema, normalize);
    }
    return normalize === none ? undefined : normalize;
  }
}
