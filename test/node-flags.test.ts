/**
 * The V8 flags the server runs with (src/cli/node-flags.ts) are the same on the installed
 * command's first line and in `npm start`, and a server started that way runs with them.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { NODE_FLAGS } from "../src/cli/node-flags.js";

const root = new URL("..", import.meta.url);

describe("the server's V8 flags", () => {
  it("are on the command's first line, after env -S node", () => {
    const first = readFileSync(new URL("src/cli/main.ts", root), "utf8").split("\n")[0];
    expect(first).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(" ")}`);
  });

  it("are what npm start runs node with", () => {
    const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
    expect(pkg.scripts.start).toContain(`exec node ${NODE_FLAGS.join(" ")} dist/cli/main.js serve`);
  });

  it("are taken by this Node.js (a flag it does not know would stop the command at start)", () => {
    const run = spawnSync(process.execPath, [...NODE_FLAGS, "-e", "process.exit(0)"], {
      encoding: "utf8",
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});
