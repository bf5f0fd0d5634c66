/**
 * The benchmark of issue 5, driven by bench/run.sh (`npm run bench`): for every available store,
 * build (or reuse) the fleet, start the real server, load it with wrk and compare every scenario
 * with a bare node:http server writing the same bytes, measured in the same run.
 *
 * Environment: BENCH_DURATION (seconds per scenario, default 10), BENCH_WARMUP (seconds, 2),
 * BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_INSTANCES (1000000), BENCH_STORES
 * ("sqlite,postgres"), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432), BENCH_LOG_LEVEL (warn),
 * BENCH_ONLY (comma-separated scenario names), BENCH_WORKERS (the server's PHONEFLEET_WORKERS:
 * unset = the server's own default; RSS is then summed over the primary and its workers),
 * BENCH_BASELINE_DURATION (seconds per baseline run, default 5).
 *
 * The baseline runs before the first scenario and again after every scenario, and each
 * scenario's ratio is against the mean of the two runs around it: on a shared machine the
 * baseline drifts within one run (16,013 → 12,902 req/s between the first and the last of a
 * run of 2026-11-29), and a scenario is compared with the machine as it was around it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { NODE_FLAGS } from "../src/cli/node-flags.js";
import { findUser, issueToken } from "../src/operator/users.js";
import { openStore } from "../src/store/create-store.js";
import { migrations as postgresMigrations } from "../src/store/postgres/migrations.js";
import { migrations } from "../src/store/sqlite/migrations.js";
import { wholeNumber } from "./env.js";
import { BIG_TENANT, GENERATOR_VERSION, generate, LAST_TENANT } from "./generate.js";
import { checkTargets, printTable, type Result } from "./report.js";
import { SCENARIOS, type Scenario } from "./scenarios.js";

const env = process.env;
const DURATION = wholeNumber(env, "BENCH_DURATION", 10, 1);
const BASELINE_DURATION = wholeNumber(env, "BENCH_BASELINE_DURATION", 5, 1);
const WARMUP = wholeNumber(env, "BENCH_WARMUP", 2, 0);
const CONNECTIONS = wholeNumber(env, "BENCH_CONNECTIONS", 32, 1);
const THREADS = wholeNumber(env, "BENCH_THREADS", 2, 1);
const INSTANCES = wholeNumber(env, "BENCH_INSTANCES", 1_000_000, 1);
const STORES = (env.BENCH_STORES ?? "sqlite,postgres").split(",");
const PG_URL = env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432";
const LOG_LEVEL = env.BENCH_LOG_LEVEL ?? "warn";
const ONLY = env.BENCH_ONLY?.split(",");
const WORKERS = env.BENCH_WORKERS;
const ROOT = join(import.meta.dirname, "..");
const CACHE_DIR = join(ROOT, ".bench");

interface Prepared {
  store: string;
  url: string;
  token: string;
}

/** A store's schema version: its newest migration's, part of the cached fleets' names. */
function latestVersion(list: { version: number }[]): number {
  return Math.max(...list.map((m) => m.version));
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

/** The SQLite fleet, cached under .bench/ by generator version, schema version and size. */
async function prepareSqlite(): Promise<Prepared> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const schema = latestVersion(migrations);
  const file = join(CACHE_DIR, `sqlite-g${GENERATOR_VERSION}-s${schema}-n${INSTANCES}.db`);
  if (!existsSync(file)) {
    const tmp = `${file}.tmp`;
    for (const suffix of ["", "-wal", "-shm"]) rmSync(tmp + suffix, { force: true });
    log(`generating ${INSTANCES} instances into ${file} (cached for later runs)`);
    const started = Date.now();
    await generate(tmp, INSTANCES);
    renameSync(tmp, file);
    log(`generated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  warm(file);
  return { store: "sqlite", url: file, token: await tokenFor(file) };
}

/**
 * Reads the database file once, so every scenario finds it in the OS page cache: a cached
 * fleet read cold from this machine's disk (~100 MB/s) made the first scenarios that touch the
 * whole table (random pages) measure the disk, not the server.
 */
function warm(file: string): void {
  const started = Date.now();
  const chunk = Buffer.allocUnsafe(8 * 1024 * 1024);
  const fd = openSync(file, "r");
  let bytes = 0;
  try {
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) bytes += n;
  } finally {
    closeSync(fd);
  }
  log(
    `read ${(bytes / 2 ** 20).toFixed(0)} MB of ${file} into the page cache in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

/**
 * The PostgreSQL counterpart of warm(): every table and index of the fleet read into the OS
 * page cache (pg_prewarm, 'read' mode), so random pages do not measure a cold disk (they did:
 * 17 req/s and statement timeouts in a run where the fleet had gone cold). Skipped, with a
 * line saying so, where the extension is not installed.
 */
async function prewarm(pg: typeof import("pg").default, url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const started = Date.now();
    await client.query("CREATE EXTENSION IF NOT EXISTS pg_prewarm");
    const { rows } =
      await client.query(`SELECT COALESCE(SUM(pg_prewarm(c.oid::regclass, 'read')), 0) AS blocks
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')`);
    const mb = (Number(rows[0]?.blocks) * 8) / 1024;
    log(
      `read ${mb.toFixed(0)} MB of tables and indexes into the page cache in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    log(`not prewarmed (${(error as Error).message})`);
  } finally {
    await client.end();
  }
}

/**
 * The PostgreSQL fleet, in its own database named by generator version, schema version (a
 * migration can change how the rows are laid out, as migration 12's fill factor does) and size.
 */
async function preparePostgres(): Promise<Prepared | string> {
  const schema = latestVersion(postgresMigrations);
  const url = `${PG_URL}/phonefleet_bench_g${GENERATOR_VERSION}_s${schema}_n${INSTANCES}`;
  const pg = await import("pg");
  const admin = new pg.default.Client({ connectionString: `${PG_URL}/postgres` });
  try {
    await admin.connect();
  } catch (error) {
    return `PostgreSQL not reachable at ${PG_URL} (${(error as Error).message})`;
  }
  try {
    const dbName = url.slice(url.lastIndexOf("/") + 1);
    let store: Awaited<ReturnType<typeof openStore>> | undefined;
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [dbName]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${dbName}`);
    try {
      store = await openStore(url);
    } catch (error) {
      return `this build has no PostgreSQL store (${(error as Error).message})`;
    }
    const complete = (await store.tenantByName(LAST_TENANT)) !== undefined;
    await store.close();
    if (!complete) {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${dbName}`);
      log(`generating ${INSTANCES} instances into ${dbName} (kept for later runs)`);
      const started = Date.now();
      await generate(url, INSTANCES);
      log(`generated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    await prewarm(pg.default, url);
    return { store: "postgres", url, token: await tokenFor(url) };
  } finally {
    await admin.end();
  }
}

/** A fresh token for the big tenant's admin (tokens in a cached fleet would have expired). */
async function tokenFor(url: string): Promise<string> {
  const store = await openStore(url);
  try {
    const admin = await findUser(store, "admin", BIG_TENANT);
    return (await issueToken(store, admin.user_id, { ttl_seconds: 7200 }, 7200)).token;
  } finally {
    await store.close();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("port")),
      );
    });
  });
}

