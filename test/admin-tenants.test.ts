/**
 * `/admin/v1/tenants`: create, list (paged), read with instance counts, update, delete — with
 * the documented statuses and errors, and every change visible on the next tenant request.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminApp, bad, call, duplicate, missing, ok } from "./admin-helpers.js";
import { batchQuery, expectError } from "./helpers/api.js";
import { addInstances, makeTenant } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const UNKNOWN = "0123456789abcdef0123456789abcdef";

for (const factory of STORES) {
  describe(`admin API: tenants (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;

    beforeAll(async () => {
      ctx = await factory.create();
      app = (await adminApp(ctx.store)).app;
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    const page = (token: string) => batchQuery(app, token, { page_no: 1, page_size: 100 });

    it("creates a tenant (201) with defaults, or with the id and settings given", async () => {
      const plain = ok(await call(app, "POST", "/admin/v1/tenants", { name: "alpha" }), 201);
      expect(plain).toEqual({
        tenant_id: expect.stringMatching(/^[0-9a-f]{32}$/),
        name: "alpha",
        subscribed: true,
        rate_limit: null,
        created_at: expect.any(String),
      });
      const chosen = ok(
        await call(app, "POST", "/admin/v1/tenants", {
          name: "beta",
          tenant_id: "aaaaaaaabbbbbbbbccccccccdddddddd",
          subscribed: false,
          rate_limit: 7,
        }),
        201,
      );
      expect(chosen).toMatchObject({
        tenant_id: "aaaaaaaabbbbbbbbccccccccdddddddd",
        subscribed: false,
        rate_limit: 7,
      });
      const read = ok(await call(app, "GET", "/admin/v1/tenants/aaaaaaaabbbbbbbbccccccccdddddddd"));
      expect(read).toMatchObject({ name: "beta", subscribed: false, rate_limit: 7 });
    });

    it("rejects a bad create body with 400 naming the field, storing nothing", async () => {
      const cases: [unknown, string | RegExp][] = [
        [{}, 'missing field "name"'],
        [{ name: "" }, "body.name"],
        [{ name: "x".repeat(65) }, "body.name"],
        [{ name: "tab\there" }, "body.name"],
        [{ name: "c", subscribed: "false" }, "body.subscribed"],
        [{ name: "c", rate_limit: 0 }, "body.rate_limit"],
        [{ name: "c", rate_limit: "5" }, "body.rate_limit"],
        [{ name: "c", tenant_id: "ABC" }, "body.tenant_id"],
        [{ name: "c", created_at: "2020-01-01T00:00:00Z" }, 'unknown field "created_at"'],
        [{ name: "c", deleted_at: null }, 'unknown field "deleted_at"'],
        [{ name: "c", colour: "red" }, 'unknown field "colour"'],
        ['{"name":"c","__proto__":{"subscribed":false}}', 'unknown field "__proto__"'],
        ['{"name":"c","constructor":{"prototype":{"x":1}}}', 'unknown field "constructor"'],
        ["[]", "body must be object"],
        ["null", "body must be object"],
        ['{"name":', "not valid JSON"],
        ["", "body must be object"],
      ];
      for (const [body, field] of cases) {
        const res = await call(app, "POST", "/admin/v1/tenants", body, {
          "content-type": "application/json",
        });
        bad(res, field);
      }
      const names = ok<{ tenants: { name: string }[] }>(
        await call(app, "GET", "/admin/v1/tenants"),
      ).tenants.map((t) => t.name);
      expect(names).not.toContain("c");
    });

    it("answers 409 for a duplicate name or id", async () => {
      duplicate(await call(app, "POST", "/admin/v1/tenants", { name: "alpha" }), "alpha");
      duplicate(
        await call(app, "POST", "/admin/v1/tenants", {
          name: "gamma",
          tenant_id: "aaaaaaaabbbbbbbbccccccccdddddddd",
        }),
      );
    });

    it("lists tenants a page at a time, oldest first, pages adding up to the whole list", async () => {
      for (let i = 0; i < 5; i++) {
        ok(await call(app, "POST", "/admin/v1/tenants", { name: `list-${i}` }), 201);
      }
      type Listing = { tenants: { name: string; created_at: string }[]; has_more: boolean };
      const all = ok<Listing>(await call(app, "GET", "/admin/v1/tenants")).tenants;
      expect(all.map((t) => t.name).sort()).toEqual(
        ["alpha", "beta", "list-0", "list-1", "list-2", "list-3", "list-4"].sort(),
      );
      const times = all.map((t) => t.created_at);
      expect(times).toEqual([...times].sort());

      const first = ok<Listing>(await call(app, "GET", "/admin/v1/tenants?limit=3"));
      expect(first).toMatchObject({ limit: 3, offset: 0, has_more: true });
      const second = ok<Listing>(await call(app, "GET", "/admin/v1/tenants?limit=3&offset=3"));
      expect(second).toMatchObject({ offset: 3, has_more: true });
      const last = ok<Listing>(await call(app, "GET", "/admin/v1/tenants?limit=3&offset=6"));
      expect(last.has_more).toBe(false);
      expect([...first.tenants, ...second.tenants, ...last.tenants]).toEqual(all);

      expect(ok(await call(app, "GET", "/admin/v1/tenants?limit=7"))).toMatchObject({
        has_more: false,
      });
      const past = ok(await call(app, "GET", "/admin/v1/tenants?offset=100"));
      expect(past).toMatchObject({ tenants: [], has_more: false });
    });

    it("rejects bad paging values with 400 naming the parameter", async () => {
      for (const [query, field] of [
        ["limit=0", "limit"],
        ["limit=1001", "limit"],
        ["limit=-1", "query.limit"],
        ["limit=1.5", "query.limit"],
        ["limit=abc", "query.limit"],
        ["limit=", "query.limit"],
        ["offset=-5", "query.offset"],
        ["offset=2000000000", "offset"],
        ["page=2", 'unknown field "page"'],
      ]) {
        bad(await call(app, "GET", `/admin/v1/tenants?${query}`), field);
      }
    });

    it("reads a tenant with its instance counts by running_status", async () => {
      const t = await makeTenant(ctx.store, "counted");
      const projectId = t.projects[0]?.project_id;
      const base = { region: "cn-north-4", instance_sku: "s", project_id: projectId };
      await addInstances(
        ctx.store,
        t.tenantId,
        [2, 2, 2, 5, 0].map((running_status, i) => ({
          ...base,
          instance_name: `c${i}`,
          pool_name: "phones",
          running_status,
        })),
      );
      const read = ok(await call(app, "GET", `/admin/v1/tenants/${t.tenantId}`));
      expect(read).toMatchObject({ tenant_id: t.tenantId, name: "counted" });
      expect(read.instances_by_running_status).toEqual({
        "0": 1,
        "1": 0,
        "2": 3,
        "3": 0,
        "4": 0,
        "5": 1,
      });
    });

    it("answers 404 for an unknown tenant and 400 for a malformed id, on every tenant route", async () => {
      for (const [method, suffix, body] of [
        ["GET", "", undefined],
        ["PATCH", "", { subscribed: true }],
        ["DELETE", "", undefined],
        ["POST", "/projects", { name: "p" }],
        ["POST", "/pools", { name: "p", scene_tag: "CLOUD_APP" }],
        ["POST", "/users", { name: "u", role: "admin" }],
      ] as const) {
        missing(await call(app, method, `/admin/v1/tenants/${UNKNOWN}${suffix}`, body), UNKNOWN);
        bad(await call(app, method, `/admin/v1/tenants/alpha${suffix}`, body), "params.tenant_id");
      }
    });

    it("updates name, subscription and rate limit; unsubscribing shows on the next request", async () => {
      const t = await makeTenant(ctx.store, "patchy");
      expect((await page(t.adminToken)).statusCode).toBe(200);

      const off = ok(
        await call(app, "PATCH", `/admin/v1/tenants/${t.tenantId}`, { subscribed: false }),
      );
      expect(off).toMatchObject({ tenant_id: t.tenantId, subscribed: false });
      expectError(await page(t.adminToken), 400, "KOOPHONE.API.1004");

      ok(await call(app, "PATCH", `/admin/v1/tenants/${t.tenantId}`, { subscribed: true }));
      expect((await page(t.adminToken)).statusCode).toBe(200);

      const renamed = ok(
        await call(app, "PATCH", `/admin/v1/tenants/${t.tenantId}`, {
          name: "patched",
          rate_limit: 1,
        }),
      );
      expect(renamed).toMatchObject({ name: "patched", rate_limit: 1 });
      expect((await page(t.adminToken)).statusCode).toBe(200);
      expectError(await page(t.adminToken), 429, "APIGW.0308");
      const reset = ok(
        await call(app, "PATCH", `/admin/v1/tenants/${t.tenantId}`, { rate_limit: null }),
      );
      expect(reset.rate_limit).toBeNull();
      const same = ok(await call(app, "PATCH", `/admin/v1/tenants/${t.tenantId}`, {}));
      expect(same).toMatchObject({ name: "patched", subscribed: true });
    });

    it("rejects bad updates with 400 naming the field and renames onto a taken name with 409", async () => {
      const t = await makeTenant(ctx.store, "strict");
      for (const [body, field] of [
        [{ subscribed: 1 }, "body.subscribed"],
        [{ rate_limit: -1 }, "body.rate_limit"],
        [{ tenant_id: UNKNOWN }, 'unknown field "tenant_id"'],
        [{ created_at: "2020-01-01" }, 'unknown field "created_at"'],
        [{ name: "" }, "body.name"],
      ] as const) {
        bad(await call(app, "PATCH", `/admin/v1/tenants/${t.tenantId}`, body), field);
      }
      duplicate(await call(app, "PATCH", `/admin/v1/tenants/${t.tenantId}`, { name: "alpha" }));
      expect(ok(await call(app, "GET", `/admin/v1/tenants/${t.tenantId}`)).name).toBe("strict");
    });

    it("deletes a tenant (204): its tokens then meet 500 KOOPHONE.API.0000, its name is free", async () => {
      const t = await makeTenant(ctx.store, "doomed");
      expect((await page(t.adminToken)).statusCode).toBe(200);
      const res = await call(app, "DELETE", `/admin/v1/tenants/${t.tenantId}`);
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe("");
      expectError(await page(t.adminToken), 500, "KOOPHONE.API.0000");
      missing(await call(app, "GET", `/admin/v1/tenants/${t.tenantId}`));
      missing(await call(app, "DELETE", `/admin/v1/tenants/${t.tenantId}`));
      const names = ok<{ tenants: { name: string }[] }>(
        await call(app, "GET", "/admin/v1/tenants?limit=1000"),
      ).tenants.map((x) => x.name);
      expect(names).not.toContain("doomed");
      ok(await call(app, "POST", "/admin/v1/tenants", { name: "doomed" }), 201);
    });
  });
}
