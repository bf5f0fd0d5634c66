/**
 * The HTTP service around the batch query: OpenAPI document and docs page, health and readiness,
 * the gateway's 404, structured logs without secrets, server timeouts, Cache-Control, a 5xx that
 * tells nothing, and a graceful close that lets an in-flight request finish.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { deleteTenant } from "../src/operator/tenants.js";
import {
  BATCH,
  batchQuery,
  expectError,
  expectPage,
  logCollector,
  WIRE_FIELDS,
} from "./helpers/api.js";
import { seedCatalog } from "./helpers/catalog.js";
import { makeTenant, testConfig } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const PAGE = { page_no: "1", page_size: "10" };
const KNOWN_PARAMETERS = [
  "x-request-id",
  "page_no",
  "page_size",
  "instance_id",
  "instance_name",
  "query_start_time",
  "query_end_time",
  "pool_scene_tag",
  "poolSceneTag",
  "pool_name",
  "order",
  "order_by",
];

/** Waits until `check` holds (log lines are written when the response has gone out). */
async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

for (const factory of STORES) {
  describe(`HTTP service (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let token: string;
    let deletedToken: string;
    const logs = logCollector();

    beforeAll(async () => {
      ctx = await factory.create();
      const catalog = await seedCatalog(ctx.store, "acme", "hs", 12);
      token = catalog.tenant.adminToken;
      const gone = await makeTenant(ctx.store, "gone", 1);
      deletedToken = gone.adminToken;
      await deleteTenant(ctx.store, gone.tenantId);
      app = await buildApp({
        config: testConfig({ logLevel: "info" }),
        store: ctx.store,
        logStream: logs.stream,
      });
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    describe("OpenAPI and docs", () => {
      it("GET /openapi.json is an OpenAPI 3 document describing batch-query", async () => {
        const res = await app.inject({ url: "/openapi.json" });
        expect(res.statusCode).toBe(200);
        expect(res.headers["content-type"]).toMatch(/^application\/json/);
        const doc = res.json();
        expect(doc.openapi).toMatch(/^3\./);
        const op = doc.paths[BATCH]?.get;
        expect(op).toBeDefined();
        const params = op.parameters as { name: string; in: string; required?: boolean }[];
        for (const name of KNOWN_PARAMETERS) {
          const p = params.find((x) => x.name === name);
          expect(p, name).toBeDefined();
          expect(p?.in).toBe("query");
          expect(Boolean(p?.required), name).toBe(name === "page_no" || name === "page_size");
        }
        for (const status of ["200", "400", "401", "429", "500"]) {
          expect(op.responses[status], status).toBeDefined();
        }
        const page = op.responses["200"].content["application/json"].schema;
        const item = page.properties.data.properties.result.items;
        expect(Object.keys(item.properties).sort()).toEqual(Object.keys(WIRE_FIELDS).sort());
        for (const [field, type] of Object.entries(WIRE_FIELDS))
          expect(item.properties[field].type, field).toBe(type);
        const error = op.responses["400"].content["application/json"].schema;
        expect(Object.keys(error.properties).sort()).toEqual(["error_code", "error_msg"]);
        // The token header is documented as the operation's security.
        const schemes = Object.values(doc.components.securitySchemes) as Record<string, string>[];
        expect(schemes).toContainEqual(
          expect.objectContaining({ type: "apiKey", in: "header", name: "X-Auth-Token" }),
        );
      });

      it("/docs serves an HTML page", async () => {
        let res = await app.inject({ url: "/docs" });
        if (res.statusCode >= 300 && res.statusCode < 400) {
          res = await app.inject({ url: String(res.headers.location) });
        }
        expect(res.statusCode).toBe(200);
        expect(res.headers["content-type"]).toMatch(/^text\/html/);
        expect(res.body).toMatch(/<html/i);
      });
    });

    describe("health", () => {
      it("/healthz answers 200", async () => {
        const res = await app.inject({ url: "/healthz" });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ status: "ok" });
      });

      it("/readyz answers 200 while the database answers", async () => {
        const res = await app.inject({ url: "/readyz" });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ status: "ready" });
      });
    });

    describe("unknown routes", () => {
      for (const url of [
        "/nope",
        "/v1/instances",
        "/v1/instances/batch-query/x",
        "/v2/instances/batch-query",
      ]) {
        it(`${url} → 404 APIGW.0101 as JSON`, async () => {
          const res = await app.inject({ url, headers: { "x-auth-token": token } });
          expectError(res, 404, "APIGW.0101");
        });
      }
      for (const url of ["/v1/instances/batch-query%?page_no=1&page_size=1", "/v1/%E0%A4%A"]) {
        it(`a malformed path ${url} → 404 APIGW.0101 in the error shape, with a request id`, async () => {
          const res = await app.inject({
            url,
            headers: { "x-auth-token": token, "x-request-id": "bad-url-1" },
          });
          expectError(res, 404, "APIGW.0101");
          expect(res.headers["x-request-id"]).toBe("bad-url-1");
        });
      }
    });

    describe("Cache-Control: no-store on every tenant answer", () => {
      it("pages, parameter errors, 401 and 500 0000", async () => {
        for (const res of [
          await batchQuery(app, token, PAGE),
          await batchQuery(app, token, { page_no: "x", page_size: "1" }),
          await batchQuery(app, undefined, PAGE),
          await batchQuery(app, deletedToken, PAGE),
        ]) {
          expect(res.headers["cache-control"], res.body).toBe("no-store");
        }
      });
    });

    describe("logs", () => {
      it("are JSON, one line per request carrying its request_id", async () => {
        const ids = ["log-ok-1", "log-bad-2", "log-401-3", "log-500-4"];
        await batchQuery(app, token, { ...PAGE, "x-request-id": ids[0] ?? "" });
        await batchQuery(app, token, {
          page_no: "0",
          page_size: "1",
          "x-request-id": ids[1] ?? "",
        });
        await batchQuery(app, "pf_wrong", { ...PAGE, "x-request-id": ids[2] ?? "" });
        await batchQuery(app, deletedToken, PAGE, { "x-request-id": ids[3] ?? "" });
        await eventually(() => ids.every((id) => logs.raw.some((l) => l.includes(id))));
        const lines = logs.lines(); // throws if a line is not JSON
        for (const id of ids) {
          const mine = lines.filter((l) => l.request_id === id);
          expect(mine.length, id).toBeGreaterThanOrEqual(1);
          // Every line that mentions the request is tagged with it.
          for (const line of logs.raw.filter((l) => l.includes(id)))
            expect(JSON.parse(line).request_id).toBe(id);
          const summary = mine.find((l) => l.msg === "request");
          expect(summary, id).toMatchObject({ operation: "batchQueryInstances", path: BATCH });
          expect(typeof summary?.status).toBe("number");
        }
      });

      it("never contain a token, whatever the outcome", async () => {
        const unknown = "pf_this-token-is-not-known-but-still-secret-000000";
        const asks: [string | undefined, Record<string, string>, Record<string, string>][] = [
          [token, PAGE, {}],
          [token, { page_no: "-1", page_size: "1" }, {}],
          [unknown, PAGE, {}],
          [deletedToken, PAGE, {}],
          [token, PAGE, { authorization: `Bearer ${token}` }],
        ];
        for (const [k, [who, params, headers]] of asks.entries())
          await batchQuery(app, who, params, { ...headers, "x-request-id": `secret-${k}` });
        await eventually(() =>
          asks.every((_, k) => logs.raw.some((l) => l.includes(`"request_id":"secret-${k}"`))),
        );
        const all = logs.raw.join("\n");
        for (const secret of [token, unknown, deletedToken]) {
          expect(all).not.toContain(secret);
          expect(all).not.toContain(secret.slice(3, 30));
        }
      });
    });

    it("sets server timeouts (no connection can be held open forever)", () => {
      expect(app.server.requestTimeout).toBeGreaterThan(0);
      expect(app.server.headersTimeout).toBeGreaterThan(0);
      expect(app.server.keepAliveTimeout).toBeGreaterThan(0);
      expect(app.server.timeout).toBeGreaterThan(0);
      expect(app.server.requestTimeout).toBe(testConfig().requestTimeoutMs);
    });

    describe("when the database is gone", () => {
      let broken: Awaited<ReturnType<typeof factory.create>>;
      let brokenApp: FastifyInstance;
      let brokenToken: string;
      const brokenLogs = logCollector();

      beforeAll(async () => {
        broken = await factory.create();
        brokenToken = (await makeTenant(broken.store, "doomed", 1)).adminToken;
        brokenApp = await buildApp({
          config: testConfig({ logLevel: "info" }),
          store: broken.store,
          logStream: brokenLogs.stream,
        });
        expectPage(await batchQuery(brokenApp, brokenToken, PAGE));
        await broken.store.close();
      });
      afterAll(async () => {
        await brokenApp?.close();
        await broken?.dispose();
      });

      it("batch-query answers 500 KOOPHONE.API.9999 fast, with a generic message", async () => {
        const started = Date.now();
        const res = await batchQuery(brokenApp, brokenToken, {
          ...PAGE,
          "x-request-id": "db-gone-1",
        });
        expect(Date.now() - started).toBeLessThan(3000);
        const body = expectError(res, 500, "KOOPHONE.API.9999");
        expect(body.error_msg).toMatch(/^[A-Za-z ,.]+$/); // a plain sentence, no details
        expect(res.headers["x-request-id"]).toBe("db-gone-1");
        expect(res.body).not.toMatch(/stack|Error:|at /);
        // The details go to the log, tagged with the request, without the token.
        await eventually(() =>
          brokenLogs.raw.some((l) => l.includes("db-gone-1") && l.includes('"level":50')),
        );
        expect(brokenLogs.raw.join("\n")).not.toContain(brokenToken);
      });

      it("/readyz answers 503, /healthz still 200", async () => {
        const ready = await brokenApp.inject({ url: "/readyz" });
        expect(ready.statusCode).toBe(503);
        expect(ready.json()).toMatchObject({ status: "not ready" });
        expect((await brokenApp.inject({ url: "/healthz" })).statusCode).toBe(200);
      });
    });

    it("close() lets an in-flight request finish, then refuses new connections", async () => {
      const live = await buildApp({ config: testConfig(), store: ctx.store });
      // A test-only hold, so that a request is certainly in flight when close() starts.
      let entered: () => void = () => {};
      let release: () => void = () => {};
      const inHandler = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      live.addHook("preHandler", async (request) => {
        if (request.headers["x-test-hold"]) {
          entered();
          await released;
        }
      });
      const address = await live.listen({ port: 0, host: "127.0.0.1" });
      const url = `${address}${BATCH}?page_no=1&page_size=5`;
      const pending = fetch(url, { headers: { "x-auth-token": token, "x-test-hold": "1" } });
      await inHandler;
      const closing = live.close();
      // Answer only once the server has stopped listening: the hard case for keep-alive.
      await eventually(() => !live.server.listening);
      release();
      const res = await pending;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { total_count: number }).total_count).toBe(12);
      const closedInTime = await Promise.race([
        closing.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
      ]);
      expect(closedInTime, "close() still waiting on a keep-alive connection").toBe(true);
      await expect(fetch(url, { headers: { "x-auth-token": token } })).rejects.toThrow();
    });
  });
}
