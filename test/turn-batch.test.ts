/**
 * TurnBatch (src/store/turn-batch.ts): items added in one turn of the event loop go to `run`
 * together, per group and at most maxItems at a time, each with its own answer; at most
 * maxInFlight runs at once, the items that wait meanwhile going together; a failed run fails its
 * items only; an item added once a batch has started waits for the next.
 */
import { describe, expect, it } from "vitest";
import { TurnBatch } from "../src/store/turn-batch.js";

/** A batch that records every run and answers each item with itself doubled. */
function doubling(maxItems: number) {
  const runs: number[][] = [];
  const batch = new TurnBatch<number, number>(async (items) => {
    runs.push(items);
    return items.map((n) => 2 * n);
  }, maxItems);
  return { batch, runs };
}

describe("TurnBatch", () => {
  it("runs the items of one turn together per group, each answered in its place", async () => {
    const { batch, runs } = doubling(10);
    const answers = await Promise.all([
      batch.add("a", 1),
      batch.add("b", 2),
      batch.add("a", 3),
      batch.add("a", 4),
    ]);
    expect(answers).toEqual([2, 4, 6, 8]);
    expect(runs).toEqual([[1, 3, 4], [2]]);
  });

  it("runs at most maxItems at a time", async () => {
    const { batch, runs } = doubling(2);
    const answers = await Promise.all([1, 2, 3, 4, 5].map((n) => batch.add("g", n)));
    expect(answers).toEqual([2, 4, 6, 8, 10]);
    expect(runs).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("starts a new batch for an item added after the turn's batch has started", async () => {
    const { batch, runs } = doubling(10);
    const first = batch.add("g", 1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = batch.add("g", 2);
    expect(await Promise.all([first, second])).toEqual([2, 4]);
    expect(runs).toEqual([[1], [2]]);
  });

  it("runs at most maxInFlight batches at once; items that wait meanwhile go together", async () => {
    const runs: number[][] = [];
    const ends: (() => void)[] = [];
    const batch = new TurnBatch<number, number>(
      (items) => {
        runs.push(items);
        return new Promise((resolve) => ends.push(() => resolve(items)));
      },
      10,
      2,
    );
    const answers = [batch.add("a", 1), batch.add("b", 2), batch.add("c", 3)];
    await new Promise((resolve) => setImmediate(resolve));
    // Two groups started; the third waits for a slot, and items of every group join the wait.
    expect(runs).toEqual([[1], [2]]);
    answers.push(batch.add("c", 4), batch.add("a", 5), batch.add("c", 6));
    await new Promise((resolve) => setImmediate(resolve));
    expect(runs).toHaveLength(2);
    ends[0]?.();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    // The longest waiting group first, with everything it gathered.
    expect(runs[2]).toEqual([3, 4, 6]);
    for (const end of ends.slice(1)) end();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    ends[3]?.();
    expect(await Promise.all(answers)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(runs).toEqual([[1], [2], [3, 4, 6], [5]]);
  });

  it("spreads a group's waiting items over the batches that can start", async () => {
    const runs: number[][] = [];
    const batch = new TurnBatch<number, number>(
      async (items) => {
        runs.push(items);
        return items;
      },
      10,
      2,
    );
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => batch.add("g", n)))).toEqual([
      1, 2, 3, 4, 5,
    ]);
    // Two can start: 3 and 2 items, not all five in one while the other connection idles.
    expect(runs).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it("fails the items of a failed run, and only those", async () => {
    const batch = new TurnBatch<string, string>(async (items) => {
      if (items.includes("bad")) throw new Error("the statement failed");
      return items;
    }, 10);
    const results = await Promise.allSettled([
      batch.add("x", "bad"),
      batch.add("x", "fine"),
      batch.add("y", "other"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "fulfilled"]);
    expect((results[0] as PromiseRejectedResult).reason.message).toBe("the statement failed");
  });

  it("fails an item its run left unanswered, and one whose run threw before starting", async () => {
    const short = new TurnBatch<number, number>(async (items) => items.slice(1), 10);
    const results = await Promise.allSettled([short.add("g", 1), short.add("g", 2)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
    const throwing = new TurnBatch<number, number>(() => {
      throw new Error("no connection");
    }, 10);
    await expect(throwing.add("g", 1)).rejects.toThrow("no connection");
  });

  it("refuses a maxItems or maxInFlight below 1", () => {
    expect(() => new TurnBatch<number, number>(async (items) => items, 0)).toThrow(
      "maxItems must be ≥ 1",
    );
    expect(() => new TurnBatch<number, number>(async (items) => items, 1, 0)).toThrow(
      "maxInFlight must be ≥ 1",
    );
  });
});
