/**
 * The `phonefleet` command line: global options, then one command group per file. Every command
 * calls the operator operations the admin API also calls; none holds domain rules of its own.
 */
import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { accessKeysCommand } from "./access-keys.js";
import { demoCommand } from "./demo.js";
import { oneLine } from "./errors.js";
import { requireSubcommand } from "./group.js";
import { instancesCommand } from "./instances.js";
import { migrateCommand } from "./migrate.js";
import { poolsCommand } from "./pools.js";
import { projectsCommand } from "./projects.js";
import { serveCommand } from "./serve.js";
import { tenantsCommand } from "./tenants.js";
import { tokensCommand } from "./tokens.js";
import { usersCommand } from "./users.js";

export function buildProgram(): Command {
  const program = new Command("phonefleet")
    .description("Self-hosted inventory service for cloud-phone fleets (KooPhone tenant API)")
    .version(version(), "-V, --version")
    .addOption(
      new Option(
        "--db <path|url>",
        "SQLite file or sqlite: URL, or postgres:// URL (default: $DATABASE_URL or ./phonefleet.db)",
      ),
    )
    .option("--json", "print results as JSON, for scripts")
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    // Set before the commands are added, so that every subcommand inherits them: errors are
    // thrown to main.ts instead of exiting, and always printed on one line.
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`${oneLine(text)}\n`),
    });

  requireSubcommand(program);
  serveCommand(program);
  demoCommand(program);
  migrateCommand(program);
  tenantsCommand(program);
  projectsCommand(program);
  poolsCommand(program);
  usersCommand(program);
  tokensCommand(program);
  accessKeysCommand(program);
  instancesCommand(program);
  strictArguments(program);
  return program;
}

/** Groups accept any operand (to name an unknown subcommand); their commands take no extras. */
function strictArguments(command: Command): void {
  if (command.commands.length === 0) command.allowExcessArguments(false);
  for (const sub of command.commands) strictArguments(sub);
}

function version(): string {
  const file = new URL("../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}
