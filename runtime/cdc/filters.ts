// Include/exclude filters with Debezium's semantics, shared by the CDC connectors.
//
// A list is comma-separated regular expressions (a comma inside an expression is written `\,`);
// each must match the whole identifier, case-insensitively. An include list, when set, admits only
// what it matches; otherwise the exclude list, when set, removes what it matches. Data collections
// are named `<schema>.<table>` (PostgreSQL) or `<database>.<table>` (MySQL); columns
// `<schema>.<table>.<column>`.

export type RegexList = readonly RegExp[];

/** Split a Debezium regex list on unescaped commas, compile each entry as a full match. */
export function parseRegexList(text: string | undefined): RegexList {
  if (text === undefined || text.trim() === '') return [];
  const entries: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '\\' && text[i + 1] === ',') {
      current += ',';
      i++;
    } else if (char === ',') {
      entries.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  entries.push(current);
  return entries
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => new RegExp(`^(?:${entry})$`, 'i'));
}

export function matchesAny(list: RegexList, name: string): boolean {
  for (const regex of list) if (regex.test(name)) return true;
  return false;
}

/** include wins when set; else exclude; else everything. */
export function admits(include: RegexList, exclude: RegexList, name: string): boolean {
  if (include.length > 0) return matchesAny(include, name);
  if (exclude.length > 0) return !matchesAny(exclude, name);
  return true;
}

export interface FilterConfig {
  schemaInclude?: string;
  schemaExclude?: string;
  tableInclude?: string;
  tableExclude?: string;
  columnInclude?: string;
  columnExclude?: string;
}

/** Which tables and columns a connector captures. Schema and table lists apply together. */
export class CaptureFilter {
  private readonly schemaInclude: RegexList;
  private readonly schemaExclude: RegexList;
  private readonly tableInclude: RegexList;
  private readonly tableExclude: RegexList;
  private readonly columnInclude: RegexList;
  private readonly columnExclude: RegexList;

  constructor(
    config: FilterConfig,
    private readonly systemSchemas: ReadonlySet<string> = new Set(),
  ) {
    this.schemaInclude = parseRegexList(config.schemaInclude);
    this.schemaExclude = parseRegexList(config.schemaExclude);
    this.tableInclude = parseRegexList(config.tableInclude);
    this.tableExclude = parseRegexList(config.tableExclude);
    this.columnInclude = parseRegexList(config.columnInclude);
    this.columnExclude = parseRegexList(config.columnExclude);
  }

  /** True when a table list (include or exclude) narrows the capture. */
  get hasTableLists(): boolean {
    return (
      this.schemaInclude.length +
        this.schemaExclude.length +
        this.tableInclude.length +
        this.tableExclude.length >
      0
    );
  }

  includesTable(schema: string, table: string): boolean {
    if (this.systemSchemas.has(schema)) return false;
    return (
      admits(this.schemaInclude, this.schemaExclude, schema) &&
      admits(this.tableInclude, this.tableExclude, `${schema}.${table}`)
    );
  }

  includesColumn(schema: string, table: string, column: string): boolean {
    return admits(this.columnInclude, this.columnExclude, `${schema}.${table}.${column}`);
  }
}

/**
 * `message.key.columns`: `<table regex>:<column>,<column>;<table regex>:<column>` — the key
 * columns to use instead of the primary key for the tables a regex matches (first match wins).
 */
export class KeyColumnOverrides {
  private readonly entries: Array<{ table: RegExp; columns: string[] }>;

  constructor(text: string | undefined) {
    this.entries = [];
    if (text === undefined || text.trim() === '') return;
    for (const part of text.split(';')) {
      const trimmed = part.trim();
      if (trimmed === '') continue;
      const colon = trimmed.lastIndexOf(':');
      if (colon <= 0 || colon === trimmed.length - 1) {
        throw new SyntaxError(
          `message.key.columns entry "${trimmed}" must look like <table regex>:<column>[,<column>...]`,
        );
      }
      const columns = trimmed
        .slice(colon + 1)
        .split(',')
        .map((column) => column.trim())
        .filter((column) => column !== '');
      this.entries.push({
        table: new RegExp(`^(?:${trimmed.slice(0, colon).trim()})$`, 'i'),
        columns,
      });
    }
  }

  /** The key columns for `<schema>.<table>`, or undefined to use the primary key. */
  columnsFor(dataCollection: string): readonly string[] | undefined {
    for (const entry of this.entries) if (entry.table.test(dataCollection)) return entry.columns;
    return undefined;
  }
}
