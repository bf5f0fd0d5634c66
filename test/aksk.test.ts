/**
 * AK/SK request signing on the tenant API (issue 3 item 5): requests signed by the official
 * SDK's signer (@huaweicloud/huaweicloud-sdk-core AKSKSigner, a client nobody here wrote) are
 * accepted as the key's user; every way a signature can be wrong answers 401 APIGW.0301 with
 * its own message; a valid X-Auth-Token wins over any Authorization header; the secret is
 * never stored in the clear.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { SecretBox, secretBoxFor } from "../src/auth/secret-box.js";
import { ConfigError, loadConfig } from "../src/config.js";
import {
  type IssuedAccessKey,
  issueAccessKey,
  revokeAccessKey,
} from "../src/operator/access-keys.js";
import { deleteTenant, updateTenant } from "../src/operator/tenants.js";
import { createUser } from "../src/operator/users.js";
import { BATCH, batchQuery, expectError, expectPage } from "./helpers/api.js";
import { addInstances, makeTenant, testConfig } from "./helpers/fixtures.js";
import { type Query, type Signed, signGet } from "./helpers/signing.js";
import { adminQuery, STORES } from "./helpers/stores.js";

const send = (app: FastifyInstance, { url, headers }: Signed) =>
  app.inject({ method: "GET", url, headers });

const PAGE: Query = { page_no: "1", page_size: "50" };

function expect401(res: LightMyRequestResponse, message: RegExp, secret?: string): void {
  const body = expectError(res, 401, "APIGW.0301");
  expect(body.error_msg).toMatch(/^Incorrect IAM authentication information: /);
  expect(body.error_msg).toMatch(message);
  if (secret) expect(res.body).not.toContain(secret);
}

/** Replaces one field of the Authorization header. */
function withAuthorization(signed: Signed, field: string, value: string): Signed {
  const authorization = (signed.headers.Authorization ?? "").replace(
    new RegExp(`${field}=[^,]+`),
    `${field}=${value}`,
  );
  return { ...signed, headers: { ...signed.headers, Authorization: authorization } };
}

