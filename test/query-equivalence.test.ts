/**
 * The optimized batch query (maintained counts, located deep pages, trigram search) against the
 * plain query it replaces — COUNT(*), then ORDER BY … LIMIT … OFFSET … — run directly on the
 * same database, on random data, random filters, random callers and random pages, including
 * pages past the locate threshold, and again after random operator changes (renames, project
 * moves, deletions), which the maintained counts must follow.
 */
import Database from "better-sqlite3";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeRows } from "../src/http/page-json.js";
import {
  type BatchQuery,
  foldName,
  type Visibility,
  type WireInstance,
} from "../src/instances/model.js";
import type { Store } from "../src/store/types.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const WIRE = `i.instance_id, i.instance_name, i.region, i.instance_sku, i.frozen_status,
  i.running_status, i.login_status, CASE WHEN i.assign_user <> '' THEN 1 ELSE 0 END AS assign_status,
  i.assign_user, i.billing_mode, i.project_id, p.name AS project_name, i.phone_id, i.member_name,
  i.account_name, i.region_name, i.region_name_en, i.backup_status, i.backup_time,
  i.restore_status, i.restore_time`;
const ORDER = {
  create_time: ["created_at", "instance_id"],
  instance_name: ["instance_name", "instance_id"],
  instance_id: ["instance_id"],
} as const;

/** The plain query, written independently of either store, with `$n` placeholders. */
function referenceSql(visibility: Visibility, q: BatchQuery, contains: string, extra = "") {
  const values: unknown[] = [visibility.tenantId];
  const $ = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const where = ["i.tenant_id = $1"];
  if (visibility.projectIds)
    where.push(
      `i.project_id IN (${visibility.projectIds.map((id) => $(id)).join(", ") || "NULL"})`,
    );
  if (q.instanceId !== undefined) where.push(`i.instance_id = ${$(q.instanceId)}`);
  if (q.nameContains !== undefined)
    where.push(`${contains}(i.name_folded, ${$(q.nameContains)}) > 0`);
  if (q.createdFrom !== undefined) where.push(`i.created_at >= ${$(q.createdFrom)}`);
  if (q.createdTo !== undefined) where.push(`i.created_at <= ${$(q.createdTo)}`);
  if (q.sceneTag !== undefined) where.push(`i.scene_tag = ${$(q.sceneTag)}`);
  if (q.poolName !== undefined)
    where.push(
      `i.pool_id IN (SELECT pool_id FROM pools WHERE tenant_id = $1 AND name = ${$(q.poolName)})`,
    );
  const dir = q.order === "desc" ? "DESC" : "ASC";
  const order = ORDER[q.orderBy].map((k) => `i.${k} ${dir}`).join(", ");
  const count = {
    text: `SELECT COUNT(*) AS n FROM instances i WHERE ${where.join(" AND ")}`,
    values: [...values],
  };
  const limit = $(q.pageSize);
  const offset = $((q.pageNo - 1) * q.pageSize);
  const page = {
    text: `SELECT ${WIRE}${extra} FROM instances i JOIN projects p ON p.project_id = i.project_id
      WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}`,
    values,
  };
  return { count, page };
}

interface Reference {
  /** `extra`: more columns after the wire ones (", i.created_at AS created"). */
  run(
    visibility: Visibility,
    q: BatchQuery,
    extra?: string,
  ): Promise<{ total: number; rows: unknown[] }>;
  close(): Promise<void>;
}

async function referenceFor(dialect: string, url: string): Promise<Reference> {
  if (dialect === "sqlite") {
    const db = new Database(url, { readonly: true });
    const sqlite = (text: string) => text.replace(/\$(\d+)/g, "@p$1");
    const named = (values: unknown[]) => Object.fromEntries(values.map((v, n) => [`p${n + 1}`, v]));
    return {
      async run(visibility, q, extra) {
        const { count, page } = referenceSql(visibility, q, "instr", extra);
        const total = (db.prepare(sqlite(count.text)).get(named(count.values)) as { n: number }).n;
        const rows = db.prepare(sqlite(page.text)).all(named(page.values));
        return { total, rows };
      },
      async close() {
        db.close();
      },
    };
  }
  const parsed = new URL(url);
  const schema = parsed.searchParams.get("schema");
  parsed.search = "";
  const client = new pg.Client({ connectionString: parsed.toString() });
  await client.connect();
  if (schema) await client.query(`SET search_path TO ${schema}`);
  return {
    async run(visibility, q, extra) {
      const { count, page } = referenceSql(visibility, q, "strpos", extra);
      const c = { ...count, text: count.text.replace("COUNT(*)", "COUNT(*)::int") };
      const total = (await client.query(c.text, c.values)).rows[0].n as number;
      const rows = (await client.query(page.text, page.values)).rows;
      return { total, rows };
    },
    async close() {
      await client.end();
    },
  };
}

/** Few distinct letters, some non-Latin and LIKE metacharacters, so substrings collide often. */
const NAME_CHARS = ["a", "b", "A", "c", "云", "机", "%", "_", "!", "-", "7", " ", '"', "é", "😀"];
const DAYS = ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-03"];

function pick<T>(values: readonly T[], random: () => number): T {
  return values[Math.floor(random() * values.length)] as T;
}

function records(fixture: TenantFixture, size: number, seed: number): Record<string, unknown>[] {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return Array.from({ length: size }, () => {
    const length = 1 + Math.floor(random() * 7);
    const name = Array.from({ length }, () => pick(NAME_CHARS, random)).join("");
    const hour = String(Math.floor(random() * 4) * 7).padStart(2, "0");
    const minute = pick(["00", "13", "59"], random);
    return {
      instance_name: name,
      region: "cn-north-4",
      instance_sku: "sku",
      project_id: pick(fixture.projects, random).project_id,
      pool_name: random() < 0.5 ? "apps" : "phones",
      created_at: `${pick(DAYS, random)} ${hour}:${minute}:${pick(["00", "30"], random)}`,
      assign_user: random() < 0.3 ? "u" : "",
    };
  });
}

/** Undefined, except once in `n` draws. */
function rarely<T>(arbitrary: fc.Arbitrary<T>, { freq }: { freq: number }) {
  return fc.oneof(
    { weight: freq - 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary },
  );
}

const needle = fc
  .array(fc.constantFrom(...NAME_CHARS), { minLength: 1, maxLength: 6 })
  .map((c) => c.join(""));
const time = fc
  .tuple(
    fc.constantFrom(...DAYS, "2024-01-01", "2024-02-02"),
    fc.integer({ min: 0, max: 23 }),
    fc.constantFrom("00", "13", "30", "59"),
  )
  .map(([d, h, m]) => `${d} ${String(h).padStart(2, "0")}:${m}:${m === "13" ? "00" : "30"}`);

for (const factory of STORES) {
  describe(`optimized batch query = plain query (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let store: Store;
    let reference: Reference;
    let tenants: TenantFixture[];
    let ids: string[];
    beforeAll(async () => {
      ctx = await factory.create();
      store = ctx.store;
      tenants = [await makeTenant(store, "big", 3), await makeTenant(store, "small", 2)];
      const [big, small] = tenants as [TenantFixture, TenantFixture];
      await addInstances(store, big.tenantId, records(big, 6000, 7));
      await addInstances(store, small.tenantId, records(small, 300, 11));
      reference = await referenceFor(factory.name, ctx.url);
      ids = (
        await reference.run({ tenantId: big.tenantId }, {
          pageNo: 1,
          pageSize: 10_000,
          order: "asc",
          orderBy: "instance_id",
        } as BatchQuery)
      ).rows.map((r) => (r as { instance_id: string }).instance_id);
    }, 120_000);
    afterAll(async () => {
      await reference?.close();
      await ctx?.dispose();
    });

    const queryOf = (tenantIndex: number) =>
      fc
        .record(
          {
            pageSize: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constant(100)),
            page: fc.oneof(fc.double({ min: 0, max: 1.05, noNaN: true }), fc.constantFrom(0, 1)),
            order: fc.constantFrom("asc", "desc"),
            orderBy: fc.constantFrom("create_time", "create_time", "instance_name", "instance_id"),
            nameContains: rarely(needle, { freq: 3 }),
            createdFrom: rarely(time, { freq: 2 }),
            createdTo: rarely(time, { freq: 2 }),
            sceneTag: rarely(fc.constantFrom("CLOUD_APP", "CLOUD_PHONE"), { freq: 2 }),
            poolName: rarely(fc.constantFrom("apps", "phones", "nope"), { freq: 3 }),
            instanceId: rarely(fc.nat(5000), { freq: 8 }),
            member: rarely(fc.subarray([0, 1, 2]), { freq: 2 }),
          },
          { requiredKeys: ["pageSize", "page", "order", "orderBy"] },
        )
        .map((r) => ({ ...r, tenantIndex }));

    async function check(r: ReturnType<typeof queryOf> extends fc.Arbitrary<infer T> ? T : never) {
      const fixture = tenants[r.tenantIndex] as TenantFixture;
      const visibility: Visibility = {
        tenantId: fixture.tenantId,
        ...(r.member && {
          projectIds: r.member.map(
            (n) => fixture.projects[n % fixture.projects.length]?.project_id as string,
          ),
        }),
      };
      const base: BatchQuery = {
        pageNo: 1,
        pageSize: r.pageSize,
        order: r.order as "asc",
        orderBy: r.orderBy as "create_time",
      };
      if (r.nameContains) base.nameContains = foldName(r.nameContains);
      if (r.createdFrom) base.createdFrom = r.createdFrom;
      if (r.createdTo) base.createdTo = r.createdTo;
      if (r.sceneTag) base.sceneTag = r.sceneTag as "CLOUD_APP";
      if (r.poolName) base.poolName = r.poolName;
      if (r.instanceId !== undefined)
        base.instanceId = ids[r.instanceId % (ids.length + 3)] ?? "zzzzzzzz";
      const expectedTotal = (await reference.run(visibility, base)).total;
      const pages = Math.ceil(expectedTotal / r.pageSize);
      await compare(visibility, { ...base, pageNo: Math.max(1, Math.ceil(r.page * pages) || 1) });
    }

    async function compare(visibility: Visibility, query: BatchQuery) {
      const expected = await reference.run(visibility, query);
      const actual = await store.queryInstances(visibility, query);
      expect(actual.total).toBe(expected.total);
      expect(actual.rows).toEqual(expected.rows);
      // The pre-encoded form, where the store offers it: the same total, the rows' exact bytes.
      const encoded = await store.queryEncodedInstances?.(visibility, query);
      if (encoded) {
        expect(encoded.total).toBe(expected.total);
        expect(Buffer.concat(encoded.json).toString()).toBe(
          Buffer.concat(encodeRows(expected.rows as WireInstance[])).toString(),
        );
      }
    }

    it("answers every random query exactly as the plain query does", async () => {
      await fc.assert(fc.asyncProperty(fc.oneof(queryOf(0), queryOf(0), queryOf(1)), check), {
        numRuns: 400,
      });
    }, 120_000);

    /** Few or no filters and small pages, so most pages lie past the locate threshold. */
    const deepQuery = fc
      .record(
        {
          pageSize: fc.integer({ min: 1, max: 20 }),
          page: fc.double({ min: 0.2, max: 1, noNaN: true }),
          order: fc.constantFrom("asc", "desc"),
          orderBy: fc.constantFrom(
            "create_time",
            "create_time",
            "create_time",
            "instance_name",
            "instance_id",
          ),
          createdFrom: rarely(time, { freq: 4 }),
          createdTo: rarely(time, { freq: 4 }),
          sceneTag: rarely(fc.constantFrom("CLOUD_APP", "CLOUD_PHONE"), { freq: 3 }),
          poolName: rarely(fc.constantFrom("apps", "phones"), { freq: 4 }),
          member: rarely(fc.subarray([0, 1, 2], { minLength: 1 }), { freq: 3 }),
        },
        { requiredKeys: ["pageSize", "page", "order", "orderBy"] },
      )
      .map((r) => ({ ...r, tenantIndex: 0 }));

    it("finds deep pages exactly where OFFSET does", async () => {
      await fc.assert(fc.asyncProperty(deepQuery, check), { numRuns: 300 });
    }, 120_000);

    /**
     * Deep pages in creation order over the scopes the day counts keep (the tenant, a scene tag,
     * a pool, a member's one to three projects), with and without a time range, both directions:
     * located through the running sum of the day counts, never by stepping over rows.
     */
    const dayQuery = fc
      .record(
        {
          pageSize: fc.integer({ min: 1, max: 7 }),
          page: fc.double({ min: 0.15, max: 1.02, noNaN: true }),
          order: fc.constantFrom("asc", "desc"),
          orderBy: fc.constant("create_time"),
          createdFrom: rarely(time, { freq: 2 }),
          createdTo: rarely(time, { freq: 2 }),
          sceneTag: rarely(fc.constantFrom("CLOUD_APP", "CLOUD_PHONE"), { freq: 4 }),
          poolName: rarely(fc.constantFrom("apps", "phones", "nope"), { freq: 4 }),
          member: rarely(fc.subarray([0, 1, 2], { minLength: 1 }), { freq: 2 }),
        },
        { requiredKeys: ["pageSize", "page", "order", "orderBy"] },
      )
      .map((r) => ({ ...r, tenantIndex: 0 }));

    it("locates deep pages in creation order through the day counts exactly where OFFSET does", async () => {
      await fc.assert(fc.asyncProperty(dayQuery, check), { numRuns: 200 });
    }, 120_000);

    it("finds the rows on either side of every day boundary, in every day-counted scope", async () => {
      const big = tenants[0] as TenantFixture;
      const project = (n: number) => big.projects[n]?.project_id as string;
      const scopes: [Visibility, Partial<BatchQuery>][] = [
        [{ tenantId: big.tenantId }, {}],
        [{ tenantId: big.tenantId }, { sceneTag: "CLOUD_PHONE" }],
        [{ tenantId: big.tenantId }, { poolName: "apps" }],
        [{ tenantId: big.tenantId, projectIds: [project(1)] }, {}],
        [{ tenantId: big.tenantId, projectIds: [project(0), project(2)] }, {}],
        [{ tenantId: big.tenantId, projectIds: [project(2), project(0), project(1)] }, {}],
      ];
      const ranges: Partial<BatchQuery>[] = [
        {},
        { createdFrom: "2024-01-31 07:13:00" },
        { createdFrom: "2024-01-30 14:00:30", createdTo: "2024-02-03 07:13:00" },
      ];
      let checked = 0;
      for (const [visibility, filters] of scopes) {
        for (const range of ranges) {
          for (const order of ["asc", "desc"] as const) {
            const base: BatchQuery = {
              pageNo: 1,
              pageSize: 10_000,
              order,
              orderBy: "create_time",
              ...filters,
              ...range,
            };
            // Positions (in this order) where the creation day changes.
            const created = (
              await reference.run(visibility, base, ", i.created_at AS created")
            ).rows.map((r) => (r as { created: string }).created);
            for (let n = 1; n < created.length; n++) {
              if (created[n]?.slice(0, 10) === created[n - 1]?.slice(0, 10)) continue;
              for (const offset of [n - 1, n, n + 1]) {
                await compare(visibility, { ...base, pageSize: 1, pageNo: offset + 1 });
                checked++;
              }
              await compare(visibility, { ...base, pageSize: 3, pageNo: Math.floor(n / 3) + 1 });
            }
          }
        }
      }
      // Enough boundaries past the locate threshold (offset 1,000) to mean something.
      expect(checked).toBeGreaterThan(100);
    }, 120_000);

    it("still does after renames, project moves and deletions", async () => {
      const big = tenants[0] as TenantFixture;
      for (const [n, id] of ids.slice(0, 300).entries()) {
        const at = new Date().toISOString();
        if (n % 3 === 0) await store.deleteInstance(id);
        else if (n % 3 === 1)
          await store.updateInstance(id, { instance_name: `Renamed-${n}-云`, updated_at: at });
        else
          await store.updateInstance(id, {
            project_id: (big.projects[n % 3] as { project_id: string }).project_id,
            updated_at: at,
          });
      }
      await fc.assert(fc.asyncProperty(fc.oneof(queryOf(0), deepQuery, dayQuery), check), {
        numRuns: 300,
      });
    }, 120_000);
  });
}
