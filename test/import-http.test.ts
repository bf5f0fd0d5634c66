/**
 * `POST /admin/v1/tenants/{id}/instances`: streamed, all or nothing. A bad record anywhere in a
 * large body leaves the database exactly as it was (same rows, same checksum), and tenants
 * querying during an import see either none of it or all of it.
 */
import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminApp,
  bad,
  call,
  checksum,
  duplicate,
  instanceId,
  missing,
  ndjson,
  ok,
  record,
  schemaOf,
} from "./admin-helpers.js";
import { batchQuery } from "./helpers/api.js";
import { makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const LARGE = 50_000;
const NDJSON = { "content-type": "application/x-ndjson" };
const JSON_ARRAY = { "content-type": "application/json" };

for (const factory of STORES) {
  describe(`admin API: instance import (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let acme: TenantFixture;
    let projectId: string;

    beforeAll(async () => {
      ctx = await factory.create();
      app = (await adminApp(ctx.store)).app;
      acme = await makeTenant(ctx.store, "acme");
      projectId = acme.projects[0]?.project_id as string;
      // Something already there, which every failed import must leave alone.
      const existing = Array.from({ length: 20 }, (_, i) =>
        JSON.stringify(record(900_000 + i, projectId)),
      );
      ok(await importInto(acme.tenantId, existing.join("\n"), NDJSON), 201);
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    const importInto = (
      tenantId: string,
      body: string | Readable,
      headers: Record<string, string>,
    ) => call(app, "POST", `/admin/v1/tenants/${tenantId}/instances`, body, headers);
    const total = async (token = acme.adminToken) => {
      const res = await batchQuery(app, token, { page_no: 1, page_size: 1 });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().total_count as number;
    };
    const state = () => checksum(ctx.store, ctx.url);
    /** The database's schema (tables, indexes, triggers), read from outside the store. */
    const schema = () => schemaOf(ctx.store, ctx.url);

    for (const [where, at] of [
      ["first", 0],
      ["middle", LARGE / 2],
      ["last", LARGE - 1],
    ] as const) {
      it(`refuses ${LARGE} NDJSON records whose ${where} is bad: 400 naming line and field, nothing stored`, async () => {
        const before = await state();
        const res = await importInto(
          acme.tenantId,
          ndjson(LARGE, projectId, { badAt: at }),
          NDJSON,
        );
        bad(res, `line ${at + 1}: record.running_status`);
        expect(await state()).toEqual(before);
        expect(await total()).toBe(20);
      });
    }

    it("refuses a JSON array whose last element is bad, naming its index", async () => {
      const before = await state();
      const records: object[] = Array.from({ length: 5000 }, (_, i) => record(i, projectId));
      records.push({ ...record(5000, projectId), tenant_id: "0".repeat(32) });
      const res = await importInto(acme.tenantId, JSON.stringify(records), JSON_ARRAY);
      bad(res, 'index 5000: record: unknown field "tenant_id"');
      expect(await state()).toEqual(before);
    });

    it("refuses records that try to set what they may not: 400 naming the field", async () => {
      const before = await state();
      const good = JSON.stringify(record(1, projectId));
      const cases: [string, string][] = [
        [
          `{"__proto__":{"tenant_id":"x"},${good.slice(1)}`,
          'line 2: record: unknown field "__proto__"',
        ],
        [
          `{"constructor":{"prototype":{}},${good.slice(1)}`,
          'line 2: record: unknown field "constructor"',
        ],
        [JSON.stringify({ ...record(1, projectId), tenant_id: acme.tenantId }), '"tenant_id"'],
        [
          JSON.stringify({ ...record(1, projectId), updated_at: "2024-01-01 00:00:00" }),
          '"updated_at"',
        ],
        [JSON.stringify({ ...record(1, projectId), pool_id: "0".repeat(32) }), '"pool_id"'],
        [JSON.stringify({ ...record(1, projectId), assign_status: 1 }), "assign_status"],
        [JSON.stringify({ ...record(1, projectId), instance_id: "short" }), "record.instance_id"],
        [JSON.stringify({ ...record(1, projectId), project_id: "f".repeat(32) }), "project_id"],
        // JSON may spell a lone surrogate (\ud800); no store could keep it as sent.
        [
          JSON.stringify({ ...record(1, projectId), member_name: "a\ud800b" }),
          "line 2: record.member_name holds a lone surrogate or NUL",
        ],
        // PostgreSQL text cannot hold NUL: refused on every store, before anything is stored.
        [
          JSON.stringify({ ...record(1, projectId), account_name: "a\u0000b" }),
          "line 2: record.account_name holds a lone surrogate or NUL",
        ],
        [JSON.stringify({ ...record(1, projectId), created_at: "yesterday" }), "record.created_at"],
        ["{not json", "line 2: not valid JSON"],
      ];
      for (const [line, message] of cases) {
        const body = `${JSON.stringify(record(0, projectId))}\n${line}\n`;
        bad(await importInto(acme.tenantId, body, NDJSON), message);
      }
      expect(await state()).toEqual(before);
    });

    it("refuses a pool_scene_tag that contradicts the existing pool", async () => {
      const body = JSON.stringify({
        ...record(1, projectId),
        pool_name: "phones",
        pool_scene_tag: "CLOUD_APP",
      });
      bad(await importInto(acme.tenantId, body, NDJSON), "line 1: pool_scene_tag");
    });

    it("answers 409 naming the line for an id already taken, in the input or the database", async () => {
      const other = await makeTenant(ctx.store, "other");
      const before = await state();
      const repeated = `${ndjson(100, projectId)}${JSON.stringify(record(7, projectId))}\n`;
      duplicate(await importInto(acme.tenantId, repeated, NDJSON), "line 101");
      const taken = JSON.stringify(record(900_003, projectId));
      duplicate(await importInto(acme.tenantId, `${taken}\n`, NDJSON), instanceId(900_003));
      // An id is unique service-wide: another tenant cannot reuse it either.
      const theirs = JSON.stringify(record(900_003, other.projects[0]?.project_id as string));
      duplicate(await importInto(other.tenantId, theirs, NDJSON), instanceId(900_003));
      expect(await state()).toEqual(before);
    });

    it("answers 404 for an unknown tenant and 400 for a type it cannot read", async () => {
      missing(await importInto("0".repeat(32), ndjson(3, projectId), NDJSON));
      bad(await importInto(acme.tenantId, "<xml/>", { "content-type": "application/xml" }));
      bad(await importInto(acme.tenantId, "a", { "content-type": "text/plain" }), "content type");
      bad(await importInto(acme.tenantId, '{"a":1}', JSON_ARRAY), "JSON array");
      bad(await importInto(acme.tenantId, "[{}", JSON_ARRAY), "index 0");
    });

    it(`imports ${LARGE} NDJSON records (a body far above the 1 MB body limit) in one go`, async () => {
      const schemaBefore = await schema();
      const body = ndjson(LARGE, projectId);
      expect(body.length).toBeGreaterThan(10 * 1024 * 1024);
      const res = await importInto(acme.tenantId, body, {
        "content-type": "application/x-ndjson; charset=utf-8",
      });
      expect(ok(res, 201)).toEqual({ created: LARGE });
      expect(await total()).toBe(LARGE + 20);
      const detail = ok(await call(app, "GET", `/admin/v1/tenants/${acme.tenantId}`));
      const counts = Object.values(detail.instances_by_running_status as Record<string, number>);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(LARGE + 20);
      // The records' own pool was created by the import.
      const pools = await ctx.store.listPools(acme.tenantId);
      expect(pools.map((p) => p.name).sort()).toEqual(["apps", "imported", "phones"]);
      // Every index is back (a large import may rebuild them before it commits).
      const after = await checksum(ctx.store, ctx.url);
      expect(after.instances).toBe(LARGE + 20);
      expect(await schema()).toEqual(schemaBefore);
      // And the rows are what the records said.
      const one = await ctx.store.instanceById(instanceId(123));
      expect(one).toMatchObject({
        instance_name: "CCTEST-0000123",
        running_status: 123 % 6,
        created_at: "2024-03-12 08:00:00",
        tenant_id: acme.tenantId,
      });
    });

    it("imports a JSON array and CSV the same way, and an empty NDJSON body as nothing", async () => {
      const t = await makeTenant(ctx.store, "formats");
      const pid = t.projects[0]?.project_id as string;
      const array = Array.from({ length: 3 }, (_, i) => ({
        ...record(2_000_000 + i, pid),
        pool_name: "apps",
        pool_scene_tag: "CLOUD_APP",
      }));
      expect(ok(await importInto(t.tenantId, JSON.stringify(array), JSON_ARRAY), 201)).toEqual({
        created: 3,
      });
      const csv = `instance_id,instance_name,region,instance_sku,project_id,pool_name,running_status\nCsv00001,c1,cn-north-4,sku,${pid},apps,2\nCsv00002,c2,cn-north-4,sku,${pid},phones,\n`;
      expect(ok(await importInto(t.tenantId, csv, { "content-type": "text/csv" }), 201)).toEqual({
        created: 2,
      });
      expect(await ctx.store.instanceById("Csv00001")).toMatchObject({ running_status: 2 });
      expect(ok(await importInto(t.tenantId, "", NDJSON), 201)).toEqual({ created: 0 });
      expect(await total(t.adminToken)).toBe(5);
    });

    it("lets tenants query during an import; they see none of it or all of it, never a part", async () => {
      const t = await makeTenant(ctx.store, "busy");
      const pid = t.projects[0]?.project_id as string;
      const n = 20_000;
      const lines = ndjson(n, pid, { first: 3_000_000 }).trimEnd().split("\n");
      // The body arrives slowly, in 40 pieces, so queries interleave with the import.
      async function* slowBody() {
        for (let i = 0; i < 40; i++) {
          const piece = lines.slice((i * n) / 40, ((i + 1) * n) / 40).map((l) => `${l}\n`);
          yield Buffer.from(piece.join(""));
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
      const fresh = await makeTenant(ctx.store, "busy-fresh");
      const freshBody = ndjson(n, fresh.projects[0]?.project_id as string, { first: 4_000_000 });
      let done = false;
      const importing = importInto(t.tenantId, Readable.from(slowBody()), NDJSON).finally(() => {
        done = true;
      });
      const seen: number[] = [];
      while (!done) {
        seen.push(await total(t.adminToken));
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(ok(await importing, 201)).toEqual({ created: n });
      expect(seen.length).toBeGreaterThan(5);
      expect(
        seen.every((count) => count === 0 || count === n),
        String(seen),
      ).toBe(true);
      expect(await total(t.adminToken)).toBe(n);
      // And a second import right after runs as usual: nothing was left locked.
      expect(ok(await importInto(fresh.tenantId, freshBody, NDJSON), 201)).toEqual({ created: n });
    });
  });
}
