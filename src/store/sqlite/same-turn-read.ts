/**
 * One synchronous read shared by every request that asks for it in the same turn of the event
 * loop: the first to ask schedules the read for the turn's check phase (setImmediate), after
 * every request that arrived in the turn's poll phase has been parsed and has asked too; each
 * then gets its answer from that one read. Under load a turn holds several requests, and the
 * tenant's versions were a tenth of the main thread's time of a cached SQLite answer (issue 5).
 *
 * Never stale: a request asks while it is handled, after its bytes were received, and the read
 * runs later in the same turn, so it sees every write committed before the request arrived.
 * (The PostgreSQL store's BatchedRead cannot let a key join a read already sent; this one's
 * read is not sent until the check phase, so every key asked before then joins it.)
 */

interface Waiter<V> {
  resolve(value: V): void;
  reject(error: unknown): void;
}

export class SameTurnRead<V> {
  private waiting = new Map<string, Waiter<V>[]>();
  private scheduled = false;

  /** `readMany` answers every key it is given (a missing one is an error of the read). */
  constructor(private readonly readMany: (keys: string[]) => Map<string, V>) {}

  load(key: string): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const waiters = this.waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.waiting.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.read());
      }
    });
  }

  private read(): void {
    const batch = this.waiting;
    this.waiting = new Map();
    this.scheduled = false;
    let values: Map<string, V>;
    try {
      values = this.readMany([...batch.keys()]);
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      return;
    }
    for (const [key, waiters] of batch) {
      const value = values.get(key);
      for (const waiter of waiters) {
        if (value === undefined) waiter.reject(new Error(`the read did not answer ${key}`));
        else waiter.resolve(value);
      }
    }
  }
}
