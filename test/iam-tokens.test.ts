/**
 * POST /v3/auth/tokens (spec/operator.md "IAM-compatible token endpoint"): IAM's password body →
 * 201, X-Subject-Token, IAM's body; the token works on the tenant API; every wrong part gets the
 * same 401; repeated failures per account or per address are refused (429 + Retry-After) before
 * a password is checked; malformed bodies are 400s naming the field.
 */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { FailureCountingThrottle } from "../src/limits/login-throttle.js";
import { deleteTenant, updateTenant } from "../src/operator/tenants.js";
import { createUser } from "../src/operator/users.js";
import { BATCH, batchQuery, expectError, expectPage, logCollector } from "./helpers/api.js";
import { makeTenant, testConfig } from "./helpers/fixtures.js";
import { hasRedis, REDIS_URL } from "./helpers/redis.js";
import { STORES, sqlite } from "./helpers/stores.js";

const PASSWORD = "correct horse battery staple";

interface Login {
  user: string;
  password: string;
  domain: string;
}

function passwordBody({ user, password, domain }: Login): unknown {
  return {
    auth: {
      identity: {
        methods: ["password"],
        password: { user: { name: user, password, domain: { name: domain } } },
      },
    },
  };
}

function postTokens(
  app: FastifyInstance,
  payload: unknown,
  remoteAddress = "192.0.2.1",
  contentType = "application/json;charset=utf8",
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: "POST",
    url: "/v3/auth/tokens",
    remoteAddress,
    headers: { "content-type": contentType },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
}

const login = (app: FastifyInstance, who: Login, address?: string) =>
  postTokens(app, passwordBody(who), address);

/** A throttle that never refuses, for tests about something else. */
const lenient = () =>
  new FailureCountingThrottle({ failuresPerAccount: 10_000, failuresPerAddress: 10_000 });

const IAM_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

