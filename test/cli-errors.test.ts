/**
 * Every way to hold the CLI wrong: exactly one line on stderr, starting "error:", naming the
 * problem, no stack trace, nothing on stdout, and a non-zero exit (2 for usage errors, 1 for bad
 * input, unknown names and conflicts).
 */
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src/store/create-store.js";
import { migrations } from "../src/store/sqlite/migrations.js";
import { runCli, scratch } from "./helpers/cli.js";
import { addInstances, makeTenant } from "./helpers/fixtures.js";

const tmp = scratch();
const busy: Server = createServer();
let busyPort = 0;

beforeAll(async () => {
  const store = await openStore(tmp.db);
  const acme = await makeTenant(store, "acme");
  await addInstances(store, acme.tenantId, [
    {
      instance_id: "Inst0001",
      instance_name: "one",
      region: "cn-north-4",
      instance_sku: "sku",
      project_name: "acme-p0",
      pool_name: "phones",
    },
  ]);
  await store.close();
  writeFileSync(join(tmp.dir, "fleet.txt"), "{}\n");
  writeFileSync(join(tmp.dir, "fleet.jsonl"), "");
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  busyPort = (busy.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise((resolve) => busy.close(resolve));
  tmp.dispose();
});

const USAGE = 2;
const FAILED = 1;

/** [args, exit code, a part of the message, environment] */
type Case = [string[], number, string | RegExp, Record<string, string>?];

const cases: Case[] = [
  // usage: commands and arguments
  [[], USAGE, "missing command for 'phonefleet'"],
  [["launch"], USAGE, "unknown command 'launch'"],
  [["tenants"], USAGE, "missing command for 'phonefleet tenants'"],
  [["tenants", "crate", "x"], USAGE, "unknown command 'crate'"],
  [["tenants", "create"], USAGE, "missing required argument 'name'"],
  [["tenants", "create", "a", "b"], USAGE, "too many arguments"],
  [["tenants", "list", "--bogus"], USAGE, "unknown option '--bogus'"],
  [["tenants", "list", "--limit", "ten"], USAGE, "Expected a whole number"],
  [["tenants", "update", "acme"], USAGE, "nothing to change"],
  [
    ["tenants", "update", "acme", "--rate-limit", "fast"],
    USAGE,
    '--rate-limit must be a whole number or "default"',
  ],
  [["tenants", "update", "acme", "--subscribed", "--unsubscribed"], USAGE, "cannot be used with"],
  [["projects", "create", "p9"], USAGE, "required option '--tenant <tenant>'"],
  [["pools", "create", "x", "--tenant", "acme"], USAGE, "required option '--scene-tag <tag>'"],
  [
    ["pools", "create", "x", "--tenant", "acme", "--scene-tag", "PHONE"],
    USAGE,
    "Allowed choices are CLOUD_APP, CLOUD_PHONE",
  ],
  [
    ["users", "create", "u", "--tenant", "acme", "--role", "boss"],
    USAGE,
    "Allowed choices are admin, member",
  ],
  [["users", "create", "u", "--tenant", "acme"], USAGE, "required option '--role <role>'"],
  [
    ["users", "create", "u", "--tenant", "acme", "--role", "admin", "--password"],
    USAGE,
    "PHONEFLEET_PASSWORD, which is not set",
  ],
  [
    ["users", "create", "u", "--tenant", "acme", "--role", "admin", "--password", "hunter22"],
    USAGE,
    "too many arguments",
  ],
  [["users", "update", "admin", "--tenant", "acme"], USAGE, "nothing to change"],
  [
    ["users", "update", "admin", "--tenant", "acme", "--password-stdin"],
    USAGE,
    "standard input is empty",
  ],
  [["tokens", "issue"], USAGE, "missing required argument 'user'"],
  [["tokens", "issue", "admin", "--tenant", "acme", "--ttl-seconds", "-5"], USAGE, "--ttl-seconds"],
  [["instances", "import", "fleet.jsonl"], USAGE, "required option '--tenant <tenant>'"],
  [["instances", "set", "Inst0001"], USAGE, "nothing to change"],
  [["instances", "set", "Inst0001", "--running-status", "two"], USAGE, "Expected a whole number"],
  [["instances", "set", "Inst0001", "--unassign", "--assign-user", "x"], USAGE, "not both"],
  [["serve", "--error-status", "sometimes"], USAGE, "Allowed choices are seed, http200"],
  ...["0", "-1", "abc", "1000", "2.5", ""].map(
    (n): Case => [
      ["serve", "--workers", n],
      USAGE,
      `option '--workers <n|auto>' argument '${n}' is invalid. Expected a whole number from 1 to 64, or auto.`,
    ],
  ),
  // bad input, unknown names, conflicts
  [["tenants", "show", "nope"], FAILED, 'no tenant "nope"'],
  [["tenants", "create", "acme"], FAILED, /^error: tenant "acme" already exists$/],
  [["tenants", "create", "x".repeat(65)], FAILED, "name must not have more than 64 characters"],
  [["tenants", "create", "t2", "--tenant-id", "XYZ"], FAILED, "--tenant-id must match pattern"],
  [["tenants", "create", "t2", "--rate-limit", "0"], FAILED, "--rate-limit must be >= 1"],
  [["tenants", "list", "--limit", "0"], FAILED, "limit must be"],
  [["tenants", "delete", "nope"], FAILED, 'no tenant "nope"'],
  [["projects", "create", "p9", "--tenant", "nope"], FAILED, 'no tenant "nope"'],
  [
    ["projects", "create", "acme-p0", "--tenant", "acme"],
    FAILED,
    /^error: project "acme-p0" already exists in tenant "acme"$/,
  ],
  [["pools", "list", "--tenant", "nope"], FAILED, 'no tenant "nope"'],
  [
    ["pools", "create", "phones", "--tenant", "acme", "--scene-tag", "CLOUD_APP"],
    FAILED,
    "already exists",
  ],
  [["users", "create", "admin", "--tenant", "acme", "--role", "admin"], FAILED, "already exists"],
  [
    ["users", "create", "u", "--tenant", "acme", "--role", "member", "--project", "nope"],
    FAILED,
    'no project "nope" in tenant "acme"',
  ],
  [
    ["users", "create", "u", "--tenant", "acme", "--role", "admin", "--password"],
    FAILED,
    "--password must not have fewer than 8 characters",
    { PHONEFLEET_PASSWORD: "short" },
  ],
  [["users", "update", "ghost", "--tenant", "acme", "--role", "admin"], FAILED, 'no user "ghost"'],
  [["tokens", "issue", "ghost", "--tenant", "acme"], FAILED, 'no user "ghost"'],
  [
    ["tokens", "issue", "admin", "--tenant", "acme", "--ttl-seconds", "5"],
    FAILED,
    "--ttl-seconds must be >= 60",
  ],
  [["tokens", "revoke", "0123456789abcdef0123456789abcdef"], FAILED, "no active token"],
  [
    ["instances", "import", "fleet.txt", "--tenant", "acme"],
    FAILED,
    "use a .jsonl, .ndjson, .json or .csv file",
  ],
  [
    ["instances", "import", "missing.jsonl", "--tenant", "acme"],
    FAILED,
    'no such file: "missing.jsonl"',
  ],
  [["instances", "import", "fleet.jsonl", "--tenant", "nope"], FAILED, 'no tenant "nope"'],
  [["instances", "show", "Nope0000"], FAILED, 'no instance "Nope0000"'],
  [["instances", "delete", "Nope0000"], FAILED, 'no instance "Nope0000"'],
  [["instances", "set", "Nope0000", "--running-status", "1"], FAILED, 'no instance "Nope0000"'],
  [
    ["instances", "set", "Inst0001", "--running-status", "9"],
    FAILED,
    "--running-status must be one of 0, 1, 2, 3, 4, 5",
  ],
  [
    ["instances", "set", "Inst0001", "--frozen-status", "2"],
    FAILED,
    "--frozen-status must be one of 0, 1",
  ],
  [
    ["instances", "set", "Inst0001", "--backup-time", "yesterday"],
    FAILED,
    "--backup-time must match",
  ],
  [
    ["instances", "set", "Inst0001", "--project-id", "0123456789abcdef0123456789abcdef"],
    FAILED,
    "no project",
  ],
  // configuration and environment
  [["serve", "--port", "99999"], FAILED, "port must be an integer from 0 to 65535"],
  [
    ["serve"],
    FAILED,
    'PHONEFLEET_WORKERS must be an integer from 1 to 64 or "auto", got "0"',
    { PHONEFLEET_WORKERS: "0" },
  ],
  [
    ["serve"],
    FAILED,
    'PHONEFLEET_SQLITE_READERS must be an integer from 0 to 16 or "auto", got "many"',
    { PHONEFLEET_SQLITE_READERS: "many" },
  ],
  [
    ["tenants", "list"],
    FAILED,
    "PHONEFLEET_TOKEN_TTL must be an integer",
    { PHONEFLEET_TOKEN_TTL: "soon" },
  ],
];

describe("phonefleet: bad input gives one line and a non-zero exit", () => {
  it.concurrent.each(cases.map((c) => [c[0].join(" ") || "(nothing)", ...c] as const))(
    "%s",
    async (_name, args, code, message, env) => {
      const result = await runCli(["--db", tmp.db, ...args], { cwd: tmp.dir, env });
      expect(result.stdout).toBe("");
      const lines = result.stderr.split("\n").filter((line) => line !== "");
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: /);
      if (typeof message === "string") expect(lines[0]).toContain(message);
      else expect(lines[0]).toMatch(message);
      expect(result.code).toBe(code);
    },
  );

  it("a database that cannot be opened: one line naming it", async () => {
    const result = await runCli(["--db", "/nonexistent/dir/fleet.db", "tenants", "list"]);
    expect(result.stderr).toMatch(
      /^error: cannot open database "\/nonexistent\/dir\/fleet.db": .+\n$/,
    );
    expect(result.code).toBe(FAILED);
  });

  it("an unexpected error: one line and exit 1; its stack only with DEBUG=1", async () => {
    // A database that claims every migration but has no tables: the query itself fails.
    const broken = join(tmp.dir, "broken.db");
    const db = new Database(broken);
    db.exec(
      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)",
    );
    for (const m of migrations) {
      db.prepare("INSERT INTO schema_migrations VALUES (?, ?, ?)").run(m.version, m.name, "x");
    }
    db.close();
    const plain = await runCli(["--db", broken, "tenants", "list"]);
    expect(plain.stderr).toBe("error: no such table: tenants\n");
    expect(plain.code).toBe(FAILED);
    const debug = await runCli(["--db", broken, "tenants", "list"], { env: { DEBUG: "1" } });
    expect(debug.stderr).toMatch(/^error: no such table: tenants\n.*\n\s+at /s);
    expect(debug.code).toBe(FAILED);
  });

  it("a port already in use: one line, exit 1", async () => {
    const result = await runCli(["--db", tmp.db, "serve", "--port", String(busyPort)]);
    expect(result.stderr).toMatch(/^error: .*EADDRINUSE.*\n$/);
    expect(result.code).toBe(FAILED);
  });

  it("several workers over an in-memory database: one line, exit 1", async () => {
    for (const db of [":memory:", "sqlite:"]) {
      const result = await runCli(["--db", db, "serve", "--workers", "2", "--port", "0"]);
      expect(result.stderr).toBe(
        "error: several workers need a database file or PostgreSQL: an in-memory database is per process\n",
      );
      expect(result.code).toBe(FAILED);
    }
  });

  it("a port already in use with --workers 2: one line, exit 1, no worker left behind", async () => {
    const result = await runCli([
      "--db",
      tmp.db,
      "serve",
      "--workers",
      "2",
      "--port",
      String(busyPort),
    ]);
    // runCli resolves once stdout and stderr are closed: by the workers too, who share them.
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error: .*EADDRINUSE.*\n$/);
    expect(result.code).toBe(FAILED);
  });

  it("nothing changed: the failed creates and updates left the database as it was", async () => {
    const store = await openStore(tmp.db);
    try {
      expect((await store.listTenants(100, 0)).map((t) => t.name)).toEqual(["acme"]);
      const tenantId = (await store.tenantByName("acme"))?.tenant_id as string;
      expect((await store.listUsers(tenantId)).map((u) => u.name)).toEqual(["admin"]);
      expect((await store.listProjects(tenantId)).map((p) => p.name)).toEqual([
        "acme-p0",
        "acme-p1",
      ]);
      expect(await store.instanceById("Inst0001")).toMatchObject({
        running_status: 0,
        frozen_status: 0,
      });
    } finally {
      await store.close();
    }
  });
});
