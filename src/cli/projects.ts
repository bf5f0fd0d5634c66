/** `phonefleet projects create|list` */
import type { Command } from "commander";
import { createProject, listProjects } from "../operator/projects.js";
import { withStore } from "./context.js";
import { group } from "./group.js";

export function projectsCommand(program: Command): void {
  const projects = group(program, "projects", "manage the projects of a tenant");

  projects
    .command("create")
    .description("create a project")
    .argument("<name>", "project name, unique within the tenant")
    .requiredOption("--tenant <tenant>", "tenant name or id")
    .option("--project-id <hex>", "use this id (32 lowercase hex) instead of a new one")
    .action(async (name: string, opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        const project = await createProject(store, opts.tenant, {
          name,
          ...(opts.projectId !== undefined && { project_id: opts.projectId }),
        });
        out.record({ ...project });
      }),
    );

  projects
    .command("list")
    .description("list the projects of a tenant")
    .requiredOption("--tenant <tenant>", "tenant name or id")
    .action(async (opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        const rows = await listProjects(store, opts.tenant);
        out.list(
          rows.map((p) => ({ ...p })),
          ["project_id", "name"],
        );
      }),
    );
}
