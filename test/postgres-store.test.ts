/**
 * What only the PostgreSQL store has to prove: its migrations (idempotent, reversible, safe when
 * replicas start at once), a schema keyed for distribution by tenant, and answers identical to
 * SQLite's on the same data whatever the database's locale (bytewise order, folded search).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchQuery, SceneTag } from "../src/instances/model.js";
import { importInstances, type RawRecord } from "../src/operator/import/import-instances.js";
import { openStore } from "../src/store/create-store.js";
import { migrations } from "../src/store/postgres/migrations.js";
import { PostgresStore } from "../src/store/postgres/postgres-store.js";
import type { Store, StoredInstance } from "../src/store/types.js";
import {
  addInstances,
  importStored,
  makeTenant,
  spreadRecords,
  storeTenant,
  type TenantFixture,
  tokenFor,
} from "./helpers/fixtures.js";
import {
  adminQuery,
  freshPostgresUrl,
  POSTGRES_URL,
  postgres,
  STORES,
  sqlite,
} from "./helpers/stores.js";

/** Every migration's name, in order, as migrate() reports them. */
const ALL = migrations.map((m) => `${String(m.version).padStart(3, "0")}-${m.name}`);

describe.runIf(POSTGRES_URL)("PostgreSQL store", () => {
  describe("migrations", () => {
    it("apply once, then find nothing to do", async () => {
      const { url, schema, drop } = freshPostgresUrl();
      const store = new PostgresStore(url);
      try {
        expect(await store.migrate()).toEqual(ALL);
        expect(await store.migrate()).toEqual([]);
        const { rows } = await adminQuery(
          `SELECT version, name FROM ${schema}.schema_migrations ORDER BY version`,
        );
        expect(rows).toEqual(migrations.map(({ version, name }) => ({ version, name })));
      } finally {
        await store.close();
        await drop();
      }
    });

    it("go down and up again", async () => {
      const { url, schema, drop } = freshPostgresUrl();
      const store = new PostgresStore(url);
      const tables = async () =>
        (
          await adminQuery(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
            [schema],
          )
        ).rows.map((r) => r.table_name);
      try {
        await store.migrate();
        expect(await tables()).toContain("instances");
        expect(await store.migrateDown(0)).toEqual([...ALL].reverse());
        expect(await tables()).toEqual(["schema_migrations"]);
        expect(await store.migrate()).toEqual(ALL);
        expect(await tables()).toContain("instances");
      } finally {
        await store.close();
        await drop();
      }
    });

    it("run by replicas starting at once are applied by exactly one of them", async () => {
      const { url, schema, drop } = freshPostgresUrl();
      const stores = Array.from({ length: 4 }, () => new PostgresStore(url));
      try {
        const results = await Promise.all(stores.map((s) => s.migrate()));
        expect(results.filter((r) => r.length > 0)).toEqual([ALL]);
        const { rows } = await adminQuery(
          `SELECT count(*)::int AS n FROM ${schema}.schema_migrations`,
        );
        expect(rows[0].n).toBe(ALL.length);
      } finally {
        await Promise.all(stores.map((s) => s.close()));
        await drop();
      }
    });
  });

  it("keys every tenant-owned table by tenant_id first (ready to distribute by tenant)", async () => {
    const { url, schema, drop } = freshPostgresUrl();
    const store = new PostgresStore(url);
    try {
      await store.migrate();
      const { rows } = await adminQuery(
        `SELECT c.relname AS table_name, a.attname AS first_key_column
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
         WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> 'schema_migrations'
         ORDER BY 1`,
        [schema],
      );
      expect(rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining(["instances", "projects", "tenants", "tokens", "users"]),
      );
      for (const row of rows) expect(row).toEqual({ ...row, first_key_column: "tenant_id" });
    } finally {
      await store.close();
      await drop();
    }
  });

  it("keeps the per-(project, pool) and per-day counts equal to the rows, through every kind of write", async () => {
    const { url, schema, drop } = freshPostgresUrl();
    const store = new PostgresStore(url);
    const mismatches = async () =>
      (
        await adminQuery(
          `SELECT * FROM (
             SELECT tenant_id, project_id, pool_id, scene_tag, COUNT(*) AS n
             FROM ${schema}.instances GROUP BY 1, 2, 3, 4) actual
           FULL JOIN ${schema}.instance_counts kept USING (tenant_id, project_id, pool_id, scene_tag)
           WHERE COALESCE(actual.n, 0) <> COALESCE(kept.n, 0)`,
        )
      ).rows.concat(
        (
          await adminQuery(
            `SELECT * FROM (
               SELECT i.tenant_id, s.scope, left(i.created_at, 10) AS day, COUNT(*) AS n
               FROM ${schema}.instances i
               CROSS JOIN LATERAL (VALUES ('*'), ('s:' || i.scene_tag), ('p:' || i.pool_id),
                                          ('j:' || i.project_id)) s (scope)
               GROUP BY 1, 2, 3) actual
             FULL JOIN ${schema}.instance_day_counts kept USING (tenant_id, scope, day)
             WHERE COALESCE(actual.n, 0) <> COALESCE(kept.n, 0)`,
          )
        ).rows,
      );
    try {
      await store.migrate();
      const t = await makeTenant(store, "counted", 3);
      await addInstances(
        store,
        t.tenantId,
        spreadRecords(t, 2500, {
          name: (i) => `n${i}`,
          createdAt: (i) => `2024-0${1 + (i % 3)}-0${1 + (i % 7)} 1${i % 10}:00:00`,
        }),
      );
      expect(await mismatches()).toEqual([]);
      const page = await store.queryInstances(
        { tenantId: t.tenantId },
        { pageNo: 1, pageSize: 5, order: "asc", orderBy: "instance_id" },
      );
      const [first, second] = page.rows;
      const now = new Date().toISOString();
      await store.updateInstance(first?.instance_id as string, {
        project_id: t.projects[2]?.project_id as string,
        updated_at: now,
      });
      await store.updateInstance(second?.instance_id as string, {
        running_status: 3,
        updated_at: now,
      });
      await store.deleteInstance(page.rows[2]?.instance_id as string);
      expect(await mismatches()).toEqual([]);
      await store.deleteTenant(t.tenantId);
      expect(await mismatches()).toEqual([]);
    } finally {
      await store.close();
      await drop();
    }
  });

  it("bumps the tenant's query version with every change its answers depend on, and only then", async () => {
    const { url, drop } = freshPostgresUrl();
    const store = new PostgresStore(url);
    try {
      await store.migrate();
      const t = await makeTenant(store, "versioned");
      const other = await makeTenant(store, "other");
      await addInstances(store, t.tenantId, [
        {
          instance_id: "Vers0001",
          instance_name: "v",
          region: "cn-north-4",
          instance_sku: "s",
          project_id: t.projects[0]?.project_id,
          pool_name: "apps",
        },
      ]);
      let last = await store.queryVersion(t.tenantId);
      const bumped = async () => {
        const now = await store.queryVersion(t.tenantId);
        const changed = now > last;
        last = now;
        return changed;
      };
      const at = new Date().toISOString();
      await store.updateInstance("Vers0001", { running_status: 4, updated_at: at });
      expect(await bumped()).toBe(true);
      await store.createPool({
        pool_id: "d".repeat(32),
        tenant_id: t.tenantId,
        name: "more",
        scene_tag: "CLOUD_APP",
      });
      expect(await bumped()).toBe(true);
      await store.deleteInstance("Vers0001");
      expect(await bumped()).toBe(true);
      // Not an answer's input: users, tokens, another tenant's instances.
      await tokenFor(store, t.tenantId, { name: "reader", role: "admin" });
      await addInstances(store, other.tenantId, [
        {
          instance_name: "o",
          region: "cn-north-4",
          instance_sku: "s",
          project_id: other.projects[0]?.project_id,
          pool_name: "apps",
        },
      ]);
      expect(await bumped()).toBe(false);
    } finally {
      await store.close();
      await drop();
    }
  });

  it("rejects a schema name that is not a plain identifier", () => {
    expect(() => new PostgresStore(`${POSTGRES_URL}?schema=a;drop`)).toThrow(/schema must match/);
  });
});

