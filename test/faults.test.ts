/**
 * The app on PostgreSQL when the database misbehaves: connections killed by the server
 * (pg_terminate_backend), the database gone (a restart: connections cut, new ones refused), the
 * network swallowing everything (a partition). Requests must answer within a bounded time, either
 * normally or `500 KOOPHONE.API.9999`; /readyz must say "not ready"; and once the database is back
 * the service must recover by itself.
 *
 * The app reaches PostgreSQL through a TCP proxy run by the test, so "the database goes away"
 * never touches the shared server. Short timeouts in the URL keep the test fast; they are the
 * same settings an operator would tune.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { openStore } from "../src/store/create-store.js";
import type { Store } from "../src/store/types.js";
import { addInstances, makeTenant, testConfig } from "./helpers/fixtures.js";
import { adminQuery, freshPostgresUrl, POSTGRES_URL } from "./helpers/stores.js";
import { startTcpProxy, type TcpProxy } from "./helpers/tcp-proxy.js";

const CONNECT_TIMEOUT_S = 1;
const STATEMENT_TIMEOUT_MS = 1000;
/** connect_timeout, or statement_timeout + the client's extra second, plus scheduling slack. */
const BOUND_MS = CONNECT_TIMEOUT_S * 1000 + STATEMENT_TIMEOUT_MS + 1000 + 1000;

interface Outcome {
  status: number;
  code: string | undefined;
  ms: number;
}

describe.runIf(POSTGRES_URL)("PostgreSQL faults", () => {
  let proxy: TcpProxy;
  let store: Store;
  let app: FastifyInstance;
  let token: string;
  let drop: () => Promise<void>;
  let schema: string;
  const applicationName = `pf_faults_${process.pid}_${Date.now()}`;

  beforeAll(async () => {
    const target = new URL(POSTGRES_URL as string);
    proxy = await startTcpProxy(Number(target.port || 5432), target.hostname);
    const fresh = freshPostgresUrl({
      application_name: applicationName,
      connect_timeout: String(CONNECT_TIMEOUT_S),
      statement_timeout: String(STATEMENT_TIMEOUT_MS),
    });
    drop = fresh.drop;
    schema = fresh.schema;
    const url = new URL(fresh.url);
    url.port = String(proxy.port);
    store = await openStore(url.toString());
    const tenant = await makeTenant(store, "faults");
    token = tenant.adminToken;
    await addInstances(
      store,
      tenant.tenantId,
      Array.from({ length: 50 }, (_, i) => ({
        instance_name: `phone-${i}`,
        region: "cn-north-4",
        instance_sku: "sku",
        project_id: tenant.projects[0]?.project_id,
        pool_name: "phones",
      })),
    );
    app = await buildApp({ config: testConfig(), store });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await proxy?.close();
    await drop?.();
  });

  async function request(pageSize = 20): Promise<Outcome> {
    const started = Date.now();
    const res = await app.inject({
      url: `/v1/instances/batch-query?page_no=1&page_size=${pageSize}`,
      headers: { "x-auth-token": token },
    });
    const code = res.statusCode === 200 ? undefined : (res.json().error_code as string);
    return { status: res.statusCode, code, ms: Date.now() - started };
  }

  const ready = async () => (await app.inject({ url: "/readyz" })).statusCode;

  /** Each outcome is a page or a 9999, within the bound. */
  function expectBounded(outcomes: Outcome[]): void {
    for (const o of outcomes) {
      expect(
        o.status === 200 || (o.status === 500 && o.code === "KOOPHONE.API.9999"),
        JSON.stringify(o),
      ).toBe(true);
      expect(o.ms).toBeLessThan(BOUND_MS);
    }
  }

  async function expectRecovered(): Promise<void> {
    await expect
      .poll(async () => (await request()).status, { timeout: 10_000, interval: 200 })
      .toBe(200);
    const after = await Promise.all(Array.from({ length: 10 }, request));
    expect(after.map((o) => o.status)).toEqual(Array(10).fill(200));
    expect(await ready()).toBe(200);
  }

  it("connections killed while requests run: each answers (or 9999) in bounded time, then all succeed", async () => {
    expect((await request()).status).toBe(200);
    const outcomes: Outcome[] = [];
    const until = Date.now() + 1500;
    const workers = Array.from({ length: 4 }, async () => {
      while (Date.now() < until) outcomes.push(await request());
    });
    let killed = 0;
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 300));
      const { rows } = await adminQuery(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
         WHERE application_name = $1 AND pid <> pg_backend_pid()`,
        [applicationName],
      );
      killed += rows.filter((r) => r.done).length;
    }
    await Promise.all(workers);
    expect(killed).toBeGreaterThan(0);
    expect(outcomes.length).toBeGreaterThan(10);
    expectBounded(outcomes);
    await expectRecovered();
  });

  it("a page statement that fails: 9999 at once, and its connection goes back to the pool", async () => {
    expect((await request()).status).toBe(200);
    // Every page statement joins projects: without it, each fails at PostgreSQL.
    await adminQuery(`ALTER TABLE ${schema}.projects RENAME TO projects_gone`);
    try {
      // More failures than the pool has connections: one kept by a failed statement would
      // leave the last requests waiting for a connection until connect_timeout. Page sizes no
      // answer was cached for.
      const during = await Promise.all(Array.from({ length: 25 }, (_, n) => request(50 + n)));
      expect(during.map((o) => o.code)).toEqual(Array(25).fill("KOOPHONE.API.9999"));
      for (const o of during) expect(o.ms).toBeLessThan(CONNECT_TIMEOUT_S * 1000);
    } finally {
      await adminQuery(`ALTER TABLE ${schema}.projects_gone RENAME TO projects`);
    }
    await expectRecovered();
  });

  it("database gone (connections cut, new ones refused): 9999 fast, not ready; recovers when back", async () => {
    expect((await request()).status).toBe(200);
    await proxy.refuse();
    const during = await Promise.all(Array.from({ length: 8 }, request));
    expect(during.map((o) => o.code)).toEqual(Array(8).fill("KOOPHONE.API.9999"));
    expectBounded(during);
    expect(await ready()).toBe(503);
    await proxy.restore();
    await expectRecovered();
  });

  it("network swallowing everything: 9999 within the timeouts, not ready; recovers when it heals", async () => {
    expect((await request()).status).toBe(200);
    proxy.blackhole();
    const during = await Promise.all(Array.from({ length: 8 }, request));
    expect(during.map((o) => o.code)).toEqual(Array(8).fill("KOOPHONE.API.9999"));
    expectBounded(during);
    expect(await ready()).toBe(503);
    await proxy.restore();
    await expectRecovered();
  });
});
