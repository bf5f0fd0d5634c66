/**
 * `phonefleet access-keys issue|revoke`: a pair issued by the spawned CLI signs requests the
 * server (over the same database and server key file) accepts, until the CLI revokes it.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { openStore } from "../src/store/create-store.js";
import type { Store } from "../src/store/types.js";
import { cliJson, runCli, scratch } from "./helpers/cli.js";
import { testConfig } from "./helpers/fixtures.js";
import { signGet } from "./helpers/signing.js";

describe("phonefleet access-keys", () => {
  const tmp = scratch();
  const db = () => ["--db", tmp.db];
  let store: Store;
  let app: FastifyInstance;
  let key: { access_key: string; secret_key: string };

  beforeAll(async () => {
    await cliJson([...db(), "tenants", "create", "acme"]);
    await cliJson([...db(), "users", "create", "ops", "--tenant", "acme", "--role", "admin"]);
    key = await cliJson([...db(), "access-keys", "issue", "ops", "--tenant", "acme"]);
    store = await openStore(tmp.db);
    app = await buildApp({ config: testConfig({ databaseUrl: tmp.db }), store });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    tmp.dispose();
  });

  const signedQuery = () => {
    const { url, headers } = signGet(key, { page_no: "1", page_size: "10" });
    return app.inject({ method: "GET", url, headers });
  };

  it("issues a pair (secret shown once) that signs accepted tenant requests", async () => {
    expect(key.access_key).toMatch(/^[A-Z0-9]{20}$/);
    expect(key.secret_key).toMatch(/^[A-Za-z0-9]{40}$/);
    const res = await signedQuery();
    expect(res.statusCode, res.body).toBe(200);
  });

  it("revokes it: the next signed request is refused", async () => {
    const revoked = await runCli([...db(), "access-keys", "revoke", key.access_key]);
    expect(revoked.code, revoked.stderr).toBe(0);
    const res = await signedQuery();
    expect(res.statusCode).toBe(401);
    expect(res.json().error_code).toBe("APIGW.0301");
  });

  it.each([
    [["access-keys", "issue", "nobody", "--tenant", "acme"], 1, /no user "nobody"/],
    [["access-keys", "revoke", "NOSUCHKEY"], 1, /no active access key/],
    [["access-keys", "issue"], 2, /missing required argument/],
  ])("phonefleet %j fails with one line", async (args, code, message) => {
    const result = await runCli([...db(), ...args]);
    expect(result.code).toBe(code);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });
});
