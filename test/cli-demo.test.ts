/**
 * The demo tenant: `phonefleet demo` seeds it once and prints a working token and curl line;
 * the fleet is realistic (every status code, assignments, backups, two years of purchases),
 * reproducible, seeded fast through the import path, and the same on every store.
 */
import { afterAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { DEMO_FLEET_SIZE, seedDemo } from "../src/demo/seed.js";
import { STATUS_CODES, type WireInstance } from "../src/instances/model.js";
import { openStore } from "../src/store/create-store.js";
import type { Store } from "../src/store/types.js";
import { cliJson, runCli, scratch } from "./helpers/cli.js";
import { testConfig } from "./helpers/fixtures.js";
import { freshPostgresUrl, POSTGRES_URL, STORES } from "./helpers/stores.js";

interface DemoJson {
  tenant: string;
  instances_created: number;
  user: string;
  token: string;
  curl: string;
  url: string;
}

describe("phonefleet demo", () => {
  const tmp = scratch();
  afterAll(() => tmp.dispose());

  async function totalFor(token: string): Promise<number> {
    const store = await openStore(tmp.db);
    const app = await buildApp({ config: testConfig(), store });
    try {
      const res = await app.inject({
        url: "/v1/instances/batch-query?page_no=1&page_size=1",
        headers: { "x-auth-token": token },
      });
      expect(res.statusCode).toBe(200);
      return res.json().total_count;
    } finally {
      await app.close();
      await store.close();
    }
  }

  it("seeds once, then only prints a fresh token and curl line", async () => {
    const first = await cliJson<DemoJson>(["--db", tmp.db, "demo"]);
    expect(first).toMatchObject({
      tenant: "demo",
      instances_created: DEMO_FLEET_SIZE,
      user: "demo-admin",
    });
    expect(first.url).toBe("http://127.0.0.1:8080");
    expect(first.curl).toBe(
      `curl -s -H 'X-Auth-Token: ${first.token}' 'http://127.0.0.1:8080/v1/instances/batch-query?page_no=1&page_size=10'`,
    );
    expect(await totalFor(first.token)).toBe(DEMO_FLEET_SIZE);

    const plain = await runCli(["--db", tmp.db, "demo"]);
    expect(plain.code).toBe(0);
    const lines = plain.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe('demo tenant "demo" already present');
    expect(lines[1]).toMatch(/^token \(demo-admin, expires .+\): pf_/);
    expect(lines[2]).toMatch(/^curl -s -H 'X-Auth-Token: pf_/);
    expect(lines[1]).not.toContain(first.token);
    expect(plain.stderr).toContain("phonefleet serve");

    const tenant = await cliJson<{ instances_by_running_status: Record<string, number> }>([
      "--db",
      tmp.db,
      "tenants",
      "show",
      "demo",
    ]);
    const count = Object.values(tenant.instances_by_running_status).reduce((a, b) => a + b, 0);
    expect(count).toBe(DEMO_FLEET_SIZE);
  });

  it("demo-member sees only the instances of its granted projects", async () => {
    const member = await cliJson<{ token: string }>([
      "--db",
      tmp.db,
      "tokens",
      "issue",
      "demo-member",
      "--tenant",
      "demo",
    ]);
    const total = await totalFor(member.token);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThan(DEMO_FLEET_SIZE);
  });

  it.skipIf(!POSTGRES_URL)("works on PostgreSQL too (--db postgres://…)", async () => {
    const pg = freshPostgresUrl();
    try {
      const result = await cliJson<DemoJson>(["--db", pg.url, "demo"]);
      expect(result.instances_created).toBe(DEMO_FLEET_SIZE);
    } finally {
      await pg.drop();
    }
  });
});

async function allInstances(store: Store, tenantId: string): Promise<WireInstance[]> {
  const page = await store.queryInstances(
    { tenantId },
    { pageNo: 1, pageSize: 10_000, order: "asc", orderBy: "instance_id" },
  );
  return page.rows;
}

for (const factory of STORES) {
  describe(`demo fleet (${factory.name})`, () => {
    const now = new Date("2026-03-01T12:00:00Z");
    let fleet: WireInstance[];
    let seedMs: number;

    it("is seeded in well under a few seconds, idempotently", async () => {
      const ctx = await factory.create();
      try {
        const started = performance.now();
        const seeded = await seedDemo(ctx.store, { now });
        seedMs = performance.now() - started;
        expect(seeded.instancesCreated).toBe(DEMO_FLEET_SIZE);
        const again = await seedDemo(ctx.store, { now });
        expect(again).toMatchObject({ created: false, instancesCreated: 0 });
        fleet = await allInstances(ctx.store, seeded.tenant.tenant_id);
        expect(fleet).toHaveLength(DEMO_FLEET_SIZE);
        expect(await ctx.store.listPools(seeded.tenant.tenant_id)).toHaveLength(4);
        expect(await ctx.store.listProjects(seeded.tenant.tenant_id)).toHaveLength(4);
      } finally {
        await ctx.dispose();
      }
      expect(seedMs).toBeLessThan(3000);
    });

    it("has every code of every status field, assignments, backups and restores", () => {
      for (const [field, codes] of Object.entries(STATUS_CODES)) {
        const seen = new Set(fleet.map((i) => i[field as keyof WireInstance]));
        expect([...seen].sort(), field).toEqual([...codes]);
      }
      expect(
        fleet.filter((i) => i.assign_status === 1 && i.assign_user !== "").length,
      ).toBeGreaterThan(1000);
      expect(fleet.filter((i) => i.backup_time !== "").length).toBeGreaterThan(500);
      expect(fleet.filter((i) => i.restore_time !== "").length).toBeGreaterThan(100);
      expect(new Set(fleet.map((i) => i.region)).size).toBeGreaterThan(4);
      expect(new Set(fleet.map((i) => i.project_name)).size).toBe(4);
      for (const i of fleet.filter((x) => x.restore_time !== "")) {
        expect(i.restore_time >= i.backup_time, i.instance_id).toBe(true);
      }
    });

    it("spreads purchases over the two years before the seed day", async () => {
      const ctx = await factory.create();
      try {
        const { tenant } = await seedDemo(ctx.store, { now, instances: 400 });
        const page = (from: string, to: string) =>
          ctx.store.queryInstances(
            { tenantId: tenant.tenant_id },
            {
              pageNo: 1,
              pageSize: 1,
              order: "asc",
              orderBy: "create_time",
              createdFrom: from,
              createdTo: to,
            },
          );
        expect((await page("2024-03-01 00:00:00", "2026-03-01 00:00:00")).total).toBe(400);
        expect((await page("2024-03-01 00:00:00", "2024-12-31 23:59:59")).total).toBeGreaterThan(
          100,
        );
        expect((await page("2025-09-01 00:00:00", "2026-03-01 00:00:00")).total).toBeGreaterThan(
          50,
        );
      } finally {
        await ctx.dispose();
      }
    });

    it("is the same fleet on every run (seeded PRNG)", async () => {
      const ctx = await factory.create();
      try {
        const { tenant } = await seedDemo(ctx.store, { now });
        const again = await allInstances(ctx.store, tenant.tenant_id);
        // Project ids are fresh per database; everything else is reproduced exactly.
        const strip = (rows: WireInstance[]) => rows.map(({ project_id: _id, ...rest }) => rest);
        expect(strip(again)).toEqual(strip(fleet));
      } finally {
        await ctx.dispose();
      }
    });
  });
}
