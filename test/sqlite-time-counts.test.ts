/**
 * SQLite's per-day and per-hour counts (migrations 3, 4 and 8) equal a recount of the rows after
 * every kind of write: a bulk import (counted set-wise), the store's own updates and deletions,
 * and rows inserted, moved in time or pool, and deleted by any other writer of the file
 * (counted by the triggers). Deep pages in creation order are located through them, so a count
 * that drifted would put a page in the wrong place.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchQuery } from "../src/instances/model.js";
import { openStore } from "../src/store/create-store.js";
import { InstanceQuery } from "../src/store/sqlite/instance-query.js";
import { migrations } from "../src/store/sqlite/migrations.js";
import type { Store } from "../src/store/types.js";
import { addInstances, makeTenant, spreadRecords, type TenantFixture } from "./helpers/fixtures.js";
import { copyInstances } from "./helpers/sqlite.js";
import { sqlite } from "./helpers/stores.js";

/** Kept counts that differ from a recount (rows with n = 0 are as good as absent). */
const MISMATCHES = `
  WITH actual AS (
    SELECT i.tenant_id,
           CASE s.column1 WHEN 0 THEN '*' WHEN 1 THEN 's:' || i.scene_tag
             WHEN 2 THEN 'p:' || i.pool_id ELSE 'j:' || i.project_id END AS scope,
           l.column1 AS level, substr(i.created_at, 1, l.column2) AS bucket, COUNT(*) AS n
    FROM instances i, (VALUES (0), (1), (2), (3)) s, (VALUES ('d', 10), ('h', 13)) l
    GROUP BY 1, 2, 3, 4),
  kept AS (SELECT tenant_id, scope, level, bucket, n FROM instance_time_counts WHERE n <> 0)
  SELECT 'missing' AS what, * FROM actual a WHERE NOT EXISTS (SELECT 1 FROM kept k
    WHERE k.tenant_id = a.tenant_id AND k.scope = a.scope AND k.level = a.level
      AND k.bucket = a.bucket AND k.n = a.n)
  UNION ALL
  SELECT 'extra', * FROM kept k WHERE NOT EXISTS (SELECT 1 FROM actual a
    WHERE k.tenant_id = a.tenant_id AND k.scope = a.scope AND k.level = a.level
      AND k.bucket = a.bucket AND k.n = a.n)`;

