// Rows as the sink sees record data: a struct (or map) is a plain object that is neither an array
// nor bytes.

import type { RecordData } from '../../runtime/api/index.ts';

export type Row = { [field: string]: RecordData };

export function isRow(value: RecordData): value is Row {
  return (
    value !== null && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value)
  );
}
