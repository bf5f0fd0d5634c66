/**
 * Two replicas, two processes on real ports, one PostgreSQL database: what an operator changes
 * through one is what the other answers on its very next tenant request (no cache anywhere).
 * Both start at once on an empty schema, so they also race to migrate it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteTenant, updateTenant } from "../src/operator/tenants.js";
import { issueToken, revokeToken } from "../src/operator/users.js";
import { openStore } from "../src/store/create-store.js";
import type { Store } from "../src/store/types.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { freshPostgresUrl, POSTGRES_URL } from "./helpers/stores.js";

const ADMIN_KEY = "replica-test-admin-key-0123456789";

interface Replica {
  url: string;
  process: ChildProcess;
}

async function startReplica(databaseUrl: string): Promise<Replica> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/helpers/replica-server.ts"], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PHONEFLEET_ADMIN_KEY: ADMIN_KEY,
      LOG_LEVEL: "warn",
      REDIS_URL: "",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start: ${stderr}`)), 20_000);
    lines.on("line", (line) => {
      const found = /listening on (http:\/\/\S+)/.exec(line);
      if (found?.[1]) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited with ${code}: ${stderr}`));
    });
  });
  return { url, process: child };
}

async function stopReplica(replica: Replica | undefined): Promise<void> {
  if (!replica || replica.process.exitCode !== null) return;
  const exited = once(replica.process, "exit");
  replica.process.kill("SIGTERM");
  await exited;
}

async function page(replica: Replica, token: string) {
  const res = await fetch(`${replica.url}/v1/instances/batch-query?page_no=1&page_size=100`, {
    headers: { "x-auth-token": token },
  });
  const body = (await res.json()) as {
    error_code: string;
    data?: { result: { instance_id: string; running_status: number }[] };
  };
  return { status: res.status, code: body.error_code, rows: body.data?.result ?? [] };
}

describe.runIf(POSTGRES_URL)("two replicas over one PostgreSQL database", () => {
  let a: Replica | undefined;
  let b: Replica | undefined;
  let operator: Store;
  let tenant: TenantFixture;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const fresh = freshPostgresUrl();
    drop = fresh.drop;
    [a, b] = await Promise.all([startReplica(fresh.url), startReplica(fresh.url)]);
    // The operator's own connection, as `phonefleet … --db` would open it.
    operator = await openStore(fresh.url);
    tenant = await makeTenant(operator, "replicated");
    await addInstances(operator, tenant.tenantId, [
      {
        instance_id: "Repl0001",
        instance_name: "phone-1",
        region: "cn-north-4",
        instance_sku: "sku",
        project_id: tenant.projects[0]?.project_id,
        pool_name: "phones",
      },
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([stopReplica(a), stopReplica(b)]);
    await operator?.close();
    await drop?.();
  });

  const A = () => a as Replica;
  const B = () => b as Replica;

  it("both answer the same page", async () => {
    const [fromA, fromB] = await Promise.all([
      page(A(), tenant.adminToken),
      page(B(), tenant.adminToken),
    ]);
    expect(fromA.status).toBe(200);
    expect(fromB).toEqual(fromA);
  });

  it("an instance change is seen by both on the next request", async () => {
    await operator.updateInstance("Repl0001", {
      running_status: 2,
      updated_at: new Date().toISOString(),
    });
    for (const replica of [A(), B()]) {
      expect((await page(replica, tenant.adminToken)).rows[0]?.running_status).toBe(2);
    }
  });

  it("a token revoked is refused by the other replica on its next request", async () => {
    const users = await operator.listUsers(tenant.tenantId);
    const issued = await issueToken(operator, users[0]?.user_id as string, {}, 3600);
    expect((await page(A(), issued.token)).status).toBe(200);
    expect((await page(B(), issued.token)).status).toBe(200);
    await revokeToken(operator, issued.token_id);
    expect(await page(B(), issued.token)).toMatchObject({ status: 401, code: "APIGW.0301" });
    expect(await page(A(), issued.token)).toMatchObject({ status: 401, code: "APIGW.0301" });
  });

  it("an unsubscribed tenant is refused by both on the next request, and served again after", async () => {
    await updateTenant(operator, tenant.tenantId, { subscribed: false });
    expect(await page(B(), tenant.adminToken)).toMatchObject({
      status: 400,
      code: "KOOPHONE.API.1004",
    });
    expect(await page(A(), tenant.adminToken)).toMatchObject({
      status: 400,
      code: "KOOPHONE.API.1004",
    });
    await updateTenant(operator, tenant.tenantId, { subscribed: true });
    expect((await page(B(), tenant.adminToken)).status).toBe(200);
  });

  it("a deleted tenant's tokens meet KOOPHONE.API.0000 on both", async () => {
    await deleteTenant(operator, tenant.tenantId);
    expect(await page(A(), tenant.adminToken)).toMatchObject({
      status: 500,
      code: "KOOPHONE.API.0000",
    });
    expect(await page(B(), tenant.adminToken)).toMatchObject({
      status: 500,
      code: "KOOPHONE.API.0000",
    });
  });
});
