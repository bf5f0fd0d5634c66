/**
 * Deep pages in creation order started from sampled keys (src/store/postgres/key-samples.ts):
 * the same rows as OFFSET on the plain query, in every sampled scope and both directions, and
 * never a page from a sample the data has moved away from: a write that can move rows makes the
 * very next request answer from the new order, while a status change keeps the sample.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BatchQuery, SceneTag, Visibility } from "../src/instances/model.js";
import type { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { addInstances, makeTenant, spreadRecords, type TenantFixture } from "./helpers/fixtures.js";
import { freshPostgresStore, POSTGRES_URL } from "./helpers/stores.js";

/** Small steps, so that a 3,300-instance tenant has hundreds of sampled keys per scope. */
const OPTIONS = {
  maxKeys: 100_000,
  maxScopes: 100,
  minStep: 7,
  maxKeysPerScope: 1_000,
  idleFactor: 0,
};
const DAYS = ["2024-01-30", "2024-01-31", "2024-02-01"];

interface Scope {
  sceneTag?: SceneTag;
  poolName?: string;
}
const SCOPES: Scope[] = [{}, { sceneTag: "CLOUD_APP" }, { poolName: "phones" }];

describe.runIf(POSTGRES_URL)("PostgreSQL deep pages from sampled keys", () => {
  let ctx: Awaited<ReturnType<typeof freshPostgresStore>>;
  let store: PostgresStore;
  let plain: pg.Client;
  let big: TenantFixture;
  let other: TenantFixture;

  beforeAll(async () => {
    ctx = await freshPostgresStore({ keySamples: OPTIONS });
    ({ store, plain } = ctx);
    big = await makeTenant(store, "big", 2);
    other = await makeTenant(store, "other", 1);
    // Many rows share a creation second, so instance_id breaks ties inside sampled steps.
    const records = (fixture: TenantFixture, n: number) =>
      spreadRecords(fixture, n, {
        name: (i) => `phone-${i}`,
        createdAt: (i) => `${DAYS[i % DAYS.length]} 0${i % 4}:00:00`,
        pool: (i) => (i % 3 === 0 ? "apps" : "phones"),
      });
    await addInstances(store, big.tenantId, records(big, 3_300));
    await addInstances(store, other.tenantId, records(other, 1_500));
  }, 120_000);

  afterAll(() => ctx?.dispose());

  /** The plain query's ids, every row of the scope in the query's order. */
  async function expectedIds(tenantId: string, scope: Scope, order: "asc" | "desc") {
    const where = ["i.tenant_id = $1"];
    const values: unknown[] = [tenantId];
    if (scope.sceneTag) {
      values.push(scope.sceneTag);
      where.push(`i.scene_tag = $${values.length}`);
    }
    if (scope.poolName) {
      values.push(scope.poolName);
      where.push(`i.pool_id IN (SELECT pool_id FROM pools
        WHERE tenant_id = $1 AND name = $${values.length})`);
    }
    const dir = order === "desc" ? "DESC" : "ASC";
    const { rows } = await plain.query(
      `SELECT instance_id FROM instances i WHERE ${where.join(" AND ")}
       ORDER BY i.created_at ${dir}, i.instance_id ${dir}`,
      values,
    );
    return rows.map((r) => r.instance_id as string);
  }

  /** The tenant's order version (migration 9), 0 before its first change. */
  async function orderVersion(tenantId: string): Promise<number> {
    const { rows } = await plain.query("SELECT version FROM order_versions WHERE tenant_id = $1", [
      tenantId,
    ]);
    return Number(rows[0]?.version ?? 0);
  }

  function query(scope: Scope, order: "asc" | "desc", pageNo: number, pageSize: number) {
    return { pageNo, pageSize, order, orderBy: "create_time", ...scope } as BatchQuery;
  }

  /** Both read paths of the store against the plain query's ids. */
  async function compare(visibility: Visibility, q: BatchQuery, all: string[]) {
    const offset = (q.pageNo - 1) * q.pageSize;
    const want = all.slice(offset, offset + q.pageSize);
    const rows = await store.queryInstances(visibility, q);
    expect(rows.total).toBe(all.length);
    expect(rows.rows.map((r) => r.instance_id)).toEqual(want);
    const encoded = await store.queryEncodedInstances(visibility, q);
    expect(encoded.total).toBe(all.length);
    const ids = JSON.parse(`[${Buffer.concat(encoded.json).toString()}]`).map(
      (r: { instance_id: string }) => r.instance_id,
    );
    expect(ids).toEqual(want);
  }

  /** Adds an instance to the big tenant's first project, created at `createdAt`. */
  async function addInstanceAt(name: string, pool: string, createdAt: string) {
    await addInstances(store, big.tenantId, [
      {
        instance_name: name,
        region: "cn-north-4",
        instance_sku: "sku",
        project_id: big.projects[0]?.project_id,
        pool_name: pool,
        created_at: createdAt,
      },
    ]);
  }

  /** Asks for a deep page of each scope until one is answered from a current sample. */
  async function sampleAll(tenantId: string, scopes = SCOPES) {
    for (const scope of scopes) {
      await vi.waitFor(
        async () => {
          const { used, stale } = store.samples.counts;
          await store.queryInstances({ tenantId }, query(scope, "asc", 201, 5));
          expect(store.samples.counts.used).toBe(used + 1);
          expect(store.samples.counts.stale).toBe(stale);
        },
        { timeout: 10_000, interval: 20 },
      );
    }
  }

  it("answers every deep page as OFFSET does, in each sampled scope and both orders", async () => {
    await sampleAll(big.tenantId);
    expect(store.samples.size.scopes).toBe(SCOPES.length);
    const taken = store.samples.counts.taken;
    const used = store.samples.counts.used;
    let sampled = 0;
    for (const scope of SCOPES) {
      for (const order of ["asc", "desc"] as const) {
        const all = await expectedIds(big.tenantId, scope, order);
        expect(all.length).toBeGreaterThan(1_000);
        for (const pageSize of [1, 7, 13, 100]) {
          const last = Math.ceil(all.length / pageSize);
          const first = Math.ceil(1_000 / pageSize) + 1;
          // Pages around sampled steps, the last page, and past the end.
          for (const pageNo of [
            first,
            first + 1,
            first + 5,
            Math.floor(last / 2),
            last,
            last + 1,
          ]) {
            await compare({ tenantId: big.tenantId }, query(scope, order, pageNo, pageSize), all);
            const offset = (pageNo - 1) * pageSize;
            if (offset >= 1_000 && offset < all.length) sampled += 2; // both read paths
          }
        }
      }
    }
    // Every page from offset 1,000 to the end started from a sample, and none was stale.
    expect(sampled).toBeGreaterThan(150);
    expect(store.samples.counts.used - used).toBe(sampled);
    expect(store.samples.counts.stale).toBe(0);
    expect(store.samples.counts.taken).toBe(taken);
  }, 60_000);

  it("reads the deep pages asked for in the same turn together, each as OFFSET does", async () => {
    await sampleAll(big.tenantId);
    await sampleAll(other.tenantId, [{}]);
    const reader = (store as unknown as { reader: { stream: () => Promise<void> } }).reader;
    const statements = vi.spyOn(reader, "stream");
    const asked: { tenantId: string; q: BatchQuery; all: string[] }[] = [];
    for (const scope of SCOPES) {
      for (const order of ["asc", "desc"] as const) {
        const all = await expectedIds(big.tenantId, scope, order);
        // Deep pages of two sizes, the last page, past the end, and a page read without a sample.
        for (const [pageNo, pageSize] of [
          [101, 13],
          [150, 13],
          [151, 13],
          [400, 7],
          [Math.ceil(all.length / 13), 13],
          [1_000, 13],
          [2, 13],
        ] as const)
          asked.push({ tenantId: big.tenantId, q: query(scope, order, pageNo, pageSize), all });
      }
    }
    const otherAll = await expectedIds(other.tenantId, {}, "asc");
    for (const pageNo of [1_001, 1_002, 1_499])
      asked.push({ tenantId: other.tenantId, q: query({}, "asc", pageNo, 1), all: otherAll });
    const used = store.samples.counts.used;

    // All asked at once: one turn.
    const pages = await Promise.all(
      asked.map(({ tenantId, q }) => store.queryEncodedInstances({ tenantId }, q)),
    );
    pages.forEach((page, n) => {
      const { q, all } = asked[n] as (typeof asked)[number];
      const offset = (q.pageNo - 1) * q.pageSize;
      expect(page.total).toBe(all.length);
      const ids = JSON.parse(`[${Buffer.concat(page.json).toString()}]`).map(
        (r: { instance_id: string }) => r.instance_id,
      );
      expect(ids, `page ${q.pageNo} of ${JSON.stringify(q)}`).toEqual(
        all.slice(offset, offset + q.pageSize),
      );
    });
    for (const page of pages) if ("frame" in page) page.frame?.release();
    // Every page from offset 1,000 to its scope's end started from a sample.
    const sampled = asked.filter(({ q, all }) => {
      const offset = (q.pageNo - 1) * q.pageSize;
      return offset >= 1_000 && offset < all.length;
    });
    const groups = new Set(
      sampled.map(({ tenantId, q }) =>
        JSON.stringify([tenantId, q.sceneTag, q.poolName, q.order, q.pageSize]),
      ),
    );
    expect(store.samples.counts.used - used).toBe(sampled.length);
    const unsampled = asked.length - sampled.length;
    // Sampled pages of one group share statements (spread over the free connections), never
    // two groups one; every other page has its own.
    expect(statements.mock.calls.length).toBeGreaterThanOrEqual(groups.size + unsampled);
    expect(statements.mock.calls.length).toBeLessThan(sampled.length + unsampled);
    statements.mockRestore();
  }, 60_000);

  it("keeps one tenant's samples from another's pages", async () => {
    const all = await expectedIds(other.tenantId, {}, "asc");
    await compare({ tenantId: other.tenantId }, query({}, "asc", 1_200, 1), all);
    await sampleAll(other.tenantId, [{}]);
    for (const pageNo of [1_001, 1_234, 1_500])
      await compare({ tenantId: other.tenantId }, query({}, "asc", pageNo, 1), all);
    const bigAll = await expectedIds(big.tenantId, {}, "asc");
    await compare({ tenantId: big.tenantId }, query({}, "asc", 2_000, 1), bigAll);
  }, 60_000);

  it("answers the next request from the new order after a write that moves rows", async () => {
    await sampleAll(big.tenantId);
    const stale = store.samples.counts.stale;
    // An instance older than every other one: each position of the scope moves by one.
    await addInstanceAt("oldest", "phones", "2023-12-31 23:59:59");
    for (const scope of [{}, { poolName: "phones" }]) {
      const all = await expectedIds(big.tenantId, scope, "asc");
      await compare({ tenantId: big.tenantId }, query(scope, "asc", 1_500, 1), all);
    }
    expect(store.samples.counts.stale).toBeGreaterThan(stale);

    // A deletion, once the samples are taken again.
    await sampleAll(big.tenantId);
    const [first] = await expectedIds(big.tenantId, {}, "asc");
    expect(await store.deleteInstance(first as string)).toBe(true);
    const all = await expectedIds(big.tenantId, {}, "desc");
    await compare({ tenantId: big.tenantId }, query({}, "desc", 1_100, 2), all);

    // Several deep pages in one turn, once the samples are taken again and a row moved: the
    // statement they share finds its sample stale, and each is answered from the new order.
    await sampleAll(big.tenantId);
    await addInstanceAt("older", "apps", "2023-12-31 23:59:58");
    const now = await expectedIds(big.tenantId, {}, "asc");
    const before = store.samples.counts.stale;
    const pageNos = [1_001, 1_500, 2_222];
    const pages = await Promise.all(
      pageNos.map((n) =>
        store.queryEncodedInstances({ tenantId: big.tenantId }, query({}, "asc", n, 1)),
      ),
    );
    expect(
      pages.map((page) => JSON.parse(Buffer.concat(page.json).toString()).instance_id),
    ).toEqual(pageNos.map((n) => now[n - 1]));
    expect(store.samples.counts.stale).toBe(before + pageNos.length);
  }, 60_000);

  it("keeps the samples through a change that moves no row (status, name, project)", async () => {
    await sampleAll(big.tenantId);
    const before = await orderVersion(big.tenantId);
    const [id] = await expectedIds(big.tenantId, {}, "asc");
    await store.updateInstance(id as string, {
      running_status: 2,
      instance_name: "renamed",
      project_id: big.projects[1]?.project_id,
      updated_at: new Date().toISOString(),
    });
    expect(await orderVersion(big.tenantId)).toBe(before);
    const stale = store.samples.counts.stale;
    const all = await expectedIds(big.tenantId, {}, "asc");
    await compare({ tenantId: big.tenantId }, query({}, "asc", 2_001, 1), all);
    expect(store.samples.counts.stale).toBe(stale);
  }, 60_000);

  it("bumps the order version for every write that can move a row", async () => {
    const writes = [
      "UPDATE instances SET created_at = '2024-01-30 05:00:00' WHERE tenant_id = $1 AND instance_name = 'phone-7'",
      `UPDATE instances SET pool_id = (SELECT pool_id FROM pools WHERE tenant_id = $1 AND name = 'apps'),
         scene_tag = 'CLOUD_APP' WHERE tenant_id = $1 AND instance_name = 'phone-8'`,
      "UPDATE pools SET name = 'renamed' WHERE tenant_id = $1 AND name = 'apps'",
      "UPDATE pools SET name = 'apps' WHERE tenant_id = $1 AND name = 'renamed'",
    ];
    for (const write of writes) {
      const before = await orderVersion(big.tenantId);
      await plain.query(write, [big.tenantId]);
      expect(await orderVersion(big.tenantId)).toBe(before + 1);
    }
  });
});
