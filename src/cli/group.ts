/**
 * A command group (`phonefleet tenants …`). Given no subcommand, or an unknown one, it fails
 * with one line instead of commander's full help on stderr.
 */
import type { Command } from "commander";
import { usageError } from "./context.js";

export function group(parent: Command, name: string, description: string): Command {
  const command = parent.command(name).description(description).allowExcessArguments();
  command.action(() => {
    const names = command.commands.map((c) => c.name()).join(", ");
    const [given] = command.args;
    usageError(
      command,
      given === undefined
        ? `missing command for 'phonefleet ${name}' (one of: ${names}); see 'phonefleet ${name} --help'`
        : `unknown command '${given}' for 'phonefleet ${name}' (one of: ${names})`,
    );
  });
  return command;
}
