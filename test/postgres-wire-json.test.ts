/**
 * The JSON each row keeps (PostgreSQL migration 8, SQLite migration 6) holds exactly the bytes
 * encodeRows writes for it in rows past the size where PostgreSQL compresses (~2 KB), and again
 * after the row is updated (the generated columns are written again). On PostgreSQL, a row past
 * that size has its other columns compressed first and keeps its JSON whole (STORAGE MAIN); only
 * JSON that alone is past it (kilobytes of escaped text) is compressed too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRows } from "../src/http/page-json.js";
import type { BatchQuery } from "../src/instances/model.js";
import type { Pool, Store, StoredInstance } from "../src/store/types.js";
import { importStored, storeTenant } from "./helpers/fixtures.js";
import { adminQuery, STORES } from "./helpers/stores.js";

const TENANT = "w".repeat(32);
const PROJECT = "8".repeat(32);
const POOL: Pool = {
  pool_id: "9".repeat(32),
  tenant_id: TENANT,
  name: "p",
  scene_tag: "CLOUD_PHONE",
};
const QUERY: BatchQuery = { pageNo: 1, pageSize: 100, order: "asc", orderBy: "create_time" };

const long = (unit: string, n: number) => unit.repeat(n);

/** A row whose fields are `wide` (~2.5 KB, ~1.4 KB of JSON) or `huge` (~20 KB, escapes). */
function instance(i: number, size: "wide" | "huge"): StoredInstance {
  const huge = size === "huge";
  return {
    instance_id: `${size}000${i}`,
    tenant_id: TENANT,
    project_id: PROJECT,
    pool_id: POOL.pool_id,
    scene_tag: "CLOUD_PHONE",
    instance_name: huge ? long("😀\u2028", 64) : long("n", 64),
    region: huge ? long('"\\', 64) : long("r", 64),
    instance_sku: huge ? long("\u0001", 256) : long("s", 256),
    frozen_status: i % 2,
    running_status: i,
    login_status: 1,
    assign_user: i === 0 ? "" : huge ? long("云\u001f", 64) : long("u", 128),
    billing_mode: "1",
    phone_id: huge ? long("\u2029", 64) : long("p", 64),
    member_name: huge ? long("\t\n\r\b\f", 25) : long("m", 128),
    account_name: huge ? long("𝄞", 128) : long("a", 128),
    region_name: huge ? long("华北-北京四", 20) : long("g", 128),
    region_name_en: huge ? long("\u007f\u0080", 64) : long("e", 128),
    backup_status: 2,
    backup_time: "2024-02-03 04:05:06",
    restore_status: 0,
    restore_time: "",
    created_at: `2024-01-0${i + 1} 00:00:00`,
    updated_at: `2024-01-0${i + 1} 00:00:00`,
  };
}
const rows = [instance(0, "wide"), instance(1, "wide"), instance(2, "huge"), instance(3, "huge")];

for (const factory of STORES) {
  describe(`stored wire JSON of oversized rows (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let store: Store;
    beforeAll(async () => {
      ctx = await factory.create();
      store = ctx.store;
      await storeTenant(store, TENANT, "wide");
      await store.createProject({
        project_id: PROJECT,
        tenant_id: TENANT,
        name: long("项\u0002", 32),
      });
      await importStored(store, TENANT, [POOL], rows);
    });
    afterAll(async () => {
      await ctx?.dispose();
    });

    async function expectExactBytes(): Promise<void> {
      const visibility = { tenantId: TENANT };
      const page = await store.queryInstances(visibility, QUERY);
      const encoded = await store.queryEncodedInstances?.(visibility, QUERY);
      expect(page.rows).toHaveLength(rows.length);
      expect(encoded?.total).toBe(page.total);
      expect(Buffer.concat(encoded?.json ?? []).toString()).toBe(
        Buffer.concat(encodeRows(page.rows)).toString(),
      );
    }

    it("answers the bytes encodeRows writes", async () => {
      await expectExactBytes();
      if (factory.name !== "postgres") return;
      // The wide rows were squeezed (instance_sku, their biggest column, compressed) and kept
      // their JSON whole.
      const schema = new URL(ctx.url).searchParams.get("schema");
      const { rows: stored } = await adminQuery(
        `SELECT pg_column_compression(instance_sku) IS NOT NULL AS squeezed,
           pg_column_compression(wire_head) IS NULL AND pg_column_compression(wire_tail) IS NULL
             AS json_whole
         FROM ${schema}.instances WHERE instance_id LIKE 'wide%' ORDER BY instance_id`,
      );
      expect(stored).toEqual([
        { squeezed: true, json_whole: true },
        { squeezed: true, json_whole: true },
      ]);
    });

    it("answers them again after an update", async () => {
      await store.updateInstance("huge0003", {
        instance_name: long("\u0003é", 100),
        running_status: 5,
        assign_user: "",
        backup_time: "",
        phone_id: long('"', 64),
        updated_at: "2024-02-01 00:00:00",
      });
      await store.updateInstance("wide0001", {
        running_status: 4,
        login_status: 0,
        updated_at: "2024-02-01 00:00:00",
      });
      await expectExactBytes();
    });

    it.runIf(factory.name === "postgres")(
      "answers them again after the project is renamed (PostgreSQL keeps its name's piece)",
      async () => {
        const schema = new URL(ctx.url).searchParams.get("schema");
        const name = 'a "quoted" \\ name\n😀\u2028云';
        await adminQuery(`UPDATE ${schema}.projects SET name = $1 WHERE project_id = $2`, [
          name,
          PROJECT,
        ]);
        const { rows: stored } = await adminQuery(
          `SELECT wire_name FROM ${schema}.projects WHERE project_id = $1`,
          [PROJECT],
        );
        expect(stored).toEqual([{ wire_name: `,"project_name":${JSON.stringify(name)}` }]);
        await expectExactBytes();
        const page = await store.queryInstances({ tenantId: TENANT }, QUERY);
        expect(page.rows.every((row) => row.project_name === name)).toBe(true);
      },
    );
  });
}
