/**
 * Tokens, passwords and the operator key never appear in plain text in the logs (captured at
 * the most verbose level) or in the database (the SQLite file and its WAL byte for byte; every
 * row of every PostgreSQL table), whatever path they travel: admin API, tenant API, IAM login,
 * failures included.
 */
import { createHash } from "node:crypto";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { ADMIN, ADMIN_KEY, call, databaseContents, ok } from "./admin-helpers.js";
import { batchQuery } from "./helpers/api.js";
import { testConfig } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const FIRST_PASSWORD = "first-Password-7gq2";
const SECOND_PASSWORD = "second-Password-k81z";
const WRONG_PASSWORD = "wrong-Password-xx5m";
const GUESSED_KEY = "guessed-operator-key-0000";

for (const factory of STORES) {
  describe(`secrets at rest and in logs (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let logs = "";

    beforeAll(async () => {
      ctx = await factory.create();
      const logStream = new Writable({
        write(chunk, _encoding, done) {
          logs += chunk.toString();
          done();
        },
      });
      app = await buildApp({
        config: testConfig({ adminKey: ADMIN_KEY, logLevel: "trace" }),
        store: ctx.store,
        logStream,
      });
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    it("keeps every token, password and key out of the logs and the database", async () => {
      const tenant = ok(await call(app, "POST", "/admin/v1/tenants", { name: "secretive" }), 201);
      const url = (path: string) => `/admin/v1${path}`;
      // A refused body that carries a password: the error must not echo it.
      const refused = await call(app, "POST", url(`/tenants/${tenant.tenant_id}/users`), {
        name: "sam",
        role: "owner",
        password: WRONG_PASSWORD,
      });
      expect(refused.statusCode).toBe(400);
      expect(refused.body).not.toContain(WRONG_PASSWORD);

      const user = ok(
        await call(app, "POST", url(`/tenants/${tenant.tenant_id}/users`), {
          name: "sam",
          role: "admin",
          password: FIRST_PASSWORD,
        }),
        201,
      );
      ok(await call(app, "PATCH", url(`/users/${user.user_id}`), { password: SECOND_PASSWORD }));

      const issued = ok(await call(app, "POST", url(`/users/${user.user_id}/tokens`)), 201);
      const token = issued.token as string;
      expect((await batchQuery(app, token, { page_no: 1, page_size: 10 })).statusCode).toBe(200);
      expect((await call(app, "DELETE", url(`/tokens/${issued.token_id}`))).statusCode).toBe(204);
      expect((await batchQuery(app, token, { page_no: 1, page_size: 10 })).statusCode).toBe(401);

      // The IAM endpoint: a good and a bad password.
      const login = (password: string) =>
        app.inject({
          method: "POST",
          url: "/v3/auth/tokens",
          payload: {
            auth: {
              identity: {
                methods: ["password"],
                password: { user: { name: "sam", password, domain: { name: "secretive" } } },
              },
            },
          },
        });
      const good = await login(SECOND_PASSWORD);
      expect(good.statusCode, good.body).toBe(201);
      const iamToken = good.headers["x-subject-token"] as string;
      expect(iamToken.length).toBeGreaterThan(30);
      expect((await batchQuery(app, iamToken, { page_no: 1, page_size: 1 })).statusCode).toBe(200);
      expect((await login(WRONG_PASSWORD)).statusCode).toBe(401);

      // The operator key, right and wrong, and an admin call carrying a tenant token.
      expect(
        (
          await call(app, "GET", url("/tenants"), undefined, {
            authorization: `Bearer ${GUESSED_KEY}`,
          })
        ).statusCode,
      ).toBe(401);
      expect(
        (
          await call(app, "GET", url("/tenants"), undefined, {
            authorization: `Bearer ${iamToken}`,
          })
        ).statusCode,
      ).toBe(401);
      expect((await call(app, "GET", url("/tenants"), undefined, ADMIN)).statusCode).toBe(200);

      const secrets = {
        FIRST_PASSWORD,
        SECOND_PASSWORD,
        WRONG_PASSWORD,
        GUESSED_KEY,
        ADMIN_KEY,
        token,
        iamToken,
      };
      // The logs were written (one line per request, at least) and hold none of them.
      expect(logs.split("\n").filter((line) => line.includes('"request"')).length).toBeGreaterThan(
        10,
      );
      for (const [name, secret] of Object.entries(secrets)) {
        expect(logs.includes(secret), `${name} in the logs`).toBe(false);
      }
      // The database holds what it should (so the search looks in the right place) and none of
      // them: tokens only as SHA-256, passwords only as scrypt hashes.
      const stored = await databaseContents(ctx.store, ctx.url);
      expect(stored).toContain("secretive");
      expect(stored).toContain(createHash("sha256").update(token).digest("hex"));
      expect(stored).toMatch(/scrypt\$/);
      for (const [name, secret] of Object.entries(secrets)) {
        expect(stored.includes(secret), `${name} in the database`).toBe(false);
      }
    });
  });
}
