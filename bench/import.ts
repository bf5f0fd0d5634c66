/**
 * Import benchmark (issue 3): IMPORT_RECORDS (default 1,000,000) instances as NDJSON, imported
 * into a fresh SQLite database (1) by the real CLI, `phonefleet instances import`, and (2) through
 * the admin API, `POST /admin/v1/tenants/{id}/instances`, of a real `phonefleet serve`. Prints
 * records/s (wall clock, process start to exit for the CLI, first byte sent to response for
 * HTTP), the importing process's CPU time and its peak RSS (getrusage maxrss, reported by the
 * child itself as it exits). Target: >= 100,000 records/s through the CLI, peak RSS < 300 MB.
 *
 * Usage: npm run build && node --import tsx bench/import.ts
 *        IMPORT_RECORDS=200000 node --import tsx bench/import.ts     (a quicker run)
 * The machine's load average is printed beside the figures: on a shared machine, wall-clock
 * rates follow it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { request } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { REGIONS } from "../src/instances/regions.js";
import { createProject } from "../src/operator/projects.js";
import { createTenant, getTenant } from "../src/operator/tenants.js";
import { openStore } from "../src/store/create-store.js";
import { wholeNumber } from "./env.js";

const RECORDS = wholeNumber(process.env, "IMPORT_RECORDS", 1_000_000, 1);
const CLI = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const ADMIN_KEY = "bench-operator-key-0123456789abcdef";
const TENANT = "import-bench";
const PROJECTS = 10;

/** Loaded into each child: on exit it reports its own peak RSS and CPU time on stderr. */
const USAGE_REPORTER = `data:text/javascript,${encodeURIComponent(
  `process.on("exit", () => { const u = process.cpuUsage(); process.stderr.write("\\nBENCH_USAGE " + JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, cpuMs: (u.user + u.system) / 1000 }) + "\\n"); });`,
)}`;

interface Usage {
  maxRssKb: number;
  cpuMs: number;
}

interface Result {
  path: string;
  seconds: number;
  usage: Usage;
}

// ---- the input ----------------------------------------------------------------------------

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const ID_SPACE = 62 ** 8;
const REGION_CODES = Object.keys(REGIONS);
const SKUS = [
  "Professional edition | 8 vCPUs | 16 GB | 10 GB storage | Maximum resolution: 720p",
  "Standard edition | 4 vCPUs | 8 GB | 10 GB storage | Maximum resolution: 720p",
  "Enterprise edition | 16 vCPUs | 32 GB | 64 GB storage | Maximum resolution: 1080p",
];
const POOLS = [
  ["phones-a", "CLOUD_PHONE"],
  ["phones-b", "CLOUD_PHONE"],
  ["apps-a", "CLOUD_APP"],
  ["apps-b", "CLOUD_APP"],
] as const;