for (const factory of STORES) {
  describe(`POST /v3/auth/tokens (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let acme: Awaited<ReturnType<typeof makeTenant>>;
    let aliceId = "";
    const alice: Login = { user: "alice", password: PASSWORD, domain: "acme" };

    beforeAll(async () => {
      ctx = await factory.create();
      const { store } = ctx;
      acme = await makeTenant(store, "acme", 1);
      aliceId = (
        await createUser(store, acme.tenantId, { name: "alice", role: "admin", password: PASSWORD })
      ).user_id;
      await createUser(store, acme.tenantId, { name: "nopass", role: "admin" });
      const globex = await makeTenant(store, "globex", 1);
      await createUser(store, globex.tenantId, { name: "bob", role: "admin", password: PASSWORD });
      const gone = await makeTenant(store, "gone", 1);
      await createUser(store, gone.tenantId, { name: "carol", role: "admin", password: PASSWORD });
      await deleteTenant(store, gone.tenantId);
      const nosub = await makeTenant(store, "nosub", 1);
      await createUser(store, nosub.tenantId, { name: "dan", role: "admin", password: PASSWORD });
      await updateTenant(store, nosub.tenantId, { subscribed: false });
    });
    afterAll(async () => {
      await ctx.dispose();
    });

    describe("success", () => {
      let app: FastifyInstance;
      const logs = logCollector();
      beforeAll(async () => {
        app = await buildApp({
          config: testConfig({ logLevel: "info" }),
          store: ctx.store,
          loginThrottle: lenient(),
          logStream: logs.stream,
        });
      });
      afterAll(async () => {
        await app.close();
      });

      it("answers 201 with the token in X-Subject-Token and IAM's body", async () => {
        const res = await login(app, alice);
        expect(res.statusCode, res.body).toBe(201);
        expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
        expect(res.headers["cache-control"]).toBe("no-store");
        const token = res.headers["x-subject-token"];
        expect(typeof token).toBe("string");
        expect(String(token).length).toBeGreaterThanOrEqual(43); // 32 random bytes, base64url
        const body = res.json();
        expect(Object.keys(body)).toEqual(["token"]);
        const t = body.token;
        expect(t.methods).toEqual(["password"]);
        expect(t.user).toEqual({
          id: aliceId,
          name: "alice",
          domain: { id: acme.tenantId, name: "acme" },
          password_expires_at: "",
        });
        expect(t.domain).toEqual({ id: acme.tenantId, name: "acme" });
        expect(t.catalog).toEqual([]);
        expect(t.issued_at).toMatch(IAM_TIME);
        expect(t.expires_at).toMatch(IAM_TIME);
        const lifetime = Date.parse(t.expires_at) - Date.parse(t.issued_at);
        expect(lifetime).toBe(testConfig().tokenTtlSeconds * 1000); // 24 h, like IAM
        expect(Math.abs(Date.parse(t.issued_at) - Date.now())).toBeLessThan(60_000);
        // The token is nowhere in the body, only in the header.
        expect(res.body).not.toContain(String(token));
      });

      it("issues a token that works as X-Auth-Token on the tenant API", async () => {
        const res = await login(app, alice);
        const token = String(res.headers["x-subject-token"]);
        expectPage(await batchQuery(app, token, { page_no: "1", page_size: "10" }));
        // Two logins are two distinct tokens.
        const again = String((await login(app, alice)).headers["x-subject-token"]);
        expect(again).not.toBe(token);
        expectPage(await batchQuery(app, again, { page_no: "1", page_size: "10" }));
      });

      it("takes IAM bodies with a scope and other content types (the SDK sends charset=UTF-8)", async () => {
        const body = passwordBody(alice) as { auth: Record<string, unknown> };
        body.auth.scope = { project: { name: "cn-north-4" } };
        expect((await postTokens(app, body, undefined, "application/json")).statusCode).toBe(201);
        expect((await postTokens(app, body, undefined, "text/plain")).statusCode).toBe(201);
      });

      it("logs in a user of an unsubscribed tenant, whose token then meets 1004", async () => {
        const res = await login(app, { user: "dan", password: PASSWORD, domain: "nosub" });
        expect(res.statusCode).toBe(201);
        const page = await batchQuery(app, String(res.headers["x-subject-token"]), {
          page_no: "1",
          page_size: "1",
        });
        expectError(page, 400, "KOOPHONE.API.1004");
      });

      it("never writes the password or the token to the log", async () => {
        const res = await login(app, alice);
        const token = String(res.headers["x-subject-token"]);
        await batchQuery(app, token, { page_no: "1", page_size: "1" });
        const text = logs.raw.join("\n");
        expect(text).toContain("createTokenByPassword");
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(token);
      });
    });

    describe("wrong credentials", () => {
      let app: FastifyInstance;
      beforeAll(async () => {
        app = await buildApp({ config: testConfig(), store: ctx.store, loginThrottle: lenient() });
      });
      afterAll(async () => {
        await app.close();
      });

      const cases: [string, Login][] = [
        ["wrong password", { ...alice, password: "wrong password!" }],
        ["password of another case", { ...alice, password: PASSWORD.toUpperCase() }],
        ["unknown user", { ...alice, user: "mallory" }],
        ["user name of another case", { ...alice, user: "Alice" }],
        ["unknown domain", { ...alice, domain: "initech" }],
        ["another tenant's domain", { ...alice, domain: "globex" }],
        ["user of another tenant", { user: "bob", password: PASSWORD, domain: "acme" }],
        ["user without a password", { user: "nopass", password: PASSWORD, domain: "acme" }],
        ["deleted tenant", { user: "carol", password: PASSWORD, domain: "gone" }],
      ];

      it("answers every wrong part with the same 401 body, not saying which part", async () => {
        const bodies = new Set<string>();
        for (const [why, who] of cases) {
          const res = await login(app, who);
          const body = expectError(res, 401, "IAM.0001");
          expect(res.headers["x-subject-token"], why).toBeUndefined();
          expect(body.error_msg).not.toContain(who.password);
          bodies.add(res.body);
        }
        expect([...bodies]).toHaveLength(1);
        expect([...bodies][0]).toMatch(/user name, password or domain name is incorrect/);
      });

      it("spends about the same time whether or not the user exists (a dummy scrypt hash)", async () => {
        const time = async (who: Login) => {
          const runs: number[] = [];
          for (let i = 0; i < 5; i++) {
            const start = performance.now();
            expect((await login(app, who)).statusCode).toBe(401);
            runs.push(performance.now() - start);
          }
          return runs.sort((a, b) => a - b)[2] ?? 0; // median
        };
        const wrongPassword = await time({ ...alice, password: "wrong password!" });
        const unknownUser = await time({ ...alice, user: "mallory" });
        const unknownDomain = await time({ ...alice, domain: "initech" });
        // scrypt dominates (tens of ms): without the dummy hash an unknown user would answer in
        // well under a millisecond. Generous bounds: the machine is shared.
        expect(wrongPassword).toBeGreaterThan(5);
        for (const other of [unknownUser, unknownDomain]) {
          expect(other / wrongPassword).toBeGreaterThan(0.4);
          expect(other / wrongPassword).toBeLessThan(2.5);
        }
      });
    });

    describe("throttling", () => {
      let app: FastifyInstance;
      beforeAll(async () => {
        // The shipped defaults: 5 failures per account, 20 per address, in 15 minutes.
        app = await buildApp({ config: testConfig(), store: ctx.store });
      });
      afterAll(async () => {
        await app.close();
      });

      function expectThrottled(res: LightMyRequestResponse): void {
        expectError(res, 429, "APIGW.0308");
        const retry = Number(res.headers["retry-after"]);
        expect(Number.isInteger(retry)).toBe(true);
        expect(retry).toBeGreaterThan(0);
        expect(retry).toBeLessThanOrEqual(15 * 60);
        expect(res.headers["x-subject-token"]).toBeUndefined();
      }

      it("refuses an account after 5 failures, from any address, even with the right password", async () => {
        const bob = { user: "bob", password: PASSWORD, domain: "globex" };
        for (let i = 0; i < 5; i++) {
          const res = await login(app, { ...bob, password: `guess ${i}` }, `198.51.100.${i}`);
          expectError(res, 401, "IAM.0001");
        }
        expectThrottled(await login(app, { ...bob, password: "guess 5" }, "198.51.100.50"));
        expectThrottled(await login(app, bob, "198.51.100.51"));
        // Other accounts, from the same addresses, are unaffected.
        expect((await login(app, alice, "198.51.100.0")).statusCode).toBe(201);
      });

      it("throttles unknown accounts exactly like real ones (no way to tell them apart)", async () => {
        const ghost = { user: "ghost", password: "nope nope", domain: "acme" };
        for (let i = 0; i < 5; i++) {
          expectError(await login(app, ghost, `203.0.113.${i}`), 401, "IAM.0001");
        }
        expectThrottled(await login(app, ghost, "203.0.113.99"));
      });

      it("refuses an address after 20 failures, whichever accounts they tried", async () => {
        const address = "192.0.2.77";
        for (let i = 0; i < 20; i++) {
          const res = await login(
            app,
            { user: `spray${i}`, password: PASSWORD, domain: "acme" },
            address,
          );
          expectError(res, 401, "IAM.0001");
        }
        expectThrottled(
          await login(app, { user: "spray-new", password: "x", domain: "acme" }, address),
        );
        // The right password from that address is refused too; from elsewhere it works.
        expectThrottled(await login(app, alice, address));
        expect((await login(app, alice, "192.0.2.78")).statusCode).toBe(201);
      });

      it("counts parallel guesses before checking them: a burst of 12 gets exactly 5 tries", async () => {
        await createUser(ctx.store, acme.tenantId, {
          name: "erin",
          role: "member",
          password: PASSWORD,
        });
        const burst = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            login(app, { user: "erin", password: `parallel ${i}`, domain: "acme" }, `10.9.0.${i}`),
          ),
        );
        const statuses = burst.map((r) => r.statusCode).sort();
        expect(statuses.filter((s) => s === 401)).toHaveLength(5);
        expect(statuses.filter((s) => s === 429)).toHaveLength(7);
      });

      it("clears an account's failures when its password is right", async () => {
        await createUser(ctx.store, acme.tenantId, {
          name: "frank",
          role: "member",
          password: PASSWORD,
        });
        const frank = { user: "frank", password: PASSWORD, domain: "acme" };
        for (let round = 0; round < 2; round++) {
          for (let i = 0; i < 4; i++) {
            const res = await login(app, { ...frank, password: `typo ${i}` }, `10.8.${round}.${i}`);
            expectError(res, 401, "IAM.0001");
          }
          expect((await login(app, frank, `10.8.${round}.9`)).statusCode).toBe(201);
        }
      });
    });

    describe("malformed bodies", () => {
      let app: FastifyInstance;
      beforeAll(async () => {
        app = await buildApp({ config: testConfig(), store: ctx.store, loginThrottle: lenient() });
      });
      afterAll(async () => {
        await app.close();
      });

      const user = (patch: Record<string, unknown>) => ({
        auth: {
          identity: {
            methods: ["password"],
            password: {
              user: { name: "alice", password: PASSWORD, domain: { name: "acme" }, ...patch },
            },
          },
        },
      });

      const cases: [string, unknown, RegExp][] = [
        ["not JSON", '{"auth": ', /not valid JSON/],
        ["an empty body", "", /must be JSON/],
        ["a JSON array", "[]", /^body /],
        ["no auth", { identity: {} }, /body: missing field "auth"/],
        ["no identity", { auth: {} }, /body\.auth: missing field "identity"/],
        [
          "no methods",
          { auth: { identity: { password: user({}).auth.identity.password } } },
          /body\.auth\.identity: missing field "methods"/,
        ],
        [
          "a method other than password",
          { auth: { identity: { ...user({}).auth.identity, methods: ["token"] } } },
          /body\.auth\.identity\.methods must include "password"/,
        ],
        [
          "no user",
          { auth: { identity: { methods: ["password"], password: {} } } },
          /body\.auth\.identity\.password: missing field "user"/,
        ],
        [
          "no user name",
          user({ name: undefined }),
          /body\.auth\.identity\.password\.user: missing field "name"/,
        ],
        ["an empty user name", user({ name: "" }), /body\.auth\.identity\.password\.user\.name /],
        ["a 65-character user name", user({ name: "u".repeat(65) }), /\.user\.name /],
        ["a numeric password", user({ password: 12345678 }), /\.user\.password /],
        ["no password", user({ password: undefined }), /\.user: missing field "password"/],
        ["no domain", user({ domain: undefined }), /\.user: missing field "domain"/],
        [
          "a domain without a name",
          user({ domain: { id: "x" } }),
          /\.user\.domain: missing field "name"/,
        ],
      ];

      for (const [why, payload, message] of cases) {
        it(`answers 400 IAM.0007 to ${why}, naming the field`, async () => {
          const res = await postTokens(app, payload);
          const body = expectError(res, 400, "IAM.0007");
          expect(body.error_msg).toMatch(message);
          expect(body.error_msg).not.toContain(PASSWORD);
        });
      }

      it("answers a body without a content type too", async () => {
        const res = await app.inject({ method: "POST", url: "/v3/auth/tokens" });
        expectError(res, 400, "IAM.0007");
      });

      it("does not take GET", async () => {
        const res = await app.inject({ method: "GET", url: "/v3/auth/tokens" });
        expect(res.statusCode).toBe(404);
        expect(BATCH).toBe("/v1/instances/batch-query");
      });
    });
  });
}

const redisUp = await hasRedis("login throttling across replicas");

describe.runIf(redisUp)("login throttling across replicas (REDIS_URL)", () => {
  let ctx: Awaited<ReturnType<typeof sqlite.create>>;
  const apps: FastifyInstance[] = [];
  // Counters live in Redis for 15 minutes: a name of its own keeps runs apart.
  const domain = `acme-${Math.random().toString(36).slice(2, 10)}`;

  beforeAll(async () => {
    ctx = await sqlite.create();
    const tenant = await makeTenant(ctx.store, domain, 1);
    await createUser(ctx.store, tenant.tenantId, {
      name: "alice",
      role: "admin",
      password: PASSWORD,
    });
    for (let i = 0; i < 2; i++) {
      const app = await buildApp({
        config: testConfig({ redisUrl: REDIS_URL }),
        store: ctx.store,
      });
      // The first tenant request waits for the replica's Redis connection.
      expectPage(await batchQuery(app, tenant.adminToken, { page_no: "1", page_size: "1" }));
      apps.push(app);
    }
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await ctx.dispose();
  });

  it("shares one failure count: 5 failures spread over two replicas lock the account on both", async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance];
    const alice = { user: "alice", password: "wrong", domain };
    for (let i = 0; i < 5; i++) {
      const res = await login(
        i % 2 === 0 ? a : b,
        { ...alice, password: `wrong ${i}` },
        `10.7.0.${i}`,
      );
      expectError(res, 401, "IAM.0001");
    }
    for (const app of [a, b]) {
      const res = await login(app, { ...alice, password: PASSWORD }, "10.7.0.99");
      expectError(res, 429, "APIGW.0308");
      expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    }
  });
});
