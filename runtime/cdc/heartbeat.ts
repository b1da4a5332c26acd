// Heartbeats (heartbeat.interval.ms): a record on `<topic.heartbeat.prefix>.<topic.prefix>` at most
// once per interval, carrying the connector's current offset, so the offset (and with it the
// upstream acknowledgement) moves even when no captured table changes. Debezium's schemas: key
// ServerNameKey {serverName}, value Heartbeat {ts_ms}. The schedule is a pure function of the
// clock the caller passes in, so tests drive it without timers.

import type { ConnectSchema, RecordObject } from '../api/record.ts';
import { field, int64Schema, stringSchema } from './envelope.ts';

export const heartbeatKeySchema: ConnectSchema = {
  type: 'struct',
  fields: [field('serverName', stringSchema)],
  optional: false,
  name: 'io.debezium.connector.common.ServerNameKey',
};

export const heartbeatValueSchema: ConnectSchema = {
  type: 'struct',
  fields: [field('ts_ms', int64Schema)],
  optional: false,
  name: 'io.debezium.connector.common.Heartbeat',
};

export function heartbeatTopic(topicHeartbeatPrefix: string, topicPrefix: string): string {
  return `${topicHeartbeatPrefix}.${topicPrefix}`;
}

export function heartbeatKey(serverName: string): RecordObject {
  return { serverName };
}

export function heartbeatValue(tsMs: number): RecordObject {
  return { ts_ms: tsMs };
}

/** When the next heartbeat is due. An interval of 0 disables heartbeats. */
export class HeartbeatSchedule {
  private last: number;

  constructor(
    private readonly intervalMs: number,
    now: number,
  ) {
    this.last = now;
  }

  get enabled(): boolean {
    return this.intervalMs > 0;
  }

  due(now: number): boolean {
    return this.intervalMs > 0 && now - this.last >= this.intervalMs;
  }

  /** Call when a heartbeat was started; the next one is due an interval later. */
  sent(now: number): void {
    this.last = now;
  }
}
