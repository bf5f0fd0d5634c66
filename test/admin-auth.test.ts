/**
 * Who may use the admin API (spec/operator.md, "Admin HTTP API"): only a caller with
 * `Authorization: Bearer <operator key>`, and only when a key is configured. Tenant credentials
 * never open it, and the operator key never opens the tenant API.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, adminApp, call, expectAdminError, ok } from "./admin-helpers.js";
import { BATCH, batchQuery, expectError } from "./helpers/api.js";
import { makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

/** Every admin route, with a body it would accept. */
function routes(ids: { tenant: string; user: string; token: string; instance: string }) {
  return [
    ["POST", "/admin/v1/tenants", { name: "newco" }],
    ["GET", "/admin/v1/tenants", undefined],
    ["GET", `/admin/v1/tenants/${ids.tenant}`, undefined],
    ["PATCH", `/admin/v1/tenants/${ids.tenant}`, { subscribed: false }],
    ["DELETE", `/admin/v1/tenants/${ids.tenant}`, undefined],
    ["POST", `/admin/v1/tenants/${ids.tenant}/projects`, { name: "proj-x" }],
    ["POST", `/admin/v1/tenants/${ids.tenant}/pools`, { name: "pool-x", scene_tag: "CLOUD_APP" }],
    ["POST", `/admin/v1/tenants/${ids.tenant}/users`, { name: "eve", role: "admin" }],
    ["PATCH", `/admin/v1/users/${ids.user}`, { role: "member" }],
    ["POST", `/admin/v1/users/${ids.user}/tokens`, {}],
    ["DELETE", `/admin/v1/tokens/${ids.token}`, undefined],
    ["POST", `/admin/v1/tenants/${ids.tenant}/instances`, []],
    ["PATCH", `/admin/v1/instances/${ids.instance}`, { running_status: 1 }],
    ["DELETE", `/admin/v1/instances/${ids.instance}`, undefined],
  ] as const;
}

