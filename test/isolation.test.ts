/**
 * Tenant isolation: several tenants in one database, with the same instance names, project names
 * and pool names. No query, filter or id lookup of one tenant ever shows another's data, and an
 * instance of another tenant is indistinguishable from one that does not exist.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import type { WireInstance } from "../src/instances/model.js";
import { batchQuery, expectPage, type Params } from "./helpers/api.js";
import { type Catalog, seedCatalog } from "./helpers/catalog.js";
import { testConfig, tokenFor } from "./helpers/fixtures.js";
import { referenceAll } from "./helpers/reference.js";
import { STORES } from "./helpers/stores.js";

const SAME_PROJECTS = ["default", "staging", "production"] as const;

/** Queries that match in every tenant, since all tenants share names. */
const SHARED_FILTERS: Params[] = [
  {},
  { instance_name: "CCTEST" },
  { instance_name: "100% Done" },
  { pool_name: "phones" },
  { pool_scene_tag: "CLOUD_APP" },
  { poolSceneTag: "CLOUD_PHONE", order: "desc", order_by: "instance_name" },
  { query_start_time: "2024-01-01 00:00:00", query_end_time: "2024-12-31 23:59:59" },
];

for (const factory of STORES) {
  describe(`tenant isolation (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    const tenants: Catalog[] = [];

    beforeAll(async () => {
      ctx = await factory.create();
      // Different sizes, so a count that mixes tenants cannot come out right by chance.
      tenants.push(await seedCatalog(ctx.store, "alpha", "ia", 20, SAME_PROJECTS));
      tenants.push(await seedCatalog(ctx.store, "bravo", "ib", 27, SAME_PROJECTS));
      tenants.push(await seedCatalog(ctx.store, "charlie", "ic", 34, SAME_PROJECTS));
      app = await buildApp({ config: testConfig(), store: ctx.store });
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    async function everything(token: string, filter: Params): Promise<WireInstance[]> {
      const rows: WireInstance[] = [];
      for (let page = 1; ; page++) {
        const body = expectPage(
          await batchQuery(app, token, { ...filter, page_no: page, page_size: 10 }),
        );
        rows.push(...body.data.result);
        if (rows.length >= body.total_count || body.data.result.length === 0) {
          expect(rows.length).toBe(body.total_count);
          return rows;
        }
      }
    }

    it("the tenants really share instance, project and pool names", () => {
      const names = tenants.map((t) => new Set(t.instances.map((i) => i.wire.instance_name)));
      expect(names[0]?.has("CCTEST-00012") && names[1]?.has("CCTEST-00012")).toBe(true);
      expect(tenants.map((t) => t.tenant.projects.map((p) => p.name))).toEqual([
        [...SAME_PROJECTS],
        [...SAME_PROJECTS],
        [...SAME_PROJECTS],
      ]);
    });

    for (const [k, filter] of SHARED_FILTERS.entries()) {
      it(`each admin sees only its own tenant (filter #${k})`, async () => {
        for (const mine of tenants) {
          const rows = await everything(mine.tenant.adminToken, filter);
          const own = new Set(mine.instances.map((i) => i.wire.instance_id));
          expect(rows.every((r) => own.has(r.instance_id))).toBe(true);
          const ownProjects = new Set(mine.tenant.projects.map((p) => p.project_id));
          expect(rows.every((r) => ownProjects.has(r.project_id))).toBe(true);
          const q = Object.fromEntries(
            Object.entries(filter).map(([key, v]) => [
              key === "poolSceneTag" ? "pool_scene_tag" : key,
              v,
            ]),
          );
          expect(rows).toEqual(referenceAll(mine.instances, q).map((i) => i.wire));
        }
      });
    }

    it("another tenant's instance_id answers exactly like an id that does not exist", async () => {
      for (const mine of tenants) {
        const member = await tokenFor(ctx.store, mine.tenant.tenantId, {
          name: "member",
          role: "member",
          project_ids: mine.tenant.projects.map((p) => p.project_id),
        });
        const nothing = await batchQuery(app, mine.tenant.adminToken, {
          page_no: "1",
          page_size: "10",
          instance_id: "00000000",
        });
        const none = expectPage(nothing);
        expect(none.total_count).toBe(0);
        for (const theirs of tenants.filter((t) => t !== mine)) {
          for (const instance of theirs.instances.slice(0, 3)) {
            for (const token of [mine.tenant.adminToken, member]) {
              const res = await batchQuery(app, token, {
                page_no: "1",
                page_size: "10",
                instance_id: instance.wire.instance_id,
              });
              expect(res.statusCode).toBe(nothing.statusCode);
              expect(expectPage(res)).toEqual(none);
            }
          }
        }
      }
    });

    it("no response of one tenant carries another tenant's ids", async () => {
      for (const mine of tenants) {
        const res = await batchQuery(app, mine.tenant.adminToken, {
          page_no: "1",
          page_size: "100",
        });
        expect(expectPage(res).total_count).toBe(mine.instances.length);
        for (const theirs of tenants.filter((t) => t !== mine)) {
          expect(res.body).not.toContain(theirs.tenant.tenantId);
          for (const p of theirs.tenant.projects) expect(res.body).not.toContain(p.project_id);
          for (const i of theirs.instances)
            expect(res.body).not.toContain(`"${i.wire.instance_id}"`);
        }
      }
    });
  });
}