/** Distinct scattered ids, like real ones: i times a prime (coprime to 62) modulo 62^8. */
function instanceId(i: number): string {
  let x = (i * 999_999_937) % ID_SPACE;
  let id = "";
  for (let k = 0; k < 8; k++) {
    id += ALPHABET[x % 62];
    x = Math.floor(x / 62);
  }
  return id;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

function wireTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function record(i: number, projectIds: string[]) {
  const [pool, tag] = POOLS[i % POOLS.length] as (typeof POOLS)[number];
  const created = Date.UTC(2024, 0, 1) + ((i * 7919) % 31_536_000) * 1000;
  const assigned = i % 3 === 0;
  return {
    instance_id: instanceId(i),
    instance_name: `CCTEST-${pad(i, 7)}`,
    region: REGION_CODES[i % REGION_CODES.length],
    instance_sku: SKUS[i % SKUS.length],
    project_id: projectIds[i % projectIds.length],
    pool_name: pool,
    pool_scene_tag: tag,
    frozen_status: i % 50 === 0 ? 1 : 0,
    running_status: i % 6,
    login_status: i % 2,
    assign_user: assigned ? `user-${i % 977}` : "",
    billing_mode: "1",
    phone_id: `phone-${pad(i, 8)}`,
    member_name: `member-${i % 31}`,
    account_name: "bench-account",
    backup_status: i % 5,
    backup_time: i % 4 === 0 ? wireTime(created + 86_400_000) : "",
    created_at: wireTime(created),
  };
}

async function writeInput(file: string, projectIds: string[]): Promise<void> {
  const out = createWriteStream(file);
  let chunk = "";
  for (let i = 0; i < RECORDS; i++) {
    chunk += `${JSON.stringify(record(i, projectIds))}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await once(out, "finish");
}

/** The same project ids in every database, so one input file fits them all. */
const PROJECT_IDS = Array.from({ length: PROJECTS }, (_, p) => pad(p, 32));

/** A fresh database with the tenant and its projects; the import creates the pools. */
async function freshDatabase(file: string): Promise<string> {
  const store = await openStore(file);
  try {
    const tenant = await createTenant(store, { name: TENANT });
    for (const [p, project_id] of PROJECT_IDS.entries()) {
      await createProject(store, TENANT, { name: `project-${p}`, project_id });
    }
    return tenant.tenant_id;
  } finally {
    await store.close();
  }
}

async function countIn(file: string): Promise<number> {
  const store = await openStore(file);
  try {
    const counts = (await getTenant(store, TENANT)).instances_by_running_status;
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await store.close();
  }
}

// ---- the runs -----------------------------------------------------------------------------

function child(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ["--import", USAGE_REPORTER, CLI, ...args], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function collect(process: ChildProcess): { stdout: () => string; usage: () => Usage } {
  let stdout = "";
  let stderr = "";
  process.stdout?.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
  });
  process.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return {
    stdout: () => stdout,
    usage: () => {
      const line = /BENCH_USAGE (.+)/.exec(stderr);
      if (!line?.[1]) throw new Error(`no usage report from the child; stderr:\n${stderr}`);
      return JSON.parse(line[1]) as Usage;
    },
  };
}

async function viaCli(input: string, db: string): Promise<Result> {
  const started = performance.now();
  const cli = child(["instances", "import", input, "--tenant", TENANT, "--db", db, "--json"]);
  const out = collect(cli);
  const [code] = (await once(cli, "close")) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`CLI import failed (${code}): ${out.stdout()}`);
  return { path: "CLI  phonefleet instances import", seconds, usage: out.usage() };
}

async function viaHttp(input: string, db: string, tenantId: string): Promise<Result> {
  const server = child(["serve", "--port", "0", "--json", "--db", db], {
    PHONEFLEET_ADMIN_KEY: ADMIN_KEY,
    // The upload of a million records takes longer than the default whole-request limit.
    PHONEFLEET_REQUEST_TIMEOUT_MS: "3600000",
  });
  const out = collect(server);
  while (!out.stdout().includes("\n")) await once(server.stdout as NodeJS.ReadableStream, "data");
  const { url } = JSON.parse(out.stdout()) as { url: string };
  const started = performance.now();
  const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${url}/admin/v1/tenants/${tenantId}/instances`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        "content-type": "application/x-ndjson",
        "content-length": statSync(input).size,
      },
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (text: string) => {
        body += text;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    createReadStream(input).pipe(req);
  });
  const seconds = (performance.now() - started) / 1000;
  server.kill("SIGTERM");
  await once(server, "close");
  if (response.status !== 201) throw new Error(`HTTP import: ${response.status} ${response.body}`);
  return { path: "HTTP POST /admin/v1/tenants/{id}/instances", seconds, usage: out.usage() };
}

// ---- main ---------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), "phonefleet-import-bench-"));
try {
  const load = () =>
    loadavg()
      .map((n) => n.toFixed(2))
      .join(" ");
  console.log(`import benchmark: ${RECORDS.toLocaleString("en")} records, load average ${load()}`);
  const cliDb = join(dir, "cli.db");
  const httpDb = join(dir, "http.db");
  await freshDatabase(cliDb);
  const httpTenant = await freshDatabase(httpDb);
  const input = join(dir, "fleet.ndjson");
  const t0 = performance.now();
  await writeInput(input, PROJECT_IDS);
  const mb = statSync(input).size / 1e6;
  console.log(
    `input: ${mb.toFixed(0)} MB NDJSON, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const results: Result[] = [];
  results.push(await viaCli(input, cliDb));
  results.push(await viaHttp(input, httpDb, httpTenant));
  for (const [db, result] of [
    [cliDb, results[0]],
    [httpDb, results[1]],
  ] as const) {
    const stored = await countIn(db);
    if (stored !== RECORDS) throw new Error(`${result?.path}: ${stored} rows stored`);
  }

  console.log(
    `${"path".padEnd(45)} ${"seconds".padStart(8)} ${"records/s".padStart(10)} ${"CPU s".padStart(7)} ${"peak RSS MB".padStart(12)}`,
  );
  for (const r of results) {
    console.log(
      `${r.path.padEnd(45)} ${r.seconds.toFixed(1).padStart(8)} ${Math.round(RECORDS / r.seconds)
        .toLocaleString("en")
        .padStart(
          10,
        )} ${(r.usage.cpuMs / 1000).toFixed(1).padStart(7)} ${(r.usage.maxRssKb / 1024).toFixed(0).padStart(12)}`,
    );
  }
  console.log(
    `load average after: ${load()} (target: >= 100,000 records/s via the CLI, RSS < 300 MB)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
