/**
 * PostgreSQL's substring search for needles of 4 characters or more (migration 10): candidates
 * from the index of each name's 4-character pieces, the exact check by strpos. The answers are
 * the plain query's (query-equivalence and the PostgreSQL store's SQLite comparison check them);
 * this checks what the index is made of and that the page statement is planned through it.
 */
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pageStatement } from "../src/store/postgres/instance-query.js";
import type { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { addInstances, makeTenant, spreadRecords, type TenantFixture } from "./helpers/fixtures.js";
import { freshPostgresStore, POSTGRES_URL } from "./helpers/stores.js";

describe.runIf(POSTGRES_URL)("PostgreSQL name search through 4-character pieces", () => {
  let ctx: Awaited<ReturnType<typeof freshPostgresStore>>;
  let store: PostgresStore;
  let plain: pg.Client;
  let tenant: TenantFixture;

  beforeAll(async () => {
    ctx = await freshPostgresStore();
    ({ store, plain } = ctx);
    tenant = await makeTenant(store, "grams", 1);
    await addInstances(
      store,
      tenant.tenantId,
      spreadRecords(tenant, 3_000, {
        name: (i) => `云手机-${i}`,
        createdAt: () => "2024-01-30 00:00:00",
        pool: () => "apps",
      }),
    );
    await plain.query("ANALYZE instances");
  }, 120_000);

  afterAll(() => ctx?.dispose());

  it("splits a name into its distinct 4-character pieces, by character", async () => {
    const { rows } = await plain.query(
      `SELECT instance_name_grams('云手机-7777') AS a, instance_name_grams('abc') AS b,
              instance_name_grams('aaaaaa') AS c`,
    );
    expect(rows[0].a.sort()).toEqual(["-777", "7777", "云手机-", "手机-7", "机-77"].sort());
    expect(rows[0].b).toEqual([]);
    expect(rows[0].c).toEqual(["aaaa"]);
  });

  it("plans a needle of 4 or more characters through the pieces' index", async () => {
    const statement = pageStatement(
      { tenantId: tenant.tenantId },
      { pageNo: 1, pageSize: 100, order: "asc", orderBy: "create_time", nameContains: "-1234" },
      true,
    );
    const { rows } = await plain.query(`EXPLAIN ${statement.text}`, statement.values);
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    expect(plan).toContain("instances_by_name_gram");
    const page = await store.queryInstances(
      { tenantId: tenant.tenantId },
      { pageNo: 1, pageSize: 100, order: "asc", orderBy: "create_time", nameContains: "-1234" },
    );
    expect(page.rows.map((r) => r.instance_name)).toEqual(["云手机-1234"]);
  });
});
