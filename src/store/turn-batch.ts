/**
 * Work done together per group: the items of a group waiting when a batch can start go to `run`
 * in one call (at most `maxItems` at a time), and each item gets its own answer.
 *
 * A batch can start in the check phase of the turn its first item was added in (setImmediate),
 * after every request that arrived in the turn's poll phase has added its own, if fewer than
 * `maxInFlight` batches are running; otherwise its items wait for one to end, and more join
 * them meanwhile. So items are grouped only where they would have waited anyway, and as many
 * batches run at once as there are connections to run them.
 *
 * As with SameTurnRead, an item is added while its request is handled, and its batch starts
 * later, so it sees every write committed before the request arrived; an item never joins a
 * batch already started.
 */

interface Waiter<R> {
  resolve(value: R): void;
  reject(error: unknown): void;
}

export class TurnBatch<I, R> {
  /** Waiting items by group, the longest waiting group first (a Map keeps insertion order). */
  private groups = new Map<string, { items: I[]; waiters: Waiter<R>[] }>();
  private scheduled = false;
  private inFlight = 0;

  /**
   * `run` answers its items in their order, one answer each. `maxItems` and `maxInFlight` may be
   * infinite (no bound).
   */
  constructor(
    private readonly run: (items: I[]) => Promise<R[]>,
    private readonly maxItems: number,
    private readonly maxInFlight = Number.POSITIVE_INFINITY,
  ) {
    if (!(maxItems >= 1)) throw new Error("maxItems must be ≥ 1");
    if (!(maxInFlight >= 1)) throw new Error("maxInFlight must be ≥ 1");
  }

  add(group: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let batch = this.groups.get(group);
      if (!batch) {
        batch = { items: [], waiters: [] };
        this.groups.set(group, batch);
      }
      batch.items.push(item);
      batch.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.groups.size === 0 || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Starts the waiting groups' batches, longest waiting first, while a batch can start. */
  private flush(): void {
    this.scheduled = false;
    while (this.inFlight < this.maxInFlight) {
      const next = this.groups.entries().next();
      if (next.done) return;
      const [group, waiting] = next.value;
      // Spread over the batches that can start, so that no connection idles while one batch
      // reads everything: grouped pages come back together, and their next requests would
      // arrive together, merging into ever fewer and bigger batches.
      const free = this.maxInFlight - this.inFlight;
      const share = Number.isFinite(free)
        ? Math.ceil(waiting.items.length / free)
        : waiting.items.length;
      const take = Math.min(share, this.maxItems);
      this.start(waiting.items.splice(0, take), waiting.waiters.splice(0, take));
      this.groups.delete(group);
      // Items left over (more than maxItems) wait behind the other groups.
      if (waiting.items.length > 0) this.groups.set(group, waiting);
    }
  }

  private start(items: I[], waiters: Waiter<R>[]): void {
    this.inFlight++;
    let answers: Promise<R[]>;
    try {
      answers = this.run(items);
    } catch (error) {
      answers = Promise.reject(error);
    }
    answers
      .then(
        (results) => {
          waiters.forEach((waiter, i) => {
            if (i < results.length) waiter.resolve(results[i] as R);
            else waiter.reject(new Error("the batch gave no answer for an item"));
          });
        },
        (error: unknown) => {
          for (const waiter of waiters) waiter.reject(error);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.schedule();
      });
  }
}
