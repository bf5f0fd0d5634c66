/**
 * How the command line fails: exactly one line on stderr and a non-zero exit. 2 for usage
 * errors (commander's own and ours), 1 for everything else: bad input, not found, conflict,
 * configuration, and unexpected errors (whose stack is shown only with DEBUG=1).
 */
import { type Command, CommanderError } from "commander";
import { ConfigError } from "../config.js";
import { ApiError } from "../errors.js";
import { DatabaseError } from "./context.js";

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Prints the error (unless commander already did) and returns the exit code. */
export function reportError(error: unknown, command: Command | undefined): number {
  if (error instanceof CommanderError) {
    // Commander has printed it (see configureOutput in program.ts); help and --version exit 0.
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof ApiError || error instanceof ConfigError || error instanceof DatabaseError) {
    printLine(`error: ${inFlagTerms(error.message, command)}`);
    return EXIT_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  printLine(`error: ${message}`);
  if (process.env.DEBUG === "1" && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  return EXIT_FAILURE;
}

export function printLine(text: string): void {
  process.stderr.write(`${oneLine(text)}\n`);
}

export function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, " ");
}

/**
 * Operator operations name fields as the admin API's body does (`body.rate_limit must be …`);
 * on the command line the same field is an option (`--rate-limit must be …`) or an argument.
 */
export function inFlagTerms(message: string, command: Command | undefined): string {
  return message.replace(/\bbody\.([a-z_]+)/g, (_match, field: string) => {
    const flag = `--${field.replaceAll("_", "-")}`;
    return command?.options.some((option) => option.long === flag) ? flag : field;
  });
}
