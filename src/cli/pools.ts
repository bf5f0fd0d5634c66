/** `phonefleet pools create|list` */
import { type Command, Option } from "commander";
import { SCENE_TAGS } from "../instances/model.js";
import { createPool, listPools } from "../operator/projects.js";
import { withStore } from "./context.js";
import { group } from "./group.js";

export function poolsCommand(program: Command): void {
  const pools = group(program, "pools", "manage the resource pools of a tenant");

  pools
    .command("create")
    .description("create a resource pool")
    .argument("<name>", "pool name, unique within the tenant")
    .requiredOption("--tenant <tenant>", "tenant name or id")
    .addOption(
      new Option("--scene-tag <tag>", "the pool's scenario tag")
        .choices(SCENE_TAGS)
        .makeOptionMandatory(),
    )
    .action(async (name: string, opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        out.record({
          ...(await createPool(store, opts.tenant, { name, scene_tag: opts.sceneTag })),
        });
      }),
    );

  pools
    .command("list")
    .description("list the resource pools of a tenant")
    .requiredOption("--tenant <tenant>", "tenant name or id")
    .action(async (opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        const rows = await listPools(store, opts.tenant);
        out.list(
          rows.map((p) => ({ ...p })),
          ["pool_id", "name", "scene_tag"],
        );
      }),
    );
}