describe("SQLite day and hour counts", () => {
  let ctx: Awaited<ReturnType<typeof sqlite.create>>;
  let store: Store;
  let other: Database.Database;
  let tenant: TenantFixture;

  beforeAll(async () => {
    ctx = await sqlite.create();
    store = ctx.store;
    tenant = await makeTenant(store, "counted", 3);
    await addInstances(
      store,
      tenant.tenantId,
      spreadRecords(tenant, 2_500, {
        name: (i) => `n${i}`,
        createdAt: (i) =>
          `2024-0${1 + (i % 3)}-0${1 + (i % 7)} ${String(i % 24).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}:00`,
      }),
    );
    other = new Database(ctx.url);
    other.pragma("busy_timeout = 5000");
  }, 60_000);

  afterAll(async () => {
    other?.close();
    await ctx?.dispose();
  });

  /** The tenant's instance ids in ascending creation order, read directly. */
  const creationOrder = () =>
    other
      .prepare(
        "SELECT instance_id FROM instances WHERE tenant_id = ? ORDER BY created_at, instance_id",
      )
      .pluck()
      .all(tenant.tenantId) as string[];
  const mismatches = () => other.prepare(MISMATCHES).all();
  const levels = () =>
    other
      .prepare("SELECT level, COUNT(*) AS buckets FROM instance_time_counts GROUP BY 1")
      .all() as { level: string; buckets: number }[];

  it("counts a bulk import by day and by hour", () => {
    expect(mismatches()).toEqual([]);
    expect(levels()).toEqual([
      { level: "d", buckets: expect.any(Number) },
      { level: "h", buckets: expect.any(Number) },
    ]);
  });

  it("follows the store's own moves and deletions", async () => {
    const page = await store.queryInstances(
      { tenantId: tenant.tenantId },
      { pageNo: 1, pageSize: 3, order: "asc", orderBy: "instance_id" },
    );
    const [first, second, third] = page.rows.map((r) => r.instance_id);
    const now = new Date().toISOString();
    await store.updateInstance(first as string, {
      project_id: tenant.projects[2]?.project_id as string,
      updated_at: now,
    });
    await store.updateInstance(second as string, { running_status: 3, updated_at: now });
    await store.deleteInstance(third as string);
    expect(mismatches()).toEqual([]);
  });

  it("follows rows another writer inserts, moves in time and pool, and deletes", async () => {
    other.exec(`
      ${copyInstances("instance_name IN ('n10', 'n11', 'n12')", {
        instance_id: "'x' || instance_id",
        created_at: "'2024-05-05 05:05:05'",
      })}
      UPDATE instances SET created_at = '2024-01-01 23:59:59' WHERE instance_name = 'n20';
      UPDATE instances SET pool_id = (SELECT pool_id FROM pools WHERE name = 'apps'
        AND tenant_id = instances.tenant_id), scene_tag = 'CLOUD_APP'
      WHERE instance_name IN ('n30', 'n32');
      DELETE FROM instances WHERE instance_name = 'n40';
    `);
    expect(mismatches()).toEqual([]);
    // And deep pages located through them answer what OFFSET answers.
    const all = creationOrder();
    for (const pageNo of [1_001, 1_777, 2_200, all.length]) {
      const query: BatchQuery = { pageNo, pageSize: 1, order: "asc", orderBy: "create_time" };
      const page = await store.queryInstances({ tenantId: tenant.tenantId }, query);
      expect(page.rows.map((r) => r.instance_id)).toEqual(all.slice(pageNo - 1, pageNo));
    }
  });

  it("locates deep pages through hour rows held per day, and after letting them go", () => {
    // A row another writer gave a time of another form: its day's hour buckets are not all
    // hours, so pages in that day step through the whole day.
    other.exec(
      copyInstances("instance_name = 'n13'", {
        instance_id: "'t' || instance_id",
        created_at: "'2024-02-04T10:00:00'",
      }),
    );
    expect(mismatches()).toEqual([]);
    const all = creationOrder();
    const oddId = other
      .prepare("SELECT instance_id FROM instances WHERE created_at = '2024-02-04T10:00:00'")
      .pluck()
      .get();
    const odd = all.indexOf(oddId as string) + 1; // its page, one row per page
    expect(odd).toBeGreaterThan(1_000);
    // One day's hours held at most: they are let go as soon as another day's are read, so the
    // pages alternate between held and freshly read hours.
    for (const maxDays of [1, 5_000]) {
      const query = new InstanceQuery(other, undefined, maxDays);
      for (const pageNo of [1_001, 2_400, 1_002, odd, odd + 1, 1_777, 2_401, 1_001, all.length]) {
        const page = query.query(
          { tenantId: tenant.tenantId },
          { pageNo, pageSize: 1, order: "asc", orderBy: "create_time" },
        );
        expect(page.rows.map((r) => r.instance_id)).toEqual(all.slice(pageNo - 1, pageNo));
      }
    }
  });

  it("backfills the hours of rows written before migration 8, and goes down and up again", async () => {
    const hourly = migrations.find((m) => m.name === "hour-counts");
    expect(hourly?.version).toBe(8);
    other.exec(hourly?.down as string);
    other.prepare("DELETE FROM schema_migrations WHERE version = 8").run();
    expect(levels()).toEqual([{ level: "d", buckets: expect.any(Number) }]);
    // With no hour counts, a deep page is located through its whole day, still where OFFSET is.
    const all = creationOrder();
    const query: BatchQuery = { pageNo: 1_234, pageSize: 1, order: "asc", orderBy: "create_time" };
    const page = await store.queryInstances({ tenantId: tenant.tenantId }, query);
    expect(page.rows.map((r) => r.instance_id)).toEqual(all.slice(1_233, 1_234));
    const again = await openStore(ctx.url);
    try {
      expect(await again.migrate()).toEqual([]); // openStore applied it
      expect(mismatches()).toEqual([]);
      expect(levels().map((l) => l.level)).toEqual(["d", "h"]);
    } finally {
      await again.close();
    }
  });
});
