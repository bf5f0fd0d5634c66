/**
 * An import killed mid-way (SIGKILL: no handler, no cleanup, as when the machine's OOM killer
 * or an operator's kill -9 strikes) leaves the database exactly as it was, and unlocked: the
 * real `phonefleet instances import` is spawned and killed once it has read a third of its file.
 */
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checksum, ndjson } from "./admin-helpers.js";
import { runCli, startCli } from "./helpers/cli.js";
import { makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const RECORDS = 60_000;
const linux = process.platform === "linux";
if (!linux) console.warn("[tests] import-kill: needs /proc (Linux) to see how far the CLI read");

/** How far process `pid` has read into `file` (its offset in /proc/<pid>/fdinfo), if open. */
function readOffset(pid: number, file: string): number | undefined {
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (target !== file) continue;
      const pos = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8"));
      if (pos) return Number(pos[1]);
    }
  } catch {
    // the process is gone
  }
  return undefined;
}

for (const factory of STORES) {
  describe.skipIf(!linux)(`instances import killed mid-way (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let acme: TenantFixture;
    let dir: string;
    let file: string;

    beforeAll(async () => {
      ctx = await factory.create();
      acme = await makeTenant(ctx.store, "acme");
      dir = mkdtempSync(join(tmpdir(), "phonefleet-kill-"));
      file = join(dir, "fleet.jsonl");
      writeFileSync(file, ndjson(RECORDS, acme.projects[0]?.project_id as string));
    });
    afterAll(async () => {
      await ctx?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("leaves the database unchanged, and a later import goes through", async () => {
      const before = await checksum(ctx.store, ctx.url);
      const size = statSync(file).size;
      const child = startCli(["instances", "import", file, "--tenant", "acme", "--db", ctx.url]);
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
        child.on("exit", (code, signal) => resolve(signal ?? code)),
      );
      const pid = child.pid as number;
      const deadline = Date.now() + 60_000;
      let offset = 0;
      while (offset < size / 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        offset = readOffset(pid, file) ?? offset;
      }
      expect(offset).toBeGreaterThanOrEqual(size / 3);
      expect(offset).toBeLessThan(size);
      child.kill("SIGKILL");
      // Killed, not finished: had it completed first, it would have exited with 0.
      expect(await exited).toBe("SIGKILL");

      expect(await checksum(ctx.store, ctx.url)).toEqual(before);

      const again = await runCli(
        ["instances", "import", file, "--tenant", "acme", "--db", ctx.url, "--json"],
        {},
      );
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ created: RECORDS });
      expect((await checksum(ctx.store, ctx.url)).instances).toBe(RECORDS);
    }, 180_000);
  });
}
