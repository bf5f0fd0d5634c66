/**
 * Commands that only hold subcommands (`phonefleet`, `phonefleet tenants`). Given no
 * subcommand, or an unknown one, they fail with one line instead of commander's full help on
 * stderr.
 */
import type { Command } from "commander";
import { usageError } from "./context.js";

export function group(parent: Command, name: string, description: string): Command {
  return requireSubcommand(parent.command(name).description(description));
}

export function requireSubcommand(command: Command): Command {
  // An action of its own turns off commander's implicit `help` subcommand: turn it back on.
  return command
    .helpCommand(true)
    .allowExcessArguments()
    .action(() => {
      const path = pathOf(command);
      const names = command.commands.map((c) => c.name()).join(", ");
      const [given] = command.args;
      usageError(
        command,
        given === undefined
          ? `missing command for '${path}' (one of: ${names}); see '${path} --help'`
          : `unknown command '${given}' for '${path}' (one of: ${names})`,
      );
    });
}

function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}
