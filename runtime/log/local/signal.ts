// One-shot wake-ups for long polls: a reader waits on the partitions it cares about and is woken
// by the append that makes data visible (or by a rebalance or close), never by a polling timer.

export class ChangeSignal {
  private readonly listeners = new Set<() => void>();

  /** Calls listener on the next notify(); returns a function that cancels the subscription. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    if (this.listeners.size === 0) return;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }
}

/** Resolves when any of the signals fires or after timeoutMs, whichever comes first. */
export function waitForAny(signals: readonly ChangeSignal[], timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const cancels: Array<() => void> = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const cancel of cancels) cancel();
      resolve();
    };
    for (const signal of signals) cancels.push(signal.subscribe(finish));
    const timer = setTimeout(finish, Math.max(0, timeoutMs));
  });
}
