/**
 * Runs the real `phonefleet` binary (dist/cli/main.js, built by the global setup in
 * test/helpers/build.ts) as a child process, with an environment free of the caller's
 * phonefleet settings.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  /** Written to the child's stdin, then closed. */
  input?: string;
  cwd?: string;
}

/** The parent's environment without anything that would change what the CLI does. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PHONEFLEET_|DATABASE_URL$|PORT$|HOST$|LOG_LEVEL$|DEBUG$)/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

export function startCli(args: string[], options: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = startCli(args, options);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  child.stdin?.end(options.input ?? "");
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs the CLI and parses its stdout as JSON; fails with stderr when it did not exit 0. */
export async function cliJson<T = unknown>(args: string[], options: CliOptions = {}): Promise<T> {
  const result = await runCli(["--json", ...args], options);
  if (result.code !== 0) throw new Error(`phonefleet ${args.join(" ")} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/**
 * A scratch directory with a database path in it, made on first use (so that a file whose tests
 * are all filtered out, and whose hooks then never run, leaves nothing behind); `dispose`
 * removes it.
 */
export function scratch(): { readonly dir: string; readonly db: string; dispose(): void } {
  let made: string | undefined;
  const dir = () => {
    made ??= mkdtempSync(join(tmpdir(), "phonefleet-cli-"));
    return made;
  };
  return {
    get dir() {
      return dir();
    },
    get db() {
      return join(dir(), "fleet.db");
    },
    dispose() {
      if (made) rmSync(made, { recursive: true, force: true });
    },
  };
}
