/**
 * The request table of spec/batch-query.md, row by row: what each parameter accepts, what it
 * rejects (and with which code), and that accepted filters select exactly what the spec says.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { BATCH, batchQuery, expectError, expectPage, type Params } from "./helpers/api.js";
import { type Catalog, seedCatalog } from "./helpers/catalog.js";
import { addInstances, makeTenant, testConfig, tokenFor } from "./helpers/fixtures.js";
import { type RefQuery, referencePage, toParams } from "./helpers/reference.js";
import { STORES } from "./helpers/stores.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PAGE = { page_no: "1", page_size: "100" };

for (const factory of STORES) {
  describe(`batch-query parameters (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let strictApp: FastifyInstance;
    let catalog: Catalog;
    let token: string;

    beforeAll(async () => {
      ctx = await factory.create();
      catalog = await seedCatalog(ctx.store, "acme", "aa");
      token = catalog.tenant.adminToken;
      app = await buildApp({ config: testConfig(), store: ctx.store });
      strictApp = await buildApp({ config: testConfig({ strict: true }), store: ctx.store });
    });
    afterAll(async () => {
      await app?.close();
      await strictApp?.close();
      await ctx?.dispose();
    });

    const get = (params: Params | string, headers: Record<string, string> = {}) =>
      batchQuery(app, token, params, headers);

    /** The page must equal the reference reading of the same query over the catalog. */
    async function expectReference(q: RefQuery, params: Params | string = toParams(q)) {
      const body = expectPage(await get(params));
      const expected = referencePage(catalog.instances, q);
      expect(body.total_count).toBe(expected.total);
      expect(body.data.result).toEqual(expected.rows);
      expect(body.page_no).toBe(q.page_no);
      expect(body.page_size).toBe(q.page_size);
      return body;
    }

    async function expectBadParameter(params: Params | string, name: string, code = "1000") {
      const res = await get(params);
      const body = expectError(res, 400, `KOOPHONE.API.${code}`);
      expect(body.error_msg).toContain(name);
      return body;
    }

    describe("x-request-id", () => {
      it("is echoed from the query parameter", async () => {
        const res = await get({ ...PAGE, "x-request-id": "abc.DEF_1:2-3" });
        expectPage(res);
        expect(res.headers["x-request-id"]).toBe("abc.DEF_1:2-3");
      });

      it("is echoed from the header", async () => {
        const res = await get(PAGE, { "x-request-id": "from-header-42" });
        expectPage(res);
        expect(res.headers["x-request-id"]).toBe("from-header-42");
      });

      it("takes the query parameter over the header", async () => {
        const res = await get({ ...PAGE, "x-request-id": "from-query" }, { "x-request-id": "hdr" });
        expectPage(res);
        expect(res.headers["x-request-id"]).toBe("from-query");
      });

      it("reads a query parameter whose name is percent-encoded", async () => {
        const res = await get("page_no=1&page_size=1&x%2Drequest%2Did=encoded-name");
        expectPage(res);
        expect(res.headers["x-request-id"]).toBe("encoded-name");
      });

      it("is a fresh UUID v4 when absent, different per request", async () => {
        const a = await get(PAGE);
        const b = await get(PAGE);
        expectPage(a);
        expect(a.headers["x-request-id"]).toMatch(UUID_V4);
        expect(b.headers["x-request-id"]).toMatch(UUID_V4);
        expect(a.headers["x-request-id"]).not.toBe(b.headers["x-request-id"]);
      });

      it("accepts exactly 128 characters", async () => {
        const id = "a".repeat(128);
        const res = await get({ ...PAGE, "x-request-id": id });
        expectPage(res);
        expect(res.headers["x-request-id"]).toBe(id);
      });

      const invalid = [
        "a".repeat(129),
        "",
        "has space",
        "slash/es",
        "ünïcode",
        "semi;colon",
        "evil\r\nSet-Cookie: pwned=1",
        "<script>",
      ];
      for (const bad of invalid) {
        it(`rejects ${JSON.stringify(bad.slice(0, 20))} as a query parameter, never echoing it`, async () => {
          const res = await get({ ...PAGE, "x-request-id": bad });
          const body = expectError(res, 400, "KOOPHONE.API.1000");
          expect(body.error_msg).toContain("x-request-id");
          expect(res.headers["x-request-id"]).not.toBe(bad);
          expect(res.headers["x-request-id"]).toMatch(UUID_V4);
          expect(res.headers["set-cookie"]).toBeUndefined();
          expect(res.rawPayload.toString("utf8")).not.toContain("pwned");
        });
      }

      it("rejects a malformed header without echoing it", async () => {
        for (const bad of ["has space", "a".repeat(129), "x,y", "ünï"]) {
          const res = await get(PAGE, { "x-request-id": bad });
          expectError(res, 400, "KOOPHONE.API.1000");
          expect(res.headers["x-request-id"]).toMatch(UUID_V4);
        }
      });

      it("takes a good query parameter over a malformed header", async () => {
        const res = await get({ ...PAGE, "x-request-id": "good-q" }, { "x-request-id": "bad id" });
        expectPage(res);
        expect(res.headers["x-request-id"]).toBe("good-q");
      });

      it("rejects a malformed query parameter even when the header is fine", async () => {
        const res = await get({ ...PAGE, "x-request-id": "bad id" }, { "x-request-id": "good" });
        expectError(res, 400, "KOOPHONE.API.1000");
        expect(res.headers["x-request-id"]).not.toBe("bad id");
      });

      it("rejects a repeated query parameter without echoing either value", async () => {
        const res = await get({ ...PAGE, "x-request-id": ["one", "two"] });
        const body = expectError(res, 400, "KOOPHONE.API.1000");
        expect(body.error_msg).toContain("x-request-id");
        expect(["one", "two"]).not.toContain(res.headers["x-request-id"]);
      });
    });

    describe("page_no", () => {
      it("is required", async () => {
        await expectBadParameter({ page_size: "10" }, "page_no");
      });

      const invalid = [
        "0",
        "-1",
        "+1",
        "1.0",
        "1.5",
        " 1",
        "1 ",
        "0x10",
        "1e3",
        "",
        "abc",
        "１",
        "٣",
        "1,000",
        "1000000001",
        "99999999999999999999999",
        "Infinity",
        "NaN",
      ];
      for (const bad of invalid) {
        it(`rejects ${JSON.stringify(bad)}`, async () => {
          await expectBadParameter({ page_no: bad, page_size: "10" }, "page_no");
        });
      }

      it("rejects a raw '+' (a space once decoded)", async () => {
        await expectBadParameter("page_no=+1&page_size=10", "page_no");
      });

      it("reads leading zeros as decimal: 007 is 7", async () => {
        await expectReference({ page_no: 7, page_size: 3 }, { page_no: "007", page_size: "3" });
        const body = expectPage(await get({ page_no: "0000000000001", page_size: "5" }));
        expect(body.page_no).toBe(1);
        expect(body.data.result).toHaveLength(5);
      });

      it("accepts 1,000,000,000: a page past the end, empty, with the true total", async () => {
        const body = await expectReference({ page_no: 1_000_000_000, page_size: 100 });
        expect(body.data.result).toEqual([]);
        expect(body.total_count).toBe(catalog.instances.length);
      });
    });

    describe("page_size", () => {
      it("is required", async () => {
        await expectBadParameter({ page_no: "1" }, "page_size");
      });

      for (const bad of ["0", "-5", "abc", "", "1.5", "1e2", " 10", "0x10", "-0"]) {
        it(`rejects ${JSON.stringify(bad)}`, async () => {
          await expectBadParameter({ page_no: "1", page_size: bad }, "page_size");
        });
      }

      it("clamps values above 100 to 100, reported in both places", async () => {
        expect(catalog.instances.length).toBeGreaterThan(100);
        for (const size of ["101", "200", "0200", "99999999999999999999"]) {
          const body = expectPage(await get({ page_no: "1", page_size: size }));
          expect(body.page_size).toBe(100);
          expect(body.data.page_size).toBe(100);
          expect(body.data.result).toHaveLength(100);
        }
        await expectReference({ page_no: 2, page_size: 100 }, { page_no: "2", page_size: "150" });
      });

      it("uses 100 and 1 as given", async () => {
        await expectReference({ page_no: 1, page_size: 100 });
        await expectReference({ page_no: 3, page_size: 1 });
      });
    });

    describe("instance_id", () => {
      it("matches exactly one instance", async () => {
        const target = catalog.instances[17]?.wire;
        if (!target) throw new Error("catalog too small");
        const body = await expectReference({ ...pageOf(), instance_id: target.instance_id });
        expect(body.data.result).toEqual([target]);
        expect(body.total_count).toBe(1);
      });

      it("is exact: a prefix, a case change or a longer id match nothing", async () => {
        const id = catalog.instances[3]?.wire.instance_id ?? "";
        for (const other of [id.slice(0, 7), swapCase(id), `${id}x`, "%", "_"]) {
          const body = expectPage(await get({ ...PAGE, instance_id: other }));
          expect(body.total_count).toBe(0);
          expect(body.data.result).toEqual([]);
        }
      });

      it("takes 64 characters and rejects empty or 65", async () => {
        expect(expectPage(await get({ ...PAGE, instance_id: "a".repeat(64) })).total_count).toBe(0);
        await expectBadParameter({ ...PAGE, instance_id: "" }, "instance_id");
        await expectBadParameter({ ...PAGE, instance_id: "a".repeat(65) }, "instance_id");
      });
    });

    describe("instance_name", () => {
      const cases: [string, string[]][] = [
        ["0% D", ["100% Done"]],
        ["%", ["100% Done"]],
        ["a_b", ["a_b-phone"]],
        ["_", ["a_b-phone"]],
        ["k\\s", ["back\\slash"]],
        ["\\", ["back\\slash"]],
        ["MIXED-case", ["Mixed-CASE-Name"]],
        ["mixed-case-name", ["Mixed-CASE-Name"]],
        ["ÜNÏCODE", ["Ünïcode-Phone", "ünïcode-phone-2"]],
        ["ünïcode-phone-2", ["ünïcode-phone-2"]],
        ["Ünïcode-Phone", ["Ünïcode-Phone", "ünïcode-phone-2"]],
        ["100X Done", ["100X Done"]],
      ];
      for (const [needle, names] of cases) {
        it(`${JSON.stringify(needle)} matches exactly ${JSON.stringify(names)}`, async () => {
          const body = await expectReference({ ...pageOf(), instance_name: needle });
          expect(body.data.result.map((r) => r.instance_name).sort()).toEqual([...names].sort());
        });
      }

      it("is a case-insensitive substring match", async () => {
        const body = await expectReference({ ...pageOf(), instance_name: "CcTeSt-0001" });
        expect(body.total_count).toBe(10);
        const names = new Set(body.data.result.map((r) => r.instance_name));
        expect(names).toContain("CCTEST-00010");
        expect(names).toContain("cctest-00011");
      });

      it("matches nothing when no name contains it", async () => {
        const body = await expectReference({ ...pageOf(), instance_name: "no such phone" });
        expect(body.total_count).toBe(0);
      });

      it("matches nothing when it holds NUL (as instance_id and pool_name do), on every store", async () => {
        for (const name of ["instance_name", "instance_id", "pool_name"]) {
          for (const value of ["%00", "a%00", `${catalog.instances[0]?.wire.instance_id}%00`]) {
            const body = expectPage(await get(`page_no=1&page_size=10&${name}=${value}`));
            expect(body.total_count, `${name}=${value}`).toBe(0);
            expect(body.data.result).toEqual([]);
          }
        }
        // A member's instance_id is looked up for the permission check first.
        const member = await tokenFor(ctx.store, catalog.tenant.tenantId, {
          name: "nul-member",
          role: "member",
          project_ids: [catalog.tenant.projects[0]?.project_id as string],
        });
        const res = await batchQuery(app, member, "page_no=1&page_size=10&instance_id=a%00");
        expect(expectPage(res).total_count).toBe(0);
      });

      it("counts characters, not UTF-16 units: a 64-emoji name an operator stored is searchable", async () => {
        const name = "📱".repeat(64); // 64 characters (code points), 128 UTF-16 units
        const tenant = await makeTenant(ctx.store, "emoji", 1);
        await addInstances(ctx.store, tenant.tenantId, [
          {
            instance_name: name,
            region: "cn-north-4",
            instance_sku: "sku",
            project_id: tenant.projects[0]?.project_id,
            pool_name: "phones",
          },
        ]);
        const found = expectPage(
          await batchQuery(app, tenant.adminToken, { ...PAGE, instance_name: name }),
        );
        expect(found.data.result.map((r) => r.instance_name)).toEqual([name]);
        const res = await batchQuery(app, tenant.adminToken, {
          ...PAGE,
          instance_name: `${name}📱`,
        });
        expectError(res, 400, "KOOPHONE.API.1000");
        const id = await batchQuery(app, tenant.adminToken, {
          ...PAGE,
          instance_id: "📱".repeat(64),
        });
        expect(expectPage(id).total_count).toBe(0);
      });

      it("takes 64 characters and rejects empty or 65", async () => {
        await expectReference({ ...pageOf(), instance_name: "x".repeat(64) });
        await expectBadParameter({ ...PAGE, instance_name: "" }, "instance_name");
        await expectBadParameter({ ...PAGE, instance_name: "x".repeat(65) }, "instance_name");
      });
    });

    describe("query_start_time / query_end_time", () => {
      it("takes '+' and '%20' for the space", async () => {
        const q = { ...pageOf(), query_start_time: "2024-03-01 10:00:00" };
        const plus = await expectReference(
          q,
          "page_no=1&page_size=100&query_start_time=2024-03-01+10:00:00",
        );
        const pct = await expectReference(
          q,
          "page_no=1&page_size=100&query_start_time=2024-03-01%2010:00:00",
        );
        expect(plus.total_count).toBeGreaterThan(0);
        expect(plus.total_count).toBeLessThan(catalog.instances.length);
        expect(pct).toEqual(plus);
      });

      it("bounds are inclusive at the exact second", async () => {
        const t = "2024-03-01 10:00:00";
        const exactly = await expectReference({
          ...pageOf(),
          query_start_time: t,
          query_end_time: t,
        });
        const atT = catalog.instances.filter((i) => i.created_at === t).length;
        expect(atT).toBeGreaterThan(1);
        expect(exactly.total_count).toBe(atT);
        // One second later excludes them; one second earlier as the end excludes them too.
        const after = await expectReference({
          ...pageOf(),
          query_start_time: "2024-03-01 10:00:01",
        });
        expect(
          after.data.result.every((r) => created(r.instance_id) >= "2024-03-01 10:00:01"),
        ).toBe(true);
        const before = await expectReference({
          ...pageOf(),
          query_end_time: "2024-03-01 09:59:59",
        });
        expect(before.data.result.every((r) => created(r.instance_id) < t)).toBe(true);
      });

      it("either may be given alone", async () => {
        const start = await expectReference({
          ...pageOf(),
          query_start_time: "2024-06-15 08:30:00",
        });
        const end = await expectReference({ ...pageOf(), query_end_time: "2024-01-01 00:00:00" });
        expect(start.total_count).toBeGreaterThan(0);
        expect(end.total_count).toBeGreaterThan(0);
        expect(start.total_count + end.total_count).toBeLessThan(catalog.instances.length);
      });

      it("accepts a leap day in a leap year and an equal start and end", async () => {
        const body = await expectReference({
          ...pageOf(),
          query_start_time: "2024-02-29 00:00:00",
          query_end_time: "2024-02-29 23:59:59",
        });
        expect(body.total_count).toBeGreaterThan(0);
      });

      const malformed = [
        "2023-02-30 10:00:00",
        "2023-02-29 10:00:00",
        "2023-04-31 00:00:00",
        "2023-13-01 00:00:00",
        "2023-00-10 00:00:00",
        "2023-01-00 00:00:00",
        "2023-08-15 24:00:00",
        "2023-08-15 23:60:00",
        "2023-08-15 23:59:60",
        "2023-08-15T14:30:45Z",
        "2023-08-15T14:30:45",
        "2023-08-15 14:30:45Z",
        "2023-08-15 14:30",
        "2023-08-15",
        "2023-8-15 14:30:45",
        "2023-08-15  14:30:45",
        " 2023-08-15 14:30:45",
        "2023-08-15 14:30:45.000",
        "２０２３-08-15 14:30:45",
        "1692109845",
        "",
        "yesterday",
      ];
      for (const bad of malformed) {
        it(`rejects ${JSON.stringify(bad)} with 5002 naming the parameter`, async () => {
          await expectBadParameter({ ...PAGE, query_start_time: bad }, "query_start_time", "5002");
          await expectBadParameter({ ...PAGE, query_end_time: bad }, "query_end_time", "5002");
        });
      }

      it("rejects an end before the start with 5004", async () => {
        await expectBadParameter(
          {
            ...PAGE,
            query_start_time: "2024-03-01 10:00:01",
            query_end_time: "2024-03-01 10:00:00",
          },
          "query_end_time",
          "5004",
        );
      });
    });

    describe("pool_scene_tag / poolSceneTag", () => {
      for (const tag of ["CLOUD_APP", "CLOUD_PHONE"] as const) {
        it(`filters ${tag} under either spelling, or both when they agree`, async () => {
          const q = { ...pageOf(), pool_scene_tag: tag };
          const snake = await expectReference(q);
          expect(snake.total_count).toBeGreaterThan(0);
          expect(snake.total_count).toBeLessThan(catalog.instances.length);
          await expectReference(q, { ...PAGE, poolSceneTag: tag });
          await expectReference(q, { ...PAGE, pool_scene_tag: tag, poolSceneTag: tag });
        });
      }

      it("rejects the two spellings disagreeing", async () => {
        await expectBadParameter(
          { ...PAGE, pool_scene_tag: "CLOUD_APP", poolSceneTag: "CLOUD_PHONE" },
          "poolSceneTag",
        );
      });

      for (const bad of ["cloud_app", "CLOUD", "", "CLOUD_APP ", "CLOUD_PHONE,CLOUD_APP"]) {
        it(`rejects ${JSON.stringify(bad)} under either spelling`, async () => {
          await expectBadParameter({ ...PAGE, pool_scene_tag: bad }, "pool_scene_tag");
          await expectBadParameter({ ...PAGE, poolSceneTag: bad }, "poolSceneTag");
        });
      }
    });

    describe("pool_name", () => {
      it("matches the pool's name exactly", async () => {
        for (const pool of ["apps", "phones", "edge"]) {
          const body = await expectReference({ ...pageOf(), pool_name: pool });
          expect(body.total_count).toBeGreaterThan(0);
        }
        for (const other of ["Edge", "edg", "edge ", "%", "nope"]) {
          expect(expectPage(await get({ ...PAGE, pool_name: other })).total_count).toBe(0);
        }
        await expectBadParameter({ ...PAGE, pool_name: "" }, "pool_name");
      });
    });

    describe("order and order_by", () => {
      for (const order of ["asc", "desc"] as const) {
        for (const orderBy of ["create_time", "instance_name", "instance_id"] as const) {
          it(`orders by ${orderBy} ${order}, ties on instance_id the same way`, async () => {
            const body = await expectReference({ ...pageOf(), order, order_by: orderBy });
            expect(body.data.result).toHaveLength(100);
          });
        }
      }

      it("defaults to create_time asc, then instance_id asc", async () => {
        const body = expectPage(await get(PAGE));
        const explicit = expectPage(await get({ ...PAGE, order: "asc", order_by: "create_time" }));
        expect(body.data.result).toEqual(explicit.data.result);
        await expectReference(pageOf(), PAGE);
        // Equal creation times exist, so the tie-break is exercised.
        const rows = body.data.result;
        const ties = rows.filter(
          (r, k) => k > 0 && created(r.instance_id) === created(rows[k - 1]?.instance_id ?? ""),
        );
        expect(ties.length).toBeGreaterThan(5);
        for (let k = 1; k < rows.length; k++) {
          const [a, b] = [rows[k - 1], rows[k]];
          if (!a || !b) continue;
          if (created(a.instance_id) === created(b.instance_id))
            expect(
              Buffer.compare(Buffer.from(a.instance_id), Buffer.from(b.instance_id)),
            ).toBeLessThan(0);
        }
      });

      for (const [name, bad] of [
        ["order", "ASC"],
        ["order", "ascending"],
        ["order", ""],
        ["order_by", "name"],
        ["order_by", "create_time "],
        ["order_by", "CREATE_TIME"],
        ["order_by", ""],
      ] as const) {
        it(`rejects ${name}=${JSON.stringify(bad)}`, async () => {
          await expectBadParameter({ ...PAGE, [name]: bad }, name);
        });
      }
    });

    describe("repeated and unknown parameters", () => {
      const once: Record<string, string> = {
        page_no: "1",
        page_size: "10",
        instance_id: "abcdefgh",
        instance_name: "CCTEST",
        query_start_time: "2024-01-01 00:00:00",
        query_end_time: "2025-01-01 00:00:00",
        pool_scene_tag: "CLOUD_PHONE",
        poolSceneTag: "CLOUD_PHONE",
        pool_name: "phones",
        order: "asc",
        order_by: "create_time",
      };
      for (const key of Object.keys(once)) {
        it(`rejects ${key} given twice, even with the same value`, async () => {
          const value = once[key] ?? "";
          await expectBadParameter({ ...PAGE, [key]: [value, value] }, key);
        });
      }

      it("ignores unknown parameters", async () => {
        const plain = expectPage(await get({ page_no: "1", page_size: "20" }));
        const extra = expectPage(
          await get("page_no=1&page_size=20&foo=bar&Page_No=x&callback=y&foo=again&=z&__proto__=1"),
        );
        expect(extra).toEqual(plain);
      });

      describe("strict mode", () => {
        const strict = (params: Params | string, headers: Record<string, string> = {}) =>
          batchQuery(strictApp, token, params, headers);

        it("rejects an unknown parameter, naming it", async () => {
          const res = await strict({ ...PAGE, "x-request-id": "r1", callback: "y" });
          expect(expectError(res, 400, "KOOPHONE.API.1000").error_msg).toContain("callback");
        });

        it("answers a missing x-request-id with 0002", async () => {
          const res = await strict(PAGE);
          const body = expectError(res, 400, "KOOPHONE.API.0002");
          expect(body.error_msg).toBe("missing request header 'x-request-id'");
        });

        it("answers known parameters with an id in the query or the header", async () => {
          const q = expectPage(await strict({ ...PAGE, "x-request-id": "strict-1" }));
          const h = expectPage(await strict(PAGE, { "x-request-id": "strict-2" }));
          expect(q).toEqual(h);
          expect(q.total_count).toBe(catalog.instances.length);
        });
      });
    });

    it("the parameters of the reference page's example request work as given", async () => {
      const res = await app.inject({
        url: `${BATCH}?page_no=1&page_size=200&poolSceneTag=CLOUD_PHONE`,
        headers: { "x-auth-token": token },
      });
      const body = expectPage(res);
      expect(body.page_size).toBe(100);
      expect(body.data.result.every((r) => sceneOf(r.instance_id) === "CLOUD_PHONE")).toBe(true);
    });

    function pageOf(): RefQuery {
      return { page_no: 1, page_size: 100 };
    }
    function created(instanceId: string): string {
      return catalog.instances.find((i) => i.wire.instance_id === instanceId)?.created_at ?? "";
    }
    function sceneOf(instanceId: string): string {
      return catalog.instances.find((i) => i.wire.instance_id === instanceId)?.scene_tag ?? "";
    }
  });
}

function swapCase(text: string): string {
  return [...text].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join("");
}
