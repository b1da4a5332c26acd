// How far V8 lets the old generation grow past what survived the last full collection before it
// collects again. By default it may grow up to 4× the live size: a worker's live heap is small
// (its code and configs, plus the records in flight), but a pipeline allocates at a high rate
// and every record in flight outlives a couple of scavenges (it waits for the log's fsync), so
// the old generation fills with records already written and the heap — the process's RSS —
// settles near 4× the live size. Measured on `bench:postgres` (300k Debezium JSON changes into
// the local log, peak RSS of the worker, noisy): 283 MB with V8's default; with a factor of 2,
// 257 MB, and 240 MB with 1.5 (both with the pump's bound on converting ahead). The price is GC
// CPU: on `bench:es` (source and sink in one worker) 1.5 cost ~20% more worker CPU than 3×
// (snapshot 0.34 vs 0.38 of the bulk helper, peak RSS ~270 vs 361 MB); raise it with
// --heap-growing-percent where memory is plentiful.
//
// Applied once per process when a worker starts, unless the node flags already say otherwise
// (--heap-growing-percent in NODE_OPTIONS or on the command line).

import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to 1.5× its live size before the next full collection. */
export const HEAP_GROWING_PERCENT = 50;

let applied = false;

export function limitHeapGrowth(percent = HEAP_GROWING_PERCENT): void {
  if (applied) return;
  applied = true;
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (/heap[-_]growing[-_]percent/.test(flags)) return;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
