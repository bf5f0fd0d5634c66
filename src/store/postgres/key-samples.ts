/**
 * Sampled positions in creation order, so that a deep page starts a step of at most `step`
 * index entries from its first row, instead of summing a running total over the scope's days
 * and then stepping over up to a day's rows (1.7–1.9 ms of a backend on the 1M bench tenant,
 * against ~0.5 ms for page 1).
 *
 * A scope's sample is the key (created_at, instance_id) of every step-th row of its ascending
 * order, read by one index-only scan together with the tenant's order version (migration 9) and
 * the scope's total, all in one snapshot. Positions hold for as long as the order version reads
 * the same: every change that can move a row in or out of a scope, or along it, bumps it. So a
 * page statement that uses a sample carries the version and the total it was taken at, and
 * checks both in its own snapshot; when either has moved, the statement reads no page and says
 * so (`fresh` false), and the store answers through the day counts instead. A sample is never
 * trusted, only used when proven current.
 *
 * Samples are taken in the background, one at a time, when a deep page of a scope is asked for
 * and none is held; meanwhile requests take the day-count path. A scan of the 1M tenant costs a
 * backend 0.3–0.7 s, so after a sample taking d, the next starts no sooner than 9·d later: at
 * most a tenth of one core goes to sampling, however often a tenant's order changes.
 */

/** The sample of one scope at one order version. */
export interface KeySample {
  version: number;
  total: number;
  /** Rows between two sampled keys; keys[j] is the row at position j · step. */
  step: number;
  createdAt: string[];
  instanceIds: string[];
}

/**
 * Where a deep page is read from: `skip` rows after the sampled key (ascending) is its first row,
 * or, for a descending page, its last in ascending order (the page is read backwards from it).
 */
export interface SampledStart {
  version: number;
  total: number;
  createdAt: string;
  instanceId: string;
  skip: number;
}

export interface KeySampleOptions {
  /** Sampled keys held across all scopes; the least recently used scopes go first. */
  maxKeys: number;
  /**
   * Scopes held at most, however few keys each has: a caller can name any pool, and a pool
   * that does not exist has an empty sample, held so that it is not taken again and again.
   */
  maxScopes: number;
  /** The least step between sampled keys. */
  minStep: number;
  /** Keys per scope at most: a bigger scope gets a longer step. */
  maxKeysPerScope: number;
  /** Time between samples, as a multiple of the last one's duration. */
  idleFactor: number;
}

export const DEFAULT_KEY_SAMPLE_OPTIONS: KeySampleOptions = {
  maxKeys: 250_000,
  maxScopes: 1_000,
  minStep: 100,
  maxKeysPerScope: 100_000,
  idleFactor: 9,
};

export class KeySamples {
  /** By scope key, in least recently used order (a Map keeps insertion order). */
  private readonly held = new Map<string, KeySample>();
  private keys = 0;
  /** Starts handed out, samples found no longer current, samples taken: for tests and tuning. */
  readonly counts = { used: 0, stale: 0, taken: 0 };
  private building = false;
  private nextBuildAt = 0;

  constructor(readonly options: KeySampleOptions = DEFAULT_KEY_SAMPLE_OPTIONS) {}

  /**
   * Where the page at `offset` of `scope` is read from (`desc`: in descending order; SampledStart),
   * from the held sample; none when no sample is held (one is then taken in the background
   * through `take`, when sampling is due) or the page lies past the sample's total.
   */
  start(
    scope: string,
    page: { offset: number; desc: boolean },
    take: () => Promise<KeySample>,
  ): SampledStart | undefined {
    const sample = this.held.get(scope);
    if (!sample) {
      this.schedule(scope, take);
      return undefined;
    }
    this.held.delete(scope);
    this.held.set(scope, sample);
    const { total, step } = sample;
    if (page.offset >= total) return undefined;
    // The position, ascending, of the page's first row in its own order.
    const first = page.desc ? total - page.offset - 1 : page.offset;
    const j = Math.floor(first / step);
    this.counts.used++;
    return {
      version: sample.version,
      total,
      createdAt: sample.createdAt[j] as string,
      instanceId: sample.instanceIds[j] as string,
      skip: first - j * step,
    };
  }

  /** Forgets the scope's sample taken at `version`: a statement found it no longer current. */
  stale(scope: string, version: number): void {
    const sample = this.held.get(scope);
    this.counts.stale++;
    if (sample?.version === version) this.forget(scope, sample);
  }

  /** Held scopes and keys, for tests and diagnostics. */
  get size(): { scopes: number; keys: number } {
    return { scopes: this.held.size, keys: this.keys };
  }

  private schedule(scope: string, take: () => Promise<KeySample>): void {
    const now = performance.now();
    if (this.building || now < this.nextBuildAt) return;
    this.building = true;
    take()
      .then(
        (sample) => this.hold(scope, sample),
        () => {}, // the day-count path answers meanwhile; sampling is tried again when due
      )
      .finally(() => {
        const end = performance.now();
        this.building = false;
        this.nextBuildAt = end + this.options.idleFactor * (end - now);
      });
  }

  private hold(scope: string, sample: KeySample): void {
    const count = sample.createdAt.length;
    const expected = Math.ceil(sample.total / sample.step);
    // A sample that disagrees with its own total (counts and rows read apart) is not used.
    if (count !== expected || sample.instanceIds.length !== count) return;
    if (count > this.options.maxKeys) return;
    const old = this.held.get(scope);
    if (old) this.forget(scope, old);
    for (const [key, held] of this.held) {
      if (this.keys + count <= this.options.maxKeys && this.held.size < this.options.maxScopes)
        break;
      this.forget(key, held);
    }
    this.held.set(scope, sample);
    this.keys += count;
    this.counts.taken++;
  }

  private forget(scope: string, sample: KeySample): void {
    this.held.delete(scope);
    this.keys -= sample.createdAt.length;
  }
}
