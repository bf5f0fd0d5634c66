/**
 * Pages lent in preallocated memory (src/store/frame-pool.ts): a slot is lent once at a time and
 * comes back once however often its frame is released; on PostgreSQL a page that fits is lent,
 * one too big for a slot comes whole in memory of its own, and many requests at once over HTTP
 * each get their own page's exact bytes while slots are lent, written, released and reused.
 * (SQLite's reader threads: test/sqlite-readers.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRows, pageJson } from "../src/http/page-json.js";
import type { BatchQuery, EncodedPage } from "../src/instances/model.js";
import { startServer } from "../src/server.js";
import { FramePool, HEAD_ROOM } from "../src/store/frame-pool.js";
import { StreamedPage } from "../src/store/postgres/streamed-page.js";
import type { Pool, Store, StoredInstance } from "../src/store/types.js";
import { fetchPages } from "./helpers/api.js";
import { type Catalog, seedCatalog } from "./helpers/catalog.js";
import { importStored, storeTenant, testConfig } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const BASE: BatchQuery = { pageNo: 1, pageSize: 10, order: "asc", orderBy: "create_time" };
const text = (page: EncodedPage | undefined) => Buffer.concat(page?.json ?? []).toString();
const utf8 = (row: string) => Buffer.from(row, "utf8");

describe("FramePool", () => {
  it("lends each slot once at a time, and takes it back once however often it is released", () => {
    const pool = new FramePool(false, 1024, 3);
    const slots = [pool.take(), pool.take(), pool.take()];
    expect(new Set(slots).size).toBe(3);
    expect(pool.take()).toBe(-1);
    const rows = pool.rows(slots[0] as number);
    expect(rows.length).toBe(pool.capacity);
    const length = rows.write('{"a":1},{"b":"云"}');
    const page = pool.lend(slots[0] as number, 2, length);
    expect(text(page)).toBe('{"a":1},{"b":"云"}');
    expect(page.frame?.start).toBe(HEAD_ROOM);
    page.frame?.release();
    page.frame?.release();
    expect(pool.take()).toBe(slots[0]);
    expect(pool.take()).toBe(-1);
    pool.giveBack(-1);
    expect(pool.take()).toBe(-1);
  });
});

describe("StreamedPage (PostgreSQL's rows as they arrive)", () => {
  it("writes the rows into a lent slot, commas between them, and the total of the last row", () => {
    const pool = new FramePool(false, 1024, 1);
    const page = new StreamedPage(pool);
    page.add(7, utf8('{"a":"云"}'));
    page.add(7, utf8('{"b":2}'));
    const done = page.finish();
    expect(done.total).toBe(7);
    expect(text(done)).toBe('{"a":"云"},{"b":2}');
    expect(pool.take()).toBe(-1);
    done.frame?.release();
    expect(pool.take()).toBe(0);
  });

  it("moves a page that outgrows its slot into memory of its own, and gives the slot back", () => {
    const pool = new FramePool(false, 1024, 1);
    const page = new StreamedPage(pool);
    const rows = Array.from({ length: 8 }, (_, n) => JSON.stringify({ n, pad: "x".repeat(90) }));
    for (const row of rows) page.add(8, utf8(row));
    const done = page.finish();
    expect(done.frame).toBeUndefined();
    expect(text(done)).toBe(rows.join(","));
    expect(pool.take()).toBe(0);
  });

  it("keeps a page in its slot when it fits exactly", () => {
    const pool = new FramePool(false, 1024, 1);
    const page = new StreamedPage(pool);
    // Rows of 112, 111, 111 and 111 bytes and three commas: all of the slot's 448 bytes.
    const rows = [10, 1, 2, 3].map((n) => `{"n":${n},"云":"${"x".repeat(95)}"}`);
    expect(rows.map((row) => Buffer.byteLength(row)).reduce((a, b) => a + b) + 3).toBe(
      pool.capacity,
    );
    for (const row of rows) page.add(4, utf8(row));
    const done = page.finish();
    expect(done.frame).toBeDefined();
    expect(text(done)).toBe(rows.join(","));
  });

  it("answers an empty page (a null body) without a slot, and gives a slot back on discard", () => {
    const pool = new FramePool(false, 1024, 1);
    const empty = new StreamedPage(pool);
    empty.add(12, null);
    expect(empty.finish()).toEqual({ total: 12, json: [] });
    const failed = new StreamedPage(pool);
    failed.add(3, utf8("{}"));
    expect(pool.take()).toBe(-1);
    failed.discard();
    expect(pool.take()).toBe(0);
  });
});

const TENANT = "f".repeat(32);
const PROJECT = "7".repeat(32);
const POOL: Pool = {
  pool_id: "6".repeat(32),
  tenant_id: TENANT,
  name: "p",
  scene_tag: "CLOUD_APP",
};

/** ~1.4 KB of JSON per row: 100 of them do not fit a slot (~127 KB). */
function wide(i: number): StoredInstance {
  const n = String(i).padStart(4, "0");
  return {
    instance_id: `wide${n}`,
    tenant_id: TENANT,
    project_id: PROJECT,
    pool_id: POOL.pool_id,
    scene_tag: "CLOUD_APP",
    instance_name: `n${n}`.repeat(12),
    region: "cn-north-4",
    instance_sku: "s".repeat(300),
    frozen_status: 0,
    running_status: i % 6,
    login_status: 1,
    assign_user: "u".repeat(128),
    billing_mode: "1",
    phone_id: "p".repeat(64),
    member_name: "m".repeat(128),
    account_name: "a".repeat(128),
    region_name: "华北-北京四".repeat(20),
    region_name_en: "e".repeat(128),
    backup_status: 2,
    backup_time: "2024-02-03 04:05:06",
    restore_status: 0,
    restore_time: "",
    created_at: `2024-01-01 00:${n.slice(0, 2)}:${n.slice(2)}`,
    updated_at: "2024-01-01 00:00:00",
  };
}

