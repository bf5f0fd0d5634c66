/**
 * SQLite schema, as ordered migrations. A migration is never edited once released: add the next.
 *
 * Every tenant-owned table carries tenant_id, and child rows point at their parent through
 * (tenant_id, id) so that a row can never reference another tenant's project or pool.
 */
export interface Migration {
  version: number;
  name: string;
  up: string;
  down: string;
  /**
   * PostgreSQL: tables to VACUUM (ANALYZE) once the migration has committed, because it
   * rewrote them (a rewritten table has no visibility map, so index-only scans read the heap
   * until a vacuum, which autovacuum does not start for a rewrite).
   */
  vacuum?: readonly string[];
}

/** The columns of instances as migration 1 made them, copied as they are by migration 3. */
const COLUMNS = `instance_id, tenant_id, project_id, pool_id, scene_tag, instance_name, name_folded, region, instance_sku, frozen_status, running_status, login_status, assign_user, billing_mode, phone_id, member_name, account_name, region_name, region_name_en, backup_status, backup_time, restore_status, restore_time, created_at, updated_at`;

/** Larger than any row_id: no bulk import under way. */
const NO_BULK = "9223372036854775807";

/** Trigger statements of migration 4: count a new row, uncount an old one, bump versions. */
const COUNT_NEW = `INSERT INTO instance_counts (tenant_id, project_id, pool_id, scene_tag, n)
          VALUES (new.tenant_id, new.project_id, new.pool_id, new.scene_tag, 1)
          ON CONFLICT DO UPDATE SET n = n + 1;
        INSERT INTO instance_time_counts (tenant_id, scope, level, bucket, n)
          SELECT new.tenant_id, s.column1, 'd', substr(new.created_at, 1, 10), 1
          FROM (VALUES ('*'), ('s:' || new.scene_tag), ('p:' || new.pool_id),
                       ('j:' || new.project_id)) s
          WHERE true
          ON CONFLICT DO UPDATE SET n = n + 1;`;
const UNCOUNT_OLD = `UPDATE instance_counts SET n = n - 1
          WHERE tenant_id = old.tenant_id AND project_id = old.project_id
            AND pool_id = old.pool_id AND scene_tag = old.scene_tag;
        UPDATE instance_time_counts SET n = n - 1
          WHERE tenant_id = old.tenant_id
            AND scope IN ('*', 's:' || old.scene_tag, 'p:' || old.pool_id, 'j:' || old.project_id)
            AND level = 'd' AND bucket = substr(old.created_at, 1, 10);`;
const BUMP_NEW = `INSERT INTO tenant_versions (tenant_id, version) VALUES (new.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;`;
const BUMP_OLD = `INSERT INTO tenant_versions (tenant_id, version) VALUES (old.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;`;

/** The indexes of instances since migration 3 (which, like migration 6, rebuilt the table). */
const INSTANCE_INDEXES = `
      CREATE INDEX instances_by_time ON instances (tenant_id, created_at, instance_id);
      CREATE INDEX instances_by_name ON instances (tenant_id, instance_name, instance_id);
      CREATE INDEX instances_by_id ON instances (tenant_id, instance_id);
      CREATE INDEX instances_by_project ON instances (tenant_id, project_id, created_at, instance_id);
      CREATE INDEX instances_by_scene ON instances (tenant_id, scene_tag, created_at, instance_id);
      CREATE INDEX instances_by_pool ON instances (tenant_id, pool_id, created_at, instance_id);
`;

/**
 * The triggers of migration 4 (recreated by migration 6, which rebuilds instances), with the
 * statements that count a new row and uncount an old one: migration 4's (days), or 8's (days and
 * hours).
 */
