/**
 * Errors of spec/batch-query.md: the gateway's 401 and 429, the KooPhone codes, the exact body,
 * the order of checks (token → tenant → subscription → rate → parameters → permission) and the
 * `--error-status http200` transport.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { deleteTenant, updateTenant } from "../src/operator/tenants.js";
import { revokeToken } from "../src/operator/users.js";
import {
  batchQuery,
  expectError,
  expectPage,
  expiredToken,
  type Params,
  userWithToken,
} from "./helpers/api.js";
import { seedCatalog } from "./helpers/catalog.js";
import { makeTenant, testConfig, tokenFor } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const PAGE = { page_no: "1", page_size: "10" };
const BAD = { page_no: "abc", page_size: "10" };

for (const factory of STORES) {
  describe(`batch-query errors (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let http200: FastifyInstance;
    const tokens = {
      admin: "",
      noGrants: "",
      member: "",
      expired: "",
      revoked: "",
      deleted: "",
      unsubscribed: "",
      throttled: "",
      throttledBad: "",
      unsubscribedSlow: "",
      deletedRevoked: "",
      unsubscribedNoGrants: "",
    };
    let ungrantedInstance = "";

    beforeAll(async () => {
      ctx = await factory.create();
      const { store } = ctx;
      const catalog = await seedCatalog(store, "acme", "ee", 12);
      const acme = catalog.tenant;
      const [p0, p1] = acme.projects;
      if (!p0 || !p1) throw new Error("catalog without projects");
      tokens.admin = acme.adminToken;
      tokens.noGrants = await tokenFor(store, acme.tenantId, { name: "nobody", role: "member" });
      tokens.member = await tokenFor(store, acme.tenantId, {
        name: "m0",
        role: "member",
        project_ids: [p0.project_id],
      });
      ungrantedInstance =
        catalog.instances.find((i) => i.wire.project_id === p1.project_id)?.wire.instance_id ?? "";
      const old = await userWithToken(store, acme.tenantId, { name: "old", role: "admin" });
      tokens.expired = await expiredToken(store, old.userId);
      tokens.revoked = old.token;
      await revokeToken(store, old.tokenId);

      const gone = await makeTenant(store, "gone", 1);
      tokens.deleted = gone.adminToken;
      const goneRevoked = await userWithToken(store, gone.tenantId, { name: "r", role: "admin" });
      tokens.deletedRevoked = goneRevoked.token;
      await revokeToken(store, goneRevoked.tokenId);
      await updateTenant(store, gone.tenantId, { subscribed: false });
      await deleteTenant(store, gone.tenantId);

      const nosub = await makeTenant(store, "nosub", 1);
      tokens.unsubscribed = nosub.adminToken;
      tokens.unsubscribedNoGrants = await tokenFor(store, nosub.tenantId, {
        name: "nobody",
        role: "member",
      });
      await updateTenant(store, nosub.tenantId, { subscribed: false });

      const slow = await makeTenant(store, "slow", 1);
      tokens.throttled = slow.adminToken;
      await updateTenant(store, slow.tenantId, { rate_limit: 2 });
      const slowBad = await makeTenant(store, "slow-bad", 1);
      tokens.throttledBad = slowBad.adminToken;
      await updateTenant(store, slowBad.tenantId, { rate_limit: 2 });
      const slowNosub = await makeTenant(store, "slow-nosub", 1);
      tokens.unsubscribedSlow = slowNosub.adminToken;
      await updateTenant(store, slowNosub.tenantId, { rate_limit: 1, subscribed: false });

      app = await buildApp({ config: testConfig(), store });
      http200 = await buildApp({ config: testConfig({ errorStatus: "http200" }), store });
    });
    afterAll(async () => {
      await app?.close();
      await http200?.close();
      await ctx?.dispose();
    });

    const get = (token: string | undefined, params: Params | string = PAGE) =>
      batchQuery(app, token, params);

    describe("401 APIGW.0301", () => {
      const cases: [string, () => string | undefined, RegExp][] = [
        ["missing", () => undefined, /missing/i],
        ["empty", () => "", /missing/i],
        ["unknown", () => "pf_not-a-real-token-000000000000000000000000000", /unknown/i],
        ["expired", () => tokens.expired, /expired/i],
        ["revoked", () => tokens.revoked, /revoked/i],
      ];
      for (const [name, token, says] of cases) {
        it(`answers a ${name} token, saying so without echoing it`, async () => {
          const value = token();
          const res = await get(value);
          const body = expectError(res, 401, "APIGW.0301");
          expect(body.error_msg).toMatch(says);
          if (value) expect(res.body).not.toContain(value);
        });
        it(`answers a ${name} token before looking at parameters`, async () => {
          const value = token();
          expectError(await get(value, BAD), 401, "APIGW.0301");
        });
      }

      it("ignores an Authorization header when the token is valid (SDKs always send one)", async () => {
        const res = await batchQuery(app, tokens.admin, PAGE, {
          authorization: "SDK-HMAC-SHA256 Access=nope, SignedHeaders=host, Signature=00",
        });
        expect(expectPage(res).total_count).toBe(12);
      });
    });

    describe("order of checks", () => {
      it("deleted tenant → 500 KOOPHONE.API.0000, before parameters", async () => {
        const body = expectError(await get(tokens.deleted), 500, "KOOPHONE.API.0000");
        expect(body.error_msg).not.toContain(tokens.deleted);
        expectError(await get(tokens.deleted, BAD), 500, "KOOPHONE.API.0000");
      });

      it("a revoked token of a deleted tenant → 401: the token comes first", async () => {
        expectError(await get(tokens.deletedRevoked), 401, "APIGW.0301");
      });

      it("a deleted tenant that had also unsubscribed → 0000: existence before subscription", async () => {
        expectError(await get(tokens.deleted), 500, "KOOPHONE.API.0000");
      });

      it("unsubscribed tenant → 400 KOOPHONE.API.1004, before parameters and permission", async () => {
        expectError(await get(tokens.unsubscribed), 400, "KOOPHONE.API.1004");
        expectError(await get(tokens.unsubscribed, BAD), 400, "KOOPHONE.API.1004");
        expectError(await get(tokens.unsubscribedNoGrants), 400, "KOOPHONE.API.1004");
        expectError(await get(tokens.unsubscribedNoGrants, BAD), 400, "KOOPHONE.API.1004");
      });

      it("unsubscribed comes before the rate limit", async () => {
        const answers = await Promise.all(
          Array.from({ length: 8 }, () => get(tokens.unsubscribedSlow)),
        );
        for (const res of answers) expectError(res, 400, "KOOPHONE.API.1004");
      });

      it("rate limit → 429 APIGW.0308 with Retry-After, per tenant", async () => {
        const answers = await Promise.all(Array.from({ length: 12 }, () => get(tokens.throttled)));
        const refused = answers.filter((res) => res.statusCode === 429);
        expect(refused.length).toBeGreaterThanOrEqual(1);
        expect(answers.filter((res) => res.statusCode === 200).length).toBeLessThanOrEqual(4);
        for (const res of refused) {
          expectError(res, 429, "APIGW.0308");
          expect(res.headers["retry-after"]).toMatch(/^[1-9][0-9]*$/);
        }
        // Another tenant, right now, is unaffected.
        expectPage(await get(tokens.admin));
      });

      it("rate limit comes before parameters", async () => {
        const answers = await Promise.all(
          Array.from({ length: 12 }, () => get(tokens.throttledBad, BAD)),
        );
        for (const res of answers) expect([400, 429]).toContain(res.statusCode);
        expect(answers.some((res) => res.statusCode === 429)).toBe(true);
        for (const res of answers.filter((r) => r.statusCode === 429))
          expectError(res, 429, "APIGW.0308");
      });

      it("parameters come before permission", async () => {
        expectError(await get(tokens.noGrants, BAD), 400, "KOOPHONE.API.1000");
        expectError(
          await get(tokens.noGrants, { ...PAGE, query_start_time: "2023-02-30 00:00:00" }),
          400,
          "KOOPHONE.API.5002",
        );
        expectError(await get(tokens.noGrants), 400, "KOOPHONE.API.1001");
        expectError(
          await get(tokens.member, {
            page_no: "0",
            page_size: "1",
            instance_id: ungrantedInstance,
          }),
          400,
          "KOOPHONE.API.1000",
        );
        expectError(
          await get(tokens.member, { ...PAGE, instance_id: ungrantedInstance }),
          400,
          "KOOPHONE.API.1001",
        );
      });
    });

    describe("--error-status http200", () => {
      const cases: [string, () => string | undefined, Params, number, string][] = [
        ["bad parameter", () => tokens.admin, BAD, 400, "KOOPHONE.API.1000"],
        [
          "bad time",
          () => tokens.admin,
          { ...PAGE, query_end_time: "2023-08-15T14:30:45Z" },
          400,
          "KOOPHONE.API.5002",
        ],
        [
          "end before start",
          () => tokens.admin,
          {
            ...PAGE,
            query_start_time: "2024-01-02 00:00:00",
            query_end_time: "2024-01-01 00:00:00",
          },
          400,
          "KOOPHONE.API.5004",
        ],
        ["no grants", () => tokens.noGrants, PAGE, 400, "KOOPHONE.API.1001"],
        ["unsubscribed", () => tokens.unsubscribed, PAGE, 400, "KOOPHONE.API.1004"],
        ["deleted tenant", () => tokens.deleted, PAGE, 500, "KOOPHONE.API.0000"],
        ["missing token", () => undefined, PAGE, 401, "APIGW.0301"],
        ["revoked token", () => tokens.revoked, PAGE, 401, "APIGW.0301"],
      ];
      for (const [name, token, params, seedStatus, code] of cases) {
        const kooPhone = code.startsWith("KOOPHONE.API.");
        it(`${name}: ${code} with ${kooPhone ? "HTTP 200" : `HTTP ${seedStatus} still`}, same body`, async () => {
          const seed = await batchQuery(app, token(), params);
          const moved = await batchQuery(http200, token(), params);
          const seedBody = expectError(seed, seedStatus, code);
          const movedBody = expectError(moved, kooPhone ? 200 : seedStatus, code);
          expect(movedBody).toEqual(seedBody);
        });
      }

      it("keeps 429 a 429", async () => {
        const answers = await Promise.all(
          Array.from({ length: 12 }, () => batchQuery(http200, tokens.throttled, PAGE)),
        );
        const refused = answers.filter((res) => res.statusCode === 429);
        expect(refused.length).toBeGreaterThanOrEqual(1);
        for (const res of refused) expectError(res, 429, "APIGW.0308");
        for (const res of answers) expect([200, 429]).toContain(res.statusCode);
        for (const res of answers.filter((r) => r.statusCode === 200)) expectPage(res);
      });

      it("answers pages as usual", async () => {
        expect(expectPage(await batchQuery(http200, tokens.admin, PAGE)).total_count).toBe(12);
      });

      it("keeps the gateway's 404 for unknown routes", async () => {
        const res = await http200.inject({ url: "/v1/instances/nope" });
        expectError(res, 404, "APIGW.0101");
      });
    });
  });
}
