// Events per second over a sliding window of one-second buckets, driven by the caller's clock
// (milliseconds), so it needs no timer and tests control time.

export class RateMeter {
  private readonly buckets: Float64Array;
  private readonly stamps: Float64Array;
  total = 0;

  constructor(private readonly windowSeconds = 10) {
    this.buckets = new Float64Array(windowSeconds);
    this.stamps = new Float64Array(windowSeconds).fill(-1);
  }

  add(count: number, nowMs: number): void {
    if (count === 0) return;
    const second = Math.floor(nowMs / 1000);
    const slot = second % this.windowSeconds;
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second;
      this.buckets[slot] = 0;
    }
    this.buckets[slot]! += count;
    this.total += count;
  }

  /** Average rate over the completed seconds of the window (the current second excluded). */
  perSecond(nowMs: number): number {
    const current = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      const stamp = this.stamps[i]!;
      if (stamp >= current - this.windowSeconds && stamp < current) sum += this.buckets[i]!;
    }
    return sum / this.windowSeconds;
  }
}
