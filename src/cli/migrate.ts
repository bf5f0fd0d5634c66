/** `phonefleet migrate`: bring the database schema up to date (serve and every command also do). */
import type { Command } from "commander";
import { createStore } from "../store/create-store.js";
import { configOf, DatabaseError, outputOf, withoutPassword } from "./context.js";

export function migrateCommand(program: Command): void {
  program
    .command("migrate")
    .description("apply pending database migrations")
    .action(async (_opts, command: Command) => {
      const { databaseUrl } = configOf(command);
      const out = outputOf(command);
      let applied: string[];
      try {
        const store = await createStore(databaseUrl);
        try {
          applied = await store.migrate();
        } finally {
          await store.close();
        }
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new DatabaseError(`cannot migrate database ${withoutPassword(databaseUrl)}: ${why}`);
      }
      const sentence =
        applied.length === 0
          ? "database is up to date"
          : applied.map((name) => `applied ${name}`).join("\n");
      out.done(sentence, { applied });
    });
}
