// What the connector knows about PostgreSQL types: built-in OIDs, and the rows of pg_type it read
// for everything else (enums with their labels, domains with their base type, arrays with their
// element type, extension types such as hstore and citext found by name).

/** Built-in type OIDs (stable across PostgreSQL versions, from pg_type.dat). */
export const Oid = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  xid: 28,
  json: 114,
  xml: 142,
  point: 600,
  cidr: 650,
  float4: 700,
  float8: 701,
  macaddr8: 774,
  money: 790,
  macaddr: 829,
  inet: 869,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  varbit: 1562,
  numeric: 1700,
  uuid: 2950,
  pgLsn: 3220,
  tsvector: 3614,
  jsonb: 3802,
  int4range: 3904,
  numrange: 3906,
  tsrange: 3908,
  tstzrange: 3910,
  daterange: 3912,
  int8range: 3926,
} as const;

export interface PgTypeInfo {
  oid: number;
  name: string;
  schema: string;
  /** b base, e enum, d domain, r range, m multirange, c composite, p pseudo. */
  kind: string;
  /** Element type of an array type, 0 otherwise. */
  elementOid: number;
  /** Base type of a domain, 0 otherwise. */
  baseOid: number;
  /** Type modifier a domain applies to its base type (-1 when none). */
  baseTypeModifier: number;
  /** typcategory: 'A' for arrays. */
  category: string;
  /** Array element delimiter (',' for everything but box). */
  delimiter: string;
  enumLabels: string[] | undefined;
}

/** Built-in element → array type, for schemas of arrays of built-ins without a catalog lookup. */
const builtinArrayElements: Record<number, number> = {
  1000: Oid.bool,
  1001: Oid.bytea,
  1002: Oid.char,
  1003: Oid.name,
  1016: Oid.int8,
  1005: Oid.int2,
  1007: Oid.int4,
  1009: Oid.text,
  1028: Oid.oid,
  199: Oid.json,
  143: Oid.xml,
  1017: Oid.point,
  651: Oid.cidr,
  1021: Oid.float4,
  1022: Oid.float8,
  775: Oid.macaddr8,
  791: Oid.money,
  1040: Oid.macaddr,
  1041: Oid.inet,
  1014: Oid.bpchar,
  1015: Oid.varchar,
  1182: Oid.date,
  1183: Oid.time,
  1115: Oid.timestamp,
  1185: Oid.timestamptz,
  1187: Oid.interval,
  1270: Oid.timetz,
  1561: Oid.bit,
  1563: Oid.varbit,
  1231: Oid.numeric,
  2951: Oid.uuid,
  3807: Oid.jsonb,
  3643: Oid.tsvector,
  3905: Oid.int4range,
  3907: Oid.numrange,
  3909: Oid.tsrange,
  3911: Oid.tstzrange,
  3913: Oid.daterange,
  3927: Oid.int8range,
};

export class TypeRegistry {
  private readonly byOid = new Map<number, PgTypeInfo>();

  constructor(types: Iterable<PgTypeInfo> = []) {
    for (const type of types) this.add(type);
  }

  add(type: PgTypeInfo): void {
    this.byOid.set(type.oid, type);
  }

  get(oid: number): PgTypeInfo | undefined {
    return this.byOid.get(oid);
  }

  /** Known either as a built-in or from the catalog. */
  knows(oid: number): boolean {
    return this.byOid.has(oid) || isBuiltin(oid);
  }

  /** The element type when `oid` is an array type, else undefined. */
  arrayElement(oid: number): number | undefined {
    const builtin = builtinArrayElements[oid];
    if (builtin !== undefined) return builtin;
    const type = this.byOid.get(oid);
    return type && type.category === 'A' && type.elementOid !== 0 ? type.elementOid : undefined;
  }

  /** Follow domains down to their base type (and the modifier the domain gives it). */
  resolveDomain(oid: number, typeModifier: number): { oid: number; typeModifier: number } {
    let current = { oid, typeModifier };
    for (let depth = 0; depth < 16; depth++) {
      const type = this.byOid.get(current.oid);
      if (!type || type.kind !== 'd' || type.baseOid === 0) return current;
      current = {
        oid: type.baseOid,
        typeModifier: current.typeModifier >= 0 ? current.typeModifier : type.baseTypeModifier,
      };
    }
    return current;
  }

  /** An extension type recognised by name (hstore, citext, ltree…). */
  extensionName(oid: number): string | undefined {
    const type = this.byOid.get(oid);
    return type && type.kind === 'b' && type.schema !== 'pg_catalog' ? type.name : undefined;
  }
}

function isBuiltin(oid: number): boolean {
  return (Object.values(Oid) as number[]).includes(oid) || builtinArrayElements[oid] !== undefined;
}

/** The query that reads the catalog rows the registry needs (all types, or the given OIDs). */
export const typeQuery = `
  select t.oid::int8 as oid, t.typname as name, n.nspname as schema, t.typtype as kind,
         t.typelem::int8 as element_oid, t.typbasetype::int8 as base_oid, t.typtypmod as base_typmod,
         t.typcategory as category, t.typdelim as delimiter,
         case when t.typtype = 'e' then
           (select array_agg(e.enumlabel::text order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid)
         end as enum_labels
    from pg_type t join pg_namespace n on n.oid = t.typnamespace
   where ($1::oid[] is null or t.oid = any($1::oid[]))
     and t.typtype in ('b', 'e', 'd', 'r', 'm')`;

export interface TypeRow {
  oid: string | number;
  name: string;
  schema: string;
  kind: string;
  element_oid: string | number;
  base_oid: string | number;
  base_typmod: number;
  category: string;
  delimiter: string;
  enum_labels: string[] | null;
}

export function typeFromRow(row: TypeRow): PgTypeInfo {
  return {
    oid: Number(row.oid),
    name: row.name,
    schema: row.schema,
    kind: row.kind,
    elementOid: Number(row.element_oid),
    baseOid: Number(row.base_oid),
    baseTypeModifier: row.base_typmod,
    category: row.category,
    delimiter: row.delimiter,
    enumLabels: row.enum_labels ?? undefined,
  };
}
