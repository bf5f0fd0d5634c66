/**
 * Who sees what inside a tenant (spec/batch-query.md, operator.md): tenant admins see the whole
 * tenant, members the projects granted to them, and every operator change (role, grants, token
 * revocation, subscription, deletion) shows on the very next request.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { deleteTenant, updateTenant } from "../src/operator/tenants.js";
import { revokeToken, updateUser } from "../src/operator/users.js";
import {
  batchQuery,
  expectError,
  expectPage,
  type Page,
  type Params,
  userWithToken,
} from "./helpers/api.js";
import { type Catalog, seedCatalog } from "./helpers/catalog.js";
import { testConfig, tokenFor } from "./helpers/fixtures.js";
import { type RefQuery, referencePage, toParams } from "./helpers/reference.js";
import { STORES } from "./helpers/stores.js";

const ALL: RefQuery = { page_no: 1, page_size: 100 };

for (const factory of STORES) {
  describe(`permissions (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let catalog: Catalog;
    let projectIds: string[];
    let other: Catalog;

    beforeAll(async () => {
      ctx = await factory.create();
      catalog = await seedCatalog(ctx.store, "acme", "pp", 30);
      other = await seedCatalog(ctx.store, "other", "po", 9);
      projectIds = catalog.tenant.projects.map((p) => p.project_id);
      app = await buildApp({ config: testConfig(), store: ctx.store });
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    const get = (token: string, params: Params) => batchQuery(app, token, params);

    /** The caller's page equals the reference reading over the projects it may see. */
    async function expectSees(
      token: string,
      q: RefQuery,
      granted?: readonly string[],
    ): Promise<Page> {
      const body = expectPage(await get(token, toParams(q)));
      const expected = referencePage(catalog.instances, q, granted);
      expect(body.total_count).toBe(expected.total);
      expect(body.data.result).toEqual(expected.rows);
      return body;
    }

    function project(k: number): string {
      const id = projectIds[k];
      if (id === undefined) throw new Error(`no project ${k}`);
      return id;
    }
    function instanceIn(projectId: string): string {
      const found = catalog.instances.find((i) => i.wire.project_id === projectId);
      if (!found) throw new Error("no instance in project");
      return found.wire.instance_id;
    }

    it("a tenant admin sees every instance of the tenant", async () => {
      const body = await expectSees(catalog.tenant.adminToken, ALL);
      expect(body.total_count).toBe(30);
      const second = await tokenFor(ctx.store, catalog.tenant.tenantId, {
        name: "admin2",
        role: "admin",
      });
      expect((await expectSees(second, ALL)).total_count).toBe(30);
    });

    it("a member sees only the granted projects, total_count included", async () => {
      const one = await tokenFor(ctx.store, catalog.tenant.tenantId, {
        name: "one",
        role: "member",
        project_ids: [project(0)],
      });
      const two = await tokenFor(ctx.store, catalog.tenant.tenantId, {
        name: "two",
        role: "member",
        project_ids: [project(0), project(2)],
      });
      const a = await expectSees(one, ALL, [project(0)]);
      expect(a.total_count).toBe(10);
      expect(a.data.result.every((r) => r.project_id === project(0))).toBe(true);
      const b = await expectSees(two, ALL, [project(0), project(2)]);
      expect(b.total_count).toBe(20);
      // With filters, paging and every order, still only the granted projects.
      for (const q of [
        { ...ALL, pool_scene_tag: "CLOUD_PHONE" as const },
        { page_no: 2, page_size: 4, order: "desc" as const, order_by: "instance_name" as const },
        { ...ALL, instance_name: "cctest", query_start_time: "2024-01-01 00:00:00" },
      ]) {
        await expectSees(one, q, [project(0)]);
        await expectSees(two, q, [project(0), project(2)]);
      }
    });

    it("a member asking by instance_id: granted → the instance; ungranted → 1001", async () => {
      const token = await tokenFor(ctx.store, catalog.tenant.tenantId, {
        name: "byid",
        role: "member",
        project_ids: [project(1)],
      });
      const mine = instanceIn(project(1));
      const body = await expectSees(token, { ...ALL, instance_id: mine }, [project(1)]);
      expect(body.total_count).toBe(1);
      for (const k of [0, 2]) {
        const res = await get(token, {
          page_no: "1",
          page_size: "10",
          instance_id: instanceIn(project(k)),
        });
        const error = expectError(res, 400, "KOOPHONE.API.1001");
        expect(error.error_msg).not.toContain(project(k));
      }
    });

    it("a member asking for another tenant's instance gets the page of a nonexistent id", async () => {
      const token = await tokenFor(ctx.store, catalog.tenant.tenantId, {
        name: "curious",
        role: "member",
        project_ids: [project(0)],
      });
      const foreign = other.instances[0]?.wire.instance_id ?? "";
      const a = expectPage(
        await get(token, { page_no: "1", page_size: "10", instance_id: foreign }),
      );
      const b = expectPage(
        await get(token, { page_no: "1", page_size: "10", instance_id: "zzzzzzzz" }),
      );
      expect(a).toEqual(b);
      expect(a.total_count).toBe(0);
    });

    it("a member without any grant gets 1001, whatever it asks", async () => {
      const token = await tokenFor(ctx.store, catalog.tenant.tenantId, {
        name: "none",
        role: "member",
      });
      const asks: Params[] = [
        { page_no: "1", page_size: "10" },
        { page_no: "1", page_size: "10", instance_id: instanceIn(project(0)) },
        { page_no: "1", page_size: "10", instance_id: "zzzzzzzz" },
        { page_no: "5", page_size: "10", pool_name: "phones" },
      ];
      for (const params of asks) {
        expectError(await get(token, params), 400, "KOOPHONE.API.1001");
      }
    });

    describe("operator changes take effect on the very next request", () => {
      it("role: member → admin → member", async () => {
        const user = await userWithToken(ctx.store, catalog.tenant.tenantId, {
          name: "promoted",
          role: "member",
          project_ids: [project(2)],
        });
        expect((await expectSees(user.token, ALL, [project(2)])).total_count).toBe(10);
        await updateUser(ctx.store, user.userId, { role: "admin" });
        expect((await expectSees(user.token, ALL)).total_count).toBe(30);
        await updateUser(ctx.store, user.userId, { role: "member" });
        expect((await expectSees(user.token, ALL, [project(2)])).total_count).toBe(10);
      });

      it("grants: changed, widened, removed", async () => {
        const user = await userWithToken(ctx.store, catalog.tenant.tenantId, {
          name: "regranted",
          role: "member",
          project_ids: [project(0)],
        });
        await expectSees(user.token, ALL, [project(0)]);
        await updateUser(ctx.store, user.userId, { project_ids: [project(1)] });
        await expectSees(user.token, ALL, [project(1)]);
        const byId = { page_no: "1", page_size: "1", instance_id: instanceIn(project(0)) };
        expectError(await get(user.token, byId), 400, "KOOPHONE.API.1001");
        await updateUser(ctx.store, user.userId, { project_ids: [project(0), project(1)] });
        await expectSees(user.token, ALL, [project(0), project(1)]);
        expect(expectPage(await get(user.token, byId)).total_count).toBe(1);
        await updateUser(ctx.store, user.userId, { project_ids: [] });
        expectError(
          await get(user.token, { page_no: "1", page_size: "1" }),
          400,
          "KOOPHONE.API.1001",
        );
      });

      it("token revocation", async () => {
        const user = await userWithToken(ctx.store, catalog.tenant.tenantId, {
          name: "revoked",
          role: "admin",
        });
        const spare = await userWithToken(ctx.store, catalog.tenant.tenantId, {
          name: "spare",
          role: "admin",
        });
        await expectSees(user.token, ALL);
        await revokeToken(ctx.store, user.tokenId);
        const body = expectError(await get(user.token, toParams(ALL)), 401, "APIGW.0301");
        expect(body.error_msg).toMatch(/revoked/i);
        // Only that token: another token of the tenant still works.
        await expectSees(spare.token, ALL);
      });

      it("unsubscribe and subscribe again", async () => {
        const token = catalog.tenant.adminToken;
        await expectSees(token, ALL);
        try {
          await updateTenant(ctx.store, catalog.tenant.tenantId, { subscribed: false });
          expectError(await get(token, toParams(ALL)), 400, "KOOPHONE.API.1004");
          // The other tenant keeps its service.
          expect(expectPage(await get(other.tenant.adminToken, toParams(ALL))).total_count).toBe(9);
        } finally {
          await updateTenant(ctx.store, catalog.tenant.tenantId, { subscribed: true });
        }
        await expectSees(token, ALL);
      });

      it("tenant deletion → 500 KOOPHONE.API.0000 for every token of it", async () => {
        const doomed = await seedCatalog(ctx.store, "doomed", "pd", 5);
        const member = await tokenFor(ctx.store, doomed.tenant.tenantId, {
          name: "m",
          role: "member",
          project_ids: [doomed.tenant.projects[0]?.project_id ?? ""],
        });
        expect(expectPage(await get(doomed.tenant.adminToken, toParams(ALL))).total_count).toBe(5);
        await deleteTenant(ctx.store, doomed.tenant.tenantId);
        for (const token of [doomed.tenant.adminToken, member]) {
          const body = expectError(await get(token, toParams(ALL)), 500, "KOOPHONE.API.0000");
          expect(body.error_msg).not.toContain(doomed.tenant.tenantId);
        }
        // Its instances are gone for everyone; the others are untouched.
        expect((await expectSees(catalog.tenant.adminToken, ALL)).total_count).toBe(30);
      });
    });
  });
}
