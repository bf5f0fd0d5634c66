/**
 * KeySamples on its own (src/store/postgres/key-samples.ts): where a page starts from a held
 * sample, in both orders; samples taken one at a time, in the background, no sooner than the
 * idle factor allows; memory bounded in keys and in scopes; a sample that disagrees with its own
 * total never held; a stale one forgotten. test/postgres-key-samples.test.ts runs it against
 * PostgreSQL.
 */
import { describe, expect, it } from "vitest";
import {
  type KeySample,
  type KeySampleOptions,
  KeySamples,
} from "../src/store/postgres/key-samples.js";

const OPTIONS: KeySampleOptions = {
  maxKeys: 1_000,
  maxScopes: 3,
  minStep: 10,
  maxKeysPerScope: 1_000,
  idleFactor: 0,
};

/** The sample of a scope of `total` rows whose row n has the key (`c${n}`, `i${n}`). */
function sampleOf(total: number, step = 10, version = 1): KeySample {
  const at = Array.from({ length: Math.ceil(total / step) }, (_, j) => j * step);
  return {
    version,
    total,
    step,
    createdAt: at.map((n) => `c${n}`),
    instanceIds: at.map((n) => `i${n}`),
  };
}

/** Asks for `scope`, which holds no sample yet, and waits until `take`'s sample is held. */
async function held(samples: KeySamples, scope: string, take: () => Promise<KeySample>) {
  const taken = samples.counts.taken;
  expect(samples.start(scope, { offset: 0, desc: false }, take)).toBeUndefined();
  await new Promise((resolve) => setTimeout(resolve, 5));
  expect(samples.counts.taken).toBe(taken + 1);
}

describe("KeySamples", () => {
  it("starts a page at the sampled key before it, and a descending page at its first row's", async () => {
    const samples = new KeySamples(OPTIONS);
    await held(samples, "s", async () => sampleOf(1_000));
    const take = async () => sampleOf(1_000);
    expect(samples.start("s", { offset: 257, desc: false }, take)).toEqual({
      version: 1,
      total: 1_000,
      createdAt: "c250",
      instanceId: "i250",
      skip: 7,
    });
    // Descending, a page is read backwards from its first row: row 999 at offset 0.
    expect(samples.start("s", { offset: 0, desc: true }, take)).toMatchObject({
      createdAt: "c990",
      skip: 9,
    });
    // Offset 950 descending is row 49 (the page holds rows 49 down to 0).
    expect(samples.start("s", { offset: 950, desc: true }, take)).toMatchObject({
      createdAt: "c40",
      skip: 9,
    });
    // Past the end: no start (the statement answers the empty page by itself).
    expect(samples.start("s", { offset: 1_000, desc: false }, take)).toBeUndefined();
  });

  it("takes one sample at a time, and not again before the idle factor allows", async () => {
    const samples = new KeySamples({ ...OPTIONS, idleFactor: 1_000_000 });
    let taken = 0;
    let finish: (sample: KeySample) => void = () => {};
    const take = () => {
      taken++;
      return new Promise<KeySample>((resolve) => {
        finish = resolve;
      });
    };
    const page = { offset: 5, desc: false };
    expect(samples.start("a", page, take)).toBeUndefined();
    expect(samples.start("b", page, take)).toBeUndefined();
    expect(taken).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2));
    finish(sampleOf(100));
    await new Promise((resolve) => setTimeout(resolve, 2));
    expect(samples.start("a", page, take)).toBeDefined();
    // The sample took ≥ 2 ms: the next may start no sooner than 2,000 s later.
    expect(samples.start("b", page, take)).toBeUndefined();
    expect(taken).toBe(1);
  });

  it("tries again when due after a sample fails, and never holds one that disagrees with its total", async () => {
    const samples = new KeySamples(OPTIONS);
    const page = { offset: 5, desc: false };
    samples.start("a", page, async () => {
      throw new Error("statement timeout");
    });
    await new Promise((resolve) => setTimeout(resolve, 2));
    samples.start("a", page, async () => ({ ...sampleOf(100), total: 150 }));
    await new Promise((resolve) => setTimeout(resolve, 2));
    expect(samples.size).toEqual({ scopes: 0, keys: 0 });
    expect(samples.counts.taken).toBe(0);
    await held(samples, "a", async () => sampleOf(100));
    expect(samples.size).toEqual({ scopes: 1, keys: 10 });
  });

  it("holds at most maxKeys keys and maxScopes scopes, dropping the least recently used", async () => {
    const samples = new KeySamples(OPTIONS);
    await held(samples, "a", async () => sampleOf(4_000));
    await held(samples, "b", async () => sampleOf(4_000));
    expect(samples.size).toEqual({ scopes: 2, keys: 800 });
    // "a" used again: "b" is now the least recently used, and goes to make room for "c".
    samples.start("a", { offset: 0, desc: false }, async () => sampleOf(4_000));
    await held(samples, "c", async () => sampleOf(4_000));
    expect(samples.size).toEqual({ scopes: 2, keys: 800 });
    // Empty scopes (a pool that does not exist) cost no keys, but count as scopes.
    await held(samples, "none-1", async () => sampleOf(0));
    await held(samples, "none-2", async () => sampleOf(0));
    expect(samples.size.scopes).toBe(3);
    // A sample bigger than every key allowed is never held.
    samples.start("huge", { offset: 0, desc: false }, async () => sampleOf(20_000));
    await new Promise((resolve) => setTimeout(resolve, 2));
    expect(samples.size.scopes).toBe(3);
  });

  it("forgets a sample found stale at its version, not a newer one", async () => {
    const samples = new KeySamples(OPTIONS);
    await held(samples, "a", async () => sampleOf(100, 10, 7));
    samples.stale("a", 6);
    expect(samples.size.scopes).toBe(1);
    samples.stale("a", 7);
    expect(samples.size).toEqual({ scopes: 0, keys: 0 });
    expect(samples.counts.stale).toBe(2);
  });
});
