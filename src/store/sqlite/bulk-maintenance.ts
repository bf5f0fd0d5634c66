/**
 * Bulk import without row-by-row trigger work (migration 4): inside the import's own
 * transaction, beginBulk() marks the rows about to be inserted (row_id from here on) so the
 * triggers skip them; finishBulk() then brings the name indexes, the counts and the tenant
 * versions up to date for exactly those rows, set-wise, before the import commits. Nothing of
 * this is ever visible to another connection: the mark is deleted before COMMIT.
 */
import type Database from "better-sqlite3";
import { namePieces } from "./migrations.js";

export interface Bulk {
  firstRowId: number;
}

/** Call right after BEGIN, on the importing connection. */
export function beginBulk(db: Database.Database): Bulk {
  const last = db.prepare("SELECT COALESCE(MAX(row_id), 0) FROM instances").pluck().get() as number;
  // INTEGER PRIMARY KEY: every row inserted from now on gets a row_id above the current max.
  const firstRowId = last + 1;
  db.prepare("INSERT INTO bulk_import (first_row_id) VALUES (?)").run(firstRowId);
  return { firstRowId };
}

/** Call right before COMMIT: index, count and version the rows inserted since beginBulk. */
export function finishBulk(db: Database.Database, bulk: Bulk): void {
  const from = bulk.firstRowId;
  db.prepare(`INSERT INTO instance_names (rowid, name_folded)
    SELECT row_id, name_folded FROM instances WHERE row_id >= ?`).run(from);
  db.prepare(`INSERT INTO instance_name_pieces (rowid, pieces)
    SELECT row_id, ${namePieces("name_folded")} FROM instances WHERE row_id >= ?`).run(from);

  const counts = new Map<string, number>();
  const times = new Map<string, number>();
  const tenants = new Set<string>();
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const rows = db
    .prepare(`SELECT tenant_id, project_id, pool_id, scene_tag, created_at
      FROM instances WHERE row_id >= ?`)
    .raw()
    .iterate(from) as IterableIterator<[string, string, string, string, string]>;
  for (const [tenant, project, pool, scene, created] of rows) {
    tenants.add(tenant);
    add(counts, `${tenant}\u0000${project}\u0000${pool}\u0000${scene}`);
    const day = created.slice(0, 10);
    const hour = created.slice(0, 13);
    for (const scope of ["*", `s:${scene}`, `p:${pool}`, `j:${project}`]) {
      add(times, `${tenant}\u0000${scope}\u0000d\u0000${day}`);
      add(times, `${tenant}\u0000${scope}\u0000h\u0000${hour}`);
    }
  }
  const count =
    db.prepare(`INSERT INTO instance_counts (tenant_id, project_id, pool_id, scene_tag, n)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`);
  for (const [key, n] of counts) count.run(...key.split("\u0000"), n);
  const time = db.prepare(`INSERT INTO instance_time_counts (tenant_id, scope, level, bucket, n)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`);
  for (const [key, n] of times) time.run(...key.split("\u0000"), n);
  const bump = db.prepare(`INSERT INTO tenant_versions (tenant_id, version) VALUES (?, 1)
    ON CONFLICT DO UPDATE SET version = version + 1`);
  for (const tenant of tenants) bump.run(tenant);
  db.prepare("DELETE FROM bulk_import").run();
}
