/**
 * Access keys through the admin API (spec/operator.md): POST /admin/v1/users/{user_id}/access-keys
 * → 201 {access_key, secret_key} (the secret shown once, stored only sealed), DELETE
 * /admin/v1/access-keys/{access_key} → 204, and the effect on the very next signed tenant request.
 * Without PHONEFLEET_SECRET_KEY the server key lives in a file beside the SQLite database, so a
 * restarted server still verifies keys issued before.
 */
import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { stringify } from "node:querystring";
import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core";
import { AKSKSigner } from "@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import type { Config } from "../src/config.js";
import { deleteTenant } from "../src/operator/tenants.js";
import {
  ADMIN,
  ADMIN_KEY,
  bad,
  call,
  databaseContents,
  expectAdminError,
  missing,
  ok,
} from "./admin-helpers.js";
import { BATCH, expectError, expectPage, logCollector } from "./helpers/api.js";
import { makeTenant, testConfig } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

interface Issued {
  access_key: string;
  secret_key: string;
  user_id: string;
  created_at: string;
}

/** GET batch-query signed with the SDK's signer, sent through inject. */
function signedQuery(app: FastifyInstance, key: Issued): Promise<LightMyRequestResponse> {
  const query = { page_no: "1", page_size: "10" };
  const headers = AKSKSigner.sign(
    {
      endpoint: `http://localhost:80${BATCH}`,
      method: "GET",
      headers: { "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD" },
      queryParams: query,
    } as never,
    new BasicCredentials().withAk(key.access_key).withSk(key.secret_key),
  ) as Record<string, string>;
  return app.inject({ method: "GET", url: `${BATCH}?${stringify(query)}`, headers });
}