for (const factory of STORES) {
  describe(`AK/SK signatures (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let acme: Awaited<ReturnType<typeof makeTenant>>;
    const secrets = SecretBox.ofKey(randomBytes(32));
    let adminKey: IssuedAccessKey;
    let memberKey: IssuedAccessKey;
    const instanceIds: Record<string, string> = {};

    beforeAll(async () => {
      ctx = await factory.create();
      const { store } = ctx;
      acme = await makeTenant(store, "acme", 2);
      const [p0, p1] = acme.projects;
      if (!p0 || !p1) throw new Error("no projects");
      await addInstances(store, acme.tenantId, [
        {
          instance_name: "CC TEST/ü+*",
          region: "cn-north-4",
          instance_sku: "s",
          project_id: p0.project_id,
          pool_name: "phones",
        },
        {
          instance_name: "other",
          region: "cn-north-4",
          instance_sku: "s",
          project_id: p1.project_id,
          pool_name: "phones",
        },
      ]);
      const admin = await createUser(store, acme.tenantId, { name: "ak-admin", role: "admin" });
      const member = await createUser(store, acme.tenantId, {
        name: "ak-member",
        role: "member",
        project_ids: [p0.project_id],
      });
      adminKey = await issueAccessKey(store, admin.user_id, secrets);
      memberKey = await issueAccessKey(store, member.user_id, secrets);
      app = await buildApp({ config: testConfig(), store, secrets });
      const page = expectPage(await batchQuery(app, acme.adminToken, PAGE));
      for (const row of page.data.result) instanceIds[row.instance_name] = row.instance_id;
    });
    afterAll(async () => {
      await app.close();
      await ctx.dispose();
    });

    it("issues Huawei-shaped pairs: a 20-character AK and a 40-character SK", () => {
      expect(adminKey.access_key).toMatch(/^[A-Z0-9]{20}$/);
      expect(adminKey.secret_key).toMatch(/^[A-Za-z0-9]{40}$/);
      expect(memberKey.access_key).not.toBe(adminKey.access_key);
    });

    it("accepts a request signed by the SDK's signer, as the key's user", async () => {
      const admin = expectPage(await send(app, signGet(adminKey, PAGE)));
      expect(admin.total_count).toBe(2);
      // The member's key sees what the member may see: its one granted project.
      const member = expectPage(await send(app, signGet(memberKey, PAGE)));
      expect(member.data.result.map((r) => r.instance_name)).toEqual(["CC TEST/ü+*"]);
    });

    it("agrees with the SDK on encoding: spaces, reserved and non-ASCII characters, x-request-id", async () => {
      const query = { ...PAGE, instance_name: "CC TEST/ü+*", "x-request-id": "req-1.a:b" };
      const res = await send(app, signGet(adminKey, query));
      const page = expectPage(res);
      expect(page.data.result.map((r) => r.instance_id)).toEqual([instanceIds["CC TEST/ü+*"]]);
      expect(res.headers["x-request-id"]).toBe("req-1.a:b");
      // Parameters in another order, and `+` for a space, are the same canonical query.
      const signed = signGet(adminKey, {
        page_size: "50",
        instance_name: "CC TEST/ü+*",
        page_no: "1",
      });
      const formEncoded = `${BATCH}?page_no=1&instance_name=CC+TEST%2f%C3%BC%2B*&page_size=50`;
      const page2 = expectPage(await send(app, { ...signed, url: formEncoded }));
      expect(page2.total_count).toBe(1);
    });

    it("ignores headers that were not signed", async () => {
      const signed = signGet(adminKey, PAGE);
      expectPage(
        await send(app, {
          ...signed,
          headers: { ...signed.headers, "user-agent": "x/1", "x-extra": "1" },
        }),
      );
    });

    it("rejects a tampered signature", async () => {
      const signed = signGet(adminKey, PAGE);
      const given = /Signature=([0-9a-f]+)/.exec(signed.headers.Authorization ?? "")?.[1] ?? "";
      const flipped = given.slice(0, -1) + (given.endsWith("0") ? "1" : "0");
      expect401(
        await send(app, withAuthorization(signed, "Signature", flipped)),
        /verify aksk signature fail$/,
        adminKey.secret_key,
      );
    });

    it("rejects a tampered query string", async () => {
      const signed = signGet(adminKey, PAGE);
      expect401(
        await send(app, { ...signed, url: `${BATCH}?page_no=1&page_size=51` }),
        /verify aksk signature fail/,
      );
      expect401(
        await send(app, { ...signed, url: `${signed.url}&instance_name=other` }),
        /verify aksk signature fail/,
      );
    });

    it("rejects a tampered signed header, or one dropped from the request", async () => {
      const signed = signGet(adminKey, PAGE, {
        "X-Project-Id": "0123456789abcdef0123456789abcdef",
      });
      expect(signed.headers.Authorization).toContain("x-project-id");
      expectPage(await send(app, signed));
      const changed = { ...signed.headers, "X-Project-Id": "ffffffffffffffffffffffffffffffff" };
      expect401(await send(app, { ...signed, headers: changed }), /verify aksk signature fail/);
      const { "X-Project-Id": _gone, ...dropped } = signed.headers;
      expect401(
        await send(app, { ...signed, headers: dropped }),
        /signed header "x-project-id" is missing/,
      );
    });

    it("rejects another method or path under the same signature", async () => {
      const signed = signGet(adminKey, PAGE);
      const head = await app.inject({ method: "HEAD", url: signed.url, headers: signed.headers });
      expect(head.statusCode).toBe(401);
    });

    it("rejects a signature made with the wrong secret key", async () => {
      const wrong = { access_key: adminKey.access_key, secret_key: memberKey.secret_key };
      expect401(
        await send(app, signGet(wrong, PAGE)),
        /verify aksk signature fail$/,
        memberKey.secret_key,
      );
    });

    it("rejects an unknown access key", async () => {
      const unknown = { access_key: "AAAAAAAAAAAAAAAAAAAA", secret_key: adminKey.secret_key };
      expect401(await send(app, signGet(unknown, PAGE)), /the access key does not exist$/);
    });

    it("rejects a revoked key, telling so only to a holder of its secret", async () => {
      const user = await createUser(ctx.store, acme.tenantId, {
        name: "ak-revoked",
        role: "admin",
      });
      const key = await issueAccessKey(ctx.store, user.user_id, secrets);
      expectPage(await send(app, signGet(key, PAGE)));
      await revokeAccessKey(ctx.store, key.access_key);
      expect401(await send(app, signGet(key, PAGE)), /the access key has been revoked$/);
      const guess = { access_key: key.access_key, secret_key: "x".repeat(40) };
      expect401(await send(app, signGet(guess, PAGE)), /verify aksk signature fail$/);
      await expect(revokeAccessKey(ctx.store, key.access_key)).rejects.toThrow(
        /no active access key/,
      );
    });

    it("requires X-Sdk-Date, signed, well-formed, within 15 minutes of the server's clock", async () => {
      const signed = signGet(adminKey, PAGE);
      const { "X-Sdk-Date": _date, ...undated } = signed.headers;
      expect401(
        await send(app, { ...signed, headers: undated }),
        /the X-Sdk-Date header is missing$/,
      );
      const iso = { ...signed.headers, "X-Sdk-Date": new Date().toISOString() };
      expect401(
        await send(app, { ...signed, headers: iso }),
        /X-Sdk-Date must be a UTC time written YYYYMMDDTHHMMSSZ$/,
      );
      const impossible = { ...signed.headers, "X-Sdk-Date": "20240230T101010Z" };
      expect401(await send(app, { ...signed, headers: impossible }), /YYYYMMDDTHHMMSSZ$/);
      const unsigned = withAuthorization(signed, "SignedHeaders", "host;x-sdk-content-sha256");
      expect401(await send(app, unsigned), /x-sdk-date must be one of the SignedHeaders$/);

      const minutes = (n: number) => new Date(Date.now() + n * 60_000);
      for (const offset of [-16, 16, -24 * 60]) {
        expect401(
          await send(app, signGet(adminKey, PAGE, {}, minutes(offset))),
          /more than 15 minutes away/,
        );
      }
      for (const offset of [-14, 14])
        expectPage(await send(app, signGet(adminKey, PAGE, {}, minutes(offset))));
    });

    it("rejects a malformed Authorization header", async () => {
      for (const authorization of [
        "SDK-HMAC-SHA256 garbage",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date",
        "SDK-HMAC-SHA256 Access=AK, SignedHeaders=Host, Signature=00",
        `SDK-HMAC-SHA256 Access=A K, SignedHeaders=host, Signature=${"0".repeat(64)}`,
      ]) {
        const res = await app.inject({
          method: "GET",
          url: `${BATCH}?page_no=1&page_size=1`,
          headers: { authorization },
        });
        expect401(res, /the Authorization header is not `SDK-HMAC-SHA256/);
      }
    });

    it("lets a valid X-Auth-Token win: any Authorization header is then ignored", async () => {
      for (const authorization of [
        "SDK-HMAC-SHA256 Access=NOPE, SignedHeaders=host, Signature=00",
        "Bearer whatever",
        signGet(memberKey, PAGE).headers.Authorization ?? "",
      ]) {
        const page = expectPage(await batchQuery(app, acme.adminToken, PAGE, { authorization }));
        expect(page.total_count).toBe(2); // the admin token's view, not the member key's
      }
      // A token present but not valid is judged alone: a valid signature does not rescue it.
      const signed = signGet(adminKey, PAGE);
      const res = await send(app, {
        ...signed,
        headers: { ...signed.headers, "X-Auth-Token": "pf_nope" },
      });
      expect401(res, /the token is unknown/);
    });

    it("keeps the order of checks for signed requests: 401 → 0000 → 1004 → 429", async () => {
      const make = async (name: string) => {
        const t = await makeTenant(ctx.store, name, 1);
        const u = await createUser(ctx.store, t.tenantId, { name: "u", role: "admin" });
        return { tenantId: t.tenantId, key: await issueAccessKey(ctx.store, u.user_id, secrets) };
      };
      const gone = await make("ak-gone");
      await deleteTenant(ctx.store, gone.tenantId);
      expectError(
        await send(app, signGet(gone.key, { page_no: "x", page_size: "1" })),
        500,
        "KOOPHONE.API.0000",
      );
      const nosub = await make("ak-nosub");
      await updateTenant(ctx.store, nosub.tenantId, { subscribed: false, rate_limit: 1 });
      for (let i = 0; i < 3; i++) {
        expectError(
          await send(app, signGet(nosub.key, { page_no: "x", page_size: "1" })),
          400,
          "KOOPHONE.API.1004",
        );
      }
      const slow = await make("ak-slow");
      await updateTenant(ctx.store, slow.tenantId, { rate_limit: 1 });
      expectPage(await send(app, signGet(slow.key, PAGE)));
      const throttled = await send(app, signGet(slow.key, { page_no: "x", page_size: "1" }));
      expectError(throttled, 429, "APIGW.0308");
      // A bad signature is still a 401 first.
      const bad = { access_key: slow.key.access_key, secret_key: adminKey.secret_key };
      expect401(await send(app, signGet(bad, PAGE)), /verify aksk signature fail/);
    });

    it("never stores the secret key in the clear", async () => {
      const sealed: string[] = [];
      if (factory.name === "sqlite") {
        // The database file and its WAL: every byte a copy of the data directory would hold.
        const dir = dirname(ctx.url);
        const bytes = readdirSync(dir)
          .filter((f) => f.startsWith("test.db"))
          .map((f) => readFileSync(join(dir, f)));
        const all = Buffer.concat(bytes);
        expect(all.includes(adminKey.access_key)).toBe(true); // we are looking at the right bytes
        for (const key of [adminKey, memberKey]) {
          expect(all.includes(key.secret_key)).toBe(false);
          expect(all.includes(Buffer.from(key.secret_key).toString("base64"))).toBe(false);
          expect(all.includes(Buffer.from(key.secret_key).toString("hex"))).toBe(false);
        }
      } else {
        const schema = new URL(ctx.url).searchParams.get("schema");
        const { rows } = await adminQuery(`SELECT * FROM ${schema}.access_keys`);
        const text = JSON.stringify(rows);
        expect(text).toContain(adminKey.access_key);
        expect(text).not.toContain(adminKey.secret_key);
        expect(text).not.toContain(memberKey.secret_key);
        sealed.push(...rows.map((r) => String(r.secret_sealed)));
      }
      for (const value of sealed) expect(value).toMatch(/^aes256gcm\$[0-9a-f]{8}\$/);
    });
  });
}

