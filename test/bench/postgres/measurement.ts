// One consumer's figures in the PostgreSQL benchmark, the same shape for every consumer (the
// references here, and Kafki's source when it is wired in), and how they appear in the table and
// in the final JSON line (test/bench/report.ts).

import type { Row } from '../report.ts';

export type Transport = 'tcp' | 'unix' | 'sql';

export interface Measurement {
  /** Short key for the JSON summary, e.g. 'pg_recvlogical_tcp', 'debezium_stream', 'kafki'. */
  key: string;
  /** Label in the table, e.g. 'pg_recvlogical (TCP)'. */
  name: string;
  /** 'stream': changes from the slot, start → end LSN; 'snapshot': rows of the loaded table. */
  kind: 'stream' | 'snapshot';
  transport: Transport;
  /** Changes (stream) or rows (snapshot) delivered. */
  count: number;
  /** The timed interval, in seconds (see `timed`). */
  seconds: number;
  perSecond: number;
  /** What `seconds` covers, e.g. 'process start → exit' or 'first → last record'. */
  timed: string;
  /** Peak RSS of the consumer process, MB. */
  peakRssMb: number | null;
  /** CPU seconds of the consumer process over its whole run. */
  cpuSeconds: number | null;
  /** CPU seconds of the server process serving it (the walsender), when measured. */
  serverCpuSeconds: number | null;
  /** Process start → first change, when the timed interval excludes it. */
  startupSeconds: number | null;
  note: string;
  /** No figure (e.g. a snapshot mode the source does not implement yet): shown as '-', ratios
   *  with it are null; `note` says why. */
  unavailable?: boolean;
}

export function perSecond(count: number, seconds: number): number {
  return seconds > 0 ? Math.round(count / seconds) : 0;
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A table row (test/bench/report.ts printTable). */
export function measurementRow(measurement: Measurement): Row {
  const missing = measurement.unavailable === true;
  return {
    consumer: measurement.name,
    transport: measurement.transport,
    [measurement.kind === 'stream' ? 'changes' : 'rows']: measurement.count,
    seconds: missing ? null : round(measurement.seconds),
    'per second': missing ? null : measurement.perSecond,
    'peak RSS MB': measurement.peakRssMb,
    'CPU s': measurement.cpuSeconds === null ? null : round(measurement.cpuSeconds),
    'server CPU s':
      measurement.serverCpuSeconds === null ? null : round(measurement.serverCpuSeconds),
    'startup s': measurement.startupSeconds === null ? null : round(measurement.startupSeconds),
  };
}

/** Flat fields for the JSON summary: <key>_per_s, <key>_peak_rss_mb, … */
export function measurementSummary(measurement: Measurement): Record<string, number | null> {
  const unit = measurement.kind === 'stream' ? 'changes' : 'rows';
  const missing = measurement.unavailable === true;
  return {
    [`${measurement.key}_${unit}_per_s`]: missing ? null : measurement.perSecond,
    [`${measurement.key}_peak_rss_mb`]: missing ? null : measurement.peakRssMb,
    [`${measurement.key}_cpu_s`]:
      missing || measurement.cpuSeconds === null ? null : round(measurement.cpuSeconds),
    [`${measurement.key}_seconds`]: missing ? null : round(measurement.seconds, 3),
  };
}
