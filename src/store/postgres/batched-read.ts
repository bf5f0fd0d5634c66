/**
 * One small read shared by the requests that ask for it at about the same time: a key asked for
 * while a read is in flight waits for the next read, which starts as soon as that one ends and
 * carries every key asked for meanwhile. Under load, one round trip answers dozens of requests
 * instead of one each (issue 5: the tenant's versions on every request of every replica).
 *
 * Never stale: an answer always comes from a read that was sent after it was asked for, never
 * from one already in flight, so it sees every write committed before its request arrived.
 */

interface Waiter<V> {
  resolve(value: V): void;
  reject(error: unknown): void;
}

export class BatchedRead<V> {
  private waiting = new Map<string, Waiter<V>[]>();
  private inFlight = false;

  /** `readMany` answers every key it is given (a missing one is an error of the read). */
  constructor(private readonly readMany: (keys: string[]) => Promise<Map<string, V>>) {}

  load(key: string): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const waiters = this.waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.waiting.set(key, [{ resolve, reject }]);
      if (!this.inFlight) this.next();
    });
  }

  private next(): void {
    const batch = this.waiting;
    this.waiting = new Map();
    this.inFlight = true;
    this.readMany([...batch.keys()])
      .then(
        (values) => {
          for (const [key, waiters] of batch) {
            const value = values.get(key);
            for (const waiter of waiters) {
              if (value === undefined) waiter.reject(new Error(`the read did not answer ${key}`));
              else waiter.resolve(value);
            }
          }
        },
        (error: unknown) => {
          for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
        },
      )
      .finally(() => {
        this.inFlight = false;
        if (this.waiting.size > 0) this.next();
      });
  }
}
