/**
 * One read of tenants' versions shared by every request that asks for it in the same turn of
 * the event loop: the first to ask schedules the read for the turn's check phase
 * (setImmediate), after every request that arrived in the turn's poll phase has been parsed and
 * has asked too; each then gets its answer from that one read. The tenant's versions are read
 * on every request (issue 5): once per request, SQLite's synchronous read held the main thread
 * for a third of a cached answer's time, and PostgreSQL's round trips were as many as requests.
 *
 * Never stale: a request asks while it is handled, after its bytes were received, and the read
 * is made (SQLite) or sent (PostgreSQL) later, so it sees every write committed before the
 * request arrived. A key never joins a read already sent.
 *
 * At most `maxInFlight` reads are outstanding (asynchronous reads): keys asked meanwhile wait,
 * together, for the next, sent in the turn after one completes.
 */

interface Waiter<V> {
  resolve(value: V): void;
  reject(error: unknown): void;
}

export class SameTurnRead<V> {
  private waiting = new Map<string, Waiter<V>[]>();
  private scheduled = false;
  private inFlight = 0;

  /** `readMany` answers every key it is given (a missing one is an error of the read). */
  constructor(
    private readonly readMany: (keys: string[]) => Map<string, V> | Promise<Map<string, V>>,
    private readonly maxInFlight = 1,
  ) {}

  load(key: string): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      const waiters = this.waiting.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.waiting.set(key, [{ resolve, reject }]);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.waiting.size === 0 || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => this.read());
  }

  private read(): void {
    const batch = this.waiting;
    this.waiting = new Map();
    this.scheduled = false;
    this.inFlight++;
    let values: Map<string, V> | Promise<Map<string, V>>;
    try {
      values = this.readMany([...batch.keys()]);
    } catch (error) {
      values = Promise.reject(error);
    }
    Promise.resolve(values)
      .then(
        (answers) => {
          for (const [key, waiters] of batch) {
            const value = answers.get(key);
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
        this.inFlight--;
        this.schedule();
      });
  }
}
