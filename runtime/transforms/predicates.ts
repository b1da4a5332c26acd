// Predicates (KIP-585): Kafka Connect's TopicNameMatches, HasHeaderKey and RecordIsTombstone, and
// Kafki's ChangeEventMatches for Debezium-style filtering by operation and table.

import { OPERATIONS, matchesChangeEvent } from './change-event.ts';
import type { ChangeEventCriteria } from './change-event.ts';
import { splitPatternList, compileJavaRegex } from './java-regex.ts';
import type { JavaRegex } from './java-regex.ts';
import type { OptionReader } from './options.ts';
import { TRANSFORMS_VERSION } from './types.ts';
import type { PredicatePlugin } from './types.ts';

const kafkaPredicates = 'org.apache.kafka.connect.transforms.predicates.';

export const topicNameMatches: PredicatePlugin = {
  kind: 'predicate',
  className: `${kafkaPredicates}TopicNameMatches`,
  aliases: ['TopicNameMatches'],
  version: TRANSFORMS_VERSION,
  summary: 'True when the whole topic name matches `pattern` (a Java regex).',
  create(options) {
    const pattern = options.regex('pattern', { required: true, fullMatch: true });
    const regex = pattern?.regex;
    return (record) => regex !== undefined && regex.test(record.topic);
  },
};

export const hasHeaderKey: PredicatePlugin = {
  kind: 'predicate',
  className: `${kafkaPredicates}HasHeaderKey`,
  aliases: ['HasHeaderKey'],
  version: TRANSFORMS_VERSION,
  summary: 'True when the record has a header named `name`.',
  create(options) {
    const name = options.requiredString('name', { nonEmpty: true });
    return (record) => record.headers !== undefined && Object.hasOwn(record.headers, name);
  },
};

export const recordIsTombstone: PredicatePlugin = {
  kind: 'predicate',
  className: `${kafkaPredicates}RecordIsTombstone`,
  aliases: ['RecordIsTombstone'],
  version: TRANSFORMS_VERSION,
  summary: 'True when the record value is null (a tombstone).',
  create() {
    return (record) => record.value === null;
  },
};

/**
 * `operations` (c,u,d,r,t,m), `tables` (comma-separated Java regexes, full match) and
 * `tombstones` (follow-deletes | keep | drop), shared by ChangeEventMatches and FilterByOperation.
 */
export function readChangeEventCriteria(options: OptionReader): ChangeEventCriteria {
  const operations = new Set<string>();
  const listed = options.list('operations', OPERATIONS);
  for (const operation of listed) {
    if ((OPERATIONS as readonly string[]).includes(operation)) operations.add(operation);
    else {
      options.invalid(
        'operations',
        options.raw('operations') ?? '',
        `unknown operation "${operation}"; use c (create), u (update), d (delete), r (read), t (truncate), m (message)`,
      );
    }
  }
  if (options.has('operations') && listed.length === 0) {
    options.invalid('operations', options.raw('operations') ?? '', 'List must not be empty');
  }
  const tables: JavaRegex[] = [];
  const tablesText = options.raw('tables');
  if (tablesText !== undefined) {
    for (const pattern of splitPatternList(tablesText)) {
      const compiled = compileJavaRegex(pattern, true);
      if (compiled.ok) tables.push(compiled.value);
      else {
        options.invalid(
          'tables',
          tablesText,
          `"${pattern}" is not a valid regular expression: ${compiled.message}`,
        );
      }
    }
    if (tables.length === 0 && splitPatternList(tablesText).length === 0) {
      options.invalid('tables', tablesText, 'List must not be empty');
    }
  }
  const tombstones = options.oneOf(
    'tombstones',
    ['follow-deletes', 'keep', 'drop'] as const,
    'follow-deletes',
  );
  return { operations, tables, tombstones };
}

export const changeEventMatches: PredicatePlugin = {
  kind: 'predicate',
  className: 'io.kafki.transforms.predicates.ChangeEventMatches',
  aliases: ['ChangeEventMatches'],
  version: TRANSFORMS_VERSION,
  summary:
    'True for Debezium change events whose op is in `operations` and whose table matches `tables`; false for other records.',
  create(options) {
    const criteria = readChangeEventCriteria(options);
    return (record) => matchesChangeEvent(record, criteria) === true;
  },
};

export const builtinPredicates: readonly PredicatePlugin[] = [
  topicNameMatches,
  hasHeaderKey,
  recordIsTombstone,
  changeEventMatches,
];
