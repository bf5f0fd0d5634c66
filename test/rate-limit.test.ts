/**
 * Per-tenant rate limits across replicas: with REDIS_URL, two app instances each configured for
 * N requests/s together allow N; without it (or with Redis down) each counts on its own and the
 * service keeps answering. Redis is reached through a TCP proxy so it can be taken away.
 */
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import type { Config } from "../src/config.js";
import { makeTenant, testConfig } from "./helpers/fixtures.js";
import { hasRedis, REDIS_HOST, REDIS_PORT } from "./helpers/redis.js";
import { sqlite } from "./helpers/stores.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

const RATE = 20;
const UNREACHABLE = "Redis is unreachable";

const redisUp = await hasRedis("the shared rate-limit tests");

class LogLines extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _: string, done: () => void): void {
    for (const line of chunk.toString().split("\n")) if (line) this.lines.push(JSON.parse(line));
    done();
  }
  count(text: string): number {
    return this.lines.filter((l) => String(l.msg).includes(text)).length;
  }
}

describe("rate limits across two replicas", () => {
  let ctx: Awaited<ReturnType<typeof sqlite.create>>;
  let proxy: TcpProxy;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    ctx = await sqlite.create();
    if (redisUp) proxy = await startTcpProxy(REDIS_PORT, REDIS_HOST);
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await proxy?.close();
    await ctx.dispose();
  });

  async function replicas(overrides: Partial<Config>) {
    const made = [];
    for (let i = 0; i < 2; i++) {
      const log = new LogLines();
      const app = await buildApp({
        config: testConfig({ logLevel: "info", ...overrides }),
        store: ctx.store,
        logStream: log,
      });
      apps.push(app);
      made.push({ app, log });
    }
    return made;
  }

  /** A fresh tenant limited to RATE req/s, and a burst of 2×RATE requests alternating replicas. */
  async function burst(pair: { app: FastifyInstance }[]) {
    const tenant = await makeTenant(ctx.store, `t-${Math.random().toString(36).slice(2, 10)}`);
    await ctx.store.updateTenant(tenant.tenantId, { rate_limit: RATE });
    const responses = await Promise.all(
      Array.from({ length: 2 * RATE }, (_, i) =>
        (pair[i % 2] as { app: FastifyInstance }).app.inject({
          url: "/v1/instances/batch-query?page_no=1&page_size=10",
          headers: { "x-auth-token": tenant.adminToken },
        }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode);
    const refused = responses.find((r) => r.statusCode === 429);
    return {
      allowed: statuses.filter((s) => s === 200).length,
      refused: statuses.filter((s) => s === 429).length,
      other: statuses.filter((s) => s !== 200 && s !== 429),
      refusal: refused?.json(),
      retryAfter: refused?.headers["retry-after"],
    };
  }

  it("without Redis each replica counts on its own: together they allow twice the rate", async () => {
    const pair = await replicas({ redisUrl: undefined });
    const result = await burst(pair);
    expect(result.other).toEqual([]);
    expect(result.allowed).toBe(2 * RATE);
  });

  it.runIf(redisUp)(
    "with Redis the replicas share one count: together they allow the rate",
    async () => {
      const pair = await replicas({ redisUrl: `redis://${REDIS_HOST}:${proxy.port}` });
      const result = await burst(pair);
      expect(result.other).toEqual([]);
      expect(result.allowed).toBe(RATE);
      expect(result.refused).toBe(RATE);
      expect(result.refusal?.error_code).toBe("APIGW.0308");
      expect(Number(result.retryAfter)).toBeGreaterThanOrEqual(1);
      for (const { log } of pair) expect(log.count(UNREACHABLE)).toBe(0);
    },
  );

  it.runIf(redisUp)(
    "with Redis down requests are still served, counted per process, and each replica says so once; it shares again when Redis is back",
    async () => {
      const pair = await replicas({ redisUrl: `redis://${REDIS_HOST}:${proxy.port}` });
      expect((await burst(pair)).allowed).toBe(RATE);

      await proxy.refuse();
      const started = Date.now();
      const down = await burst(pair);
      const second = await burst(pair);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(down.other).toEqual([]);
      expect(down.allowed).toBe(2 * RATE);
      expect(second.allowed).toBe(2 * RATE);
      for (const { log } of pair) expect(log.count(UNREACHABLE)).toBe(1);

      await proxy.restore();
      await expect
        .poll(() => pair.every(({ log }) => log.count("Redis is reachable again") === 1), {
          timeout: 5000,
          interval: 100,
        })
        .toBe(true);
      const back = await burst(pair);
      expect(back.other).toEqual([]);
      expect(back.allowed).toBe(RATE);
    },
  );
});
