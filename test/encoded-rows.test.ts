/**
 * A store's pre-encoded page (Store.queryEncodedInstances) holds exactly the bytes that
 * encodeRows writes for the same rows (src/http/page-json.ts, itself checked against Fastify's
 * serializer), on random text in every string field: quotes, backslashes, control characters,
 * U+2028/U+2029, Chinese, emoji and any other code point (no NUL on PostgreSQL: its text cannot
 * hold one), and the same total as queryInstances. Every store offers the method.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRows } from "../src/http/page-json.js";
import type { BatchQuery, SceneTag } from "../src/instances/model.js";
import type { Store, StoredInstance } from "../src/store/types.js";
import { importStored, storeTenant } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const SPECIAL = [
  '"',
  "\\",
  "/",
  "\n",
  "\r",
  "\t",
  "\b",
  "\f",
  "\u0001",
  "\u001f",
  "\u007f",
  "\u0080",
  "\u00a0",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\uffff",
  "é",
  "云",
  "机",
  "华北-北京四",
  "😀",
  "𝄞",
  "'",
  "<",
  "&",
  "%",
  "_",
  " ",
];

/** Random text: special characters, any code point but NUL and lone surrogates, plain letters. */
const text = fc
  .array(
    fc.oneof(
      fc.constantFrom(...SPECIAL),
      fc
        .integer({ min: 1, max: 0x10ffff })
        .filter((c) => c < 0xd800 || c > 0xdfff)
        .map((c) => String.fromCodePoint(c)),
      fc.constantFrom("a", "Z", "0", "-"),
    ),
    { maxLength: 12 },
  )
  .map((chars) => chars.join(""));

const TENANT = "e".repeat(32);
const PROJECTS = ["4".repeat(32), "5".repeat(32)];
const POOLS: { pool_id: string; name: string; scene_tag: SceneTag }[] = [
  { pool_id: "6".repeat(32), name: "apps", scene_tag: "CLOUD_APP" },
  { pool_id: "7".repeat(32), name: "phones", scene_tag: "CLOUD_PHONE" },
];

const row = fc.record({
  instance_name: text,
  region: text,
  instance_sku: text,
  frozen_status: fc.integer({ min: 0, max: 1 }),
  running_status: fc.integer({ min: 0, max: 5 }),
  login_status: fc.integer({ min: 0, max: 1 }),
  assign_user: fc.oneof(fc.constant(""), text),
  billing_mode: text,
  phone_id: text,
  member_name: text,
  account_name: text,
  region_name: text,
  region_name_en: text,
  backup_status: fc.integer({ min: 0, max: 4 }),
  backup_time: fc.constantFrom("", "2024-02-03 04:05:06"),
  restore_status: fc.integer({ min: 0, max: 4 }),
  restore_time: fc.constantFrom("", "2025-12-31 23:59:59"),
});

function stored(values: unknown[]): StoredInstance[] {
  return values.map((value, i): StoredInstance => {
    const pool = POOLS[i % POOLS.length] as (typeof POOLS)[number];
    const created = `2024-0${1 + (i % 3)}-1${i % 10} 0${i % 10}:00:00`;
    return {
      ...(value as Omit<StoredInstance, "instance_id">),
      instance_id: `enc${String(i).padStart(5, "0")}`,
      tenant_id: TENANT,
      project_id: PROJECTS[i % PROJECTS.length] as string,
      pool_id: pool.pool_id,
      scene_tag: pool.scene_tag,
      created_at: created,
      updated_at: created,
    };
  });
}

for (const factory of STORES) {
  describe(`encoded rows = encodeRows of the rows (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let store: Store;
    beforeAll(async () => {
      ctx = await factory.create();
      store = ctx.store;
      await storeTenant(store, TENANT, "encoded");
      // Project names are on the wire too.
      const projectNames = fc.sample(text, { numRuns: PROJECTS.length, seed: 5 });
      for (const [i, project_id] of PROJECTS.entries()) {
        await store.createProject({
          project_id,
          tenant_id: TENANT,
          name: `${i}${projectNames[i] ?? ""}`,
        });
      }
      const rows = stored(fc.sample(row, { numRuns: 1500, seed: 11 }));
      const pools = POOLS.map((p) => ({ ...p, tenant_id: TENANT }));
      await importStored(store, TENANT, pools, rows);
    }, 60_000);
    afterAll(async () => {
      await ctx?.dispose();
    });

    const query = fc.record({
      pageNo: fc.integer({ min: 1, max: 80 }),
      pageSize: fc.constantFrom(1, 7, 20, 100),
      order: fc.constantFrom("asc", "desc"),
      orderBy: fc.constantFrom("create_time", "instance_name", "instance_id"),
      member: fc.boolean(),
      sceneTag: fc.option(fc.constantFrom("CLOUD_APP", "CLOUD_PHONE"), { nil: undefined }),
      nameContains: fc.option(fc.constantFrom('"', "\\", "云", "😀", "a"), { nil: undefined }),
    });

    it("writes the bytes encodeRows writes, and the same total", async () => {
      // Every store offers encoded pages: one that stopped would be a silent slowdown.
      expect(store.queryEncodedInstances).toBeTypeOf("function");
      const encoded = (
        store.queryEncodedInstances as NonNullable<Store["queryEncodedInstances"]>
      ).bind(store);
      await fc.assert(
        fc.asyncProperty(query, async ({ member, sceneTag, nameContains, ...rest }) => {
          const visibility = { tenantId: TENANT, ...(member && { projectIds: [PROJECTS[1]] }) };
          const q = {
            ...rest,
            ...(sceneTag && { sceneTag }),
            ...(nameContains && { nameContains }),
          } as BatchQuery;
          const plain = await store.queryInstances(visibility as never, q);
          const page = await encoded(visibility as never, q);
          expect(page?.total).toBe(plain.total);
          const bytes = Buffer.concat(page?.json ?? []);
          expect(bytes.toString()).toBe(Buffer.concat(encodeRows(plain.rows)).toString());
          expect(bytes.equals(Buffer.concat(encodeRows(plain.rows)))).toBe(true);
          // And it is the text of a JSON array's elements.
          expect(JSON.parse(`[${bytes.toString()}]`)).toEqual(plain.rows);
        }),
        { numRuns: 150 },
      );
    }, 60_000);
  });
}
