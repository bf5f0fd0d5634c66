/**
 * Vitest global setup: the CLI tests spawn the built binary (dist/cli/main.js), so make sure it
 * is built from the current sources. Skips the build when dist is newer than every source file
 * (as right after `npm test`'s own build step).
 */
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export default function setup(): void {
  const built = mtime(join(root, "dist", "cli", "main.js"));
  if (built !== undefined && built >= newest(join(root, "src"))) return;
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], {
    cwd: root,
    encoding: "utf8",
  });
  // tsc emits even with type errors; those fail `npm test` at its build step. Here, say so and
  // test what was emitted, rather than block every test file on one type error.
  if (result.status !== 0) {
    process.stderr.write(`build: tsc reported errors (dist emitted anyway):\n${result.stdout}\n`);
  }
  if (mtime(join(root, "dist", "cli", "main.js")) === undefined) {
    throw new Error(`build: dist/cli/main.js was not produced\n${result.stdout}${result.stderr}`);
  }
}

function mtime(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts")) {
      latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return latest;
}