describe("the server key", () => {
  it("comes from PHONEFLEET_SECRET_KEY as 64 hex digits or base64, and a bad value stops the server", () => {
    const key = randomBytes(32);
    expect(loadConfig({ PHONEFLEET_SECRET_KEY: key.toString("hex") }).secretKey).toEqual(key);
    expect(loadConfig({ PHONEFLEET_SECRET_KEY: key.toString("base64") }).secretKey).toEqual(key);
    expect(loadConfig({}).secretKey).toBeUndefined();
    for (const bad of ["short", key.toString("hex").slice(2), randomBytes(16).toString("base64")]) {
      expect(() => loadConfig({ PHONEFLEET_SECRET_KEY: bad })).toThrow(ConfigError);
    }
  });

  it("seals with a fresh IV each time, bound to its access key, and only its key opens it", () => {
    const box = SecretBox.ofKey(randomBytes(32));
    const a = box.seal("s3cret", "AK1");
    expect(box.seal("s3cret", "AK1")).not.toBe(a);
    expect(a).not.toContain("s3cret");
    expect(box.open(a, "AK1")).toBe("s3cret");
    expect(() => box.open(a, "AK2")).toThrow(/integrity/);
    expect(() => SecretBox.ofKey(randomBytes(32)).open(a, "AK1")).toThrow(/another server key/);
    const [scheme, kid, iv, body, tag] = a.split("$");
    const forged = [scheme, kid, iv, `${body?.slice(0, -2)}AA`, tag].join("$");
    expect(() => box.open(forged, "AK1")).toThrow(/integrity/);
  });

  it("without PHONEFLEET_SECRET_KEY, lives in a 0600 key file beside the SQLite database", async () => {
    const factory = STORES.find((f) => f.name === "sqlite");
    if (!factory) throw new Error("no sqlite factory");
    const ctx = await factory.create();
    try {
      const config = { secretKey: undefined, databaseUrl: ctx.url };
      const first = secretBoxFor(config);
      const sealed = first.seal("secret", "AK");
      const file = `${ctx.url}.secret-key`;
      expect(statSync(file).mode & 0o777).toBe(0o600);
      // Another process of the same database (the CLI, a restarted server) reads the same key.
      expect(secretBoxFor({ ...config, databaseUrl: `sqlite:${ctx.url}` }).open(sealed, "AK")).toBe(
        "secret",
      );
      expect(readFileSync(file, "utf8")).not.toContain("secret");
      // A configured key wins over the file.
      expect(() =>
        secretBoxFor({ ...config, secretKey: randomBytes(32) }).open(sealed, "AK"),
      ).toThrow(/another server key/);
    } finally {
      await ctx.dispose();
    }
  });

  it("is required for access keys on PostgreSQL, with a message saying what to set", () => {
    const box = secretBoxFor({ secretKey: undefined, databaseUrl: "postgres://x@127.0.0.1/db" });
    expect(() => box.seal("s", "AK")).toThrow(/PHONEFLEET_SECRET_KEY/);
  });
});
