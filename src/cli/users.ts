/** `phonefleet users create|list|update` */
import { type Command, Option } from "commander";
import { resolveProjects } from "../operator/projects.js";
import { createUser, findUser, listUsers, updateUser } from "../operator/users.js";
import { usageError, withStore } from "./context.js";
import { group } from "./group.js";
import { collect } from "./parsers.js";
import { addPasswordOptions, passwordOf } from "./password.js";

const ROLES = ["admin", "member"];
const COLUMNS = ["user_id", "name", "role", "project_ids", "has_password"];

export function usersCommand(program: Command): void {
  const users = group(program, "users", "manage the users of a tenant");

  const create = users
    .command("create")
    .description("create a user; a member sees only the instances of its projects")
    .argument("<name>", "user name, unique within the tenant")
    .requiredOption("--tenant <tenant>", "tenant name or id")
    .addOption(
      new Option("--role <role>", "what the user may see").choices(ROLES).makeOptionMandatory(),
    )
    .option("--project <project>", "grant a project, by name or id (repeatable)", collect);
  addPasswordOptions(create).action(async (name: string, opts, command: Command) => {
    const password = await passwordOf(command, opts);
    await withStore(command, async ({ store, out }) => {
      const project_ids = await resolveProjects(store, opts.tenant, opts.project ?? []);
      const user = await createUser(store, opts.tenant, {
        name,
        role: opts.role,
        project_ids,
        ...(password !== undefined && { password }),
      });
      out.record({ ...user });
    });
  });

  users
    .command("list")
    .description("list the users of a tenant")
    .requiredOption("--tenant <tenant>", "tenant name or id")
    .action(async (opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        const rows = await listUsers(store, opts.tenant);
        out.list(
          rows.map((u) => ({ ...u })),
          COLUMNS,
        );
      }),
    );

  const update = users
    .command("update")
    .description("change a user's role, project grants or password")
    .argument("<user>", "user id, or name with --tenant")
    .option("--tenant <tenant>", "the user's tenant (to name the user by name)")
    .addOption(new Option("--role <role>", "new role").choices(ROLES))
    .option(
      "--project <project>",
      "grant exactly these projects, by name or id (repeatable)",
      collect,
    )
    .addOption(new Option("--no-projects", "revoke every project grant").conflicts("project"))
    .addOption(
      new Option("--clear-password", "remove the password").conflicts([
        "password",
        "passwordStdin",
      ]),
    );
  addPasswordOptions(update).action(async (user: string, opts, command: Command) => {
    const password = await passwordOf(command, opts);
    const changes = opts.role !== undefined || opts.project !== undefined || !opts.projects;
    if (!changes && password === undefined && !opts.clearPassword) {
      usageError(
        command,
        "nothing to change: give --role, --project, --no-projects, --password, --password-stdin or --clear-password",
      );
    }
    await withStore(command, async ({ store, out }) => {
      const found = await findUser(store, user, opts.tenant);
      const patch: Record<string, unknown> = {};
      if (opts.role !== undefined) patch.role = opts.role;
      if (opts.project !== undefined) {
        patch.project_ids = await resolveProjects(store, found.tenant_id, opts.project);
      }
      if (!opts.projects) patch.project_ids = [];
      if (password !== undefined) patch.password = password;
      if (opts.clearPassword) patch.password = null;
      out.record({ ...(await updateUser(store, found.user_id, patch)) });
    });
  });
}