function bulkAwareTriggers(countNew: string, uncountOld: string, pieces = false): string {
  // Migration 9's index of 4-character pieces, beside the trigram index.
  const addPieces = pieces
    ? `INSERT INTO instance_name_pieces (rowid, pieces)
          VALUES (new.row_id, ${namePieces("new.name_folded")});`
    : "";
  const dropPieces = pieces ? "DELETE FROM instance_name_pieces WHERE rowid = old.row_id;" : "";
  return `
      CREATE TRIGGER instances_inserted AFTER INSERT ON instances
      WHEN new.row_id < (SELECT COALESCE(MIN(first_row_id), ${NO_BULK}) FROM bulk_import)
      BEGIN
        INSERT INTO instance_names (rowid, name_folded) VALUES (new.row_id, new.name_folded);
        ${addPieces}
        ${countNew}
        ${BUMP_NEW}
      END;

      CREATE TRIGGER instances_deleted AFTER DELETE ON instances
      WHEN old.row_id < (SELECT COALESCE(MIN(first_row_id), ${NO_BULK}) FROM bulk_import)
      BEGIN
        INSERT INTO instance_names (instance_names, rowid, name_folded)
          VALUES ('delete', old.row_id, old.name_folded);
        ${dropPieces}
        ${uncountOld}
        ${BUMP_OLD}
      END;

      CREATE TRIGGER instances_renamed AFTER UPDATE OF name_folded ON instances
      WHEN old.row_id < (SELECT COALESCE(MIN(first_row_id), ${NO_BULK}) FROM bulk_import)
      BEGIN
        INSERT INTO instance_names (instance_names, rowid, name_folded)
          VALUES ('delete', old.row_id, old.name_folded);
        INSERT INTO instance_names (rowid, name_folded) VALUES (new.row_id, new.name_folded);
        ${dropPieces}
        ${addPieces}
      END;

      CREATE TRIGGER instances_moved
      AFTER UPDATE OF tenant_id, project_id, pool_id, scene_tag, created_at ON instances
      WHEN old.row_id < (SELECT COALESCE(MIN(first_row_id), ${NO_BULK}) FROM bulk_import)
      BEGIN
        ${uncountOld}
        ${countNew}
      END;

      CREATE TRIGGER instances_updated AFTER UPDATE ON instances
      WHEN old.row_id < (SELECT COALESCE(MIN(first_row_id), ${NO_BULK}) FROM bulk_import)
      BEGIN
        ${BUMP_OLD}
        INSERT INTO tenant_versions (tenant_id, version)
          SELECT new.tenant_id, 1 WHERE new.tenant_id <> old.tenant_id
          ON CONFLICT DO UPDATE SET version = version + 1;
      END;
`;
}
const BULK_AWARE_TRIGGERS = bulkAwareTriggers(COUNT_NEW, UNCOUNT_OLD);
const DROP_BULK_AWARE_TRIGGERS = `DROP TRIGGER instances_inserted;
      DROP TRIGGER instances_deleted;
      DROP TRIGGER instances_renamed;
      DROP TRIGGER instances_moved;
      DROP TRIGGER instances_updated;`;

/** Migration 8's trigger statements: COUNT_NEW and UNCOUNT_OLD, with hour counts beside days. */
const COUNT_NEW_HOURLY = `INSERT INTO instance_counts (tenant_id, project_id, pool_id, scene_tag, n)
          VALUES (new.tenant_id, new.project_id, new.pool_id, new.scene_tag, 1)
          ON CONFLICT DO UPDATE SET n = n + 1;
        INSERT INTO instance_time_counts (tenant_id, scope, level, bucket, n)
          SELECT new.tenant_id, s.column1, l.column1, substr(new.created_at, 1, l.column2), 1
          FROM (VALUES ('*'), ('s:' || new.scene_tag), ('p:' || new.pool_id),
                       ('j:' || new.project_id)) s, (VALUES ('d', 10), ('h', 13)) l
          WHERE true
          ON CONFLICT DO UPDATE SET n = n + 1;`;
const UNCOUNT_OLD_HOURLY = `UPDATE instance_counts SET n = n - 1
          WHERE tenant_id = old.tenant_id AND project_id = old.project_id
            AND pool_id = old.pool_id AND scene_tag = old.scene_tag;
        UPDATE instance_time_counts SET n = n - 1
          WHERE tenant_id = old.tenant_id
            AND scope IN ('*', 's:' || old.scene_tag, 'p:' || old.pool_id, 'j:' || old.project_id)
            AND ((level = 'd' AND bucket = substr(old.created_at, 1, 10))
              OR (level = 'h' AND bucket = substr(old.created_at, 1, 13)));`;

/**
 * Where a name's 4-character pieces can start for migration 9's index to list them: names are
 * at most 64 characters (a few more once folded), so any longer name is one no operation wrote.
 */
export const PIECE_POSITIONS = 256;

/**
 * What migration 9 indexes of the folded name `name` (an SQL expression): each 4-character piece
 * (by character, as substr counts) as the hex of its UTF-8 bytes, space-separated, for FTS5's
 * ascii tokenizer to take as one token each; and the token `long` when the name has pieces
 * starting past PIECE_POSITIONS, which are not listed (a search must then check that name
 * itself). A name shorter than 4 characters has no piece. Bulk imports index their rows with the
 * same expression (bulk-maintenance.ts).
 */
export function namePieces(name: string): string {
  return `(COALESCE((SELECT group_concat(hex(substr(${name}, o.k, 4)), ' ')
      FROM name_piece_positions o WHERE o.k <= length(${name}) - 3), '')
    || CASE WHEN length(${name}) - 3 > ${PIECE_POSITIONS} THEN ' long' ELSE '' END)`;
}

/** Bumps a tenant's auth version (migration 7); `tenant` is an SQL expression. */
const bumpAuth = (tenant: string) => `INSERT INTO auth_versions (tenant_id, version)
          SELECT ${tenant}, 1 WHERE ${tenant} IS NOT NULL
          ON CONFLICT DO UPDATE SET version = version + 1;`;
