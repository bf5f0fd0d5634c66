/**
 * The SQLite side of a bulk import: every batch inside one transaction on a connection of its
 * own, so the store's main connection keeps serving the last committed state (WAL) and never a
 * half-done import; any error, or the process dying, leaves the database as it was.
 *
 * Speed (bench/import.ts): an instance row feeds the table and eight B-trees (the unique
 * instance_id and six ordering indexes). Random ids land all over those trees, and every insert
 * costs page reads and rewrites: 200,000 rows took ~4x less CPU with the secondary indexes
 * dropped and rebuilt (a sort, then sequential writes) than maintained row by row. So a large
 * import, once it has outgrown a share of the rows already in the table, drops them and
 * rebuilds them before COMMIT, all inside the transaction: other connections keep reading the
 * committed schema, indexes included, and a rollback brings them back untouched. Uniqueness of
 * instance_id is a constraint of the table (not one of those indexes), still checked row by
 * row, so a duplicate id is still reported by line.
 */
import Database from "better-sqlite3";
import { conflict } from "../../errors.js";
import { newInstanceId } from "../../ids.js";
import { foldName } from "../../instances/model.js";
import { type ImportBatch, INSTANCE_COLUMNS, type StoredInstance } from "../types.js";

/**
 * When to stop maintaining the secondary indexes row by row and rebuild them at the end instead.
 * Measured on this schema: a row costs ~6 µs per rebuild (for every row of the table) against
 * ~40 µs maintained (for every imported row, and growing with the table), so once an import
 * has added a quarter of the rows already there, rebuilding is the cheaper way to finish.
 * Small imports (below MIN) never rebuild: they must stay cheap on a large table.
 */
export const DEFER_INDEXES_MIN = 5_000;
export const DEFER_INDEXES_SHARE = 0.25;

/** How long an import waits for the database's one write lock before answering 409. */
const BEGIN_WAIT_MS = 250;

/**
 * The row's values in INSTANCE_COLUMNS order (by position: keep the two in step), written into
 * `args` (reused: no allocation per row).
 */
function bind(args: unknown[], i: StoredInstance): unknown[] {
  args[0] = i.instance_id;
  args[1] = i.tenant_id;
  args[2] = i.project_id;
  args[3] = i.pool_id;
  args[4] = i.scene_tag;
  args[5] = i.instance_name;
  args[6] = foldName(i.instance_name);
  args[7] = i.region;
  args[8] = i.instance_sku;
  args[9] = i.frozen_status;
  args[10] = i.running_status;
  args[11] = i.login_status;
  args[12] = i.assign_user;
  args[13] = i.billing_mode;
  args[14] = i.phone_id;
  args[15] = i.member_name;
  args[16] = i.account_name;
  args[17] = i.region_name;
  args[18] = i.region_name_en;
  args[19] = i.backup_status;
  args[20] = i.backup_time;
  args[21] = i.restore_status;
  args[22] = i.restore_time;
  args[23] = i.created_at;
  args[24] = i.updated_at;
  return args;
}

export interface ImportConnection {
  /** The connection to import on: a fresh one, or the main one for `:memory:`. */
  db: Database.Database;
  /** Whether `db` was opened for this import (then it is closed after). */
  own: boolean;
}

/** Work of the schema's own around the inserts: right after BEGIN, and right before COMMIT. */
export interface ImportHooks<T> {
  begin(db: Database.Database): T;
  finish(db: Database.Database, begun: T): void;
}

