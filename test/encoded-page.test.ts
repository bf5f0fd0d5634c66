/**
 * A store that answers the batch query with rows already encoded (Store.queryEncodedInstances:
 * SQLite keeps each row's JSON as bytes, migration 6) gives exactly the body the plain rows give
 * after the operator changes and moves an instance (the stored bytes follow the write), over
 * instances imported as an operator would with random text in every free-text field; and bytes
 * stored before input was checked, not UTF-8, are answered as the plain rows answer them.
 * Random pages and filters over random text: test/encoded-rows.test.ts.
 */
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pageJson } from "../src/http/page-json.js";
import type { BatchQuery, Visibility } from "../src/instances/model.js";
import { patchInstance } from "../src/operator/instances.js";
import type { Store } from "../src/store/types.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES, sqlite } from "./helpers/stores.js";

// No NUL (PostgreSQL text cannot hold it) and no lone surrogates (refused on input).
const free = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.string({ unit: "grapheme", maxLength: 30 }),
    fc.constantFrom("", "华北-北京四", '"\\', "\u2028\u001f\u007f", "😀", "\t\n\r\b\f"),
  )
  .map((s) => s.replaceAll("\u0000", "").replace(/\p{Cs}/gu, ""));
const name = free
  .map((s) =>
    [...s]
      .filter((c) => c >= " " && c !== "\u007f")
      .slice(0, 30)
      .join(""),
  )
  .filter((s) => s.length > 0);
const record = fc.record({
  instance_name: name,
  region: free.filter((s) => s.length > 0),
  instance_sku: free.filter((s) => s.length > 0),
  assign_user: free,
  billing_mode: free,
  phone_id: free.filter((s) => s.length > 0),
  member_name: free,
  account_name: free,
  region_name: free,
  region_name_en: free,
  running_status: fc.integer({ min: 0, max: 5 }),
  backup_status: fc.constantFrom(0, 2),
  created_at: fc
    .date({ min: new Date("2024-01-01T00:00:00Z"), max: new Date("2024-01-10T00:00:00Z") })
    .filter((d) => !Number.isNaN(d.getTime()))
    .map((d) => d.toISOString().slice(0, 19).replace("T", " ")),
});

for (const factory of STORES) {
  describe(`encoded batch-query pages (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let store: Store;
    let acme: TenantFixture;

    beforeAll(async () => {
      ctx = await factory.create();
      store = ctx.store;
      acme = await makeTenant(store, "acme", 3);
      const records = fc.sample(record, { numRuns: 400, seed: 20261128 });
      await addInstances(
        store,
        acme.tenantId,
        records.map((r, i) => ({
          ...r,
          instance_id: `Enc${String(i).padStart(5, "0")}`,
          project_id: acme.projects[i % 3]?.project_id,
          pool_name: i % 2 ? "apps" : "phones",
          backup_time: r.backup_status === 2 ? "2024-02-01 10:00:00" : "",
        })),
      );
    });
    afterAll(() => ctx?.dispose());

    /** The body through the store's fastest path and through plain rows, as text. */
    async function bodies(visibility: Visibility, query: BatchQuery): Promise<[string, string]> {
      const encoded =
        (await store.queryEncodedInstances?.(visibility, query)) ??
        (await store.queryInstances(visibility, query));
      const plain = await store.queryInstances(visibility, query);
      return [
        pageJson(encoded, query.pageNo, query.pageSize).toString(),
        pageJson(plain, query.pageNo, query.pageSize).toString(),
      ];
    }

    it("follows an instance's change and move on the next query", async () => {
      const all: BatchQuery = { pageNo: 1, pageSize: 100, order: "asc", orderBy: "instance_id" };
      const project = acme.projects[2] as { project_id: string; name: string };
      await patchInstance(store, "Enc00000", {
        instance_name: 'x"y',
        running_status: 3,
        project_id: project.project_id,
      });
      const [encoded, plain] = await bodies({ tenantId: acme.tenantId }, all);
      expect(encoded).toBe(plain);
      const first = JSON.parse(encoded).data.result[0];
      expect(first).toMatchObject({
        instance_id: "Enc00000",
        instance_name: 'x"y',
        running_status: 3,
        project_name: project.name,
      });
    });
  });
}

describe("encoded batch-query pages over text stored before input was checked (sqlite)", () => {
  it("answers a row holding bytes that are not UTF-8 exactly as the plain rows do", async () => {
    const ctx = await sqlite.create();
    try {
      const acme = await makeTenant(ctx.store, "acme");
      await addInstances(ctx.store, acme.tenantId, [
        {
          instance_id: "Bad00001",
          instance_name: "cph",
          region: "r",
          instance_sku: "s",
          project_id: acme.projects[0]?.project_id,
          pool_name: "apps",
        },
      ]);
      // What a lone surrogate written by an older version left in the file.
      const db = new Database(ctx.url);
      db.prepare("UPDATE instances SET member_name = CAST(x'61eda080' AS TEXT)").run();
      db.close();
      const query: BatchQuery = { pageNo: 1, pageSize: 10, order: "asc", orderBy: "create_time" };
      const visibility = { tenantId: acme.tenantId };
      expect(await ctx.store.queryEncodedInstances?.(visibility, query)).toBeUndefined();
      const body = pageJson(await ctx.store.queryInstances(visibility, query), 1, 10);
      expect(JSON.parse(body.toString()).data.result[0].member_name).toBe("a\ufffd\ufffd\ufffd");
    } finally {
      await ctx.dispose();
    }
  });
});
