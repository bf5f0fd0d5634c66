/**
 * The bench's numeric settings (BENCH_DURATION and the like, bench/env.ts): unset or empty gives
 * the default, a whole number at least the minimum is taken, anything else stops the bench with
 * a line naming the variable.
 */
import { describe, expect, it } from "vitest";
import { wholeNumber } from "../bench/env.js";

describe("bench settings from the environment", () => {
  it("takes the default when unset or empty, and a whole number at least the minimum", () => {
    expect(wholeNumber({}, "BENCH_DURATION", 10, 1)).toBe(10);
    expect(wholeNumber({ BENCH_DURATION: " " }, "BENCH_DURATION", 10, 1)).toBe(10);
    expect(wholeNumber({ BENCH_DURATION: "3" }, "BENCH_DURATION", 10, 1)).toBe(3);
    expect(wholeNumber({ BENCH_WARMUP: "0" }, "BENCH_WARMUP", 2, 0)).toBe(0);
  });

  it.each(["abc", "2.5", "-1", "0", "1e3", "10s"])("refuses %j, naming the variable", (text) => {
    expect(() => wholeNumber({ BENCH_DURATION: text }, "BENCH_DURATION", 10, 1)).toThrow(
      `BENCH_DURATION must be a whole number of at least 1, got ${JSON.stringify(text)}`,
    );
  });
});
