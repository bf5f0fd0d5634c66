/** `phonefleet tenants create|list|show|update|delete` */
import { type Command, Option } from "commander";
import {
  createTenant,
  deleteTenant,
  getTenant,
  listTenants,
  updateTenant,
} from "../operator/tenants.js";
import { usageError, withStore } from "./context.js";
import { group } from "./group.js";
import { integer } from "./parsers.js";

const COLUMNS = ["tenant_id", "name", "subscribed", "rate_limit", "created_at"];

export function tenantsCommand(program: Command): void {
  const tenants = group(program, "tenants", "manage tenants");

  tenants
    .command("create")
    .description("create a tenant")
    .argument("<name>", "unique tenant name (1-64 characters)")
    .option("--tenant-id <hex>", "use this id (32 lowercase hex) instead of a new one")
    .option("--unsubscribed", "create it without an active subscription")
    .option("--rate-limit <n>", "requests per second (default: the server's)", integer)
    .action(async (name: string, opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        const tenant = await createTenant(store, {
          name,
          ...(opts.tenantId !== undefined && { tenant_id: opts.tenantId }),
          ...(opts.unsubscribed && { subscribed: false }),
          ...(opts.rateLimit !== undefined && { rate_limit: opts.rateLimit }),
        });
        out.record({ ...tenant });
      }),
    );

  tenants
    .command("list")
    .description("list tenants, oldest first")
    .option("--limit <n>", "at most this many", integer, 100)
    .option("--offset <n>", "skip this many", integer, 0)
    .action(async (opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        const rows = await listTenants(store, opts.limit, opts.offset);
        out.list(
          rows.map((t) => ({ ...t })),
          COLUMNS,
        );
      }),
    );

  tenants
    .command("show")
    .description("show a tenant and its instance counts by running_status")
    .argument("<tenant>", "tenant name or id")
    .action(async (tenant: string, _opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        out.record({ ...(await getTenant(store, tenant)) });
      }),
    );

  tenants
    .command("update")
    .description("rename a tenant, change its subscription or rate limit")
    .argument("<tenant>", "tenant name or id")
    .option("--name <name>", "new name")
    .addOption(new Option("--subscribed", "mark the subscription active"))
    .addOption(
      new Option("--unsubscribed", "mark the subscription inactive").conflicts("subscribed"),
    )
    .option("--rate-limit <n|default>", "requests per second, or 'default' for the server's")
    .action(async (tenant: string, opts, command: Command) => {
      const patch: Record<string, unknown> = {};
      if (opts.name !== undefined) patch.name = opts.name;
      if (opts.subscribed) patch.subscribed = true;
      if (opts.unsubscribed) patch.subscribed = false;
      if (opts.rateLimit !== undefined) {
        patch.rate_limit = opts.rateLimit === "default" ? null : rateLimit(command, opts.rateLimit);
      }
      if (Object.keys(patch).length === 0) {
        usageError(
          command,
          "nothing to change: give --name, --subscribed, --unsubscribed or --rate-limit",
        );
      }
      await withStore(command, async ({ store, out }) => {
        out.record({ ...(await updateTenant(store, tenant, patch)) });
      });
    });

  tenants
    .command("delete")
    .description("delete a tenant and its instances; its tokens stop working")
    .argument("<tenant>", "tenant name or id")
    .action(async (tenant: string, _opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        const { tenant_id, name } = await getTenant(store, tenant);
        await deleteTenant(store, tenant_id);
        out.done(`deleted tenant ${name} (${tenant_id})`, { tenant_id, name, deleted: true });
      }),
    );
}

function rateLimit(command: Command, value: string): number {
  if (!/^\d{1,15}$/.test(value)) {
    usageError(
      command,
      `--rate-limit must be a whole number or "default", got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}
