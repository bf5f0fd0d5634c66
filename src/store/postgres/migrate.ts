/**
 * Runs the PostgreSQL migrations up or down, each in its own transaction, recorded in
 * schema_migrations. Replicas starting at once take turns through a session advisory lock
 * (keyed by schema), so a migration is applied by exactly one of them; the others find it done.
 *
 * Migrations run on their own connection without the request timeouts: a migration over a big
 * table may legitimately take minutes.
 */
import pg from "pg";
import type { PostgresSettings } from "./connection.js";
import { type Migration, migrations } from "./migrations.js";

const label = (m: Migration) => `${String(m.version).padStart(3, "0")}-${m.name}`;

/** Applies pending migrations; returns the names applied now. */
export function migrateUp(settings: PostgresSettings): Promise<string[]> {
  return withMigrationLock(settings, async (client) => {
    const done = await appliedVersions(client);
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await inTransaction(client, async () => {
        await client.query(migration.up);
        await client.query(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
          [migration.version, migration.name, new Date().toISOString()],
        );
      });
      applied.push(label(migration));
    }
    // Outside any transaction (VACUUM cannot run in one), once every migration has committed.
    const rewritten = new Set(
      migrations.filter((m) => !done.has(m.version)).flatMap((m) => m.vacuum ?? []),
    );
    for (const table of rewritten) await client.query(`VACUUM (ANALYZE) ${table}`);
    return applied;
  });
}

/** Reverts applied migrations above `toVersion`, newest first; returns the names reverted. */
export function migrateDown(settings: PostgresSettings, toVersion: number): Promise<string[]> {
  return withMigrationLock(settings, async (client) => {
    const done = await appliedVersions(client);
    const reverted: string[] = [];
    for (const migration of [...migrations].reverse()) {
      if (migration.version <= toVersion || !done.has(migration.version)) continue;
      await inTransaction(client, async () => {
        await client.query(migration.down);
        await client.query("DELETE FROM schema_migrations WHERE version = $1", [migration.version]);
      });
      reverted.push(label(migration));
    }
    return reverted;
  });
}

async function withMigrationLock<T>(
  settings: PostgresSettings,
  run: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    ...settings.pool,
    statement_timeout: 0,
    query_timeout: 0,
    lock_timeout: 0,
  });
  client.on("error", () => {
    // A broken connection also fails the query in flight, which reports it.
  });
  await client.connect();
  try {
    // One lock per schema: replicas of one deployment wait for each other, tests in their own
    // schemas do not.
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [
      `phonefleet:migrate:${settings.schema ?? ""}`,
    ]);
    if (settings.schema !== undefined) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${settings.schema}`);
    }
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)`);
    return await run(client);
  } finally {
    // Closing the session releases its advisory lock too.
    await client.end().catch(() => {});
  }
}

async function appliedVersions(client: pg.Client): Promise<Set<number>> {
  const { rows } = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
  return new Set(rows.map((r) => r.version));
}

async function inTransaction(client: pg.Client, run: () => Promise<void>): Promise<void> {
  await client.query("BEGIN");
  try {
    await run();
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
