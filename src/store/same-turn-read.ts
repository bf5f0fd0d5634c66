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
 * One read is outstanding at a time (asynchronous reads): keys asked meanwhile wait, together,
 * for the next, sent in the turn after it completes. The scheduling is TurnBatch's, with one
 * group and no bound on the keys of a read; a key asked twice is read once.
 */
import { TurnBatch } from "./turn-batch.js";

export class SameTurnRead<V> {
  private readonly batch: TurnBatch<string, V | Error>;

  /** `readMany` answers every key it is given (a missing one is an error of the read). */
  constructor(readMany: (keys: string[]) => Map<string, V> | Promise<Map<string, V>>) {
    this.batch = new TurnBatch(
      async (keys) => {
        const answers = await readMany([...new Set(keys)]);
        return keys.map((key) => answers.get(key) ?? new Error(`the read did not answer ${key}`));
      },
      Number.POSITIVE_INFINITY,
      1,
    );
  }

  async load(key: string): Promise<V> {
    const value = await this.batch.add("", key);
    if (value instanceof Error) throw value;
    return value;
  }
}
