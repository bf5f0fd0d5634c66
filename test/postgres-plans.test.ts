/**
 * Which PostgreSQL batch-query statements run with one generic plan (PageStatement.generic, on
 * sessions with plan_cache_mode force_generic_plan): a tenant admin's, where an index serves
 * every filter in the page's order. A member's projects, an instance id, a name needle or a
 * filter that no index of the order holds keep plans made for their values. And where the page
 * sessions (page-reader.ts) connect, against the URL pg's pool reads.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { BatchQuery } from "../src/instances/model.js";
import { postgresSettings } from "../src/store/postgres/connection.js";
import {
  nameMatchesStatement,
  type PageStatement,
  pageByIdsStatement,
  pageStatement,
} from "../src/store/postgres/instance-query.js";
import { PageReader } from "../src/store/postgres/page-reader.js";
import { POSTGRES_URL } from "./helpers/stores.js";

const BASE: BatchQuery = { pageNo: 1, pageSize: 100, order: "asc", orderBy: "create_time" };
const ADMIN = { tenantId: "t1" };
const MEMBER = { tenantId: "t1", projectIds: ["p1"] };
const RANGE = { createdFrom: "2024-03-01 00:00:00", createdTo: "2024-04-30 23:59:59" };

describe("PostgreSQL plans per batch-query statement", () => {
  it.each<[string, Partial<BatchQuery>]>([
    ["page 1", {}],
    ["a deep page", { pageNo: 7777 }],
    ["a near page, descending", { pageNo: 5, order: "desc" }],
    ["a scene tag and a time range", { sceneTag: "CLOUD_APP", ...RANGE, order: "desc" }],
    ["a pool", { poolName: "apps" }],
    ["name order over the tenant", { orderBy: "instance_name", pageNo: 3 }],
    ["id order over the tenant", { orderBy: "instance_id" }],
  ])("a tenant admin's %s: one generic plan", (_, change) => {
    const statement = pageStatement(ADMIN, { ...BASE, ...change }, true);
    expect(statement).toMatchObject({ plan: "generic" });
  });

  it.each<[string, Partial<BatchQuery>]>([
    ["name order with a scene tag", { orderBy: "instance_name", sceneTag: "CLOUD_APP" }],
    ["id order with a time range", { orderBy: "instance_id", ...RANGE }],
    ["an instance id", { instanceId: "i-1" }],
  ])("a tenant admin's %s: planned by PostgreSQL's own choice", (_, change) => {
    const statement = pageStatement(ADMIN, { ...BASE, ...change }, true);
    expect(statement).toMatchObject({ plan: "auto" });
  });

  it("a member's page: planned by PostgreSQL's own choice (how many rows the projects hold)", () => {
    expect(pageStatement(MEMBER, BASE, true)).toMatchObject({ plan: "auto" });
  });

  it("a name needle: planned for its own values every time", () => {
    const statement = pageStatement(ADMIN, { ...BASE, nameContains: "77777" }, true);
    expect(statement).toMatchObject({ plan: "custom" });
  });

  it("a name needle's list planned for its needle, its page's rows by id on one generic plan", () => {
    for (const visibility of [ADMIN, MEMBER]) {
      const query = { ...BASE, nameContains: "77777", ...RANGE };
      expect(nameMatchesStatement(visibility, query)).toMatchObject({ plan: "custom" });
    }
    expect(pageByIdsStatement("t1", ["i-1", "i-2"], 2)).toMatchObject({ plan: "generic" });
  });

  it("the generic, custom and auto sessions differ by plan_cache_mode alone", () => {
    const { readers } = postgresSettings("postgres://u@h:5432/db?schema=s1&pool_max=4");
    const withoutMode = (reader: (typeof readers)["auto"]) => ({
      ...reader,
      connection: {
        ...reader.connection,
        options: String(reader.connection?.options).split(" -c plan_cache_mode=")[0],
      },
    });
    for (const [plan, mode] of [
      ["generic", "force_generic_plan"],
      ["custom", "force_custom_plan"],
      ["auto", "auto"],
    ] as const) {
      expect(readers[plan].connection?.options).toMatch(new RegExp(` -c plan_cache_mode=${mode}$`));
      expect(withoutMode(readers[plan])).toEqual(withoutMode(readers.auto));
    }
  });

  it("the page sessions reach the server pg's pool reaches, with the same session settings", () => {
    const settings = postgresSettings(
      "postgres://u:p%40ss@h:6543/db?schema=s1&pool_max=4&statement_timeout=700&application_name=app",
    );
    expect(settings.readers.auto).toMatchObject({
      host: "h",
      port: 6543,
      database: "db",
      username: "u",
      password: "p@ss",
      max: 4,
      connection: {
        application_name: "app",
        options: `${settings.pool.options} -c statement_timeout=700 -c lock_timeout=700 -c plan_cache_mode=auto`,
      },
    });
    expect(settings.pool).toMatchObject({ statement_timeout: 700, lock_timeout: 700, max: 4 });
    // A host that is a directory names a Unix socket, as for libpq and pg.
    const local = postgresSettings("postgres://u@localhost/db?host=/var/run/postgresql").readers
      .auto;
    expect(local).toMatchObject({ path: "/var/run/postgresql/.s.PGSQL.5432", database: "db" });
    expect(local).not.toHaveProperty("host");
    // TLS when the URL asks for it (sslmode, as pg reads it), none when it turns it off.
    const tls = (mode: string) =>
      postgresSettings(`postgres://u@h/db?sslmode=${mode}`).readers.auto.ssl;
    expect(tls("verify-full")).toEqual({});
    expect(tls("disable")).toBeUndefined();
  });
});

describe.runIf(POSTGRES_URL)("PostgreSQL page sessions", () => {
  const settings = postgresSettings(
    `${POSTGRES_URL}?statement_timeout=1234&application_name=pf_plans`,
  );
  const reader = new PageReader(settings.readers, settings.statementTimeoutMs + 1000);
  afterAll(() => reader.close());

  const settingsOf = async (plan: PageStatement["plan"]) =>
    (
      await reader.rows({
        text: `SELECT current_setting('plan_cache_mode') AS mode,
          current_setting('statement_timeout') AS timeout, current_setting('jit') AS jit,
          current_setting('application_name') AS app, $1::text AS echo`,
        values: ["云"],
        plan,
      })
    )[0];

  it("run each statement on sessions of its plan mode, with pg's session settings", async () => {
    const common = { timeout: "1234ms", jit: "off", app: "pf_plans", echo: "云" };
    expect(await settingsOf("generic")).toEqual({
      mode: "force_generic_plan",
      ...common,
    });
    expect(await settingsOf("custom")).toEqual({
      mode: "force_custom_plan",
      ...common,
    });
    expect(await settingsOf("auto")).toEqual({
      mode: "auto",
      ...common,
    });
  });

  it("hand over each field's bytes as PostgreSQL sent them, NULL as null", async () => {
    const rows: (string | null)[][] = [];
    await reader.stream(
      {
        text: "SELECT $1::text AS a, NULL::text AS b, 42 AS c",
        values: ['{"name":"云手机"}'],
        plan: "auto",
      },
      (fields) =>
        rows.push(fields.map((f) => (f === null ? null : Buffer.from(f).toString("utf8")))),
    );
    expect(rows).toEqual([['{"name":"云手机"}', null, "42"]]);
  });
});
