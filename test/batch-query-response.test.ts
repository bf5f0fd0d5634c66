/**
 * The 200 response of spec/batch-query.md: the page envelope, the 21 fields with their JSON types
 * and values, and paging that reproduces the whole filtered, ordered set.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import type { WireInstance } from "../src/instances/model.js";
import { patchInstance } from "../src/operator/instances.js";
import { batchQuery, expectPage, type Params } from "./helpers/api.js";
import { buildInstance, type Catalog, seedCatalog } from "./helpers/catalog.js";
import { addInstances, makeTenant, testConfig } from "./helpers/fixtures.js";
import { type RefQuery, referenceAll, toParams } from "./helpers/reference.js";
import { STORES } from "./helpers/stores.js";

/** Filter sets for the paging walk: several filters at once, each combining with AND. */
const FILTERS: Omit<RefQuery, "page_no" | "page_size">[] = [
  {},
  { pool_scene_tag: "CLOUD_PHONE", instance_name: "cctest" },
  {
    query_start_time: "2024-01-01 00:00:00",
    query_end_time: "2024-06-15 08:30:00",
    pool_name: "phones",
  },
  { instance_name: "0", pool_scene_tag: "CLOUD_APP", query_start_time: "2024-02-29 12:00:00" },
];
const ORDERS = ["asc", "desc"] as const;
const ORDER_BYS = ["create_time", "instance_name", "instance_id"] as const;

