// Debezium's transaction metadata (provide.transaction.metadata=true): a BEGIN and an END event per
// transaction on `<topic.prefix>.transaction`, and a `transaction` block in every data event with
// the transaction id, the event's position in the transaction (total_order, from 1) and in its
// table (data_collection_order, from 1). Only transactions with at least one captured event get
// BEGIN/END, as in Debezium. Shared by the CDC connectors; the transaction id format is theirs
// (PostgreSQL: "txId:lsn").

import type { ConnectSchema, RecordObject } from '../api/record.ts';
import {
  field,
  int64Schema,
  optionalInt64Schema,
  stringSchema,
  type TransactionBlock,
} from './envelope.ts';

export const transactionKeySchema: ConnectSchema = {
  type: 'struct',
  fields: [field('id', stringSchema)],
  optional: false,
  name: 'io.debezium.connector.common.TransactionMetadataKey',
};

const dataCollectionSchema: ConnectSchema = {
  type: 'struct',
  fields: [field('data_collection', stringSchema), field('event_count', int64Schema)],
  optional: false,
  name: 'event.collection',
};

export const transactionValueSchema: ConnectSchema = {
  type: 'struct',
  fields: [
    field('status', stringSchema),
    field('id', stringSchema),
    field('event_count', optionalInt64Schema),
    field('data_collections', { type: 'array', items: dataCollectionSchema, optional: true }),
    field('ts_ms', int64Schema),
  ],
  optional: false,
  name: 'io.debezium.connector.common.TransactionMetadataValue',
};

/**
 * Counts the events of the transaction in flight. `next(collection)` numbers one data event;
 * `end()` gives the END event's value. Counting continues across events that a resumed task skips
 * as already delivered, so the numbering of a replayed transaction matches the first delivery.
 */
export class TransactionTracker {
  private id = '';
  private total = 0;
  private emitted = 0;
  private perCollection = new Map<string, number>();

  begin(id: string): void {
    this.id = id;
    this.total = 0;
    this.emitted = 0;
    this.perCollection = new Map();
  }

  get transactionId(): string {
    return this.id;
  }

  /** True once a data event of this transaction was handed on (so BEGIN went out before it). */
  get hasEmitted(): boolean {
    return this.emitted > 0;
  }

  /** Number the next event of `collection`; `emit` false for events skipped as already delivered. */
  next(collection: string, emit: boolean): TransactionBlock {
    this.total++;
    if (emit) this.emitted++;
    const inCollection = (this.perCollection.get(collection) ?? 0) + 1;
    this.perCollection.set(collection, inCollection);
    return { id: this.id, total_order: this.total, data_collection_order: inCollection };
  }

  beginValue(tsMs: number): RecordObject {
    return { status: 'BEGIN', id: this.id, event_count: null, data_collections: null, ts_ms: tsMs };
  }

  endValue(tsMs: number): RecordObject {
    return {
      status: 'END',
      id: this.id,
      event_count: this.total,
      data_collections: [...this.perCollection].map(([data_collection, event_count]) => ({
        data_collection,
        event_count,
      })),
      ts_ms: tsMs,
    };
  }

  get eventCount(): number {
    return this.total;
  }
}
