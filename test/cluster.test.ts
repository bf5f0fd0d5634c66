/**
 * `phonefleet serve --workers 2`: the real binary on a real port, one primary and two worker
 * processes. Which process answered a request is read from its log line (pid), found by the
 * x-request-id the response carries. Rate limits are shared by the workers (through the primary,
 * or through Redis), an admin change is seen by whichever worker answers next, a killed worker
 * is replaced, and SIGTERM stops them all with exit code 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, cleanEnv, scratch } from "./helpers/cli.js";
import { hasRedis, REDIS_URL } from "./helpers/redis.js";

const ADMIN_KEY = "cluster-test-admin-key-0123456789";
const RATE = 20;

const redisUp = await hasRedis("the cluster-with-Redis test");

interface Cluster {
  child: ChildProcess;
  url: string;
  /** Lines of stdout that are not JSON (the banner). */
  banner: string[];
  /** JSON log lines of every process. */
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: Cluster[] = [];
const tmp = scratch();

afterAll(() => {
  for (const { child } of running) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    for (const pid of workerPids(child.pid as number)) process.kill(pid, "SIGKILL");
    child.kill("SIGKILL");
  }
  tmp.dispose();
});

/** Starts `serve --workers 2 --demo` and resolves once its banner's curl line is out. */
function startCluster(
  db: string,
  env: Record<string, string> = {},
  detached = false,
): Promise<Cluster> {
  const child = spawn(
    process.execPath,
    [CLI, "--db", db, "serve", "--workers", "2", "--port", "0", "--demo"],
    {
      env: cleanEnv({
        PHONEFLEET_ADMIN_KEY: ADMIN_KEY,
        LOG_LEVEL: "info",
        REDIS_URL: "",
        // The demo tenant's own limit; the limited tenants below have RATE.
        PHONEFLEET_RATE_LIMIT: "100000",
        ...env,
      }),
      stdio: ["ignore", "pipe", "pipe"],
      // A process group of its own, as a terminal gives it: Ctrl-C signals the whole group.
      detached,
    },
  );
  const cluster: Cluster = {
    child,
    url: "",
    banner: [],
    logs: [],
    exited: new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal }))),
  };
  running.push(cluster);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  let partial = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cluster did not start: ${stderr}`)), 30_000);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("{")) cluster.logs.push(JSON.parse(line));
        else cluster.banner.push(line);
        const listening = /^phonefleet listening on (\S+)/.exec(line);
        if (listening?.[1]) cluster.url = listening[1];
        if (line.startsWith("curl ")) {
          clearTimeout(timer);
          resolve(cluster);
        }
      }
    });
    void cluster.exited.then(() => reject(new Error(`cluster exited: ${stderr}`)));
  });
}

/** The worker processes of the primary `pid` (its children, as the kernel lists them). */
function workerPids(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return text === "" ? [] : text.split(" ").map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Answer {
  status: number;
  requestId: string;
  body: string;
}

/** One request on a connection of its own, so that the cluster may hand it to any worker. */
function call(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: options.method ?? "GET", headers: options.headers, agent: false },
      (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            requestId: String(response.headers["x-request-id"]),
            body,
          }),
        );
      },
    );
    request.on("error", reject);
    request.end(options.body);
  });
}

async function admin<T = Record<string, unknown>>(
  cluster: Cluster,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const answer = await call(`${cluster.url}/admin/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.body}`);
  return (answer.body === "" ? null : JSON.parse(answer.body)) as T;
}

interface Page {
  total_count: number;
  data: { result: { instance_id: string; running_status: number }[] };
}

function page(cluster: Cluster, token: string, query = "page_no=1&page_size=10"): Promise<Answer> {
  return call(`${cluster.url}/v1/instances/batch-query?${query}`, {
    headers: { "x-auth-token": token },
  });
}

/** The pid that logged each answer's request line (waits for the lines to be written). */
async function answeredBy(cluster: Cluster, answers: Answer[]): Promise<number[]> {
  const pidOf = (answer: Answer) =>
    cluster.logs.find((l) => l.msg === "request" && l.request_id === answer.requestId)?.pid as
      | number
      | undefined;
  await expect
    .poll(() => answers.every((a) => pidOf(a) !== undefined), { timeout: 5000 })
    .toBe(true);
  return answers.map((a) => pidOf(a) as number);
}

/** A tenant and its project "p0", made through the admin API. */
async function tenantWithProject(cluster: Cluster, name: string) {
  const tenant = await admin<{ tenant_id: string }>(cluster, "POST", "/tenants", { name });
  const project = await admin<{ project_id: string }>(
    cluster,
    "POST",
    `/tenants/${tenant.tenant_id}/projects`,
    { name: "p0" },
  );
  return { tenant, project };
}

/** One NDJSON import record: instance `<prefix><n>` in the "phones" pool of `projectId`. */
function phoneRecord(prefix: string, n: number, projectId: string): string {
  return JSON.stringify({
    instance_id: `${prefix}${String(n).padStart(5, "0")}`,
    instance_name: `phone-${n}`,
    region: "cn-north-4",
    instance_sku: "sku",
    project_id: projectId,
    pool_name: "phones",
    pool_scene_tag: "CLOUD_PHONE",
  });
}

/** A tenant made through the admin API, limited to RATE req/s, with an admin and a token. */
async function limitedTenant(cluster: Cluster): Promise<string> {
  const name = `limited-${Math.random().toString(36).slice(2, 8)}`;
  const { tenant_id } = await admin<{ tenant_id: string }>(cluster, "POST", "/tenants", {
    name,
    rate_limit: RATE,
  });
  const { user_id } = await admin<{ user_id: string }>(
    cluster,
    "POST",
    `/tenants/${tenant_id}/users`,
    {
      name: "ops",
      role: "admin",
    },
  );
  return (await admin<{ token: string }>(cluster, "POST", `/users/${user_id}/tokens`, {})).token;
}

/**
 * 3×RATE requests at once, each on its own connection, for a fresh limited tenant; all within
 * one second (the limit's window), so that exactly RATE may pass. A burst that took longer on a
 * busy machine says nothing: it is tried again (3 times at most) with another tenant.
 */
async function burst(cluster: Cluster) {
  for (let attempt = 1; ; attempt++) {
    const token = await limitedTenant(cluster);
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 3 * RATE }, () => page(cluster, token)));
    if (performance.now() - started > 900 && attempt < 3) continue;
    const by = await answeredBy(cluster, answers);
    return {
      allowed: answers.filter((a) => a.status === 200).length,
      refused: answers.filter((a) => a.status === 429).length,
      pids: new Set(by),
    };
  }
}

describe("serve --workers 2", () => {
  let cluster: Cluster;
  let token: string;

  beforeAll(async () => {
    cluster = await startCluster(tmp.db);
    token = /X-Auth-Token: (pf_[\w-]+)/.exec(cluster.banner.join("\n"))?.[1] as string;
  }, 40_000);

  it("prints its banner once, and two worker processes answer the tenant API", async () => {
    expect(cluster.banner.filter((l) => l.startsWith("phonefleet listening on "))).toEqual([
      `phonefleet listening on ${cluster.url} (2 workers)`,
    ]);
    expect(cluster.banner.filter((l) => l.startsWith("demo tenant"))).toHaveLength(1);
    expect(cluster.banner.filter((l) => l.startsWith("curl "))).toHaveLength(1);

    const answers = await Promise.all(Array.from({ length: 20 }, () => page(cluster, token)));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect((JSON.parse(answer.body) as Page).total_count).toBe(3000);
    }
    const pids = new Set(await answeredBy(cluster, answers));
    const workers = workerPids(cluster.child.pid as number);
    expect(workers).toHaveLength(2);
    expect([...pids].sort()).toEqual([...workers].sort());
  });

  it("shares a tenant's rate limit between the workers: RATE of a burst of 3×RATE pass", async () => {
    const result = await burst(cluster);
    expect(result.pids.size).toBe(2);
    // Counted per worker, 2×RATE would pass.
    expect(result).toMatchObject({ allowed: RATE, refused: 2 * RATE });
  });

  it("shares login throttling between the workers: the 6th wrong password is refused", async () => {
    const name = `login-${Math.random().toString(36).slice(2, 8)}`;
    const { tenant_id } = await admin<{ tenant_id: string }>(cluster, "POST", "/tenants", { name });
    await admin(cluster, "POST", `/tenants/${tenant_id}/users`, {
      name: "alice",
      role: "admin",
      password: "correct horse battery staple",
    });
    const attempt = () =>
      call(`${cluster.url}/v3/auth/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          auth: {
            identity: {
              methods: ["password"],
              password: { user: { name: "alice", password: "wrong", domain: { name } } },
            },
          },
        }),
      });
    const answers: Answer[] = [];
    for (let i = 0; i < 8; i++) answers.push(await attempt());
    expect(new Set(await answeredBy(cluster, answers)).size).toBe(2);
    // 5 failures per account: counted per worker, all 8 would be checked (4 on each).
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
  });

  it("an admin change through one worker is seen on the next request by either worker", async () => {
    const first = JSON.parse((await page(cluster, token)).body) as Page;
    const instanceId = first.data.result[0]?.instance_id as string;
    for (const status of [2, 3, 2]) {
      // Both workers have this page in their response caches before the change.
      await Promise.all(Array.from({ length: 6 }, () => page(cluster, token)));
      await admin(cluster, "PATCH", `/instances/${instanceId}`, { running_status: status });
      const after = await Promise.all(Array.from({ length: 10 }, () => page(cluster, token)));
      expect(new Set(await answeredBy(cluster, after)).size).toBe(2);
      for (const answer of after) {
        const row = (JSON.parse(answer.body) as Page).data.result[0];
        expect(row).toMatchObject({ instance_id: instanceId, running_status: status });
      }
    }
  });

  it("writes through both workers at once, among reads, all succeed", async () => {
    const ids = (
      JSON.parse((await page(cluster, token, "page_no=2&page_size=40")).body) as Page
    ).data.result.map((r) => r.instance_id);
    expect(ids).toHaveLength(40);
    const writes = ids.map((id, i) =>
      call(`${cluster.url}/admin/v1/instances/${id}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ running_status: i % 2 === 0 ? 4 : 5 }),
      }),
    );
    const reads = Array.from({ length: 40 }, () => page(cluster, token));
    const [written, read] = await Promise.all([Promise.all(writes), Promise.all(reads)]);
    expect(new Set(await answeredBy(cluster, written)).size).toBe(2);
    expect(written.filter((a) => a.status !== 200)).toEqual([]);
    expect(read.filter((a) => a.status !== 200)).toEqual([]);
    const after = JSON.parse((await page(cluster, token, "page_no=2&page_size=40")).body) as Page;
    expect(after.data.result.map((r) => r.running_status)).toEqual(
      ids.map((_, i) => (i % 2 === 0 ? 4 : 5)),
    );
  });

  it("imports through one worker while both answer queries, and both see all of it", async () => {
    const { tenant, project } = await tenantWithProject(cluster, "imported");
    const { user_id } = await admin<{ user_id: string }>(
      cluster,
      "POST",
      `/tenants/${tenant.tenant_id}/users`,
      { name: "ops", role: "admin" },
    );
    const reader = (await admin<{ token: string }>(cluster, "POST", `/users/${user_id}/tokens`, {}))
      .token;
    const records = Array.from({ length: 20_000 }, (_, i) =>
      phoneRecord("Imp", i, project.project_id),
    ).join("\n");
    const imported = call(`${cluster.url}/admin/v1/tenants/${tenant.tenant_id}/instances`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/x-ndjson" },
      body: records,
    });
    const totals: number[] = [];
    let done = false;
    void imported.finally(() => {
      done = true;
    });
    while (!done) {
      const answers = await Promise.all([page(cluster, reader), page(cluster, reader)]);
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        totals.push((JSON.parse(answer.body) as Page).total_count);
      }
    }
    expect((await imported).status).toBe(201);
    // All or nothing while it ran; all of it after, from both workers.
    for (const total of totals) expect([0, 20_000]).toContain(total);
    const after = await Promise.all(Array.from({ length: 10 }, () => page(cluster, reader)));
    expect(new Set(await answeredBy(cluster, after)).size).toBe(2);
    for (const answer of after) expect((JSON.parse(answer.body) as Page).total_count).toBe(20_000);
  });

  it("replaces a killed worker", async () => {
    const primary = cluster.child.pid as number;
    const [victim, survivor] = workerPids(primary) as [number, number];
    process.kill(victim, "SIGKILL");
    await expect
      .poll(() => workerPids(primary).filter((pid) => pid !== survivor && pid !== victim), {
        timeout: 10_000,
      })
      .toHaveLength(1);
    const replacement = workerPids(primary).find((pid) => pid !== survivor && pid !== victim);
    expect(cluster.logs.some((l) => l.msg === "worker exited unexpectedly: starting another")).toBe(
      true,
    );
    await expect
      .poll(() => cluster.logs.some((l) => l.msg === "worker replaced"), { timeout: 10_000 })
      .toBe(true);
    // The replacement serves too.
    await expect
      .poll(
        async () => {
          const answers = await Promise.all(Array.from({ length: 10 }, () => page(cluster, token)));
          return new Set(await answeredBy(cluster, answers)).has(replacement as number);
        },
        { timeout: 10_000 },
      )
      .toBe(true);
  });

  it("SIGTERM: a request in flight is finished, then every process exits, the primary with 0", async () => {
    const workers = workerPids(cluster.child.pid as number);
    expect(workers).toHaveLength(2);
    const { tenant, project } = await tenantWithProject(cluster, "in-flight");
    const record = (i: number) => `${phoneRecord("Fly", i, project.project_id)}\n`;
    // An import whose body is still arriving when the signal comes.
    let answered!: (status: number) => void;
    const status = new Promise<number>((resolve) => {
      answered = resolve;
    });
    const upload = http.request(`${cluster.url}/admin/v1/tenants/${tenant.tenant_id}/instances`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/x-ndjson" },
      agent: false,
    });
    upload.on("error", () => answered(-1));
    upload.on("response", (response) => {
      response.resume();
      answered(response.statusCode ?? 0);
    });
    upload.write(record(0));
    await new Promise((resolve) => setTimeout(resolve, 300));
    cluster.child.kill("SIGTERM");
    await expect
      .poll(
        () =>
          cluster.logs.filter((l) => l.msg === "shutting down: finishing in-flight requests")
            .length,
      )
      .toBe(2);
    upload.end(record(1));
    expect(await status).toBe(201);
    expect(await cluster.exited).toEqual({ code: 0, signal: null });
    for (const pid of workers) expect(alive(pid)).toBe(false);
    const stops = cluster.logs.filter(
      (l) => l.msg === "shutting down: finishing in-flight requests",
    );
    expect(new Set(stops.map((l) => l.pid))).toEqual(new Set(workers));
  });
});

describe.runIf(redisUp)("serve --workers 2 with REDIS_URL", () => {
  it("shares a tenant's rate limit between the workers through Redis", async () => {
    const cluster = await startCluster(`${tmp.dir}/redis.db`, {
      REDIS_URL,
    });
    const result = await burst(cluster);
    expect(result.pids.size).toBe(2);
    // Counted per worker, 2×RATE would pass.
    expect(result).toMatchObject({ allowed: RATE, refused: 2 * RATE });
    cluster.child.kill("SIGTERM");
    expect(await cluster.exited).toEqual({ code: 0, signal: null });
  }, 40_000);
});

describe("serve --workers 2 in a terminal", () => {
  it("Ctrl-C (SIGINT to the whole process group): every process exits, the primary with 0", async () => {
    const cluster = await startCluster(`${tmp.dir}/terminal.db`, {}, true);
    const workers = workerPids(cluster.child.pid as number);
    expect(workers).toHaveLength(2);
    process.kill(-(cluster.child.pid as number), "SIGINT");
    expect(await cluster.exited).toEqual({ code: 0, signal: null });
    for (const pid of workers) expect(alive(pid)).toBe(false);
  }, 40_000);
});