export async function importInstances<T>(
  { db, own }: ImportConnection,
  tenantId: string,
  batches: AsyncIterable<ImportBatch>,
  hooks?: ImportHooks<T>,
): Promise<number> {
  const insertPool = db.prepare(
    "INSERT INTO pools (pool_id, tenant_id, name, scene_tag) VALUES (?, ?, ?, ?)",
  );
  const insert = db.prepare(
    `INSERT INTO instances (${INSTANCE_COLUMNS.join(", ")}) VALUES (${INSTANCE_COLUMNS.map(() => "?").join(", ")})`,
  );
  const args: unknown[] = new Array(INSTANCE_COLUMNS.length);
  let count = 0;
  let dropped: IndexDefinition[] | undefined;
  begin(db);
  try {
    const begun = hooks?.begin(db);
    const deferAfter = Math.max(DEFER_INDEXES_MIN, rowsAlready(db) * DEFER_INDEXES_SHARE);
    for await (const batch of batches) {
      for (const pool of batch.pools) {
        unique(`pool ${pool.name}`, () =>
          insertPool.run(pool.pool_id, pool.tenant_id, pool.name, pool.scene_tag),
        );
      }
      const { instances, positions, generated } = batch;
      for (let n = 0; n < instances.length; n++) {
        const instance = instances[n] as StoredInstance;
        if (instance.tenant_id !== tenantId) throw new Error("import batch for another tenant");
        bind(args, instance);
        if (generated[n]) {
          insertWithFreshId(args, insert);
          continue;
        }
        // Inline, not through unique(): no closure or message built for each of a million rows.
        try {
          insert.run(args);
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          throw conflict(`${positions[n]}: instance_id ${instance.instance_id} already exists`);
        }
      }
      count += instances.length;
      if (!dropped && count >= deferAfter) dropped = dropSecondaryIndexes(db);
    }
    if (hooks) hooks.finish(db, begun as T);
    if (dropped) for (const index of dropped) db.exec(index.sql);
    db.exec("COMMIT");
    return count;
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    throw error;
  } finally {
    if (own) db.close();
  }
}

/**
 * One writer at a time. A short write elsewhere is waited for; another import holds the lock for
 * long, so rather than wait the connection's full busy_timeout (which, in the server, would
 * block every other request), the import is told to come back later.
 */
function begin(db: Database.Database): void {
  const patience = db.pragma("busy_timeout", { simple: true });
  db.pragma(`busy_timeout = ${BEGIN_WAIT_MS}`);
  try {
    db.exec("BEGIN IMMEDIATE");
  } catch (error) {
    if (error instanceof Database.SqliteError && error.code.startsWith("SQLITE_BUSY")) {
      throw conflict("the database is busy with another import or write; try again later");
    }
    throw error;
  } finally {
    db.pragma(`busy_timeout = ${patience}`);
  }
}

/** Rows already in the table, roughly (rowids only grow): O(log n), unlike COUNT(*). */
function rowsAlready(db: Database.Database): number {
  return (db.prepare("SELECT max(rowid) FROM instances").pluck().get() as number | null) ?? 0;
}

interface IndexDefinition {
  name: string;
  sql: string;
}

/**
 * Drops the indexes created by CREATE INDEX (not the ones behind the table's UNIQUE and PRIMARY
 * KEY constraints, which have no SQL), returning how to make them again.
 */
function dropSecondaryIndexes(db: Database.Database): IndexDefinition[] {
  const indexes = db
    .prepare(
      "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'instances' AND sql IS NOT NULL",
    )
    .all() as IndexDefinition[];
  for (const { name } of indexes) db.exec(`DROP INDEX "${name.replaceAll('"', '""')}"`);
  return indexes;
}

/** Runs an insert, turning a uniqueness violation into a 409 that names what collided. */
function unique<T>(what: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`${what} already exists`);
    throw error;
  }
}

function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof Database.SqliteError &&
    (error.code === "SQLITE_CONSTRAINT_UNIQUE" || error.code === "SQLITE_CONSTRAINT_PRIMARYKEY")
  );
}

/** Generated ids are random (62^8); on the rare collision, draw again. */
function insertWithFreshId(args: unknown[], insert: Database.Statement): void {
  for (let attempt = 0; ; attempt++) {
    args[0] = newInstanceId();
    try {
      insert.run(args);
      return;
    } catch (error) {
      if (!isUniqueViolation(error) || attempt >= 10) throw error;
    }
  }
}
