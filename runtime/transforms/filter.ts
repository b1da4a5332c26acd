// Dropping records. Kafka Connect's Filter drops every record it is applied to, so it is used with
// a predicate (`transforms.f.predicate`, optionally `negate`). Kafki's FilterByOperation keeps
// the Debezium change events of chosen operations and tables without a predicate.

import { matchesChangeEvent } from './change-event.ts';
import { readChangeEventCriteria } from './predicates.ts';
import { TRANSFORMS_VERSION } from './types.ts';
import type { TransformPlugin } from './types.ts';

export const filter: TransformPlugin = {
  kind: 'transformation',
  className: 'org.apache.kafka.connect.transforms.Filter',
  aliases: ['Filter'],
  version: TRANSFORMS_VERSION,
  summary: 'Drops the records it applies to; use it with a predicate.',
  create() {
    return () => null;
  },
};

export const filterByOperation: TransformPlugin = {
  kind: 'transformation',
  className: 'io.kafki.transforms.FilterByOperation',
  aliases: ['FilterByOperation'],
  version: TRANSFORMS_VERSION,
  summary:
    'Keeps Debezium change events whose op is in `operations` and whose table matches `tables`; drops the other change events.',
  create(options) {
    if (!options.has('operations') && !options.has('tables')) {
      options.problem(
        'operations',
        'FilterByOperation needs "operations" or "tables" (or both); without them it would keep every record.',
      );
    }
    const criteria = readChangeEventCriteria(options);
    // Records that are not change events (heartbeats, schema changes, transaction metadata,
    // already-unwrapped rows) pass: this filter only judges what it can read.
    return (record) => (matchesChangeEvent(record, criteria) === false ? null : record);
  },
};
