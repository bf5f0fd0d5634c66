/**
 * SQLite reads a page of the whole tenant in creation order (page 1, a deep page, a time range,
 * either direction) from the index holding each row's wire JSON (migration 10), and nothing
 * else from it: pages of a pool, a scene tag or a member's projects, and the other orders, keep
 * their own indexes (the wide index would make them step over other rows). The pages it gives
 * are the plain query's (test/query-equivalence.test.ts); here, which index each page is read
 * through, and the migration going down and up.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchQuery } from "../src/instances/model.js";
import { openStore } from "../src/store/create-store.js";
import { InstanceQuery } from "../src/store/sqlite/instance-query.js";
import { migrations } from "../src/store/sqlite/migrations.js";
import { addInstances, makeTenant, spreadRecords, type TenantFixture } from "./helpers/fixtures.js";
import { sqlite } from "./helpers/stores.js";

describe("SQLite page index", () => {
  let ctx: Awaited<ReturnType<typeof sqlite.create>>;
  let tenant: TenantFixture;
  let db: Database.Database;

  beforeAll(async () => {
    ctx = await sqlite.create();
    tenant = await makeTenant(ctx.store, "paged", 2);
    await addInstances(
      ctx.store,
      tenant.tenantId,
      spreadRecords(tenant, 2_300, {
        name: (i) => `p${i}`,
        createdAt: (i) => `2024-02-0${1 + (i % 9)} ${String(i % 24).padStart(2, "0")}:00:00`,
      }),
    );
    db = new Database(ctx.url);
  }, 60_000);

  afterAll(async () => {
    db?.close();
    await ctx?.dispose();
  });

  /** The indexes the page statement of `query` reads instances through, and its page's ids. */
  const readThrough = (query: Partial<BatchQuery>, projectIds?: string[]) => {
    const plans: string[] = [];
    const details: string[] = [];
    const prepare = db.prepare.bind(db);
    const spy = Object.create(db) as Database.Database;
    spy.prepare = ((text: string) => {
      if (text.includes("group_concat(w")) {
        const names = Object.fromEntries([...text.matchAll(/@(\w+)/g)].map((m) => [m[1], null]));
        const plan = prepare(`EXPLAIN QUERY PLAN ${text}`).all(names) as { detail: string }[];
        for (const { detail } of plan) {
          const index = /^SEARCH i USING (?:COVERING )?INDEX (\w+)/.exec(detail)?.[1];
          if (index) {
            plans.push(index);
            details.push(detail);
          }
        }
      }
      return prepare(text);
    }) as typeof db.prepare;
    const instances = new InstanceQuery(spy);
    const page = instances.queryEncoded(
      { tenantId: tenant.tenantId, ...(projectIds ? { projectIds } : {}) },
      { pageNo: 1, pageSize: 100, order: "asc", orderBy: "create_time", ...query },
    );
    return { plans, details, total: page?.total };
  };
  const range = { createdFrom: "2024-02-03 00:00:00", createdTo: "2024-02-06 12:00:00" };

  it("reads pages of the whole tenant in creation order through it", () => {
    for (const query of [
      {},
      { pageNo: 2 },
      { pageNo: 15, order: "desc" as const },
      { pageNo: 20 },
      range,
      { ...range, pageNo: 3, order: "desc" as const },
    ]) {
      expect(readThrough(query).plans, JSON.stringify(query)).toEqual(["instances_pages"]);
    }
  });

  it("leaves pages of a place and other orders to their own indexes", () => {
    const projects = [tenant.projects[0]?.project_id as string];
    expect(readThrough({ sceneTag: "CLOUD_APP", pageNo: 2 }).plans).toEqual(["instances_by_scene"]);
    expect(readThrough({ poolName: "apps", ...range }).plans).toEqual(["instances_by_pool"]);
    expect(readThrough({ orderBy: "instance_name" }).plans).toEqual(["instances_by_name"]);
    const member = readThrough({}, projects).plans;
    expect(member).toHaveLength(1);
    expect(member).not.toContain("instances_pages");
  });

  it("bounds a page read from a key by the key, within a time range", () => {
    // Scene CLOUD_APP's page 11 from the end, most of the fleet's days in range: located
    // through the counts, read down from its key. The range's upper bound is implied by the key
    // and left out; with it in, SQLite scanned down from the range's end.
    const wide = { createdFrom: "2024-02-01 06:00:00", createdTo: "2024-02-09 23:59:59" };
    const { details, total } = readThrough({
      ...wide,
      sceneTag: "CLOUD_APP",
      pageNo: 11,
      order: "desc",
    });
    expect(total).toBeGreaterThan(1_000);
    expect(details).toEqual([
      "SEARCH i USING INDEX instances_by_scene (tenant_id=? AND scene_tag=? AND created_at>? AND (created_at,instance_id)<(?,?))",
    ]);
  });

  it("goes down and up again", async () => {
    const pages = migrations.find((m) => m.name === "page-index");
    expect(pages?.version).toBe(10);
    const indexes = () =>
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'instances_pages'")
        .pluck()
        .all();
    expect(indexes()).toEqual(["instances_pages"]);
    db.exec(pages?.down as string);
    db.prepare("DELETE FROM schema_migrations WHERE version = 10").run();
    expect(indexes()).toEqual([]);
    const again = await openStore(ctx.url);
    try {
      expect(indexes()).toEqual(["instances_pages"]);
      expect(readThrough({ pageNo: 7 }).total).toBe(2_300);
    } finally {
      await again.close();
    }
  });
});
