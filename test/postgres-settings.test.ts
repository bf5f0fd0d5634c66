/** The settings a `postgres://` URL carries (src/store/postgres/connection.ts): defaults and errors. */
import { describe, expect, it, vi } from "vitest";
import { postgresSettings } from "../src/store/postgres/connection.js";

// Three cores, so that the default (6) differs from pg's 10 on any machine the test runs on.
vi.mock("node:os", async (original) => ({
  ...(await original<typeof import("node:os")>()),
  availableParallelism: () => 3,
}));

const URL = "postgres://u@h:5432/db";

describe("PostgreSQL URL settings", () => {
  it("opens up to twice this machine's cores per pool when the URL names no pool_max", () => {
    const settings = postgresSettings(URL);
    expect(settings.pool.max).toBe(6);
    for (const plan of ["generic", "custom", "auto"] as const) {
      expect(settings.readers[plan].max).toBe(6);
    }
  });

  it("takes the URL's pool_max for every pool", () => {
    const settings = postgresSettings(`${URL}?pool_max=7`);
    expect(settings.pool.max).toBe(7);
    expect(Object.values(settings.readers).map((reader) => reader.max)).toEqual([7, 7, 7]);
  });

  it.each([
    ["pool_max=0", 'pool_max must be an integer from 1 to 1000, got "0"'],
    ["pool_max=1001", 'pool_max must be an integer from 1 to 1000, got "1001"'],
    ["pool_max=four", 'pool_max must be an integer from 1 to 1000, got "four"'],
    ["pool_max=2.5", 'pool_max must be an integer from 1 to 1000, got "2.5"'],
    ["connect_timeout=0", 'connect_timeout must be an integer from 1 to 600, got "0"'],
    ["statement_timeout=99", 'statement_timeout must be an integer from 100 to 3600000, got "99"'],
    ["schema=a;drop", 'schema must match ^[a-z_][a-z0-9_]{0,62}$, got "a;drop"'],
  ])("refuses %s with a message naming the parameter", (parameter, message) => {
    expect(() => postgresSettings(`${URL}?${parameter}`)).toThrow(`database URL: ${message}`);
  });
});
