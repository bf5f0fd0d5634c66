/**
 * PostgreSQL schema, as ordered migrations: the same tables, columns and rules as the SQLite
 * schema (../sqlite/migrations.ts), written so that both stores answer identically.
 *
 * - Every text column is COLLATE "C": ordering and comparison are bytewise, like SQLite's BINARY,
 *   whatever the database's locale.
 * - Times stay `YYYY-MM-DD HH:MM:SS` / ISO text, as in SQLite, so they compare the same way.
 * - Ready for a distributed PostgreSQL (docs/adr/0003-distributed-postgres.md): every
 *   tenant-owned table carries tenant_id, leads its primary key with it, and points at its parent
 *   through (tenant_id, id). The service-wide uniqueness of ids is kept by the `*_id_global`
 *   constraints: those are what a Citus deployment would drop or move to a reference table.
 *
 * A migration is never edited once released: add the next.
 */
import type { Migration } from "../sqlite/migrations.js";

export type { Migration };

export const migrations: Migration[] = [
  {
    version: 1,
    name: "initial",
    up: `
      CREATE TABLE tenants (
        tenant_id   text COLLATE "C" PRIMARY KEY,
        name        text COLLATE "C" NOT NULL,
        subscribed  boolean NOT NULL DEFAULT true,
        rate_limit  integer CHECK (rate_limit IS NULL OR rate_limit > 0),
        created_at  text COLLATE "C" NOT NULL,
        deleted_at  text COLLATE "C"
      );
      -- A deleted tenant keeps its row (its tokens must answer KOOPHONE.API.0000) but frees its name.
      CREATE UNIQUE INDEX tenants_live_name ON tenants (name) WHERE deleted_at IS NULL;

      CREATE TABLE projects (
        tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
        project_id  text COLLATE "C" NOT NULL,
        name        text COLLATE "C" NOT NULL,
        PRIMARY KEY (tenant_id, project_id),
        CONSTRAINT projects_id_global UNIQUE (project_id),
        UNIQUE (tenant_id, name)
      );

      CREATE TABLE pools (
        tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
        pool_id     text COLLATE "C" NOT NULL,
        name        text COLLATE "C" NOT NULL,
        scene_tag   text COLLATE "C" NOT NULL CHECK (scene_tag IN ('CLOUD_APP', 'CLOUD_PHONE')),
        PRIMARY KEY (tenant_id, pool_id),
        CONSTRAINT pools_id_global UNIQUE (pool_id),
        UNIQUE (tenant_id, name)
      );

      CREATE TABLE users (
        tenant_id     text COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
        user_id       text COLLATE "C" NOT NULL,
        name          text COLLATE "C" NOT NULL,
        role          text COLLATE "C" NOT NULL CHECK (role IN ('admin', 'member')),
        password_hash text COLLATE "C",
        PRIMARY KEY (tenant_id, user_id),
        CONSTRAINT users_id_global UNIQUE (user_id),
        UNIQUE (tenant_id, name)
      );

      CREATE TABLE user_projects (
        tenant_id   text COLLATE "C" NOT NULL,
        user_id     text COLLATE "C" NOT NULL,
        project_id  text COLLATE "C" NOT NULL,
        PRIMARY KEY (tenant_id, user_id, project_id),
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, project_id) ON DELETE CASCADE
      );

      -- tenant_id is copied from the user at issue, so tokens distribute with their tenant.
      CREATE TABLE tokens (
        tenant_id   text COLLATE "C" NOT NULL,
        token_id    text COLLATE "C" NOT NULL,
        user_id     text COLLATE "C" NOT NULL,
        token_hash  text COLLATE "C" NOT NULL,
        issued_at   text COLLATE "C" NOT NULL,
        expires_at  text COLLATE "C" NOT NULL,
        revoked_at  text COLLATE "C",
        PRIMARY KEY (tenant_id, token_id),
        CONSTRAINT tokens_id_global UNIQUE (token_id),
        CONSTRAINT tokens_hash_global UNIQUE (token_hash),
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
      );

      CREATE TABLE instances (
        tenant_id       text COLLATE "C" NOT NULL,
        instance_id     text COLLATE "C" NOT NULL,
        project_id      text COLLATE "C" NOT NULL,
        pool_id         text COLLATE "C" NOT NULL,
        scene_tag       text COLLATE "C" NOT NULL,
        instance_name   text COLLATE "C" NOT NULL,
        name_folded     text COLLATE "C" NOT NULL,
        region          text COLLATE "C" NOT NULL,
        instance_sku    text COLLATE "C" NOT NULL,
        frozen_status   integer NOT NULL,
        running_status  integer NOT NULL,
        login_status    integer NOT NULL,
        assign_user     text COLLATE "C" NOT NULL,
        billing_mode    text COLLATE "C" NOT NULL,
        phone_id        text COLLATE "C" NOT NULL,
        member_name     text COLLATE "C" NOT NULL,
        account_name    text COLLATE "C" NOT NULL,
        region_name     text COLLATE "C" NOT NULL,
        region_name_en  text COLLATE "C" NOT NULL,
        backup_status   integer NOT NULL,
        backup_time     text COLLATE "C" NOT NULL,
        restore_status  integer NOT NULL,
        restore_time    text COLLATE "C" NOT NULL,
        created_at      text COLLATE "C" NOT NULL,
        updated_at      text COLLATE "C" NOT NULL,
        -- The primary key doubles as the (tenant_id, instance_id) index of the id sort order.
        PRIMARY KEY (tenant_id, instance_id),
        -- instance_id is unique service-wide (operator spec), not only within the tenant.
        CONSTRAINT instances_id_global UNIQUE (instance_id),
        FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, project_id),
        FOREIGN KEY (tenant_id, pool_id) REFERENCES pools (tenant_id, pool_id)
      );
      -- One index per sort order the API offers, each led by tenant_id, ending in instance_id
      -- (the tie-breaker), so a page is read in index order without sorting the tenant.
      CREATE INDEX instances_by_time ON instances (tenant_id, created_at, instance_id);
      CREATE INDEX instances_by_name ON instances (tenant_id, instance_name, instance_id);
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
      -- AK/SK pairs for API-gateway request signing (see ../sqlite/migrations.ts, version 2).
      -- The secret is stored sealed (AES-256-GCM under the server key), never in the clear.
      CREATE TABLE access_keys (
        tenant_id     text COLLATE "C" NOT NULL,
        access_key    text COLLATE "C" NOT NULL,
        user_id       text COLLATE "C" NOT NULL,
        secret_sealed text COLLATE "C" NOT NULL,
        created_at    text COLLATE "C" NOT NULL,
        revoked_at    text COLLATE "C",
        PRIMARY KEY (tenant_id, access_key),
        CONSTRAINT access_keys_id_global UNIQUE (access_key),
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
      );
      CREATE INDEX access_keys_by_user ON access_keys (tenant_id, user_id);
    `,
    down: `
      DROP TABLE access_keys;
    `,
  },
];
