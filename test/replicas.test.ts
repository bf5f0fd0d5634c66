/**
 * Two replicas, two processes on real ports, one PostgreSQL database: what an operator changes
 * through the admin API of one is what the other answers on its very next tenant request (no
 * cache anywhere). Both start at once on an empty schema, so they also race to migrate it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshPostgresUrl, POSTGRES_URL } from "./helpers/stores.js";

const ADMIN_KEY = "replica-test-admin-key-0123456789";

interface Replica {
  url: string;
  process: ChildProcess;
}

async function startReplica(databaseUrl: string): Promise<Replica> {
  // The real binary, as an operator runs it (built by `npm test`, or by vitest's global setup).
  const child = spawn(
    process.execPath,
    ["dist/cli/main.js", "serve", "--db", databaseUrl, "--port", "0"],
    {
      env: {
        ...process.env,
        PHONEFLEET_ADMIN_KEY: ADMIN_KEY,
        LOG_LEVEL: "warn",
        REDIS_URL: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
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

/** An admin API call on one replica; answers the parsed body (or null for 204). */
async function admin(replica: Replica, method: string, path: string, body?: unknown) {
  const res = await fetch(`${replica.url}/admin/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text === "" ? null : JSON.parse(text);
}

describe.runIf(POSTGRES_URL)("two replicas over one PostgreSQL database", () => {
  let a: Replica | undefined;
  let b: Replica | undefined;
  let drop: () => Promise<void>;
  let tenantId: string;
  let userId: string;
  let token: string;

  beforeAll(async () => {
    const fresh = freshPostgresUrl();
    drop = fresh.drop;
    [a, b] = await Promise.all([startReplica(fresh.url), startReplica(fresh.url)]);
    // Set up through A and B alternately: both write to the one database.
    tenantId = (await admin(A(), "POST", "/tenants", { name: "replicated" })).tenant_id;
    const project = await admin(B(), "POST", `/tenants/${tenantId}/projects`, { name: "p0" });
    await admin(A(), "POST", `/tenants/${tenantId}/pools`, {
      name: "phones",
      scene_tag: "CLOUD_PHONE",
    });
    userId = (
      await admin(B(), "POST", `/tenants/${tenantId}/users`, { name: "ops", role: "admin" })
    ).user_id;
    token = (await admin(A(), "POST", `/users/${userId}/tokens`, {})).token;
    await admin(B(), "POST", `/tenants/${tenantId}/instances`, [
      {
        instance_id: "Repl0001",
        instance_name: "phone-1",
        region: "cn-north-4",
        instance_sku: "sku",
        project_id: project.project_id,
        pool_name: "phones",
      },
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([stopReplica(a), stopReplica(b)]);
    await drop?.();
  });

  const A = () => a as Replica;
  const B = () => b as Replica;

  it("both answer the same page", async () => {
    const [fromA, fromB] = await Promise.all([page(A(), token), page(B(), token)]);
    expect(fromA.status).toBe(200);
    expect(fromA.rows.map((r) => r.instance_id)).toEqual(["Repl0001"]);
    expect(fromB).toEqual(fromA);
  });

  it("an instance changed through A is seen by B on its next request", async () => {
    await admin(A(), "PATCH", "/instances/Repl0001", { running_status: 2 });
    expect((await page(B(), token)).rows[0]?.running_status).toBe(2);
    await admin(B(), "PATCH", "/instances/Repl0001", { running_status: 3 });
    expect((await page(A(), token)).rows[0]?.running_status).toBe(3);
  });

  it("a token revoked through A is refused by B on its next request", async () => {
    const issued = await admin(B(), "POST", `/users/${userId}/tokens`, {});
    expect((await page(A(), issued.token)).status).toBe(200);
    expect((await page(B(), issued.token)).status).toBe(200);
    await admin(A(), "DELETE", `/tokens/${issued.token_id}`);
    expect(await page(B(), issued.token)).toMatchObject({ status: 401, code: "APIGW.0301" });
    expect(await page(A(), issued.token)).toMatchObject({ status: 401, code: "APIGW.0301" });
  });

  it("a tenant unsubscribed through B is refused by A on its next request, and served after", async () => {
    await admin(B(), "PATCH", `/tenants/${tenantId}`, { subscribed: false });
    expect(await page(A(), token)).toMatchObject({ status: 400, code: "KOOPHONE.API.1004" });
    expect(await page(B(), token)).toMatchObject({ status: 400, code: "KOOPHONE.API.1004" });
    await admin(A(), "PATCH", `/tenants/${tenantId}`, { subscribed: true });
    expect((await page(B(), token)).status).toBe(200);
  });

  it("a tenant deleted through A: its tokens meet KOOPHONE.API.0000 on B", async () => {
    await admin(A(), "DELETE", `/tenants/${tenantId}`);
    expect(await page(B(), token)).toMatchObject({ status: 500, code: "KOOPHONE.API.0000" });
    expect(await page(A(), token)).toMatchObject({ status: 500, code: "KOOPHONE.API.0000" });
  });
});