/** The same tenant, projects, pools and instances, stored with the same ids in both stores. */
const TENANT = "a".repeat(32);
const PROJECTS = ["1".repeat(32), "2".repeat(32), "3".repeat(32)];
const POOLS: { pool_id: string; name: string; scene_tag: SceneTag }[] = [
  { pool_id: "b".repeat(32), name: "apps", scene_tag: "CLOUD_APP" },
  { pool_id: "c".repeat(32), name: "Phones", scene_tag: "CLOUD_PHONE" },
];
/** Characters whose order differs between bytewise and locale-aware collations, and LIKE's own. */
const NAME_CHARS = [
  "%",
  "\\",
  "a",
  "A",
  "b",
  "B",
  "z",
  "Z",
  "_",
  "-",
  " ",
  "0",
  "9",
  "é",
  "É",
  "ß",
  "中",
  "😀",
];
const TIMES = [
  "2024-01-01 00:00:00",
  "2024-01-01 00:00:01",
  "2024-06-30 12:00:00",
  "2025-02-03 04:05:06",
];

function instances(names: string[]): StoredInstance[] {
  return names.map((name, i) => {
    const pool = POOLS[i % POOLS.length] as (typeof POOLS)[number];
    const created = TIMES[(i * 7) % TIMES.length] as string;
    return {
      instance_id: `id${String(i).padStart(6, "0")}`,
      tenant_id: TENANT,
      project_id: PROJECTS[i % PROJECTS.length] as string,
      pool_id: pool.pool_id,
      scene_tag: pool.scene_tag,
      instance_name: name,
      region: "cn-north-4",
      instance_sku: "sku",
      frozen_status: i % 2,
      running_status: i % 6,
      login_status: 0,
      assign_user: i % 3 === 0 ? "" : `user${i}`,
      billing_mode: "",
      phone_id: "null",
      member_name: "",
      account_name: "",
      region_name: "x",
      region_name_en: "x",
      backup_status: 0,
      backup_time: "",
      restore_status: 0,
      restore_time: "",
      created_at: created,
      updated_at: created,
    };
  });
}