for (const factory of STORES.filter((f) => f.name === "postgres")) {
  describe(`pages lent in preallocated memory (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let store: Store;
    let catalog: Catalog;
    beforeAll(async () => {
      ctx = await factory.create();
      store = ctx.store;
      catalog = await seedCatalog(store, "frames", "fr", 150);
      await storeTenant(store, TENANT, "wide");
      await store.createProject({ project_id: PROJECT, tenant_id: TENANT, name: "wide-p" });
      await importStored(
        store,
        TENANT,
        [POOL],
        Array.from({ length: 100 }, (_, i) => wide(i)),
      );
    });
    afterAll(async () => {
      await ctx?.dispose();
    });

    const who = () => ({ tenantId: catalog.tenant.tenantId });
    const query = (n: number): BatchQuery => ({
      ...BASE,
      pageSize: 7 + (n % 11),
      pageNo: (n % 9) + 1,
    });

    it("lends a page that fits, and reuses a released page's memory", async () => {
      // Three times as many pages as there are slots: without the memory back, most would come
      // in memory of their own.
      for (let n = 0; n < 200; n++) {
        const page = await store.queryEncodedInstances?.(who(), query(n));
        expect(page?.frame, `page ${n}`).toBeDefined();
        const rows = await store.queryInstances(who(), query(n));
        expect(text(page)).toBe(Buffer.concat(encodeRows(rows.rows)).toString());
        page?.frame?.release();
      }
    });

    it("hands a page too big for a slot over whole, in memory of its own", async () => {
      const visibility = { tenantId: TENANT };
      const big = { ...BASE, pageSize: 100 };
      const page = await store.queryEncodedInstances?.(visibility, big);
      const rows = await store.queryInstances(visibility, big);
      expect(page?.frame).toBeUndefined();
      expect(page?.json.reduce((n, part) => n + part.length, 0)).toBeGreaterThan(128 * 1024);
      expect(text(page)).toBe(Buffer.concat(encodeRows(rows.rows)).toString());
    });

    it("answers many requests at once over HTTP, each with its own page's exact bytes", async () => {
      const server = await startServer(
        testConfig({ host: "127.0.0.1", port: 0, responseCacheMb: 0 }),
        store,
      );
      // Closing the server closes the store: last (the store's dispose is then a no-op close).
      try {
        const queries = Array.from({ length: 240 }, (_, n) => query(n * 7));
        const bodies = await fetchPages(server.url, catalog.tenant.adminToken, queries);
        const expected = await Promise.all(
          queries.map(async (q) =>
            pageJson(await store.queryInstances(who(), q), q.pageNo, q.pageSize).toString(),
          ),
        );
        expect(bodies).toEqual(expected);
      } finally {
        await server.close();
      }
    });
  });
}
