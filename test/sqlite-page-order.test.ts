/**
 * The SQLite store joins a page's rows with group_concat in the order they come, which SQLite
 * does not promise, and keeps the blob only when the rows' sort keys show it is the page's
 * order (keysInOrder); otherwise it joins the page again, sorted by SQLite. Here: the check
 * never passes keys SQLite would order otherwise, it does pass plain keys in order (the fast
 * path is taken), and the sorted path, forced, answers the same bytes as the rows.
 */
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRows } from "../src/http/page-json.js";
import type { BatchQuery, Visibility } from "../src/instances/model.js";
import { InstanceQuery, keysInOrder } from "../src/store/sqlite/instance-query.js";
import type { Store } from "../src/store/types.js";
import { addInstances, makeTenant } from "./helpers/fixtures.js";
import { sqlite } from "./helpers/stores.js";

type Keys = [string, string];

/** Rows' keys as CAST(group_concat(k0 || char(31) || k1, char(30)) AS BLOB) gives them. */
const joined = (rows: Keys[]) =>
  Buffer.from(rows.map((r) => r.join("\u001f")).join("\u001e"), "utf8");

describe("keysInOrder", () => {
  const db = new Database(":memory:");
  afterAll(() => db.close());
  const sortedBySqlite = (rows: Keys[], dir: "ASC" | "DESC") =>
    db
      .prepare(`SELECT value ->> 0, value ->> 1 FROM json_each(?) ORDER BY 1 ${dir}, 2 ${dir}`)
      .raw()
      .all(JSON.stringify(rows)) as Keys[];

  // Short keys over characters where JavaScript's order or the separators could mislead.
  const key = fc
    .array(
      fc.constantFrom(
        "a",
        "b",
        " ",
        "\u0001",
        "\u001e",
        "\u001f",
        "é",
        "\ue000",
        "\uffff",
        "\ufffd",
        "😀",
        "𝄞",
      ),
      { maxLength: 3 },
    )
    .map((c) => c.join(""));
  const rows = fc.uniqueArray(fc.tuple(key, key), {
    minLength: 1,
    maxLength: 8,
    selector: (r) => r[1],
  });

  it("passes only rows in SQLite's order", () => {
    fc.assert(
      fc.property(rows, fc.boolean(), fc.nat(), (given, desc, seed) => {
        const dir = desc ? "DESC" : "ASC";
        const sorted = sortedBySqlite(given, dir);
        // The given order, SQLite's, and SQLite's with two neighbours swapped.
        const swapped = [...sorted];
        if (sorted.length > 1) {
          const at = seed % (sorted.length - 1);
          [swapped[at], swapped[at + 1]] = [swapped[at + 1] as Keys, swapped[at] as Keys];
        }
        for (const order of [given, sorted, swapped]) {
          if (keysInOrder(joined(order), order.length, 2, 2 * order.length, desc)) {
            expect(order).toEqual(sorted);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("passes plain keys in SQLite's order, and never a key that is not text", () => {
    // Printable ASCII (fast-check's default string unit).
    const plain = fc.uniqueArray(
      fc.tuple(fc.string({ maxLength: 4 }), fc.string({ minLength: 1, maxLength: 4 })),
      { minLength: 1, maxLength: 8, selector: (r) => r[1] },
    );
    fc.assert(
      fc.property(plain, fc.boolean(), (given, desc) => {
        const sorted = sortedBySqlite(given, desc ? "DESC" : "ASC");
        const n = sorted.length;
        expect(keysInOrder(joined(sorted), n, 2, 2 * n, desc)).toBe(true);
        expect(keysInOrder(joined(sorted), n, 2, 2 * n - 1, desc)).toBe(false);
      }),
    );
  });
});

describe("encoded pages joined sorted when the order check fails (sqlite)", () => {
  let ctx: Awaited<ReturnType<typeof sqlite.create>>;
  let store: Store;
  let db: Database.Database;
  let visibility: Visibility;

  beforeAll(async () => {
    ctx = await sqlite.create();
    store = ctx.store;
    const acme = await makeTenant(store, "acme", 2);
    visibility = { tenantId: acme.tenantId };
    // Past the locate threshold (offset 1000), with names and creation times shared by many.
    await addInstances(
      store,
      acme.tenantId,
      Array.from({ length: 1300 }, (_, i) => ({
        instance_id: `Ord${String((i * 7919) % 100_000).padStart(5, "0")}`,
        instance_name: ["cph-a", "cph-b", "云机", "cph-😀", `cph-${i % 97}`][i % 5],
        region: "r",
        instance_sku: "s",
        project_id: acme.projects[i % 2]?.project_id,
        pool_name: i % 3 ? "phones" : "apps",
        created_at: `2024-01-${String(1 + (i % 9)).padStart(2, "0")} 10:00:0${i % 4}`,
      })),
    );
    db = new Database(ctx.url, { readonly: true });
  });
  afterAll(async () => {
    db?.close();
    await ctx?.dispose();
  });

  const queries: BatchQuery[] = [];
  for (const orderBy of ["create_time", "instance_name", "instance_id"] as const)
    for (const order of ["asc", "desc"] as const)
      for (const pageNo of [1, 3, 12, 13]) queries.push({ pageNo, pageSize: 100, order, orderBy });
  const scene = {
    pageSize: 100,
    order: "desc",
    orderBy: "create_time",
    sceneTag: "CLOUD_PHONE",
  } as const;
  queries.push({ ...scene, pageNo: 5 }, { ...scene, pageNo: 11 }); // the last: past the end

  /** The page through the rows path, encoded as the server would. */
  async function expected(query: BatchQuery): Promise<string> {
    const page = await store.queryInstances(visibility, query);
    return Buffer.concat(encodeRows(page.rows)).toString();
  }

  it("answers the rows' bytes on the fast path and on the sorted one", async () => {
    const checks: boolean[] = [];
    const fast = new InstanceQuery(db, (...args) => {
      const passed = keysInOrder(...args);
      checks.push(passed);
      return passed;
    });
    let forced = 0;
    let pages = 0;
    const sorted = new InstanceQuery(db, () => {
      forced++;
      return false;
    });
    for (const query of queries) {
      const want = await expected(query);
      if (want !== "") pages++;
      expect(Buffer.concat(fast.queryEncoded(visibility, query)?.json ?? []).toString()).toBe(want);
      expect(Buffer.concat(sorted.queryEncoded(visibility, query)?.json ?? []).toString()).toBe(
        want,
      );
    }
    expect(forced).toBe(pages); // every page but an empty one (past the last) is checked
    // Every page takes the fast path, those with Chinese and astral characters in their names
    // too (compared as UTF-8 bytes, as SQLite compares them).
    expect(checks).toHaveLength(pages);
    expect(checks.every(Boolean)).toBe(true);
  });

  it("takes the sorted path for a sort key that is not text", async () => {
    const writer = new Database(ctx.url);
    // SQLite sorts a blob after every text: the row comes first in descending creation order.
    writer
      .prepare("UPDATE instances SET created_at = CAST(created_at AS BLOB) WHERE instance_id = ?")
      .run("Ord00000");
    writer.close();
    const checks: boolean[] = [];
    const query = new InstanceQuery(db, (...args) => {
      const passed = keysInOrder(...args);
      checks.push(passed);
      return passed;
    });
    const page1: BatchQuery = { pageNo: 1, pageSize: 100, order: "desc", orderBy: "create_time" };
    const json = Buffer.concat(query.queryEncoded(visibility, page1)?.json ?? []).toString();
    expect(json).toBe(await expected(page1));
    expect(JSON.parse(`[${json}]`)[0].instance_id).toBe("Ord00000");
    expect(checks).toEqual([false]);
  });
});