for (const factory of STORES) {
  describe(`admin access keys (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let config: Config;
    let app: FastifyInstance;
    const logs = logCollector();
    let tenant: Awaited<ReturnType<typeof makeTenant>>;
    let userId = "";

    beforeAll(async () => {
      ctx = await factory.create();
      // SQLite: no server key configured, so the key file beside the database is used.
      // PostgreSQL has no "beside": the key must be configured.
      config = testConfig({
        adminKey: ADMIN_KEY,
        databaseUrl: ctx.url,
        logLevel: "info",
        secretKey: factory.name === "sqlite" ? undefined : randomBytes(32),
      });
      app = await buildApp({ config, store: ctx.store, logStream: logs.stream });
      tenant = await makeTenant(ctx.store, "acme", 1);
      const user = ok<{ user_id: string }>(
        await call(app, "POST", `/admin/v1/tenants/${tenant.tenantId}/users`, {
          name: "robot",
          role: "admin",
        }),
        201,
      );
      userId = user.user_id;
    });
    afterAll(async () => {
      await app.close();
      await ctx.dispose();
    });

    const issue = async (user = userId, body?: unknown) =>
      call(app, "POST", `/admin/v1/users/${user}/access-keys`, body);

    it("issues a pair: 201 {access_key, secret_key, user_id, created_at}, not cached", async () => {
      const res = await issue();
      const key = ok<Issued>(res, 201);
      expect(Object.keys(key).sort()).toEqual([
        "access_key",
        "created_at",
        "secret_key",
        "user_id",
      ]);
      expect(key.access_key).toMatch(/^[A-Z0-9]{20}$/);
      expect(key.secret_key).toMatch(/^[A-Za-z0-9]{40}$/);
      expect(key.user_id).toBe(userId);
      expect(Math.abs(Date.parse(key.created_at) - Date.now())).toBeLessThan(60_000);
      expect(res.headers["cache-control"]).toBe("no-store");
      // An empty JSON body is the same as none.
      expect(ok<Issued>(await issue(userId, {}), 201).access_key).not.toBe(key.access_key);
    });

    it("issues a key that signs tenant requests as its user, until it is revoked", async () => {
      const key = ok<Issued>(await issue(), 201);
      expectPage(await signedQuery(app, key));
      const revoked = await call(app, "DELETE", `/admin/v1/access-keys/${key.access_key}`);
      expect(revoked.statusCode).toBe(204);
      expect(revoked.body).toBe("");
      const res = await signedQuery(app, key);
      expectError(res, 401, "APIGW.0301");
      expect(res.json().error_msg).toMatch(/revoked/);
      missing(
        await call(app, "DELETE", `/admin/v1/access-keys/${key.access_key}`),
        "no active access key",
      );
    });

    it("shows the secret once: not in the logs, not in the database", async () => {
      const key = ok<Issued>(await issue(), 201);
      await signedQuery(app, key);
      expect(logs.raw.join("\n")).toContain("adminIssueAccessKey");
      expect(logs.raw.join("\n")).not.toContain(key.secret_key);
      const stored = await databaseContents(ctx.store, ctx.url);
      expect(stored).toContain(key.access_key);
      expect(stored).not.toContain(key.secret_key);
    });

    it("answers 404 for an unknown user or key, 400 naming the field for malformed ones", async () => {
      missing(await issue("0".repeat(32)), "no user");
      bad(await issue("not-a-user-id"), "user_id");
      bad(await issue(userId, { user_id: userId }), 'unknown field "user_id"');
      bad(await issue(userId, { secret_key: "mine" }), 'unknown field "secret_key"');
      missing(await call(app, "DELETE", "/admin/v1/access-keys/AAAAAAAAAAAAAAAAAAAA"));
      bad(await call(app, "DELETE", "/admin/v1/access-keys/not-a-key!"), "access_key");
    });

    it("does not issue keys to a user of a deleted tenant", async () => {
      const gone = await makeTenant(ctx.store, "gone", 1);
      const user = ok<{ user_id: string }>(
        await call(app, "POST", `/admin/v1/tenants/${gone.tenantId}/users`, {
          name: "ghost",
          role: "admin",
        }),
        201,
      );
      await deleteTenant(ctx.store, gone.tenantId);
      missing(await issue(user.user_id));
    });

    it("refuses every caller without the operator key", async () => {
      const key = ok<Issued>(await issue(), 201);
      const signed = (await signedQuery(app, key)).statusCode;
      expect(signed).toBe(200);
      const routes = [
        ["POST", `/admin/v1/users/${userId}/access-keys`],
        ["DELETE", `/admin/v1/access-keys/${key.access_key}`],
      ] as const;
      for (const [method, url] of routes) {
        for (const headers of [
          {},
          { authorization: "Bearer wrong-key-wrong-key-wrong" },
          { authorization: `Bearer ${tenant.adminToken}` },
          { "x-auth-token": tenant.adminToken },
          { "x-auth-token": ADMIN_KEY },
          {
            authorization: `SDK-HMAC-SHA256 Access=${key.access_key}, SignedHeaders=host, Signature=${"0".repeat(64)}`,
          },
        ]) {
          const res = await app.inject({ method, url, headers });
          expectAdminError(res, 401, "ADMIN.UNAUTHORIZED");
        }
      }
      // Nothing was revoked by those attempts.
      expectPage(await signedQuery(app, key));
      // And the operator key is not a tenant credential.
      const asTenant = await app.inject({
        method: "GET",
        url: `${BATCH}?page_no=1&page_size=1`,
        headers: ADMIN,
      });
      expectError(asTenant, 401, "APIGW.0301");
    });

    it("has no access-key routes without PHONEFLEET_ADMIN_KEY", async () => {
      const keyless = await buildApp({
        config: { ...config, adminKey: undefined, logLevel: "silent" },
        store: ctx.store,
      });
      try {
        const res = await keyless.inject({
          method: "POST",
          url: `/admin/v1/users/${userId}/access-keys`,
          headers: ADMIN,
        });
        expect(res.statusCode).toBe(404);
      } finally {
        await keyless.close();
      }
    });

    it("verifies keys issued before a restart (same server key)", async () => {
      const key = ok<Issued>(await issue(), 201);
      if (factory.name === "sqlite") {
        const file = `${ctx.url}.secret-key`;
        expect(existsSync(file)).toBe(true);
        expect(statSync(file).mode & 0o777).toBe(0o600);
      }
      const restarted = await buildApp({
        config: { ...config, logLevel: "silent" },
        store: ctx.store,
      });
      try {
        expectPage(await signedQuery(restarted, key));
      } finally {
        await restarted.close();
      }
      // A server started with another key cannot open the secret: a server fault, logged, and
      // no tenant is let in.
      const rekeyed = await buildApp({
        config: { ...config, secretKey: randomBytes(32), logLevel: "silent" },
        store: ctx.store,
      });
      try {
        expectError(await signedQuery(rekeyed, key), 500, "KOOPHONE.API.9999");
      } finally {
        await rekeyed.close();
      }
    });

    it("tells the operator what to configure when there is no server key (PostgreSQL)", async () => {
      const pgConfig = {
        ...config,
        databaseUrl: "postgres://nobody@127.0.0.1:1/none",
        logLevel: "silent",
        secretKey: undefined,
      };
      const unkeyed = await buildApp({ config: pgConfig, store: ctx.store });
      try {
        const res = await unkeyed.inject({
          method: "POST",
          url: `/admin/v1/users/${userId}/access-keys`,
          headers: ADMIN,
        });
        expectAdminError(res, 503, "ADMIN.NOT_CONFIGURED", "PHONEFLEET_SECRET_KEY");
      } finally {
        await unkeyed.close();
      }
    });
  });
}
