/** `phonefleet instances import|set|show|delete` */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Command } from "commander";
import { badInput, notFound } from "../errors.js";
import { wireTime } from "../ids.js";
import { importInstances } from "../operator/import/import-instances.js";
import { formatOfFile, recordsOf } from "../operator/import/sources.js";
import { deleteInstance, getInstance, patchInstance } from "../operator/instances.js";
import { usageError, withStore } from "./context.js";
import { group } from "./group.js";
import { integer } from "./parsers.js";
import { progressBar } from "./progress.js";

/** `instances set` options: option attribute → the instance field it changes. */
const STATE_OPTIONS = {
  instanceName: "instance_name",
  runningStatus: "running_status",
  frozenStatus: "frozen_status",
  loginStatus: "login_status",
  assignUser: "assign_user",
  backupStatus: "backup_status",
  backupTime: "backup_time",
  restoreStatus: "restore_status",
  restoreTime: "restore_time",
  phoneId: "phone_id",
  projectId: "project_id",
} as const;

export function instancesCommand(program: Command): void {
  const instances = group(program, "instances", "import instances and change their state");

  instances
    .command("import")
    .description(
      "import instances from a .jsonl/.ndjson, .json (array) or .csv file: all or nothing",
    )
    .argument("<file>", "the records, one instance each")
    .requiredOption("--tenant <tenant>", "tenant name or id")
    .action(async (file: string, opts, command: Command) => {
      const format = formatOfFile(file);
      const size = await fileSize(file);
      await withStore(command, async ({ store, out }) => {
        const input = createReadStream(file);
        const progress = progressBar(size, !out.json);
        try {
          const { created } = await importInstances(store, opts.tenant, recordsOf(input, format), {
            onProgress: (records) => progress.update(input.bytesRead, records),
          });
          progress.stop();
          out.done(`imported ${created} instance${created === 1 ? "" : "s"}`, { created });
        } finally {
          progress.stop();
          input.destroy();
        }
      });
    });

  instances
    .command("set")
    .description("change the state of an instance")
    .argument("<instance-id>", "the 8-character instance id")
    .option("--instance-name <name>", "rename it")
    .option(
      "--running-status <code>",
      "0 unknown, 1 stopped, 2 running, 3 going offline, 4 starting, 5 shut down",
      integer,
    )
    .option("--frozen-status <code>", "0 normal, 1 frozen", integer)
    .option("--login-status <code>", "0 not logged in, 1 logged in", integer)
    .option("--assign-user <user>", "assign it to this user ('' to unassign)")
    .option("--unassign", "same as --assign-user ''")
    .option(
      "--backup-status <code>",
      "0 preparing, 1 executing, 2 successful, 3 failed, 4 others",
      integer,
    )
    .option("--backup-time <time>", "'YYYY-MM-DD HH:MM:SS' UTC, 'now', or '' for never")
    .option("--restore-status <code>", "same codes as --backup-status", integer)
    .option("--restore-time <time>", "'YYYY-MM-DD HH:MM:SS' UTC, 'now', or '' for never")
    .option("--phone-id <id>", "the phone behind it")
    .option("--project-id <hex>", "move it to another project of its tenant")
    .action(async (instanceId: string, opts, command: Command) => {
      if (opts.unassign) {
        if (opts.assignUser !== undefined)
          usageError(command, "give --unassign or --assign-user, not both");
        opts.assignUser = "";
      }
      const patch: Record<string, unknown> = {};
      for (const [option, field] of Object.entries(STATE_OPTIONS)) {
        if (opts[option] !== undefined) patch[field] = opts[option];
      }
      for (const field of ["backup_time", "restore_time"]) {
        if (patch[field] === "now") patch[field] = wireTime(new Date());
      }
      if (Object.keys(patch).length === 0) {
        usageError(command, "nothing to change: give at least one option (see --help)");
      }
      await withStore(command, async ({ store, out }) => {
        out.record({ ...(await patchInstance(store, instanceId, patch)) });
      });
    });

  instances
    .command("show")
    .description("show an instance as stored")
    .argument("<instance-id>", "the 8-character instance id")
    .action(async (instanceId: string, _opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        out.record({ ...(await getInstance(store, instanceId)) });
      }),
    );

  instances
    .command("delete")
    .description("release an instance")
    .argument("<instance-id>", "the 8-character instance id")
    .action(async (instanceId: string, _opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        await deleteInstance(store, instanceId);
        out.done(`deleted instance ${instanceId}`, { instance_id: instanceId, deleted: true });
      }),
    );
}

async function fileSize(file: string): Promise<number> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") throw notFound(`no such file: ${JSON.stringify(file)}`);
    throw badInput(`cannot read ${JSON.stringify(file)}: ${error.code ?? error.message}`);
  });
  if (!info.isFile()) throw badInput(`${JSON.stringify(file)} is not a file`);
  return info.size;
}
