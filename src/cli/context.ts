/**
 * What every command starts from: the config (environment plus flags), the global --db and
 * --json options, and an open, migrated store that is closed when the command ends.
 */
import type { Command } from "commander";
import { type Config, type ConfigOverrides, loadConfig } from "../config.js";
import { openStore } from "../store/create-store.js";
import type { Store } from "../store/types.js";
import { type Output, output } from "./output.js";

export interface Globals {
  db?: string;
  json?: boolean;
}

export interface Context {
  config: Config;
  store: Store;
  out: Output;
}

export function globalsOf(command: Command): Globals {
  return command.optsWithGlobals<Globals>();
}

export function configOf(command: Command, flags: ConfigOverrides = {}): Config {
  const { db } = globalsOf(command);
  return loadConfig(process.env, db === undefined ? flags : { ...flags, db });
}

export function outputOf(command: Command): Output {
  return output(globalsOf(command).json === true);
}

/** Runs `body` over the store named by --db / DATABASE_URL, migrated, and closes it after. */
export async function withStore<T>(
  command: Command,
  body: (context: Context) => Promise<T>,
): Promise<T> {
  const config = configOf(command);
  const store = await open(config.databaseUrl);
  try {
    return await body({ config, store, out: outputOf(command) });
  } finally {
    await store.close();
  }
}

export async function open(databaseUrl: string): Promise<Store> {
  try {
    return await openStore(databaseUrl);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new DatabaseError(`cannot open database ${withoutPassword(databaseUrl)}: ${why}`);
  }
}

export class DatabaseError extends Error {
  override name = "DatabaseError";
}

/** A database URL fit for an error message: any password replaced. */
export function withoutPassword(databaseUrl: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(databaseUrl)) return JSON.stringify(databaseUrl);
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = "***";
    return JSON.stringify(url.toString());
  } catch {
    return "(unparseable URL)";
  }
}

/** A usage error raised by a command itself: printed and exited like commander's own. */
export function usageError(command: Command, message: string): never {
  command.error(`error: ${message}`, { exitCode: 2, code: "phonefleet.usage" });
}
