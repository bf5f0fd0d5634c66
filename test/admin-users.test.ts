/**
 * Projects, pools, users and tokens through the admin API: statuses, errors, and role, grant,
 * password and revocation changes taking effect on the very next tenant request.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyPassword } from "../src/auth/secrets.js";
import { adminApp, bad, call, duplicate, missing, ok } from "./admin-helpers.js";
import { batchQuery, expectError } from "./helpers/api.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const UNKNOWN = "0123456789abcdef0123456789abcdef";

for (const factory of STORES) {
  describe(`admin API: projects, pools, users, tokens (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let acme: TenantFixture;
    let other: TenantFixture;
    let p0: string;
    let p1: string;

    beforeAll(async () => {
      ctx = await factory.create();
      app = (await adminApp(ctx.store)).app;
      acme = await makeTenant(ctx.store, "acme");
      other = await makeTenant(ctx.store, "other");
      p0 = acme.projects[0]?.project_id as string;
      p1 = acme.projects[1]?.project_id as string;
      const base = { region: "cn-north-4", instance_sku: "s", pool_name: "phones" };
      await addInstances(ctx.store, acme.tenantId, [
        { ...base, instance_name: "in-p0", project_id: p0 },
        { ...base, instance_name: "in-p1", project_id: p1 },
      ]);
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    const url = (path: string) => `/admin/v1${path}`;
    const names = async (token: string) => {
      const res = await batchQuery(app, token, { page_no: 1, page_size: 100 });
      expect(res.statusCode, res.body).toBe(200);
      return (res.json().data.result as { instance_name: string }[])
        .map((r) => r.instance_name)
        .sort();
    };
    async function newUser(body: Record<string, unknown>) {
      return ok(await call(app, "POST", url(`/tenants/${acme.tenantId}/users`), body), 201);
    }
    async function tokenOf(userId: string) {
      const issued = ok(await call(app, "POST", url(`/users/${userId}/tokens`)), 201);
      return issued.token as string;
    }

    describe("projects", () => {
      it("creates one (201), with a chosen id or a generated one", async () => {
        const made = ok(
          await call(app, "POST", url(`/tenants/${acme.tenantId}/projects`), { name: "new" }),
          201,
        );
        expect(made).toEqual({
          project_id: expect.stringMatching(/^[0-9a-f]{32}$/),
          tenant_id: acme.tenantId,
          name: "new",
        });
        const chosen = ok(
          await call(app, "POST", url(`/tenants/${acme.tenantId}/projects`), {
            name: "chosen",
            project_id: "feedfacefeedfacefeedfacefeedface",
          }),
          201,
        );
        expect(chosen.project_id).toBe("feedfacefeedfacefeedfacefeedface");
      });

      it("answers 409 for a name taken in the tenant, not for one taken in another", async () => {
        duplicate(
          await call(app, "POST", url(`/tenants/${acme.tenantId}/projects`), { name: "new" }),
        );
        ok(
          await call(app, "POST", url(`/tenants/${other.tenantId}/projects`), { name: "new" }),
          201,
        );
        duplicate(
          await call(app, "POST", url(`/tenants/${other.tenantId}/projects`), {
            name: "dup-id",
            project_id: "feedfacefeedfacefeedfacefeedface",
          }),
        );
      });

      it("answers 400 naming the field", async () => {
        const at = url(`/tenants/${acme.tenantId}/projects`);
        bad(await call(app, "POST", at, {}), 'missing field "name"');
        bad(await call(app, "POST", at, { name: "x", project_id: "nothex" }), "body.project_id");
        bad(await call(app, "POST", at, { name: "x", tenant_id: acme.tenantId }), '"tenant_id"');
      });
    });

    describe("pools", () => {
      it("creates one (201) and refuses a duplicate name (409)", async () => {
        const at = url(`/tenants/${acme.tenantId}/pools`);
        const made = ok(await call(app, "POST", at, { name: "edge", scene_tag: "CLOUD_APP" }), 201);
        expect(made).toEqual({
          pool_id: expect.stringMatching(/^[0-9a-f]{32}$/),
          tenant_id: acme.tenantId,
          name: "edge",
          scene_tag: "CLOUD_APP",
        });
        duplicate(await call(app, "POST", at, { name: "edge", scene_tag: "CLOUD_PHONE" }));
      });

      it("answers 400 naming the field", async () => {
        const at = url(`/tenants/${acme.tenantId}/pools`);
        bad(await call(app, "POST", at, { name: "p" }), 'missing field "scene_tag"');
        bad(await call(app, "POST", at, { name: "p", scene_tag: "CLOUD_TV" }), "body.scene_tag");
        bad(
          await call(app, "POST", at, { name: "p", scene_tag: "CLOUD_APP", pool_id: UNKNOWN }),
          'unknown field "pool_id"',
        );
      });
    });

    describe("users", () => {
      it("creates one (201) without ever showing a password hash", async () => {
        const made = await newUser({
          name: "carol",
          role: "member",
          password: "correct horse battery",
          project_ids: [p1, p0, p0],
        });
        expect(made).toEqual({
          user_id: expect.stringMatching(/^[0-9a-f]{32}$/),
          tenant_id: acme.tenantId,
          name: "carol",
          role: "member",
          project_ids: [p0, p1].sort(),
          has_password: true,
        });
        const stored = await ctx.store.userById(made.user_id as string);
        expect(stored?.password_hash).toMatch(/^scrypt\$/);
        expect(await verifyPassword("correct horse battery", stored?.password_hash ?? "")).toBe(
          true,
        );
      });

      it("answers 409 for a name taken in the tenant", async () => {
        duplicate(
          await call(app, "POST", url(`/tenants/${acme.tenantId}/users`), {
            name: "carol",
            role: "admin",
          }),
          "carol",
        );
      });

      it("answers 400 naming the field, creating nobody", async () => {
        const at = url(`/tenants/${acme.tenantId}/users`);
        const otherProject = other.projects[0]?.project_id as string;
        for (const [body, field] of [
          [{ role: "admin" }, 'missing field "name"'],
          [{ name: "dave", role: "root" }, "body.role"],
          [{ name: "dave", role: "admin", password: "short" }, "body.password"],
          [{ name: "dave", role: "member", project_ids: ["x"] }, "body.project_ids"],
          [{ name: "dave", role: "member", project_ids: [otherProject] }, "project_ids"],
          [{ name: "dave", role: "admin", user_id: UNKNOWN }, 'unknown field "user_id"'],
          [{ name: "dave", role: "admin", password_hash: "x" }, 'unknown field "password_hash"'],
          [{ name: "dave", role: "admin", tenant_id: other.tenantId }, 'unknown field "tenant_id"'],
        ] as const) {
          bad(await call(app, "POST", at, body), field);
        }
        expect(await ctx.store.userByName(acme.tenantId, "dave")).toBeUndefined();
      });

      it("changes the role on the next request: member ⇄ admin", async () => {
        const user = await newUser({ name: "erin", role: "member", project_ids: [p0] });
        const token = await tokenOf(user.user_id as string);
        expect(await names(token)).toEqual(["in-p0"]);
        const promoted = ok(
          await call(app, "PATCH", url(`/users/${user.user_id}`), { role: "admin" }),
        );
        expect(promoted).toMatchObject({ role: "admin", has_password: false });
        expect(await names(token)).toEqual(["in-p0", "in-p1"]);
        ok(await call(app, "PATCH", url(`/users/${user.user_id}`), { role: "member" }));
        expect(await names(token)).toEqual(["in-p0"]);
      });

      it("changes the grants on the next request, down to none (1001)", async () => {
        const user = await newUser({ name: "frank", role: "member", project_ids: [p0] });
        const token = await tokenOf(user.user_id as string);
        expect(await names(token)).toEqual(["in-p0"]);
        const moved = ok(
          await call(app, "PATCH", url(`/users/${user.user_id}`), { project_ids: [p1] }),
        );
        expect(moved.project_ids).toEqual([p1]);
        expect(await names(token)).toEqual(["in-p1"]);
        ok(await call(app, "PATCH", url(`/users/${user.user_id}`), { project_ids: [] }));
        expectError(
          await batchQuery(app, token, { page_no: 1, page_size: 10 }),
          400,
          "KOOPHONE.API.1001",
        );
      });

      it("sets and clears a password, storing only its hash", async () => {
        const user = await newUser({ name: "gina", role: "admin" });
        const set = ok(
          await call(app, "PATCH", url(`/users/${user.user_id}`), { password: "a new password" }),
        );
        expect(set).toMatchObject({ has_password: true });
        expect(JSON.stringify(set)).not.toContain("a new password");
        const stored = await ctx.store.userById(user.user_id as string);
        expect(await verifyPassword("a new password", stored?.password_hash ?? "")).toBe(true);
        const cleared = ok(
          await call(app, "PATCH", url(`/users/${user.user_id}`), { password: null }),
        );
        expect(cleared).toMatchObject({ has_password: false });
        expect((await ctx.store.userById(user.user_id as string))?.password_hash).toBeNull();
      });

      it("answers 400 naming the field and 404 for an unknown user", async () => {
        const user = await newUser({ name: "hank", role: "admin" });
        const at = url(`/users/${user.user_id}`);
        for (const [body, field] of [
          [{ role: "owner" }, "body.role"],
          [{ password: "" }, "body.password"],
          [{ project_ids: "all" }, "body.project_ids"],
          [{ project_ids: [other.projects[0]?.project_id] }, "project_ids"],
          [{ name: "renamed" }, 'unknown field "name"'],
          [{ tenant_id: other.tenantId }, 'unknown field "tenant_id"'],
        ] as const) {
          bad(await call(app, "PATCH", at, body), field);
        }
        expect((await ctx.store.userById(user.user_id as string))?.role).toBe("admin");
        missing(await call(app, "PATCH", url(`/users/${UNKNOWN}`), { role: "admin" }));
        bad(await call(app, "PATCH", url("/users/hank"), { role: "admin" }), "params.user_id");
      });
    });

    describe("tokens", () => {
      it("issues a token (201) shown once, which works on the tenant API at once", async () => {
        const user = await newUser({ name: "ivan", role: "admin" });
        const before = Date.now();
        const issued = ok(
          await call(app, "POST", url(`/users/${user.user_id}/tokens`), { ttl_seconds: 3600 }),
          201,
        );
        expect(issued).toEqual({
          token: expect.any(String),
          token_id: expect.stringMatching(/^[0-9a-f]{32}$/),
          user_id: user.user_id,
          issued_at: expect.any(String),
          expires_at: expect.any(String),
        });
        const ttl = Date.parse(issued.expires_at as string) - before;
        expect(ttl).toBeGreaterThan(3590_000);
        expect(ttl).toBeLessThan(3610_000);
        expect(await names(issued.token as string)).toEqual(["in-p0", "in-p1"]);
        const defaulted = ok(await call(app, "POST", url(`/users/${user.user_id}/tokens`)), 201);
        const day =
          Date.parse(defaulted.expires_at as string) - Date.parse(defaulted.issued_at as string);
        expect(day).toBe(86_400_000);
      });

      it("answers 400 naming the field and 404 for an unknown user", async () => {
        const user = await newUser({ name: "judy", role: "admin" });
        const at = url(`/users/${user.user_id}/tokens`);
        bad(await call(app, "POST", at, { ttl_seconds: 10 }), "body.ttl_seconds");
        bad(await call(app, "POST", at, { ttl_seconds: "3600" }), "body.ttl_seconds");
        bad(
          await call(app, "POST", at, { expires_at: "2999-01-01" }),
          'unknown field "expires_at"',
        );
        bad(await call(app, "POST", at, { token: "my-own-token-value" }), 'unknown field "token"');
        missing(await call(app, "POST", url(`/users/${UNKNOWN}/tokens`)));
      });

      it("revokes a token (204): the next request with it is refused (401)", async () => {
        const user = await newUser({ name: "kim", role: "admin" });
        const issued = ok(await call(app, "POST", url(`/users/${user.user_id}/tokens`)), 201);
        const keep = await tokenOf(user.user_id as string);
        expect(await names(issued.token as string)).toHaveLength(2);
        const res = await call(app, "DELETE", url(`/tokens/${issued.token_id}`));
        expect(res.statusCode).toBe(204);
        expect(res.body).toBe("");
        expectError(
          await batchQuery(app, issued.token as string, { page_no: 1, page_size: 10 }),
          401,
          "APIGW.0301",
        );
        expect(await names(keep)).toHaveLength(2);
        missing(await call(app, "DELETE", url(`/tokens/${issued.token_id}`)));
        missing(await call(app, "DELETE", url(`/tokens/${UNKNOWN}`)));
        bad(await call(app, "DELETE", url("/tokens/not-an-id")), "params.token_id");
      });

      it("has no user for a deleted tenant: no token can be issued for it (404)", async () => {
        const doomed = await makeTenant(ctx.store, "doomed");
        const user = ok(
          await call(app, "POST", url(`/tenants/${doomed.tenantId}/users`), {
            name: "zed",
            role: "admin",
          }),
          201,
        );
        expect((await call(app, "DELETE", url(`/tenants/${doomed.tenantId}`))).statusCode).toBe(
          204,
        );
        missing(await call(app, "POST", url(`/users/${user.user_id}/tokens`)));
        missing(await call(app, "PATCH", url(`/users/${user.user_id}`), { role: "member" }));
      });
    });
  });
}