for (const factory of STORES) {
  describe(`admin API authentication (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let keyless: FastifyInstance;
    let tenant: TenantFixture;
    let ids: Parameters<typeof routes>[0];

    beforeAll(async () => {
      ctx = await factory.create();
      tenant = await makeTenant(ctx.store, "acme");
      app = (await adminApp(ctx.store)).app;
      keyless = (await adminApp(ctx.store, null)).app;
      const user = ok(
        await call(app, "POST", `/admin/v1/tenants/${tenant.tenantId}/users`, {
          name: "bob",
          role: "admin",
        }),
        201,
      );
      const token = ok(await call(app, "POST", `/admin/v1/users/${user.user_id}/tokens`), 201);
      const projectId = tenant.projects[0]?.project_id;
      const imported = await call(
        app,
        "POST",
        `/admin/v1/tenants/${tenant.tenantId}/instances`,
        [{ instance_id: "Auth0001", instance_name: "a", region: "cn-north-4", instance_sku: "s" }]
          .map((r) => ({ ...r, project_id: projectId, pool_name: "phones" }))
          .map((r) => JSON.stringify(r))
          .join("\n"),
        { "content-type": "application/x-ndjson" },
      );
      ok(imported, 201);
      ids = {
        tenant: tenant.tenantId,
        user: user.user_id as string,
        token: token.token_id as string,
        instance: "Auth0001",
      };
    });
    afterAll(async () => {
      await app?.close();
      await keyless?.close();
      await ctx?.dispose();
    });

    const refusals: [string, () => Record<string, string>][] = [
      ["no credentials", () => ({ authorization: "" })],
      ["a wrong key", () => ({ authorization: `Bearer ${ADMIN_KEY}x` })],
      ["the key without the Bearer scheme", () => ({ authorization: ADMIN_KEY })],
      ["the key under another scheme", () => ({ authorization: `Basic ${ADMIN_KEY}` })],
      [
        "a tenant token as X-Auth-Token",
        () => ({ authorization: "", "x-auth-token": tenant.adminToken }),
      ],
      ["a tenant token as Bearer", () => ({ authorization: `Bearer ${tenant.adminToken}` })],
      ["the key as X-Auth-Token", () => ({ authorization: "", "x-auth-token": ADMIN_KEY })],
    ];

    for (const [what, headers] of refusals) {
      it(`refuses ${what} on every admin route (401 ADMIN.UNAUTHORIZED), changing nothing`, async () => {
        for (const [method, url, body] of routes(ids)) {
          const res = await call(app, method, url, body, headers());
          expectAdminError(res, 401, "ADMIN.UNAUTHORIZED");
          expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
        }
        // Nothing happened: the tenant, its token and its instance are all still there.
        const page = await batchQuery(app, tenant.adminToken, { page_no: 1, page_size: 10 });
        expect(page.statusCode).toBe(200);
        expect(page.json().total_count).toBe(1);
        const names = (
          ok(await call(app, "GET", "/admin/v1/tenants")).tenants as { name: string }[]
        ).map((t) => t.name);
        expect(names).toEqual(["acme"]);
      });
    }

    it("refuses the operator key on the tenant API (401 APIGW.0301)", async () => {
      expectError(
        await batchQuery(app, ADMIN_KEY, { page_no: 1, page_size: 10 }),
        401,
        "APIGW.0301",
      );
      const asBearer = await app.inject({
        url: `${BATCH}?page_no=1&page_size=10`,
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      expectError(asBearer, 401, "APIGW.0301");
    });

    it("does not mention the key in the error", async () => {
      const res = await call(app, "GET", "/admin/v1/tenants", undefined, {
        authorization: "Bearer guess-guess-guess",
      });
      expect(res.body).not.toContain("guess-guess-guess");
      expect(res.body).not.toContain(ADMIN_KEY);
    });

    it("has no admin routes at all without a configured key (404), even for the right key", async () => {
      for (const [method, url, body] of routes(ids)) {
        for (const headers of [{}, { authorization: `Bearer ${ADMIN_KEY}` }] as Record<
          string,
          string
        >[]) {
          const res = await call(keyless, method, url, body, headers);
          expectAdminError(res, 404, "ADMIN.NOT_FOUND", "No such admin route");
        }
      }
      const spec = (await keyless.inject({ url: "/openapi.json" })).json();
      expect(Object.keys(spec.paths).filter((p) => p.startsWith("/admin/"))).toEqual([]);
      // The tenant still exists: a keyless server is not a reason to lose data.
      expect(
        (await batchQuery(keyless, tenant.adminToken, { page_no: 1, page_size: 1 })).statusCode,
      ).toBe(200);
    });

    it("accepts the key, with any capitalisation of the scheme", async () => {
      for (const scheme of ["Bearer", "bearer", "BEARER"]) {
        const res = await call(app, "GET", "/admin/v1/tenants", undefined, {
          authorization: `${scheme} ${ADMIN_KEY}`,
        });
        expect(res.statusCode).toBe(200);
        expect(res.headers["cache-control"]).toBe("no-store");
      }
    });

    it("documents every admin route in /openapi.json behind the AdminKey scheme", async () => {
      const spec = (await app.inject({ url: "/openapi.json" })).json();
      expect(spec.components.securitySchemes.AdminKey).toMatchObject({
        type: "http",
        scheme: "bearer",
      });
      for (const [method, url] of routes(ids)) {
        const path = url
          .replace(ids.tenant, "{tenant_id}")
          .replace(ids.user, "{user_id}")
          .replace(ids.token, "{token_id}")
          .replace(ids.instance, "{instance_id}");
        const operation = spec.paths[path]?.[method.toLowerCase()];
        expect(operation, `${method} ${path}`).toBeDefined();
        expect(operation.security).toEqual([{ AdminKey: [] }]);
      }
      const create = spec.paths["/admin/v1/tenants"].post.requestBody.content["application/json"];
      expect(create.schema.additionalProperties).toBe(false);
      expect(Object.keys(create.schema.properties).sort()).toEqual([
        "name",
        "rate_limit",
        "subscribed",
        "tenant_id",
      ]);
    });
  });
}
