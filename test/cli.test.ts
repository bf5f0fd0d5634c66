/**
 * The `phonefleet` command line as an operator uses it: the real binary, spawned, over a
 * database file; what it creates is then seen by the real app (tokens work, grants apply).
 */
import type { Command } from "commander";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { buildProgram } from "../src/cli/program.js";
import { openStore } from "../src/store/create-store.js";
import type { Store } from "../src/store/types.js";
import { cliJson, runCli, scratch } from "./helpers/cli.js";
import { testConfig } from "./helpers/fixtures.js";

/** Every command path: the root, each group, each command. */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return [prefix, ...command.commands.flatMap((c) => commandPaths(c, [...prefix, c.name()]))];
}

describe("phonefleet --help", () => {
  const program = buildProgram();
  const paths = commandPaths(program);

  it("every command, group and the root has help naming its usage and the global options", () => {
    expect(paths.length).toBeGreaterThan(25);
    for (const path of paths) {
      let command: Command = program;
      for (const name of path) command = command.commands.find((c) => c.name() === name) as Command;
      const help = command.helpInformation();
      expect(help, path.join(" ")).toContain(`Usage: ${["phonefleet", ...path].join(" ")}`);
      expect(help, path.join(" ")).toContain("--json");
      expect(command.description(), path.join(" ")).not.toBe("");
    }
  });

  // The binary prints it on stdout and exits 0, at every depth (one spawn per depth).
  it.concurrent.each([[[]], [["instances"]], [["instances", "import"]], [["help", "users"]]])(
    "phonefleet %j --help exits 0 with the usage on stdout",
    async (path) => {
      const args = path[0] === "help" ? path : [...path, "--help"];
      const result = await runCli(args);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const shown = path[0] === "help" ? path.slice(1) : path;
      expect(result.stdout).toContain(`Usage: ${["phonefleet", ...shown].join(" ")}`);
    },
  );

  it("--version prints the package version", async () => {
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("operator workflow through the CLI", () => {
  const tmp = scratch();
  const db = () => ["--db", tmp.db];
  afterAll(() => tmp.dispose());

  /** The real app over the same file, to check what the CLI made from the outside. */
  async function withApp<T>(body: (app: FastifyInstance, store: Store) => Promise<T>): Promise<T> {
    const store = await openStore(tmp.db);
    const app = await buildApp({ config: testConfig(), store });
    try {
      return await body(app, store);
    } finally {
      await app.close();
      await store.close();
    }
  }
  const page = (app: FastifyInstance, token: string) =>
    app.inject({
      url: "/v1/instances/batch-query?page_no=1&page_size=100",
      headers: { "x-auth-token": token },
    });

  let tenantId: string;
  let projects: Record<string, string>;

  beforeAll(async () => {
    const migrated = await cliJson<{ applied: string[] }>([...db(), "migrate"]);
    expect(migrated.applied.length).toBeGreaterThan(0);
    const again = await runCli([...db(), "migrate"]);
    expect(again.stdout.trim()).toBe("database is up to date");
  });

  it("tenants create/list/show/update, with --json and plain output", async () => {
    const tenant = await cliJson<{ tenant_id: string; name: string; subscribed: boolean }>([
      ...db(),
      "tenants",
      "create",
      "acme",
      "--rate-limit",
      "500",
    ]);
    expect(tenant).toMatchObject({ name: "acme", subscribed: true, rate_limit: 500 });
    expect(tenant.tenant_id).toMatch(/^[0-9a-f]{32}$/);
    tenantId = tenant.tenant_id;

    const list = await cliJson<{ name: string }[]>([...db(), "tenants", "list"]);
    expect(list.map((t) => t.name)).toEqual(["acme"]);
    const table = await runCli([...db(), "tenants", "list"]);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^TENANT_ID\s+NAME\s+SUBSCRIBED/);
    expect(table.stdout).toContain(tenantId);

    const updated = await cliJson([
      ...db(),
      "tenants",
      "update",
      "acme",
      "--unsubscribed",
      "--rate-limit",
      "default",
    ]);
    expect(updated).toMatchObject({ name: "acme", subscribed: false, rate_limit: null });
    const shown = await cliJson<{ instances_by_running_status: Record<string, number> }>([
      ...db(),
      "tenants",
      "show",
      tenantId,
    ]);
    expect(shown).toMatchObject({ tenant_id: tenantId, subscribed: false });
    expect(Object.values(shown.instances_by_running_status).every((n) => n === 0)).toBe(true);
    await cliJson([...db(), "tenants", "update", "acme", "--subscribed"]);
  });

  it("projects and pools create/list", async () => {
    for (const name of ["north", "south"]) {
      await cliJson([...db(), "projects", "create", name, "--tenant", "acme"]);
    }
    const listed = await cliJson<{ project_id: string; name: string }[]>([
      ...db(),
      "projects",
      "list",
      "--tenant",
      "acme",
    ]);
    projects = Object.fromEntries(listed.map((p) => [p.name, p.project_id]));
    expect(Object.keys(projects).sort()).toEqual(["north", "south"]);

    await cliJson([
      ...db(),
      "pools",
      "create",
      "phones",
      "--tenant",
      "acme",
      "--scene-tag",
      "CLOUD_PHONE",
    ]);
    await cliJson([
      ...db(),
      "pools",
      "create",
      "apps",
      "--tenant",
      tenantId,
      "--scene-tag",
      "CLOUD_APP",
    ]);
    const pools = await cliJson<{ name: string; scene_tag: string }[]>([
      ...db(),
      "pools",
      "list",
      "--tenant",
      "acme",
    ]);
    expect(pools.map((p) => [p.name, p.scene_tag])).toEqual([
      ["apps", "CLOUD_APP"],
      ["phones", "CLOUD_PHONE"],
    ]);
  });

  it("users, tokens and grants: what the CLI sets is what the tenant API enforces", async () => {
    const admin = await cliJson<{ user_id: string; has_password: boolean }>(
      [...db(), "users", "create", "alice", "--tenant", "acme", "--role", "admin", "--password"],
      { env: { PHONEFLEET_PASSWORD: "correct horse battery" } },
    );
    expect(admin.has_password).toBe(true);
    const member = await cliJson<{ user_id: string; project_ids: string[] }>([
      ...db(),
      "users",
      "create",
      "bob",
      "--tenant",
      "acme",
      "--role",
      "member",
      "--project",
      "north",
      "--project",
      projects.south as string,
    ]);
    expect(member.project_ids).toEqual([projects.north, projects.south].sort());

    const users = await cliJson<{ name: string; role: string }[]>([
      ...db(),
      "users",
      "list",
      "--tenant",
      "acme",
    ]);
    expect(users.map((u) => [u.name, u.role])).toEqual([
      ["alice", "admin"],
      ["bob", "member"],
    ]);

    // Plain output: the token alone on stdout (TOKEN=$(phonefleet tokens issue …)), a note on stderr.
    const issued = await runCli([...db(), "tokens", "issue", "alice", "--tenant", "acme"]);
    expect(issued.code).toBe(0);
    const token = issued.stdout.trim();
    expect(token).toMatch(/^pf_[A-Za-z0-9_-]{43}$/);
    expect(issued.stderr).toContain("for alice");
    expect(issued.stderr).not.toContain(token);

    const memberToken = await cliJson<{ token: string; token_id: string; expires_at: string }>([
      ...db(),
      "tokens",
      "issue",
      member.user_id,
      "--ttl-seconds",
      "600",
    ]);
    const ttl = Date.parse(memberToken.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(590_000);
    expect(ttl).toBeLessThanOrEqual(600_000);

    await withApp(async (app) => {
      expect((await page(app, token)).statusCode).toBe(200);
      expect((await page(app, memberToken.token)).statusCode).toBe(200);
    });

    // Revoking every grant: the member may no longer list (KOOPHONE.API.1001).
    const ungranted = await cliJson<{ project_ids: string[] }>([
      ...db(),
      "users",
      "update",
      "bob",
      "--tenant",
      "acme",
      "--no-projects",
    ]);
    expect(ungranted.project_ids).toEqual([]);
    await withApp(async (app) => {
      expect((await page(app, memberToken.token)).json().error_code).toBe("KOOPHONE.API.1001");
    });

    const revoked = await cliJson([...db(), "tokens", "revoke", memberToken.token_id]);
    expect(revoked).toEqual({ token_id: memberToken.token_id, revoked: true });
    await withApp(async (app) => {
      expect((await page(app, memberToken.token)).statusCode).toBe(401);
    });
  });

  it("a password set from stdin is the one the IAM token endpoint accepts", async () => {
    const updated = await cliJson<{ has_password: boolean }>(
      [...db(), "users", "update", "bob", "--tenant", "acme", "--password-stdin"],
      { input: "stdin secret 123\n" },
    );
    expect(updated.has_password).toBe(true);
    const login = (password: string) =>
      withApp((app) =>
        app.inject({
          method: "POST",
          url: "/v3/auth/tokens",
          headers: { "content-type": "application/json" },
          payload: {
            auth: {
              identity: {
                methods: ["password"],
                password: { user: { name: "bob", password, domain: { name: "acme" } } },
              },
            },
          },
        }),
      );
    expect((await login("stdin secret 123")).statusCode).toBe(201);
    expect((await login("stdin secret 123\n")).statusCode).toBe(401);

    const cleared = await cliJson<{ has_password: boolean }>([
      ...db(),
      "users",
      "update",
      "bob",
      "--tenant",
      "acme",
      "--clear-password",
    ]);
    expect(cleared.has_password).toBe(false);
  });

  it("tenants delete: the tenant is gone and its tokens answer KOOPHONE.API.0000", async () => {
    const token = await cliJson<{ token: string }>([
      ...db(),
      "tokens",
      "issue",
      "alice",
      "--tenant",
      "acme",
    ]);
    const deleted = await runCli([...db(), "tenants", "delete", "acme"]);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout.trim()).toBe(`deleted tenant acme (${tenantId})`);
    expect(await cliJson([...db(), "tenants", "list"])).toEqual([]);
    await withApp(async (app) => {
      const res = await page(app, token.token);
      expect(res.json().error_code).toBe("KOOPHONE.API.0000");
    });
  });
});
