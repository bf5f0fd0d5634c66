/**
 * `PATCH /admin/v1/instances/{id}` changes an instance's state and the next tenant query shows
 * it; `DELETE` releases it. Bodies that name fields the spec does not list are refused.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminApp, bad, call, missing, ok } from "./admin-helpers.js";
import { batchQuery } from "./helpers/api.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

for (const factory of STORES) {
  describe(`admin API: instances (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let acme: TenantFixture;
    let other: TenantFixture;

    beforeAll(async () => {
      ctx = await factory.create();
      app = (await adminApp(ctx.store)).app;
      acme = await makeTenant(ctx.store, "acme");
      other = await makeTenant(ctx.store, "other");
      const base = { region: "cn-north-4", instance_sku: "s", pool_name: "phones" };
      await addInstances(ctx.store, acme.tenantId, [
        { ...base, instance_id: "Inst0001", instance_name: "one", project_id: p(acme, 0) },
        { ...base, instance_id: "Inst0002", instance_name: "two", project_id: p(acme, 0) },
        { ...base, instance_id: "Inst0003", instance_name: "three", project_id: p(acme, 0) },
      ]);
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    const p = (t: TenantFixture, i: number) => t.projects[i]?.project_id as string;
    /** The instance as the tenant API shows it to acme's admin. */
    async function seen(id: string) {
      const res = await batchQuery(app, acme.adminToken, {
        page_no: 1,
        page_size: 10,
        instance_id: id,
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().data.result[0] as Record<string, unknown> | undefined;
    }
    const patch = (id: string, body: unknown) =>
      call(app, "PATCH", `/admin/v1/instances/${id}`, body);

    it("changes every state field the spec lists; the next tenant query shows each", async () => {
      const changes: Record<string, unknown>[] = [
        { running_status: 2 },
        { frozen_status: 1 },
        { login_status: 1 },
        { assign_user: "alice" },
        { backup_status: 2, backup_time: "2024-05-01 03:00:00" },
        { restore_status: 1, restore_time: "2024-05-02 04:00:00" },
        { phone_id: "phone-42" },
        { instance_name: "renamed" },
        { project_id: p(acme, 1) },
      ];
      for (const change of changes) {
        const res = ok(await patch("Inst0001", change));
        expect(res).toMatchObject({ instance_id: "Inst0001", tenant_id: acme.tenantId, ...change });
        expect(await seen("Inst0001")).toMatchObject(change);
      }
      const now = await seen("Inst0001");
      expect(now).toMatchObject({
        assign_status: 1,
        project_name: acme.projects[1]?.name,
        running_status: 2,
        instance_name: "renamed",
      });
      // Unassigning clears assign_status too.
      ok(await patch("Inst0001", { assign_user: "" }));
      expect(await seen("Inst0001")).toMatchObject({ assign_user: "", assign_status: 0 });
      // Several fields at once; updated_at moves, created_at does not.
      const before = await ctx.store.instanceById("Inst0002");
      const both = ok(await patch("Inst0002", { running_status: 5, login_status: 1 }));
      expect(both).toMatchObject({
        running_status: 5,
        login_status: 1,
        created_at: before?.created_at,
      });
      expect(both.updated_at).not.toBe(before?.updated_at);
      expect(await seen("Inst0002")).toMatchObject({ running_status: 5, login_status: 1 });
    });

    it("answers 400 naming the field, changing nothing", async () => {
      const before = await ctx.store.instanceById("Inst0003");
      const cases: [unknown, string][] = [
        [{}, "body"],
        [{ running_status: 6 }, "body.running_status"],
        [{ running_status: "2" }, "body.running_status"],
        [{ frozen_status: 2 }, "body.frozen_status"],
        [{ backup_status: 5 }, "body.backup_status"],
        [{ backup_time: "2024-05-01T03:00:00Z" }, "body.backup_time"],
        [{ instance_name: "" }, "body.instance_name"],
        [{ project_id: "nothex" }, "body.project_id"],
        [{ instance_name: "cph\udc00" }, "body.instance_name holds a lone surrogate or NUL"],
        [{ assign_user: "a\u0000" }, "body.assign_user holds a lone surrogate or NUL"],
        [{ project_id: p(other, 0) }, "body.project_id"],
        [{ assign_status: 1 }, 'unknown field "assign_status"'],
        [{ instance_id: "Other001" }, 'unknown field "instance_id"'],
        [{ tenant_id: other.tenantId }, 'unknown field "tenant_id"'],
        [{ created_at: "2020-01-01 00:00:00" }, 'unknown field "created_at"'],
        [{ updated_at: "2020-01-01 00:00:00" }, 'unknown field "updated_at"'],
        [{ region: "cn-east-3" }, 'unknown field "region"'],
        ['{"running_status":1,"__proto__":{"tenant_id":"x"}}', 'unknown field "__proto__"'],
      ];
      for (const [body, field] of cases) {
        const res = await call(app, "PATCH", "/admin/v1/instances/Inst0003", body, {
          "content-type": "application/json",
        });
        bad(res, field);
      }
      expect(await ctx.store.instanceById("Inst0003")).toEqual(before);
    });

    it("answers 404 for an unknown instance and 400 for a malformed id", async () => {
      missing(await patch("Nope0001", { running_status: 1 }), "Nope0001");
      missing(await call(app, "DELETE", "/admin/v1/instances/Nope0001"), "Nope0001");
      bad(await patch("too-long-id", { running_status: 1 }), "params.instance_id");
      bad(await call(app, "DELETE", "/admin/v1/instances/a%20b"), "params.instance_id");
    });

    it("releases an instance (204): the next tenant query no longer shows it", async () => {
      expect(await seen("Inst0003")).toBeDefined();
      const res = await call(app, "DELETE", "/admin/v1/instances/Inst0003");
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe("");
      expect(await seen("Inst0003")).toBeUndefined();
      missing(await call(app, "DELETE", "/admin/v1/instances/Inst0003"));
      missing(await patch("Inst0003", { running_status: 1 }));
      const page = await batchQuery(app, acme.adminToken, { page_no: 1, page_size: 10 });
      expect(page.json().total_count).toBe(2);
    });
  });
}