/** The tenant of a token's user. */
const tokenTenant = (row: "old" | "new") =>
  `(SELECT tenant_id FROM users WHERE user_id = ${row}.user_id)`;

export const migrations: Migration[] = [
  {
    version: 1,
    name: "initial",
    up: `
      CREATE TABLE tenants (
        tenant_id   TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        subscribed  INTEGER NOT NULL DEFAULT 1 CHECK (subscribed IN (0, 1)),
        rate_limit  INTEGER CHECK (rate_limit IS NULL OR rate_limit > 0),
        created_at  TEXT NOT NULL,
        deleted_at  TEXT
      );
      -- A deleted tenant keeps its row (its tokens must answer KOOPHONE.API.0000) but frees its name.
      CREATE UNIQUE INDEX tenants_live_name ON tenants (name) WHERE deleted_at IS NULL;

      CREATE TABLE projects (
        project_id  TEXT PRIMARY KEY,
        tenant_id   TEXT NOT NULL REFERENCES tenants (tenant_id),
        name        TEXT NOT NULL,
        UNIQUE (tenant_id, name),
        UNIQUE (tenant_id, project_id)
      );

      CREATE TABLE pools (
        pool_id     TEXT PRIMARY KEY,
        tenant_id   TEXT NOT NULL REFERENCES tenants (tenant_id),
        name        TEXT NOT NULL,
        scene_tag   TEXT NOT NULL CHECK (scene_tag IN ('CLOUD_APP', 'CLOUD_PHONE')),
        UNIQUE (tenant_id, name),
        UNIQUE (tenant_id, pool_id)
      );

      CREATE TABLE users (
        user_id       TEXT PRIMARY KEY,
        tenant_id     TEXT NOT NULL REFERENCES tenants (tenant_id),
        name          TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        password_hash TEXT,
        UNIQUE (tenant_id, name),
        UNIQUE (tenant_id, user_id)
      );

      CREATE TABLE user_projects (
        tenant_id   TEXT NOT NULL,
        user_id     TEXT NOT NULL,
        project_id  TEXT NOT NULL,
        PRIMARY KEY (user_id, project_id),
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, project_id) ON DELETE CASCADE
      ) WITHOUT ROWID;

      CREATE TABLE tokens (
        token_id    TEXT PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
        token_hash  TEXT NOT NULL UNIQUE,
        issued_at   TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        revoked_at  TEXT
      );

      CREATE TABLE instances (
        instance_id     TEXT PRIMARY KEY,
        tenant_id       TEXT NOT NULL,
        project_id      TEXT NOT NULL,
        pool_id         TEXT NOT NULL,
        scene_tag       TEXT NOT NULL,
        instance_name   TEXT NOT NULL,
        name_folded     TEXT NOT NULL,
        region          TEXT NOT NULL,
        instance_sku    TEXT NOT NULL,
        frozen_status   INTEGER NOT NULL,
        running_status  INTEGER NOT NULL,
        login_status    INTEGER NOT NULL,
        assign_user     TEXT NOT NULL,
        billing_mode    TEXT NOT NULL,
        phone_id        TEXT NOT NULL,
        member_name     TEXT NOT NULL,
        account_name    TEXT NOT NULL,
        region_name     TEXT NOT NULL,
        region_name_en  TEXT NOT NULL,
        backup_status   INTEGER NOT NULL,
        backup_time     TEXT NOT NULL,
        restore_status  INTEGER NOT NULL,
        restore_time    TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, project_id),
        FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, pool_id)
      );
      -- One index per sort order the API offers, each led by tenant_id, ending in instance_id
      -- (the tie-breaker), so a page is read in index order without sorting the tenant.
      CREATE INDEX instances_by_time ON instances (tenant_id, created_at, instance_id);
      CREATE INDEX instances_by_name ON instances (tenant_id, instance_name, instance_id);
      CREATE INDEX instances_by_id ON instances (tenant_id, instance_id);
      -- Members see granted projects; pool filters select by pool or scene tag.
      CREATE INDEX instances_by_project ON instances (tenant_id, project_id, created_at, instance_id);
      CREATE INDEX instances_by_scene ON instances (tenant_id, scene_tag, created_at, instance_id);
      CREATE INDEX instances_by_pool ON instances (tenant_id, pool_id, created_at, instance_id);
    `,
    down: `
      DROP TABLE instances;
      DROP TABLE tokens;
      DROP TABLE user_projects;
      DROP TABLE users;
      DROP TABLE pools;
      DROP TABLE projects;
      DROP TABLE tenants;
    `,
  },
  {
    version: 2,
    name: "access-keys",
    up: `
      -- AK/SK pairs for API-gateway request signing. The secret must be readable to verify a
      -- signature, so it is stored sealed (AES-256-GCM under the server key, bound to its
      -- access_key), never in the clear. A revoked key keeps its row: its id is never reused.
      CREATE TABLE access_keys (
        access_key    TEXT PRIMARY KEY,
        tenant_id     TEXT NOT NULL,
        user_id       TEXT NOT NULL,
        secret_sealed TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        revoked_at    TEXT,
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
      );
      CREATE INDEX access_keys_by_user ON access_keys (user_id);
    `,
    down: `
      DROP TABLE access_keys;
    `,
  },
  {
    version: 3,
    name: "query-acceleration",
    // What keeps a million-instance tenant fast (issue 5). Everything below is kept exact by
    // triggers, in the writer's own transaction, whichever code path or process writes.
    up: `
      -- instances gets an explicit INTEGER PRIMARY KEY: the search index below refers to rows
      -- by rowid, and only an INTEGER PRIMARY KEY keeps its value through VACUUM and dumps.
      -- instance_id stays unique (its own index, as before, when it was the primary key).
      CREATE TABLE instances_v3 (
        row_id          INTEGER PRIMARY KEY,
        instance_id     TEXT NOT NULL UNIQUE,
        tenant_id       TEXT NOT NULL,
        project_id      TEXT NOT NULL,
        pool_id         TEXT NOT NULL,
        scene_tag       TEXT NOT NULL,
        instance_name   TEXT NOT NULL,
        name_folded     TEXT NOT NULL,
        region          TEXT NOT NULL,
        instance_sku    TEXT NOT NULL,
        frozen_status   INTEGER NOT NULL,
        running_status  INTEGER NOT NULL,
        login_status    INTEGER NOT NULL,
        assign_user     TEXT NOT NULL,
        billing_mode    TEXT NOT NULL,
        phone_id        TEXT NOT NULL,
        member_name     TEXT NOT NULL,
        account_name    TEXT NOT NULL,
        region_name     TEXT NOT NULL,
        region_name_en  TEXT NOT NULL,
        backup_status   INTEGER NOT NULL,
        backup_time     TEXT NOT NULL,
        restore_status  INTEGER NOT NULL,
        restore_time    TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, project_id),
        FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, pool_id)
      );
      INSERT INTO instances_v3 (${COLUMNS})
        SELECT ${COLUMNS} FROM instances ORDER BY rowid;
      DROP TABLE instances;
      ALTER TABLE instances_v3 RENAME TO instances;
      ${INSTANCE_INDEXES}

      -- Substring search: a trigram index over the folded names (folded in JavaScript, hence
      -- case_sensitive 1). detail = none keeps it small: a needle's trigrams select candidates,
      -- which the query then checks with instr(), so results equal a plain substring scan.
      CREATE VIRTUAL TABLE instance_names USING fts5(
        name_folded, content = 'instances', content_rowid = 'row_id',
        tokenize = 'trigram case_sensitive 1', detail = 'none'
      );
      INSERT INTO instance_names (instance_names) VALUES ('rebuild');

      -- Rows per (tenant, project, pool): total_count for any mix of visibility, pool and scene
      -- filters is a sum over a few rows instead of a count over the tenant's rows.
      CREATE TABLE instance_counts (
        tenant_id  TEXT NOT NULL,
        project_id TEXT NOT NULL,
        pool_id    TEXT NOT NULL,
        scene_tag  TEXT NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, project_id, pool_id, scene_tag)
      ) WITHOUT ROWID;
      INSERT INTO instance_counts (tenant_id, project_id, pool_id, scene_tag, n)
        SELECT tenant_id, project_id, pool_id, scene_tag, COUNT(*) FROM instances
        GROUP BY tenant_id, project_id, pool_id, scene_tag;

      -- Rows per creation day (level 'd', bucket YYYY-MM-DD) and hour (level 'h', bucket
      -- YYYY-MM-DD HH), per scope: '*' the whole tenant, 's:' a scene tag, 'p:' a pool, 'j:' a
      -- project. They count time ranges and locate the row at a page's offset in creation
      -- order without walking every row before it.
      CREATE TABLE instance_time_counts (
        tenant_id TEXT NOT NULL,
        scope     TEXT NOT NULL,
        level     TEXT NOT NULL,
        bucket    TEXT NOT NULL,
        n         INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, scope, level, bucket)
      ) WITHOUT ROWID;
      INSERT INTO instance_time_counts (tenant_id, scope, level, bucket, n)
        SELECT i.tenant_id,
               CASE s.column1 WHEN 0 THEN '*' WHEN 1 THEN 's:' || i.scene_tag
                 WHEN 2 THEN 'p:' || i.pool_id ELSE 'j:' || i.project_id END,
               l.column1, substr(i.created_at, 1, l.column2), COUNT(*)
        FROM instances i, (VALUES (0), (1), (2), (3)) s, (VALUES ('d', 10), ('h', 13)) l
        GROUP BY 1, 2, 3, 4;

      -- Bumped by every change that a tenant's query results depend on (its instances, the
      -- names of its projects and pools): an answer computed at version v is current for as
      -- long as the version reads v.
      CREATE TABLE tenant_versions (
        tenant_id TEXT PRIMARY KEY,
        version   INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TRIGGER instances_inserted AFTER INSERT ON instances BEGIN
        INSERT INTO instance_names (rowid, name_folded) VALUES (new.row_id, new.name_folded);
        INSERT INTO instance_counts (tenant_id, project_id, pool_id, scene_tag, n)
          VALUES (new.tenant_id, new.project_id, new.pool_id, new.scene_tag, 1)
          ON CONFLICT DO UPDATE SET n = n + 1;
        INSERT INTO instance_time_counts (tenant_id, scope, level, bucket, n)
          SELECT new.tenant_id, s.column1, l.column1, substr(new.created_at, 1, l.column2), 1
          FROM (VALUES ('*'), ('s:' || new.scene_tag), ('p:' || new.pool_id),
                       ('j:' || new.project_id)) s,
               (VALUES ('d', 10), ('h', 13)) l
          WHERE true
          ON CONFLICT DO UPDATE SET n = n + 1;
        INSERT INTO tenant_versions (tenant_id, version) VALUES (new.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;
      END;

      CREATE TRIGGER instances_deleted AFTER DELETE ON instances BEGIN
        INSERT INTO instance_names (instance_names, rowid, name_folded)
          VALUES ('delete', old.row_id, old.name_folded);
        UPDATE instance_counts SET n = n - 1
          WHERE tenant_id = old.tenant_id AND project_id = old.project_id
            AND pool_id = old.pool_id AND scene_tag = old.scene_tag;
        UPDATE instance_time_counts SET n = n - 1
          WHERE tenant_id = old.tenant_id
            AND scope IN ('*', 's:' || old.scene_tag, 'p:' || old.pool_id, 'j:' || old.project_id)
            AND ((level = 'd' AND bucket = substr(old.created_at, 1, 10))
              OR (level = 'h' AND bucket = substr(old.created_at, 1, 13)));
        INSERT INTO tenant_versions (tenant_id, version) VALUES (old.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;
      END;

      CREATE TRIGGER instances_renamed AFTER UPDATE OF name_folded ON instances BEGIN
        INSERT INTO instance_names (instance_names, rowid, name_folded)
          VALUES ('delete', old.row_id, old.name_folded);
        INSERT INTO instance_names (rowid, name_folded) VALUES (new.row_id, new.name_folded);
      END;

      CREATE TRIGGER instances_moved
      AFTER UPDATE OF tenant_id, project_id, pool_id, scene_tag, created_at ON instances BEGIN
        UPDATE instance_counts SET n = n - 1
          WHERE tenant_id = old.tenant_id AND project_id = old.project_id
            AND pool_id = old.pool_id AND scene_tag = old.scene_tag;
        INSERT INTO instance_counts (tenant_id, project_id, pool_id, scene_tag, n)
          VALUES (new.tenant_id, new.project_id, new.pool_id, new.scene_tag, 1)
          ON CONFLICT DO UPDATE SET n = n + 1;
        UPDATE instance_time_counts SET n = n - 1
          WHERE tenant_id = old.tenant_id
            AND scope IN ('*', 's:' || old.scene_tag, 'p:' || old.pool_id, 'j:' || old.project_id)
            AND ((level = 'd' AND bucket = substr(old.created_at, 1, 10))
              OR (level = 'h' AND bucket = substr(old.created_at, 1, 13)));
        INSERT INTO instance_time_counts (tenant_id, scope, level, bucket, n)
          SELECT new.tenant_id, s.column1, l.column1, substr(new.created_at, 1, l.column2), 1
          FROM (VALUES ('*'), ('s:' || new.scene_tag), ('p:' || new.pool_id),
                       ('j:' || new.project_id)) s,
               (VALUES ('d', 10), ('h', 13)) l
          WHERE true
          ON CONFLICT DO UPDATE SET n = n + 1;
      END;

      CREATE TRIGGER instances_updated AFTER UPDATE ON instances BEGIN
        INSERT INTO tenant_versions (tenant_id, version) VALUES (old.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;
        INSERT INTO tenant_versions (tenant_id, version)
          SELECT new.tenant_id, 1 WHERE new.tenant_id <> old.tenant_id
          ON CONFLICT DO UPDATE SET version = version + 1;
      END;

      CREATE TRIGGER projects_changed AFTER UPDATE ON projects BEGIN
        INSERT INTO tenant_versions (tenant_id, version) VALUES (old.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;
      END;
      CREATE TRIGGER projects_deleted AFTER DELETE ON projects BEGIN
        INSERT INTO tenant_versions (tenant_id, version) VALUES (old.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;
      END;
      CREATE TRIGGER pools_changed AFTER UPDATE ON pools BEGIN
        INSERT INTO tenant_versions (tenant_id, version) VALUES (old.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;
      END;
      CREATE TRIGGER pools_deleted AFTER DELETE ON pools BEGIN
        INSERT INTO tenant_versions (tenant_id, version) VALUES (old.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;
      END;
      CREATE TRIGGER pools_created AFTER INSERT ON pools BEGIN
        INSERT INTO tenant_versions (tenant_id, version) VALUES (new.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;
      END;
      CREATE TRIGGER projects_created AFTER INSERT ON projects BEGIN
        INSERT INTO tenant_versions (tenant_id, version) VALUES (new.tenant_id, 1)
          ON CONFLICT DO UPDATE SET version = version + 1;
      END;
    `,
    down: `
      DROP TRIGGER instances_inserted;
      DROP TRIGGER instances_deleted;
      DROP TRIGGER instances_renamed;
      DROP TRIGGER instances_moved;
      DROP TRIGGER instances_updated;
      DROP TABLE tenant_versions;
      DROP TABLE instance_time_counts;
      DROP TABLE instance_counts;
      DROP TABLE instance_names;
      DROP TRIGGER projects_changed;
      DROP TRIGGER projects_deleted;
      DROP TRIGGER projects_created;
      DROP TRIGGER pools_changed;
      DROP TRIGGER pools_deleted;
      DROP TRIGGER pools_created;
    `,
  },
  {
    version: 4,
    name: "bulk-import-maintenance",
    // Row by row, migration 3's triggers made a bulk import ~8x slower (the trigram index
    // flushes at every statement; hour counts fanned out to many keys). Hour counts go: the
    // rows of one day are few enough to count through the index. While an import transaction holds a bulk_import row (never
    // committed: the import deletes it before COMMIT, so no other connection ever sees it), the
    // triggers skip the rows it inserts (row_id >= first_row_id) and the import brings the
    // index, counts and version up to date set-wise before it commits (bulk-maintenance.ts).
    up: `
      CREATE TABLE bulk_import (first_row_id INTEGER NOT NULL);
      DELETE FROM instance_time_counts WHERE level = 'h';

      DROP TRIGGER instances_inserted;
      DROP TRIGGER instances_deleted;
      DROP TRIGGER instances_renamed;
      DROP TRIGGER instances_moved;
      DROP TRIGGER instances_updated;

${BULK_AWARE_TRIGGERS}
    `,
    down: `
      DROP TABLE bulk_import;
    `,
  },
  {
    version: 5,
    name: "trigram-positions",
    // detail = none made a needle like "77777" (one distinct trigram, "777") fetch every row
    // holding "777" to check it; with positions the index answers the phrase itself, so only
    // the real matches are read. Bigger index, same triggers (they name the table, not its form).
    up: `
      DROP TABLE instance_names;
      CREATE VIRTUAL TABLE instance_names USING fts5(
        name_folded, content = 'instances', content_rowid = 'row_id',
        tokenize = 'trigram case_sensitive 1', detail = 'full'
      );
      INSERT INTO instance_names (instance_names) VALUES ('rebuild');
    `,
    down: `
      DROP TABLE instance_names;
      CREATE VIRTUAL TABLE instance_names USING fts5(
        name_folded, content = 'instances', content_rowid = 'row_id',
        tokenize = 'trigram case_sensitive 1', detail = 'none'
      );
      INSERT INTO instance_names (instance_names) VALUES ('rebuild');
    `,
  },
  {
    version: 6,
    name: "wire-json",
    // Each row keeps its answer: the JSON of its wire fields as UTF-8 bytes, computed by SQLite
    // whenever the row is written (stored generated columns, so no write path can forget it).
    // A page is then read as two blobs per row instead of 21 columns turned into JavaScript
    // objects and encoded again (issue 5: that was two thirds of a request's CPU). project_name
    // belongs to the project and can be renamed, so it is not stored: the page splices it in
    // between wire_head ({"instance_id":…,"project_id":"…") and wire_tail (,"phone_id":…}).
    // Generated STORED columns cannot be added to a table, hence the rebuild (row_id kept, so
    // the trigram index still points at the right rows). ~0.7 KB more per instance on disk.
    up: `
      CREATE TABLE instances_v6 (
        row_id          INTEGER PRIMARY KEY,
        instance_id     TEXT NOT NULL UNIQUE,
        tenant_id       TEXT NOT NULL,
        project_id      TEXT NOT NULL,
        pool_id         TEXT NOT NULL,
        scene_tag       TEXT NOT NULL,
        instance_name   TEXT NOT NULL,
        name_folded     TEXT NOT NULL,
        region          TEXT NOT NULL,
        instance_sku    TEXT NOT NULL,
        frozen_status   INTEGER NOT NULL,
        running_status  INTEGER NOT NULL,
        login_status    INTEGER NOT NULL,
        assign_user     TEXT NOT NULL,
        billing_mode    TEXT NOT NULL,
        phone_id        TEXT NOT NULL,
        member_name     TEXT NOT NULL,
        account_name    TEXT NOT NULL,
        region_name     TEXT NOT NULL,
        region_name_en  TEXT NOT NULL,
        backup_status   INTEGER NOT NULL,
        backup_time     TEXT NOT NULL,
        restore_status  INTEGER NOT NULL,
        restore_time    TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        wire_head       BLOB GENERATED ALWAYS AS (CAST(rtrim(json_object(
          'instance_id', instance_id, 'instance_name', instance_name, 'region', region,
          'instance_sku', instance_sku, 'frozen_status', frozen_status,
          'running_status', running_status, 'login_status', login_status,
          'assign_status', assign_user <> '', 'assign_user', assign_user,
          'billing_mode', billing_mode, 'project_id', project_id), '}') AS BLOB)) STORED,
        wire_tail       BLOB GENERATED ALWAYS AS (CAST(',' || ltrim(json_object(
          'phone_id', phone_id, 'member_name', member_name, 'account_name', account_name,
          'region_name', region_name, 'region_name_en', region_name_en,
          'backup_status', backup_status, 'backup_time', backup_time,
          'restore_status', restore_status, 'restore_time', restore_time), '{') AS BLOB)) STORED,
        FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, project_id),
        FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, pool_id)
      );
      INSERT INTO instances_v6 (row_id, ${COLUMNS})
        SELECT row_id, ${COLUMNS} FROM instances ORDER BY row_id;
      DROP TABLE instances;
      ALTER TABLE instances_v6 RENAME TO instances;
      ${INSTANCE_INDEXES}
      ${BULK_AWARE_TRIGGERS}
    `,
    down: `
      DROP TRIGGER instances_inserted;
      DROP TRIGGER instances_deleted;
      DROP TRIGGER instances_renamed;
      DROP TRIGGER instances_moved;
      DROP TRIGGER instances_updated;
      ALTER TABLE instances DROP COLUMN wire_head;
      ALTER TABLE instances DROP COLUMN wire_tail;
      ${BULK_AWARE_TRIGGERS}
    `,
  },
  {
    version: 7,
    name: "auth-versions",
    // A number per tenant, bumped in the writer's own transaction by every change to what a
    // token's principal is built from: its token row (revoked), its user (role), the user's
    // grants, and the tenant row (deleted, subscribed, rate limit). The server holds principals
    // and re-reads only this number per request (src/store/principal-cache.ts). Issuing a token
    // inserts a row no one holds, so it bumps nothing.
    up: `
      CREATE TABLE auth_versions (
        tenant_id  TEXT PRIMARY KEY,
        version    INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TRIGGER tokens_auth_updated AFTER UPDATE ON tokens BEGIN
        ${bumpAuth(tokenTenant("old"))}
        ${bumpAuth(tokenTenant("new"))}
      END;
      CREATE TRIGGER tokens_auth_deleted AFTER DELETE ON tokens BEGIN
        ${bumpAuth(tokenTenant("old"))}
      END;
      CREATE TRIGGER users_auth_updated AFTER UPDATE ON users BEGIN
        ${bumpAuth("old.tenant_id")}
        ${bumpAuth("new.tenant_id")}
      END;
      CREATE TRIGGER users_auth_deleted AFTER DELETE ON users BEGIN
        ${bumpAuth("old.tenant_id")}
      END;
      CREATE TRIGGER tenants_auth_updated AFTER UPDATE ON tenants BEGIN
        ${bumpAuth("old.tenant_id")}
        ${bumpAuth("new.tenant_id")}
      END;
      CREATE TRIGGER tenants_auth_deleted AFTER DELETE ON tenants BEGIN
        ${bumpAuth("old.tenant_id")}
      END;
      CREATE TRIGGER grants_auth_inserted AFTER INSERT ON user_projects BEGIN
        ${bumpAuth("new.tenant_id")}
      END;
      CREATE TRIGGER grants_auth_updated AFTER UPDATE ON user_projects BEGIN
        ${bumpAuth("old.tenant_id")}
        ${bumpAuth("new.tenant_id")}
      END;
      CREATE TRIGGER grants_auth_deleted AFTER DELETE ON user_projects BEGIN
        ${bumpAuth("old.tenant_id")}
      END;
    `,
    down: `
      DROP TRIGGER tokens_auth_updated;
      DROP TRIGGER tokens_auth_deleted;
      DROP TRIGGER users_auth_updated;
      DROP TRIGGER users_auth_deleted;
      DROP TRIGGER tenants_auth_updated;
      DROP TRIGGER tenants_auth_deleted;
      DROP TRIGGER grants_auth_inserted;
      DROP TRIGGER grants_auth_updated;
      DROP TRIGGER grants_auth_deleted;
      DROP TABLE auth_versions;
    `,
  },
  {
    version: 8,
    name: "hour-counts",
    // Hour counts (level 'h', bucket YYYY-MM-DD HH) come back beside the day counts: a deep page
    // in creation order finds its day from the day sums, then its hour from that day's 24 hour
    // rows, and steps over at most an hour's rows in the index instead of a day's (~1,400 on
    // the 1M bench tenant, ~60 per hour). Migration 4 had dropped them because row-by-row
    // triggers made bulk imports slow; imports now count set-wise (bulk-maintenance.ts), so
    // only single writes pay: two more counter upserts per row.
    // The backfill reads each scope's narrow index, not the table (~1.7 KB a row): 11 s for the
    // 1M bench fleet on 2 busy cores, against 73 s for one pass over the table.
    up: `
      ${[
        ["instances_by_time", "'*'"],
        ["instances_by_scene", "'s:' || scene_tag"],
        ["instances_by_pool", "'p:' || pool_id"],
        ["instances_by_project", "'j:' || project_id"],
      ]
        .map(
          ([index, scope]) => `INSERT INTO instance_time_counts (tenant_id, scope, level, bucket, n)
        SELECT tenant_id, ${scope}, 'h', substr(created_at, 1, 13), COUNT(*)
        FROM instances INDEXED BY ${index} GROUP BY 1, 2, 4;`,
        )
        .join("\n      ")}
      ${DROP_BULK_AWARE_TRIGGERS}
      ${bulkAwareTriggers(COUNT_NEW_HOURLY, UNCOUNT_OLD_HOURLY)}
    `,
    down: `
      DELETE FROM instance_time_counts WHERE level = 'h';
      ${DROP_BULK_AWARE_TRIGGERS}
      ${BULK_AWARE_TRIGGERS}
    `,
  },
  {
    version: 9,
    name: "name-pieces",
    // Needles of 4 characters or more find their candidates through each name's 4-character
    // pieces (as PostgreSQL's migration 10), not the trigram index: "77777" has one trigram,
    // "777", and the trigram index had to check the positions of every name holding "777"
    // (3,890 on the 1M bench tenant) for the 19 holding "77777", ~60% of that search's time.
    // Its one piece, "7777", is held by a few hundred names. Contentless (the pieces are
    // derived from name_folded; nothing is read back), detail = none (a piece is a whole token,
    // so no positions are needed), rows deleted by rowid (contentless_delete). Half the size of
    // the trigram index. The backfill is one pass over the table (~7 s per million rows here).
    up: `
      CREATE TABLE name_piece_positions (k INTEGER PRIMARY KEY);
      WITH RECURSIVE n (k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < ${PIECE_POSITIONS})
      INSERT INTO name_piece_positions (k) SELECT k FROM n;
      CREATE VIRTUAL TABLE instance_name_pieces USING fts5(
        pieces, content = '', contentless_delete = 1, detail = 'none', tokenize = 'ascii'
      );
      INSERT INTO instance_name_pieces (rowid, pieces)
        SELECT row_id, ${namePieces("name_folded")} FROM instances;
      ${DROP_BULK_AWARE_TRIGGERS}
      ${bulkAwareTriggers(COUNT_NEW_HOURLY, UNCOUNT_OLD_HOURLY, true)}
    `,
    down: `
      ${DROP_BULK_AWARE_TRIGGERS}
      ${bulkAwareTriggers(COUNT_NEW_HOURLY, UNCOUNT_OLD_HOURLY)}
      DROP TABLE instance_name_pieces;
      DROP TABLE name_piece_positions;
    `,
  },
  {
    version: 10,
    name: "page-index",
    // A page of the whole tenant in creation order (page 1, a deep page, a time range) read
    // 100 entries of instances_by_time and looked each row up in the table: ~25 table pages
    // and 100 descents, most of them cold for a random page. This index holds what a page
    // needs (sort keys, project, wire JSON) in page order, so a page is a range of ~20 index
    // pages; SQLite never moves to the table row (the columns all come from the index). The
    // query names it (INDEXED BY) only for such pages, and finds a deep page's first key in
    // the narrow index first: entries here are ~15 times as wide. Cost: ~0.8 KB more per
    // instance on disk, ~10 s to build per million rows, and one more index on every write.
    up: `
      CREATE INDEX instances_pages
        ON instances (tenant_id, created_at, instance_id, project_id, wire_head, wire_tail);
    `,
    down: `
      DROP INDEX instances_pages;
    `,
  },
];
