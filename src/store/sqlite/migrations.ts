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
}

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
];