interface Running {
  child: ChildProcess;
  base: string;
  stop(): Promise<void>;
}

async function waitFor(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`server at ${url} did not come up`);
}

function track(child: ChildProcess, base: string, health: string): Promise<Running> {
  child.stderr?.on("data", (chunk: Buffer) => {
    const text = chunk.toString();
    if (!/listening on|baseline on/.test(text)) process.stderr.write(`  server: ${text}`);
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return waitFor(base + health, child).then(() => ({ child, base, stop }));
}

/**
 * The real server: the CLI when it is built, else bench/serve.ts (the same startServer), run
 * with the flags the `phonefleet` command runs with.
 */
async function startServer(url: string, extraEnv: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const cli = join(ROOT, "dist/cli/main.js");
  const entry = existsSync(cli)
    ? [cli, "serve", "--port", String(port), "--host", "127.0.0.1"]
    : ["--import", "tsx", join(ROOT, "bench/serve.ts")];
  const args = [...NODE_FLAGS, ...entry];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...env,
      DATABASE_URL: url,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: LOG_LEVEL,
      ...(WORKERS === undefined ? {} : { PHONEFLEET_WORKERS: WORKERS }),
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  return track(child, `http://127.0.0.1:${port}`, "/healthz");
}

async function startBaseline(bodyFile: string): Promise<Running> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "bench/baseline.ts"), bodyFile, String(port)],
    { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
  );
  return track(child, `http://127.0.0.1:${port}`, "/");
}

/** Resident memory of `pid` and every process under it (the workers of `serve --workers N`). */
function rssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let kb = 0;
  for (const each of [pid, ...descendants(pid)]) {
    try {
      const status = readFileSync(`/proc/${each}/status`, "utf8");
      kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return kb / 1024;
}

function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      if (text !== "") children = children.concat(text.split(" ").map(Number));
    }
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

interface WrkOutput {
  requests: number;
  duration_us: number;
  status_errors: number;
  socket_errors: number;
  p50_us: number;
  p99_us: number;
}

async function wrk(
  base: string,
  path: string,
  token: string,
  maxPage: number,
  seconds: number,
  pid?: number,
): Promise<WrkOutput & { rss: number }> {
  const args = [
    `-t${THREADS}`,
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    "--timeout",
    "10s",
    "-s",
    join(ROOT, "bench/scenario.lua"),
    base,
    "--",
    token,
    path,
    String(maxPage),
  ];
  let rss = rssMb(pid);
  const sampler = setInterval(() => {
    rss = Math.max(rss, rssMb(pid));
  }, 250);
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
      });
      child.on("error", reject);
      child.on("exit", (code) =>
        code === 0 ? resolve(out) : reject(new Error(`wrk exited ${code}`)),
      );
    });
    const line = output.split("\n").find((l) => l.startsWith("WRK "));
    if (!line) throw new Error(`no result from wrk:\n${output}`);
    return { ...(JSON.parse(line.slice(4)) as WrkOutput), rss };
  } finally {
    clearInterval(sampler);
  }
}

