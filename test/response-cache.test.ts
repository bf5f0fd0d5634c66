/**
 * Reused answers are never stale: after an operator change — through the same store, through
 * the CLI in another process writing the same database, a rename, a move, a deletion, an
 * import — the very next request answers the new state, for the admin and for a member; and
 * with the cache off the answers are the same.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { patchInstance } from "../src/operator/instances.js";
import { runCli } from "./helpers/cli.js";
import {
  addInstances,
  makeTenant,
  type TenantFixture,
  testConfig,
  tokenFor,
} from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

interface Body {
  total_count: number;
  data: {
    result: {
      instance_id: string;
      instance_name: string;
      running_status: number;
      project_name: string;
    }[];
  };
}

for (const factory of STORES) {
  describe(`cached answers are never stale (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: Awaited<ReturnType<typeof buildApp>>;
    let uncached: Awaited<ReturnType<typeof buildApp>>;
    let tenant: TenantFixture;
    let member: string;
    const get = async (token: string, query = "page_no=1&page_size=100", on = app) => {
      const res = await on.inject({
        url: `/v1/instances/batch-query?${query}`,
        headers: { "x-auth-token": token },
      });
      expect(res.statusCode).toBe(200);
      return res.json() as Body;
    };
    beforeAll(async () => {
      ctx = await factory.create();
      tenant = await makeTenant(ctx.store, "acme");
      const project = tenant.projects[0]?.project_id as string;
      member = await tokenFor(ctx.store, tenant.tenantId, {
        name: "m",
        role: "member",
        project_ids: [project],
      });
      await addInstances(
        ctx.store,
        tenant.tenantId,
        Array.from({ length: 30 }, (_, n) => ({
          instance_name: `phone-${n}`,
          region: "cn-north-4",
          instance_sku: "sku",
          project_id: tenant.projects[n % 2]?.project_id,
          pool_name: "phones",
          created_at: `2024-01-01 00:00:${String(n).padStart(2, "0")}`,
        })),
      );
      app = await buildApp({ config: testConfig(), store: ctx.store });
      uncached = await buildApp({ config: testConfig({ responseCacheMb: 0 }), store: ctx.store });
    });
    afterAll(async () => {
      await app?.close();
      await uncached?.close();
      await ctx?.dispose();
    });

    it("shows a change through the operator operations on the next request", async () => {
      const first = await get(tenant.adminToken);
      expect(await get(tenant.adminToken)).toEqual(first);
      const id = first.data.result[0]?.instance_id as string;
      await patchInstance(ctx.store, id, { instance_name: "renamed", running_status: 2 });
      const after = await get(tenant.adminToken);
      expect(after.data.result[0]).toMatchObject({ instance_name: "renamed", running_status: 2 });
      expect(after).toEqual(await get(tenant.adminToken, undefined, uncached));
    });

    it("shows a move, a deletion and an import to a member on the next request", async () => {
      const before = await get(member);
      const moved = before.data.result[0]?.instance_id as string;
      await patchInstance(ctx.store, moved, { project_id: tenant.projects[1]?.project_id });
      const after = await get(member);
      expect(after.total_count).toBe(before.total_count - 1);
      expect(after.data.result.map((r) => r.instance_id)).not.toContain(moved);
      await ctx.store.deleteInstance(after.data.result[0]?.instance_id as string);
      expect((await get(member)).total_count).toBe(before.total_count - 2);
      await addInstances(ctx.store, tenant.tenantId, [
        {
          instance_name: "new",
          region: "cn-north-4",
          instance_sku: "s",
          project_id: tenant.projects[0]?.project_id,
          pool_name: "apps",
        },
      ]);
      expect((await get(member)).total_count).toBe(before.total_count - 1);
      expect(await get(member)).toEqual(await get(member, undefined, uncached));
    });

    it("shows a change made by another process on the same database on the next request", async () => {
      const query = "page_no=1&page_size=5&order=desc";
      const before = await get(tenant.adminToken, query);
      const id = before.data.result[0]?.instance_id as string;
      const cli = await runCli(["instances", "set", id, "--running-status", "5", "--db", ctx.url]);
      expect(cli.code, cli.stderr).toBe(0);
      const after = await get(tenant.adminToken, query);
      expect(after.data.result[0]).toMatchObject({ instance_id: id, running_status: 5 });
    });
  });
}