for (const factory of STORES) {
  describe(`batch-query response (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let catalog: Catalog;
    let token: string;

    beforeAll(async () => {
      ctx = await factory.create();
      catalog = await seedCatalog(ctx.store, "acme", "rr");
      token = catalog.tenant.adminToken;
      app = await buildApp({ config: testConfig(), store: ctx.store });
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    const get = (params: Params | string) => batchQuery(app, token, params);

    /** Every page of a query, until the first empty one; checks each page's envelope. */
    async function walk(q: Omit<RefQuery, "page_no" | "page_size">, pageSize: number) {
      const rows: WireInstance[] = [];
      const totals = new Set<number>();
      for (let pageNo = 1; pageNo < 1000; pageNo++) {
        const body = expectPage(
          await get({ ...toParams({ ...q, page_no: pageNo, page_size: pageSize }) }),
        );
        expect(body.page_no).toBe(pageNo);
        expect(body.page_size).toBe(pageSize);
        totals.add(body.total_count);
        if (body.data.result.length === 0) break;
        // A page is full unless it is the last one.
        if (body.data.result.length < pageSize)
          expect(rows.length + body.data.result.length).toBe(body.total_count);
        rows.push(...body.data.result);
      }
      expect(totals.size).toBe(1);
      return { rows, total: [...totals][0] };
    }

    describe("paging reproduces the whole filtered, ordered set", () => {
      for (const [f, filter] of FILTERS.entries()) {
        for (const order of ORDERS) {
          for (const orderBy of ORDER_BYS) {
            it(`filters #${f}, ${orderBy} ${order}`, async () => {
              const q = { ...filter, order, order_by: orderBy };
              const expected = referenceAll(catalog.instances, q).map((i) => i.wire);
              expect(expected.length).toBeGreaterThan(f === 0 ? 100 : 5);
              for (const size of f === 0 ? [13, 100] : [3, 100]) {
                const { rows, total } = await walk(q, size);
                expect(total).toBe(expected.length);
                expect(new Set(rows.map((r) => r.instance_id)).size).toBe(rows.length);
                expect(rows).toEqual(expected);
              }
            });
          }
        }
      }

      it("with page size 1, one instance per page, in order", async () => {
        const q = { pool_name: "edge", order: "desc" as const, order_by: "instance_name" as const };
        const { rows } = await walk(q, 1);
        expect(rows).toEqual(referenceAll(catalog.instances, q).map((i) => i.wire));
      });
    });

    it("answers every field with its value, JSON type and defaults", async () => {
      const { rows } = await walk({ order_by: "instance_id" }, 100);
      const expected = referenceAll(catalog.instances, { order_by: "instance_id" });
      expect(rows).toEqual(expected.map((i) => i.wire));
      // The defaults the spec names, present in the data set and answered as written.
      expect(rows.some((r) => r.phone_id === "null")).toBe(true);
      expect(rows.some((r) => r.phone_id !== "null")).toBe(true);
      expect(rows.some((r) => r.backup_time === "")).toBe(true);
      expect(rows.some((r) => r.restore_time === "")).toBe(true);
      expect(rows.some((r) => r.assign_status === 1 && r.assign_user !== "")).toBe(true);
      expect(rows.some((r) => r.assign_status === 0 && r.assign_user === "")).toBe(true);
      expect(rows.some((r) => r.region_name === "华北-北京四")).toBe(true);
    });

    it("leaks nothing beyond the documented fields", async () => {
      const res = await get({ page_no: "1", page_size: "100" });
      expectPage(res);
      const raw = res.body;
      for (const internal of [
        "tenant_id",
        "pool_id",
        "scene_tag",
        "created_at",
        "updated_at",
        "name_folded",
        "user_id",
        "rowid",
        catalog.tenant.tenantId,
      ]) {
        expect(raw).not.toContain(internal);
      }
    });

    it("answers a page past the end with 200, an empty result and the true total", async () => {
      for (const params of [
        { page_no: "3", page_size: "100" },
        { page_no: "200", page_size: "1" },
        { page_no: "999999999", page_size: "100" },
      ]) {
        const body = expectPage(await get(params));
        expect(body.data.result).toEqual([]);
        expect(body.total_count).toBe(catalog.instances.length);
      }
      const filtered = expectPage(await get({ page_no: "3", page_size: "5", pool_name: "edge" }));
      expect(filtered.total_count).toBe(
        catalog.instances.filter((i) => i.pool_name === "edge").length,
      );
    });

    it("answers no match with an empty result and total 0 in both places", async () => {
      const body = expectPage(await get({ page_no: "1", page_size: "10", instance_name: "zzz" }));
      expect(body.data).toEqual({ result: [], page_no: 1, page_size: 10, total_count: 0 });
      expect(body.total_count).toBe(0);
    });

    it("total_count counts every match, not the page", async () => {
      const body = expectPage(
        await get({ page_no: "2", page_size: "3", pool_scene_tag: "CLOUD_PHONE" }),
      );
      expect(body.data.result).toHaveLength(3);
      expect(body.total_count).toBe(
        catalog.instances.filter((i) => i.scene_tag === "CLOUD_PHONE").length,
      );
    });

    it("assign_status follows assign_user as the operator changes it", async () => {
      const target = catalog.instances.find((i) => i.wire.assign_user === "");
      if (!target) throw new Error("catalog has no unassigned instance");
      const id = target.wire.instance_id;
      const read = async () =>
        expectPage(await get({ page_no: "1", page_size: "1", instance_id: id })).data.result[0];
      try {
        await patchInstance(ctx.store, id, { assign_user: "1008600000097131912" });
        expect(await read()).toMatchObject({
          assign_status: 1,
          assign_user: "1008600000097131912",
        });
        await patchInstance(ctx.store, id, { assign_user: "" });
        expect(await read()).toMatchObject({ assign_status: 0, assign_user: "" });
      } finally {
        await patchInstance(ctx.store, id, { assign_user: "" });
      }
    });

    it("new purchases append at the end of the default order, never shifting earlier pages", async () => {
      const tenant = await makeTenant(ctx.store, "growing", 1);
      const project = tenant.projects[0];
      if (!project) throw new Error("no project");
      const make = (n: number, time: string) =>
        buildInstance({
          instance_id: `gw${String(n).padStart(6, "0")}`,
          instance_name: `grow-${n}`,
          project,
          pool_name: "phones",
          scene_tag: "CLOUD_PHONE",
          created_at: time,
        });
      await addInstances(
        ctx.store,
        tenant.tenantId,
        [0, 1, 2, 3, 4].map((n) => make(n, "2024-01-01 00:00:00").record),
      );
      const page = (n: string) =>
        batchQuery(app, tenant.adminToken, { page_no: n, page_size: "2" }).then(expectPage);
      const before = [await page("1"), await page("2")];
      await addInstances(
        ctx.store,
        tenant.tenantId,
        [5, 6].map((n) => make(n, "2024-01-01 00:00:01").record),
      );
      const after = [await page("1"), await page("2")];
      expect(after.map((p) => p.data.result)).toEqual(before.map((p) => p.data.result));
      expect(after[0]?.total_count).toBe(7);
      const last = await page("4");
      expect(last.data.result.map((r) => r.instance_name)).toEqual(["grow-6"]);
    });
  });
}