async function seed(store: Store, names: string[]): Promise<void> {
  await storeTenant(store, TENANT, "same");
  for (const [i, project_id] of PROJECTS.entries()) {
    await store.createProject({ project_id, tenant_id: TENANT, name: `p${i}` });
  }
  const rows = instances(names);
  const pools = POOLS.map((p) => ({ ...p, tenant_id: TENANT }));
  await importStored(store, TENANT, pools, rows);
}

describe.runIf(POSTGRES_URL)("PostgreSQL answers exactly like SQLite on the same data", () => {
  const contexts: Awaited<ReturnType<typeof sqlite.create>>[] = [];
  let lite: Store;
  let pg: Store;
  const names = fc.sample(
    fc.array(fc.constantFrom(...NAME_CHARS), { minLength: 0, maxLength: 4 }).map((c) => c.join("")),
    { numRuns: 120, seed: 42 },
  );

  // A database whose default collation is ICU's root locale ("a" < "B" < "é" < "Z"), not C: the
  // store must still order bytewise, as SQLite does.
  const database = `pf_test_icu_${Math.random().toString(36).slice(2, 10)}`;

  // Names LIKE would misread if the needle were not escaped.
  names.push("a\\b", "xa\\by", "a%b", "a_b", "axb", "%%%", "___", "\\\\\\", "ab\\", "\\ab");
  const pieces = names.flatMap((n) => {
    const chars = [...n];
    return [3, 4, 5].flatMap((k) =>
      chars.length >= k ? [chars.slice(0, k).join(""), chars.slice(-k).join("")] : [],
    );
  });

  beforeAll(async () => {
    await adminQuery(
      `CREATE DATABASE ${database} TEMPLATE template0 ENCODING 'UTF8'
       LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C.UTF-8'`,
    );
    const url = new URL(POSTGRES_URL as string);
    url.pathname = `/${database}`;
    pg = await openStore(url.toString());
    const ctx = await sqlite.create();
    contexts.push(ctx);
    lite = ctx.store;
    await Promise.all([seed(lite, names), seed(pg, names)]);
  });
  afterAll(async () => {
    await pg?.close();
    for (const ctx of contexts) await ctx.dispose();
    await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it("every query: same total, same rows in the same order", async () => {
    const query = fc.record(
      {
        pageNo: fc.integer({ min: 1, max: 4 }),
        pageSize: fc.integer({ min: 1, max: 40 }),
        instanceId: fc.constantFrom("id000003", "id000077", "nope"),
        // Random needles, and pieces of stored names (3 characters: the trigram path; 4 or more:
        // the 4-character pieces).
        nameContains: fc.oneof(
          fc.array(fc.constantFrom(...NAME_CHARS), { maxLength: 6 }).map((c) => c.join("")),
          fc.constantFrom(...pieces).map((p) => p.toLowerCase()),
        ),
        createdFrom: fc.constantFrom(...TIMES, "2024-03-01 00:00:00"),
        createdTo: fc.constantFrom(...TIMES, "2024-03-01 00:00:00"),
        sceneTag: fc.constantFrom<SceneTag>("CLOUD_APP", "CLOUD_PHONE"),
        poolName: fc.constantFrom("apps", "Phones", "phones"),
        order: fc.constantFrom<"asc" | "desc">("asc", "desc"),
        orderBy: fc.constantFrom<BatchQuery["orderBy"]>(
          "create_time",
          "instance_name",
          "instance_id",
        ),
      },
      { requiredKeys: ["pageNo", "pageSize", "order", "orderBy"] },
    );
    const visibility = fc.option(fc.subarray(PROJECTS), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(query, visibility, async (q, projectIds) => {
        const seen = { tenantId: TENANT, ...(projectIds ? { projectIds } : {}) };
        const [a, b] = await Promise.all([
          lite.queryInstances(seen, q),
          pg.queryInstances(seen, q),
        ]);
        expect(b).toEqual(a);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("whole-tenant order by name is bytewise (SQLite BINARY), not the locale's", async () => {
    const query: BatchQuery = { pageNo: 1, pageSize: 1000, order: "asc", orderBy: "instance_name" };
    const page = await pg.queryInstances({ tenantId: TENANT }, query);
    const got = page.rows.map((r) => r.instance_name);
    const bytewise = [...got].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(got).toEqual(bytewise);
    expect(page).toEqual(await lite.queryInstances({ tenantId: TENANT }, query));
  });

  it("name needles with LIKE's special characters match literally", async () => {
    for (const needle of ["a\\b", "\\\\\\", "%%%", "___", "a%b", "a_b", "ab\\", "\\ab"]) {
      const query: BatchQuery = {
        pageNo: 1,
        pageSize: 1000,
        order: "asc",
        orderBy: "instance_id",
        nameContains: needle,
      };
      const expected = names.filter((n) => n.toLowerCase().includes(needle)).length;
      const page = await pg.queryInstances({ tenantId: TENANT }, query);
      expect(page.total, needle).toBe(expected);
      expect(page).toEqual(await lite.queryInstances({ tenantId: TENANT }, query));
    }
  });

  it("same counts by running status", async () => {
    expect(await pg.instanceCountsByRunningStatus(TENANT)).toEqual(
      await lite.instanceCountsByRunningStatus(TENANT),
    );
  });
});

describe("concurrent imports", () => {
  const BUSY = "the database is busy with another import or write; try again later";
  const record = (tenant: TenantFixture, name: string) => ({
    instance_name: name,
    region: "cn-north-4",
    instance_sku: "sku",
    project_id: tenant.projects[0]?.project_id,
    pool_name: "apps",
  });
  async function* records(values: unknown[], gate?: Promise<void>): AsyncGenerator<RawRecord> {
    for (const [i, value] of values.entries()) {
      yield { position: `index ${i}`, value };
      if (i === 0 && gate) await gate;
    }
  }

  for (const factory of STORES) {
    it(`a second import into a tenant while one runs is refused with a 409, as on every store (${factory.name})`, async () => {
      const ctx = await factory.create();
      try {
        const t = await makeTenant(ctx.store, "imports");
        let open = () => {};
        const gate = new Promise<void>((resolve) => {
          open = resolve;
        });
        const first = importInstances(
          ctx.store,
          t.tenantId,
          records([record(t, "a"), record(t, "b")], gate),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        await expect(
          importInstances(ctx.store, t.tenantId, records([record(t, "c")])),
        ).rejects.toMatchObject({
          status: 409,
          message: BUSY,
        });
        open();
        expect(await first).toEqual({ created: 2 });
        expect(await importInstances(ctx.store, t.tenantId, records([record(t, "c")]))).toEqual({
          created: 1,
        });
      } finally {
        await ctx.dispose();
      }
    });
  }

  it.runIf(POSTGRES_URL)(
    "on PostgreSQL, imports into different tenants run side by side",
    async () => {
      const ctx = await postgres.create();
      try {
        const [a, b] = [await makeTenant(ctx.store, "a"), await makeTenant(ctx.store, "b")];
        let open = () => {};
        const gate = new Promise<void>((resolve) => {
          open = resolve;
        });
        const first = importInstances(
          ctx.store,
          a.tenantId,
          records([record(a, "a1"), record(a, "a2")], gate),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(await importInstances(ctx.store, b.tenantId, records([record(b, "b1")]))).toEqual({
          created: 1,
        });
        open();
        expect(await first).toEqual({ created: 2 });
      } finally {
        await ctx.dispose();
      }
    },
  );
});
