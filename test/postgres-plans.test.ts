/**
 * Which PostgreSQL batch-query statements run with one generic plan (PageStatement.generic, on
 * sessions with plan_cache_mode force_generic_plan): a tenant admin's, where an index serves
 * every filter in the page's order. A member's projects, an instance id, a name needle or a
 * filter that no index of the order holds keep plans made for their values. And where the page
 * sessions (page-reader.ts) connect, against the URL pg's pool reads.
 */
import { describe, expect, it } from "vitest";
import type { BatchQuery } from "../src/instances/model.js";
import { postgresSettings } from "../src/store/postgres/connection.js";
import { pageStatement } from "../src/store/postgres/instance-query.js";

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
    expect(statement).toMatchObject({ generic: true, oneShot: false });
  });

  it.each<[string, Partial<BatchQuery>]>([
    ["name order with a scene tag", { orderBy: "instance_name", sceneTag: "CLOUD_APP" }],
    ["id order with a time range", { orderBy: "instance_id", ...RANGE }],
    ["an instance id", { instanceId: "i-1" }],
  ])("a tenant admin's %s: planned by PostgreSQL's own choice", (_, change) => {
    const statement = pageStatement(ADMIN, { ...BASE, ...change }, true);
    expect(statement).toMatchObject({ generic: false, oneShot: false });
  });

  it("a member's page: planned by PostgreSQL's own choice (how many rows the projects hold)", () => {
    expect(pageStatement(MEMBER, BASE, true)).toMatchObject({ generic: false, oneShot: false });
  });

  it("a name needle: planned for its own values every time", () => {
    const statement = pageStatement(ADMIN, { ...BASE, nameContains: "77777" }, true);
    expect(statement).toMatchObject({ generic: false, oneShot: true });
  });

  it("the generic sessions differ from the others by plan_cache_mode alone", () => {
    const settings = postgresSettings("postgres://u@h:5432/db?schema=s1&pool_max=4");
    const { reader, genericReader } = settings;
    expect(genericReader.connection?.options).toBe(
      `${reader.connection?.options} -c plan_cache_mode=force_generic_plan`,
    );
    expect({ ...genericReader, connection: undefined, backoff: undefined }).toEqual({
      ...reader,
      connection: undefined,
      backoff: undefined,
    });
  });

  it("the page sessions reach the server pg's pool reaches, with the same session settings", () => {
    const settings = postgresSettings(
      "postgres://u:p%40ss@h:6543/db?schema=s1&pool_max=4&statement_timeout=700&application_name=app",
    );
    expect(settings.reader).toMatchObject({
      host: "h",
      port: 6543,
      database: "db",
      username: "u",
      password: "p@ss",
      max: 4,
      connection: {
        application_name: "app",
        options: `${settings.pool.options} -c statement_timeout=700 -c lock_timeout=700`,
      },
    });
    expect(settings.pool).toMatchObject({ statement_timeout: 700, lock_timeout: 700, max: 4 });
    // A host that is a directory names a Unix socket, as for libpq and pg.
    const local = postgresSettings("postgres://u@localhost/db?host=/var/run/postgresql").reader;
    expect(local).toMatchObject({ path: "/var/run/postgresql/.s.PGSQL.5432", database: "db" });
    expect(local).not.toHaveProperty("host");
  });
});
