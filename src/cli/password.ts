/**
 * Passwords never travel as a command-line argument (visible in `ps` and shell history):
 * `--password` takes it from PHONEFLEET_PASSWORD, `--password-stdin` from standard input.
 */
import { type Command, Option } from "commander";
import { usageError } from "./context.js";

export const PASSWORD_ENV = "PHONEFLEET_PASSWORD";

export function addPasswordOptions(command: Command): Command {
  return command
    .addOption(new Option("--password", `set the password from $${PASSWORD_ENV}`))
    .addOption(
      new Option("--password-stdin", "set the password read from standard input").conflicts(
        "password",
      ),
    );
}

/** The password the options ask for, or undefined when they ask for none. */
export async function passwordOf(
  command: Command,
  opts: { password?: boolean; passwordStdin?: boolean },
): Promise<string | undefined> {
  if (opts.password) {
    const password = process.env[PASSWORD_ENV];
    if (!password) {
      usageError(
        command,
        `--password reads the password from ${PASSWORD_ENV}, which is not set (or use --password-stdin)`,
      );
    }
    return password;
  }
  if (opts.passwordStdin) {
    const password = (await readStdin()).replace(/\r?\n$/, "");
    if (password === "") usageError(command, "--password-stdin: standard input is empty");
    return password;
  }
  return undefined;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