async function measure(
  label: string,
  server: Running,
  scenario: Pick<Scenario, "path" | "maxPage">,
  token: string,
  seconds: number,
): Promise<Omit<Result, "store" | "ratio">> {
  if (WARMUP > 0) await wrk(server.base, scenario.path, token, scenario.maxPage, WARMUP);
  const r = await wrk(
    server.base,
    scenario.path,
    token,
    scenario.maxPage,
    seconds,
    server.child.pid,
  );
  const rps = r.requests / (r.duration_us / 1e6);
  // No answer within the run: its latency is at least the run's length.
  if (r.requests === 0) r.p99_us = Math.max(r.p99_us, r.duration_us);
  const errors = r.status_errors + r.socket_errors;
  log(
    `${label.padEnd(22)} ${rps.toFixed(0).padStart(7)} req/s  p99 ${(r.p99_us / 1000).toFixed(1)} ms` +
      `  rss ${r.rss.toFixed(0)} MB${errors ? `  ERRORS ${errors}` : ""}`,
  );
  return { scenario: label, rps, p99ms: r.p99_us / 1000, rssMb: r.rss, errors };
}

/** Fetches one page as a client would and checks the answer is real before loading it. */
async function probe(base: string, path: string, token: string): Promise<Buffer> {
  const res = await fetch(base + path.replace("{page}", "1"), {
    headers: { "x-auth-token": token },
  });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${body.toString()}`);
  return body;
}

async function benchStore(prepared: Prepared): Promise<Result[]> {
  const results: Result[] = [];
  const cold = await startServer(prepared.url, { PHONEFLEET_RESPONSE_CACHE_MB: "0" });
  let warm: Running | undefined;
  let baseline: Running | undefined;
  try {
    const page1 = await probe(cold.base, SCENARIOS[0]?.path ?? "", prepared.token);
    const total = (JSON.parse(page1.toString()) as { total_count: number }).total_count;
    if (total !== INSTANCES) throw new Error(`page 1 reports ${total} instances, not ${INSTANCES}`);
    const bodyFile = join(CACHE_DIR, `page1-${prepared.store}.json`);
    writeFileSync(bodyFile, page1);
    log(`${prepared.store}: page 1 is ${page1.length} bytes; total_count ${total}`);
    // Kept running (idle between its runs): measured before the first scenario and after each.
    const running = await startBaseline(bodyFile);
    baseline = running;
    const base = { path: "/", maxPage: 1 };
    const measureBaseline = () =>
      measure("baseline (node:http)", running, base, "", BASELINE_DURATION);
    const baselines = [await measureBaseline()];
    warm = await startServer(prepared.url, {});
    for (const scenario of SCENARIOS) {
      if (ONLY && !ONLY.includes(scenario.name)) continue;
      const server = scenario.cached ? warm : cold;
      await probe(server.base, scenario.path, prepared.token);
      const result = await measure(scenario.name, server, scenario, prepared.token, DURATION);
      const before = baselines[baselines.length - 1]?.rps ?? 0;
      const after = await measureBaseline();
      baselines.push(after);
      results.push({
        store: prepared.store,
        ...result,
        ratio: result.rps / ((before + after.rps) / 2),
      });
    }
    const rates = baselines.map((b) => b.rps);
    log(
      `${prepared.store}: baseline ${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)} req/s over ${rates.length} runs`,
    );
    results.unshift({
      store: prepared.store,
      scenario: "baseline",
      rps: rates.reduce((sum, r) => sum + r, 0) / rates.length,
      p99ms: Math.max(...baselines.map((b) => b.p99ms)),
      rssMb: Math.max(...baselines.map((b) => b.rssMb)),
      errors: baselines.reduce((sum, b) => sum + b.errors, 0),
      ratio: 1,
    });
    return results;
  } finally {
    await cold.stop();
    await warm?.stop();
    await baseline?.stop();
  }
}

const all: Result[] = [];
const skipped: string[] = [];
for (const name of STORES) {
  const prepared =
    name === "sqlite"
      ? await prepareSqlite()
      : name === "postgres"
        ? await preparePostgres()
        : `unknown store ${name}`;
  if (typeof prepared === "string") {
    skipped.push(`${name}: skipped: ${prepared}`);
    log(`${name}: skipped: ${prepared}`);
    continue;
  }
  all.push(...(await benchStore(prepared)));
}
console.log(
  `\nphonefleet bench: ${INSTANCES} instances in the big tenant, ${CONNECTIONS} connections, ` +
    `${THREADS} wrk threads, ${DURATION} s per scenario, server workers: ${WORKERS ?? "default"}\n`,
);
printTable(all);
const failed = checkTargets(all);
for (const line of skipped) console.log(line);
process.exitCode = failed > 0 && env.BENCH_STRICT === "1" ? 1 : 0;
