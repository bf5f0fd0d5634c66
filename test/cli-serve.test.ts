/**
 * `phonefleet serve --demo`: seeds the demo tenant on a fresh database, listens on the real port
 * even when asked for port 0, prints a curl line that works when pasted, and exits 0 on SIGTERM.
 */
import { type ChildProcess, execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { scratch, startCli } from "./helpers/cli.js";

const tmp = scratch();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  tmp.dispose();
});

interface Served {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `phonefleet serve …` and resolves once it has printed a line matching `until`. */
function serve(args: string[], until: RegExp): Promise<Served> {
  const child = startCli(["--db", tmp.db, "serve", "--port", "0", ...args], {
    env: { LOG_LEVEL: "warn" },
  });
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  let stdout = "";
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serve did not start: ${stdout}${stderr}`)),
      25_000,
    );
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const lines = stdout.split("\n");
      if (lines.some((line) => until.test(line))) {
        clearTimeout(timer);
        resolve({ child, lines, exited });
      }
    });
    void exited.then(() => reject(new Error(`serve exited: ${stdout}${stderr}`)));
  });
}

const CURL =
  /^curl -s -H 'X-Auth-Token: (pf_[A-Za-z0-9_-]+)'( -H 'X-Request-Id: [A-Za-z0-9.-]+')? '(http:\/\/127\.0\.0\.1:(\d+)\/v1\/instances\/batch-query\?page_no=1&page_size=10)'$/;

function curlOf(lines: string[]) {
  const line = lines.find((l) => l.startsWith("curl "));
  const match = line?.match(CURL);
  if (!line || !match) throw new Error(`no curl line in:\n${lines.join("\n")}`);
  return { line, token: match[1] as string, url: match[3] as string, port: Number(match[4]) };
}

const hasCurl = spawnSync("curl", ["--version"]).status === 0;

describe("phonefleet serve --demo", () => {
  it("on a fresh database: seeds, prints the real port, a token and a curl line that works", async () => {
    const started = performance.now();
    const served = await serve(["--demo"], /^curl /);
    const startupMs = performance.now() - started;
    const [listening, seeded, tokenLine] = served.lines;
    const curl = curlOf(served.lines);

    expect(listening).toBe(`phonefleet listening on http://127.0.0.1:${curl.port}`);
    expect(curl.port).toBeGreaterThan(0);
    expect(seeded).toBe('demo tenant "demo" seeded with 3000 instances');
    expect(tokenLine).toMatch(/^token \(demo-admin, expires \d{4}-\d{2}-\d{2}T[\d:.]+Z\): pf_/);
    expect(tokenLine).toContain(curl.token);

    // What the curl line asks, asked with fetch …
    const res = await fetch(curl.url, { headers: { "X-Auth-Token": curl.token } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      total_count: number;
      page_size: number;
      data: { result: unknown[] };
    };
    expect(body).toMatchObject({ total_count: 3000, page_size: 10, error_code: "0" });
    expect(body.data.result).toHaveLength(10);

    // … and the line itself, pasted into a shell.
    if (hasCurl) {
      const { stdout } = await promisify(execFile)("sh", ["-c", curl.line]);
      expect(JSON.parse(stdout)).toMatchObject({ total_count: 3000, page_size: 10 });
    }

    // The other endpoints the README names.
    const base = `http://127.0.0.1:${curl.port}`;
    for (const path of ["/healthz", "/readyz", "/openapi.json", "/docs"]) {
      const page = await fetch(`${base}${path}`);
      expect(page.status, path).toBe(200);
      await page.arrayBuffer();
    }

    served.child.kill("SIGTERM");
    expect(await served.exited).toEqual({ code: 0, signal: null });
    expect(startupMs).toBeLessThan(20_000);
  });

  it("again on the same database: nothing re-seeded, a fresh token; --strict adds a request id", async () => {
    const served = await serve(["--demo", "--strict"], /^curl /);
    expect(served.lines[1]).toBe('demo tenant "demo" already present');
    const curl = curlOf(served.lines);
    expect(curl.line).toContain("-H 'X-Request-Id: demo-1'");

    const strictRes = await fetch(curl.url, {
      headers: { "X-Auth-Token": curl.token, "X-Request-Id": "demo-1" },
    });
    expect(strictRes.status).toBe(200);
    expect(((await strictRes.json()) as { total_count: number }).total_count).toBe(3000);
    // Strict mode really is on: without the request id the same request is refused.
    const bare = await fetch(curl.url, { headers: { "X-Auth-Token": curl.token } });
    expect(((await bare.json()) as { error_code: string }).error_code).toBe("KOOPHONE.API.0002");
    if (hasCurl) {
      const { stdout } = await promisify(execFile)("sh", ["-c", curl.line]);
      expect(JSON.parse(stdout)).toMatchObject({ total_count: 3000 });
    }

    served.child.kill("SIGTERM");
    expect(await served.exited).toEqual({ code: 0, signal: null });
  });

  it("without --demo: listens and prints no token; SIGINT also exits 0", async () => {
    const served = await serve([], /^phonefleet listening on /);
    const url = served.lines[0]?.replace("phonefleet listening on ", "") as string;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    served.child.kill("SIGINT");
    expect(await served.exited).toEqual({ code: 0, signal: null });
    expect(served.lines.join("\n")).not.toMatch(/pf_/);
  });
});
