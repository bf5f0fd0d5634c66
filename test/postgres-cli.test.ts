/**
 * The operator's command line on PostgreSQL: the real `phonefleet` binary, named database by
 * DATABASE_URL or --db (a `postgres://` URL), migrating, setting up a tenant, importing a fleet
 * and changing it; the tenant API of a server on the same database answers what it did.
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { openStore } from "../src/store/create-store.js";
import { migrations } from "../src/store/postgres/migrations.js";
import type { Store } from "../src/store/types.js";
import { cliJson, runCli, scratch } from "./helpers/cli.js";
import { testConfig } from "./helpers/fixtures.js";
import { freshPostgresUrl, POSTGRES_URL } from "./helpers/stores.js";

describe.runIf(POSTGRES_URL)("phonefleet CLI on PostgreSQL", () => {
  let url: string;
  let drop: () => Promise<void>;
  const tmp = scratch();
  const db = () => ["--db", url];

  beforeAll(() => {
    ({ url, drop } = freshPostgresUrl());
  });
  afterAll(async () => {
    tmp.dispose();
    await drop?.();
  });

  /** A page of the tenant API, from an app over its own connection to the same database. */
  async function page(token: string) {
    const store: Store = await openStore(url);
    const app = await buildApp({ config: testConfig(), store });
    try {
      const res = await app.inject({
        url: "/v1/instances/batch-query?page_no=1&page_size=100&order_by=instance_id",
        headers: { "x-auth-token": token },
      });
      return { status: res.statusCode, body: res.json() };
    } finally {
      await app.close();
      await store.close();
    }
  }

  it("migrates from DATABASE_URL, once", async () => {
    const first = await runCli(["migrate"], { env: { DATABASE_URL: url } });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim().split("\n")).toEqual(
      migrations.map((m) => `applied ${String(m.version).padStart(3, "0")}-${m.name}`),
    );
    const again = await runCli(["migrate", ...db()]);
    expect(again.stdout.trim()).toBe("database is up to date");
  });

  it("sets up a tenant, imports a fleet, changes it: the tenant API shows each step", async () => {
    await cliJson([...db(), "tenants", "create", "acme"]);
    await cliJson([...db(), "projects", "create", "web", "--tenant", "acme"]);
    await cliJson([...db(), "users", "create", "ops", "--tenant", "acme", "--role", "admin"]);
    const issued = await cliJson<{ token: string; token_id: string }>([
      ...db(),
      "tokens",
      "issue",
      "ops",
      "--tenant",
      "acme",
    ]);

    const fleet = `${tmp.dir}/fleet.jsonl`;
    const records = Array.from({ length: 3 }, (_, i) => ({
      instance_id: `PgCli00${i}`,
      instance_name: `Phone-${i}`,
      region: "cn-north-4",
      instance_sku: "sku",
      project_name: "web",
      pool_name: "gaming",
      pool_scene_tag: "CLOUD_PHONE",
    }));
    writeFileSync(fleet, records.map((r) => JSON.stringify(r)).join("\n"));
    const imported = await runCli([...db(), "instances", "import", fleet, "--tenant", "acme"]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout.trim()).toBe("imported 3 instances");

    let seen = await page(issued.token);
    expect(seen.status).toBe(200);
    expect(seen.body.total_count).toBe(3);
    expect(seen.body.data.result.map((r: { instance_id: string }) => r.instance_id)).toEqual([
      "PgCli000",
      "PgCli001",
      "PgCli002",
    ]);

    // A duplicate id: refused with its line, nothing stored.
    const again = `${tmp.dir}/again.jsonl`;
    writeFileSync(
      again,
      [{ ...records[0], instance_id: "PgCli009" }, records[1]]
        .map((r) => JSON.stringify(r))
        .join("\n"),
    );
    const refused = await runCli([...db(), "instances", "import", again, "--tenant", "acme"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("line 2: instance_id PgCli001 already exists");
    expect((await page(issued.token)).body.total_count).toBe(3);

    await cliJson([...db(), "instances", "set", "PgCli001", "--running-status", "2"]);
    seen = await page(issued.token);
    expect(seen.body.data.result[1]).toMatchObject({ instance_id: "PgCli001", running_status: 2 });

    await cliJson([...db(), "tokens", "revoke", issued.token_id]);
    expect((await page(issued.token)).status).toBe(401);
  });
});
