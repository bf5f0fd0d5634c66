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
  {
    version: 3,
    name: "query-acceleration",
    // What keeps a big tenant fast (issue 5), as SQLite's migration 3 does. Rows per (tenant,
    // project, pool): total_count for any mix of visibility, pool and scene filters is a sum over
    // a few rows instead of a count over the tenant's rows. Kept exact by statement-level
    // triggers, in the writer's own transaction, whichever code path or process writes.
    up: `
      CREATE TABLE instance_counts (
        tenant_id   text COLLATE "C" NOT NULL,
        project_id  text COLLATE "C" NOT NULL,
        pool_id     text COLLATE "C" NOT NULL,
        scene_tag   text COLLATE "C" NOT NULL,
        n           bigint NOT NULL,
        PRIMARY KEY (tenant_id, project_id, pool_id, scene_tag)
      );
      INSERT INTO instance_counts (tenant_id, project_id, pool_id, scene_tag, n)
        SELECT tenant_id, project_id, pool_id, scene_tag, COUNT(*) FROM instances
        GROUP BY tenant_id, project_id, pool_id, scene_tag;

      -- One upsert per distinct key of the statement's rows, keys in a fixed order so that two
      -- writers lock the counters in the same order (no deadlock). An update counts only the
      -- rows that changed key (an instance moved to another project), so a status change
      -- writes no counter.
      CREATE FUNCTION instance_counts_added() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO instance_counts AS c (tenant_id, project_id, pool_id, scene_tag, n)
          SELECT tenant_id, project_id, pool_id, scene_tag, COUNT(*) FROM added
          GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
          ON CONFLICT (tenant_id, project_id, pool_id, scene_tag) DO UPDATE SET n = c.n + excluded.n;
        RETURN NULL;
      END $$;
      CREATE FUNCTION instance_counts_removed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO instance_counts AS c (tenant_id, project_id, pool_id, scene_tag, n)
          SELECT tenant_id, project_id, pool_id, scene_tag, -COUNT(*) FROM removed
          GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
          ON CONFLICT (tenant_id, project_id, pool_id, scene_tag) DO UPDATE SET n = c.n + excluded.n;
        RETURN NULL;
      END $$;
      CREATE FUNCTION instance_counts_moved() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO instance_counts AS c (tenant_id, project_id, pool_id, scene_tag, n)
          SELECT tenant_id, project_id, pool_id, scene_tag, SUM(d) FROM (
              SELECT tenant_id, project_id, pool_id, scene_tag, 1 AS d FROM added
              UNION ALL
              SELECT tenant_id, project_id, pool_id, scene_tag, -1 AS d FROM removed) m
          GROUP BY 1, 2, 3, 4 HAVING SUM(d) <> 0 ORDER BY 1, 2, 3, 4
          ON CONFLICT (tenant_id, project_id, pool_id, scene_tag) DO UPDATE SET n = c.n + excluded.n;
        RETURN NULL;
      END $$;
      CREATE TRIGGER instances_added AFTER INSERT ON instances
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION instance_counts_added();
      CREATE TRIGGER instances_removed AFTER DELETE ON instances
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION instance_counts_removed();
      CREATE TRIGGER instances_moved AFTER UPDATE ON instances
        REFERENCING OLD TABLE AS removed NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION instance_counts_moved();

      -- Substring search: a trigram index over the folded names, for needles of 3 characters
      -- or more (the query pairs an indexable LIKE with the exact strpos check). pg_trgm is a
      -- trusted extension, installed once per database in public, never in a store's own
      -- schema (dropping that schema would take the extension from everyone). Without it the
      -- search scans, with the same results.
      DO $$
      DECLARE
        ns text;
      BEGIN
        BEGIN
          CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
        EXCEPTION WHEN OTHERS THEN
          RAISE NOTICE 'pg_trgm not installed (%): name search will scan', SQLERRM;
        END;
        SELECT extnamespace::regnamespace::text INTO ns FROM pg_extension WHERE extname = 'pg_trgm';
        IF ns IS NOT NULL THEN
          EXECUTE format(
            'CREATE INDEX instances_by_name_trigram ON instances USING gin (name_folded %s.gin_trgm_ops)',
            ns);
        END IF;
      END $$;
    `,
    down: `
      DROP INDEX IF EXISTS instances_by_name_trigram;
      DROP TRIGGER instances_moved ON instances;
      DROP TRIGGER instances_removed ON instances;
      DROP TRIGGER instances_added ON instances;
      DROP FUNCTION instance_counts_moved();
      DROP FUNCTION instance_counts_removed();
      DROP FUNCTION instance_counts_added();
      DROP TABLE instance_counts;
    `,
  },
  {
    version: 4,
    name: "tenant-versions",
    // A number per tenant, bumped in the writer's own transaction by every change that the
    // tenant's query answers depend on (its instances, projects and pools): a replica may reuse
    // an answer computed at version v for as long as the version reads v (queryVersion), and
    // every replica reads the same number. One bump per statement and tenant, not per row.
    up: `
      CREATE TABLE tenant_versions (
        tenant_id  text COLLATE "C" PRIMARY KEY,
        version    bigint NOT NULL
      );
      CREATE FUNCTION tenant_versions_added() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO tenant_versions AS v (tenant_id, version)
          SELECT DISTINCT tenant_id, 1 FROM added ORDER BY 1
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      CREATE FUNCTION tenant_versions_removed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO tenant_versions AS v (tenant_id, version)
          SELECT DISTINCT tenant_id, 1 FROM removed ORDER BY 1
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      CREATE FUNCTION tenant_versions_changed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO tenant_versions AS v (tenant_id, version)
          SELECT tenant_id, 1 FROM (SELECT tenant_id FROM added UNION SELECT tenant_id FROM removed) t
          ORDER BY 1
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      CREATE TRIGGER instances_version_added AFTER INSERT ON instances
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION tenant_versions_added();
      CREATE TRIGGER instances_version_removed AFTER DELETE ON instances
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION tenant_versions_removed();
      CREATE TRIGGER instances_version_changed AFTER UPDATE ON instances
        REFERENCING OLD TABLE AS removed NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION tenant_versions_changed();
      CREATE TRIGGER projects_version_added AFTER INSERT ON projects
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION tenant_versions_added();
      CREATE TRIGGER projects_version_removed AFTER DELETE ON projects
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION tenant_versions_removed();
      CREATE TRIGGER projects_version_changed AFTER UPDATE ON projects
        REFERENCING OLD TABLE AS removed NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION tenant_versions_changed();
      CREATE TRIGGER pools_version_added AFTER INSERT ON pools
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION tenant_versions_added();
      CREATE TRIGGER pools_version_removed AFTER DELETE ON pools
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION tenant_versions_removed();
      CREATE TRIGGER pools_version_changed AFTER UPDATE ON pools
        REFERENCING OLD TABLE AS removed NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION tenant_versions_changed();
    `,
    down: `
      DROP TRIGGER instances_version_added ON instances;
      DROP TRIGGER instances_version_removed ON instances;
      DROP TRIGGER instances_version_changed ON instances;
      DROP TRIGGER projects_version_added ON projects;
      DROP TRIGGER projects_version_removed ON projects;
      DROP TRIGGER projects_version_changed ON projects;
      DROP TRIGGER pools_version_added ON pools;
      DROP TRIGGER pools_version_removed ON pools;
      DROP TRIGGER pools_version_changed ON pools;
      DROP FUNCTION tenant_versions_changed();
      DROP FUNCTION tenant_versions_removed();
      DROP FUNCTION tenant_versions_added();
      DROP TABLE tenant_versions;
    `,
  },
  {
    version: 5,
    name: "day-counts",
    // Rows per creation day (YYYY-MM-DD) per scope, as SQLite's instance_time_counts: '*' the
    // whole tenant, 's:' a scene tag, 'p:' a pool, 'j:' a project. A time range's total is whole
    // days from here plus the two edge days counted through an index, and the row at a deep
    // page's offset in creation order is found from the running sum of the days, then a step of
    // at most one day's rows (src/store/postgres/instance-query.ts). Kept exact like
    // instance_counts: statement-level triggers in the writer's own transaction (an import's
    // INSERT … SELECT unnest() is one statement per batch, so one upsert per (scope, day) of the
    // batch), keys upserted in a fixed order so that concurrent writers cannot deadlock.
    up: `
      CREATE TABLE instance_day_counts (
        tenant_id  text COLLATE "C" NOT NULL,
        scope      text COLLATE "C" NOT NULL,
        day        text COLLATE "C" NOT NULL,
        n          bigint NOT NULL,
        PRIMARY KEY (tenant_id, scope, day)
      );
      INSERT INTO instance_day_counts (tenant_id, scope, day, n)
        SELECT i.tenant_id, s.scope, left(i.created_at, 10), COUNT(*)
        FROM instances i
        CROSS JOIN LATERAL (VALUES ('*'), ('s:' || i.scene_tag), ('p:' || i.pool_id),
                                   ('j:' || i.project_id)) s (scope)
        GROUP BY 1, 2, 3;

      CREATE FUNCTION instance_day_counts_added() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO instance_day_counts AS c (tenant_id, scope, day, n)
          SELECT a.tenant_id, s.scope, left(a.created_at, 10), COUNT(*)
          FROM added a
          CROSS JOIN LATERAL (VALUES ('*'), ('s:' || a.scene_tag), ('p:' || a.pool_id),
                                     ('j:' || a.project_id)) s (scope)
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
          ON CONFLICT (tenant_id, scope, day) DO UPDATE SET n = c.n + excluded.n;
        RETURN NULL;
      END $$;
      CREATE FUNCTION instance_day_counts_removed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO instance_day_counts AS c (tenant_id, scope, day, n)
          SELECT r.tenant_id, s.scope, left(r.created_at, 10), -COUNT(*)
          FROM removed r
          CROSS JOIN LATERAL (VALUES ('*'), ('s:' || r.scene_tag), ('p:' || r.pool_id),
                                     ('j:' || r.project_id)) s (scope)
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
          ON CONFLICT (tenant_id, scope, day) DO UPDATE SET n = c.n + excluded.n;
        RETURN NULL;
      END $$;
      -- Only rows whose scope or day changed count: a status change writes no counter.
      CREATE FUNCTION instance_day_counts_moved() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO instance_day_counts AS c (tenant_id, scope, day, n)
          SELECT m.tenant_id, s.scope, left(m.created_at, 10), SUM(m.d)
          FROM (SELECT tenant_id, project_id, pool_id, scene_tag, created_at, 1 AS d FROM added
                UNION ALL
                SELECT tenant_id, project_id, pool_id, scene_tag, created_at, -1 AS d FROM removed) m
          CROSS JOIN LATERAL (VALUES ('*'), ('s:' || m.scene_tag), ('p:' || m.pool_id),
                                     ('j:' || m.project_id)) s (scope)
          GROUP BY 1, 2, 3 HAVING SUM(m.d) <> 0 ORDER BY 1, 2, 3
          ON CONFLICT (tenant_id, scope, day) DO UPDATE SET n = c.n + excluded.n;
        RETURN NULL;
      END $$;
      CREATE TRIGGER instances_day_added AFTER INSERT ON instances
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION instance_day_counts_added();
      CREATE TRIGGER instances_day_removed AFTER DELETE ON instances
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION instance_day_counts_removed();
      CREATE TRIGGER instances_day_moved AFTER UPDATE ON instances
        REFERENCING OLD TABLE AS removed NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION instance_day_counts_moved();
    `,
    down: `
      DROP TRIGGER instances_day_moved ON instances;
      DROP TRIGGER instances_day_removed ON instances;
      DROP TRIGGER instances_day_added ON instances;
      DROP FUNCTION instance_day_counts_moved();
      DROP FUNCTION instance_day_counts_removed();
      DROP FUNCTION instance_day_counts_added();
      DROP TABLE instance_day_counts;
    `,
  },
  {
    version: 6,
    name: "day-counts-covering",
    // The day counts read by index alone: a deep page or a range edge sums a tenant's days in
    // day order, and after a bulk import (one rewrite of each counter per batch) the 731 rows of
    // the 1M bench tenant sat on 359 heap pages: 1.2 ms of a 2.4 ms deep page, 0.3 ms read from
    // the index. A counter update can no longer be HOT (n is in the index): a few rows per write.
    up: `
      ALTER TABLE instance_day_counts DROP CONSTRAINT instance_day_counts_pkey,
        ADD PRIMARY KEY (tenant_id, scope, day) INCLUDE (n);
    `,
    down: `
      ALTER TABLE instance_day_counts DROP CONSTRAINT instance_day_counts_pkey,
        ADD PRIMARY KEY (tenant_id, scope, day);
    `,
  },
  {
    version: 7,
    name: "auth-versions",
    // As SQLite's migration 7: a number per tenant, bumped in the writer's own transaction by
    // every change to what a token's principal is built from (its token, user, grants and the
    // tenant row), so a replica may keep a principal for as long as the number reads the same
    // (src/store/principal-cache.ts). One bump per statement and tenant. Issuing a token
    // inserts a row no replica holds, so it bumps nothing.
    up: `
      CREATE TABLE auth_versions (
        tenant_id  text COLLATE "C" PRIMARY KEY,
        version    bigint NOT NULL
      );
      CREATE FUNCTION auth_versions_added() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO auth_versions AS v (tenant_id, version)
          SELECT DISTINCT tenant_id, 1 FROM added ORDER BY 1
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      CREATE FUNCTION auth_versions_removed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO auth_versions AS v (tenant_id, version)
          SELECT DISTINCT tenant_id, 1 FROM removed ORDER BY 1
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      CREATE FUNCTION auth_versions_changed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO auth_versions AS v (tenant_id, version)
          SELECT tenant_id, 1 FROM (SELECT tenant_id FROM added UNION SELECT tenant_id FROM removed) t
          ORDER BY 1
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      ${["tokens", "users", "tenants", "user_projects"]
        .map(
          (table) => `
      CREATE TRIGGER ${table}_auth_removed AFTER DELETE ON ${table}
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION auth_versions_removed();
      CREATE TRIGGER ${table}_auth_changed AFTER UPDATE ON ${table}
        REFERENCING OLD TABLE AS removed NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION auth_versions_changed();`,
        )
        .join("")}
      CREATE TRIGGER user_projects_auth_added AFTER INSERT ON user_projects
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION auth_versions_added();
    `,
    down: `
      ${["tokens", "users", "tenants", "user_projects"]
        .map(
          (table) => `
      DROP TRIGGER ${table}_auth_removed ON ${table};
      DROP TRIGGER ${table}_auth_changed ON ${table};`,
        )
        .join("")}
      DROP TRIGGER user_projects_auth_added ON user_projects;
      DROP FUNCTION auth_versions_changed();
      DROP FUNCTION auth_versions_removed();
      DROP FUNCTION auth_versions_added();
      DROP TABLE auth_versions;
    `,
  },
  {
    version: 8,
    name: "wire-json",
    // As SQLite's migration 6: each row keeps the JSON of its wire fields, written by PostgreSQL
    // whenever the row is written (stored generated columns, so no write path can forget it), and
    // a page splices its project's name (renamable, so not stored) in between wire_head
    // ({"instance_id":…,"project_id":"…") and wire_tail (,"phone_id":…}). Building the 21 fields
    // at query time was half of a page's execution time on the 1M bench tenant (0.5 of 1 ms).
    // - The bytes are those the page query wrote before (instance-query.ts: to_json escapes text
    //   as JSON.stringify does). to_json is only STABLE, because its output for dates follows
    //   settings, and a generated column takes IMMUTABLE functions only; for text it depends on
    //   nothing, hence the two functions declared IMMUTABLE around it.
    // - One PL/pgSQL function per column, its body one simple expression: a json_quote() per
    //   field costs about three times as much per written row, and a LANGUAGE sql function is
    //   slower still (not inlined: its body calls a STABLE function).
    // - STORAGE MAIN: kept in the row. Rows are ~1 KB, below the ~2 KB where PostgreSQL starts
    //   compressing; in a bigger row the other columns are compressed or moved out to TOAST
    //   first, and the JSON is compressed only when it alone is past that size (kilobytes of
    //   escaped text), never moved out while the row fits a page (test/postgres-wire-json.test.ts).
    // - The ALTER rewrites the table and its indexes (1.1M rows: ~50 s on 2 busy cores) and the
    //   heap grows by ~0.6 KB per instance. The rewritten table has no visibility map until it is
    //   vacuumed, and index-only scans (counts, deep pages) read the heap: the migration runner
    //   vacuums it (a time-range page: 1,389 buffers before, 149 after).
    vacuum: ["instances"],
    up: `
      CREATE FUNCTION instance_wire_head(
        instance_id text, instance_name text, region text, instance_sku text,
        frozen_status integer, running_status integer, login_status integer, assign_user text,
        billing_mode text, project_id text
      ) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
      BEGIN
        RETURN '{"instance_id":' || to_json(instance_id)::text
          || ',"instance_name":' || to_json(instance_name)::text
          || ',"region":' || to_json(region)::text
          || ',"instance_sku":' || to_json(instance_sku)::text
          || ',"frozen_status":' || frozen_status::text
          || ',"running_status":' || running_status::text
          || ',"login_status":' || login_status::text
          || ',"assign_status":' || CASE WHEN assign_user <> '' THEN '1' ELSE '0' END
          || ',"assign_user":' || to_json(assign_user)::text
          || ',"billing_mode":' || to_json(billing_mode)::text
          || ',"project_id":' || to_json(project_id)::text;
      END $$;
      CREATE FUNCTION instance_wire_tail(
        phone_id text, member_name text, account_name text, region_name text,
        region_name_en text, backup_status integer, backup_time text, restore_status integer,
        restore_time text
      ) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
      BEGIN
        RETURN ',"phone_id":' || to_json(phone_id)::text
          || ',"member_name":' || to_json(member_name)::text
          || ',"account_name":' || to_json(account_name)::text
          || ',"region_name":' || to_json(region_name)::text
          || ',"region_name_en":' || to_json(region_name_en)::text
          || ',"backup_status":' || backup_status::text
          || ',"backup_time":' || to_json(backup_time)::text
          || ',"restore_status":' || restore_status::text
          || ',"restore_time":' || to_json(restore_time)::text || '}';
      END $$;
      ALTER TABLE instances
        ADD COLUMN wire_head text COLLATE "C" GENERATED ALWAYS AS (instance_wire_head(
          instance_id, instance_name, region, instance_sku, frozen_status, running_status,
          login_status, assign_user, billing_mode, project_id)) STORED,
        ADD COLUMN wire_tail text COLLATE "C" GENERATED ALWAYS AS (instance_wire_tail(
          phone_id, member_name, account_name, region_name, region_name_en, backup_status,
          backup_time, restore_status, restore_time)) STORED,
        ALTER COLUMN wire_head SET STORAGE MAIN,
        ALTER COLUMN wire_tail SET STORAGE MAIN;
    `,
    down: `
      ALTER TABLE instances DROP COLUMN wire_head, DROP COLUMN wire_tail;
      DROP FUNCTION instance_wire_tail(text, text, text, text, text, integer, text, integer, text);
      DROP FUNCTION instance_wire_head(text, text, text, text, integer, integer, integer, text,
        text, text);
    `,
  },
  {
    version: 9,
    name: "order-versions",
    // A number per tenant, bumped in the writer's own transaction by every change that can move
    // an instance's position in creation order within the tenant, a scene tag or a pool: an
    // instance added or removed, its created_at, pool or scene tag changed, a pool added, renamed
    // or removed. A status change does not bump it (tenant_versions does). Positions sampled at
    // order version v (key-samples.ts) hold for as long as it reads v; a page statement that
    // uses them checks it in its own snapshot. Updates compare old and new rows by instance id,
    // so a statement that changes only statuses writes nothing here.
    up: `
      CREATE TABLE order_versions (
        tenant_id  text COLLATE "C" PRIMARY KEY,
        version    bigint NOT NULL
      );
      CREATE FUNCTION order_versions_added() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO order_versions AS v (tenant_id, version)
          SELECT DISTINCT tenant_id, 1 FROM added ORDER BY 1
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      CREATE FUNCTION order_versions_removed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO order_versions AS v (tenant_id, version)
          SELECT DISTINCT tenant_id, 1 FROM removed ORDER BY 1
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      CREATE FUNCTION order_versions_pools_changed() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO order_versions AS v (tenant_id, version)
          SELECT tenant_id, 1 FROM (SELECT tenant_id FROM added UNION SELECT tenant_id FROM removed) t
          ORDER BY 1
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      CREATE FUNCTION order_versions_instances_moved() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO order_versions AS v (tenant_id, version)
          SELECT DISTINCT COALESCE(a.tenant_id, r.tenant_id), 1
          FROM added a FULL JOIN removed r
            ON r.tenant_id = a.tenant_id AND r.instance_id = a.instance_id
          WHERE a.instance_id IS NULL OR r.instance_id IS NULL
            OR (a.created_at, a.pool_id, a.scene_tag) IS DISTINCT FROM
               (r.created_at, r.pool_id, r.scene_tag)
          ORDER BY 1
          ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
        RETURN NULL;
      END $$;
      CREATE TRIGGER instances_order_added AFTER INSERT ON instances
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION order_versions_added();
      CREATE TRIGGER instances_order_removed AFTER DELETE ON instances
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION order_versions_removed();
      CREATE TRIGGER instances_order_moved AFTER UPDATE ON instances
        REFERENCING OLD TABLE AS removed NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION order_versions_instances_moved();
      CREATE TRIGGER pools_order_added AFTER INSERT ON pools
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION order_versions_added();
      CREATE TRIGGER pools_order_removed AFTER DELETE ON pools
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION order_versions_removed();
      CREATE TRIGGER pools_order_changed AFTER UPDATE ON pools
        REFERENCING OLD TABLE AS removed NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION order_versions_pools_changed();
    `,
    down: `
      DROP TRIGGER pools_order_changed ON pools;
      DROP TRIGGER pools_order_removed ON pools;
      DROP TRIGGER pools_order_added ON pools;
      DROP TRIGGER instances_order_moved ON instances;
      DROP TRIGGER instances_order_removed ON instances;
      DROP TRIGGER instances_order_added ON instances;
      DROP FUNCTION order_versions_instances_moved();
      DROP FUNCTION order_versions_pools_changed();
      DROP FUNCTION order_versions_removed();
      DROP FUNCTION order_versions_added();
      DROP TABLE order_versions;
    `,
  },
  {
    version: 10,
    name: "name-grams",
    // Substring search for needles of 4 characters or more: a GIN index over each folded name's
    // distinct 4-character pieces, the needle's own pieces its candidates (the name holds every
    // piece of the needle), strpos the exact check. pg_trgm's trigrams give a needle like
    // "77777" one trigram, "777", and the 1M bench tenant 3,890 candidates on 1,493 heap pages
    // for its 19 matches; its one 4-gram "7777" gives 290 candidates on 134 pages. The same
    // function splits names and needles, so they agree on what a character is. The trigram
    // index stays, for 3-character needles. Built in the migration's transaction: writes to
    // instances wait for it (~35 s per million instances on 2 busy cores); the index is 36 MB
    // per million, against the trigram index's 52.
    up: `
      CREATE FUNCTION instance_name_grams(name text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT COALESCE(array_agg(DISTINCT substr(name, n, 4)), '{}')
        FROM generate_series(1, length(name) - 3) n
      $$;
      CREATE INDEX instances_by_name_gram ON instances USING gin (instance_name_grams(name_folded));
    `,
    down: `
      DROP INDEX instances_by_name_gram;
      DROP FUNCTION instance_name_grams(text);
    `,
  },
  {
    version: 11,
    name: "project-wire-name",
    // Each project keeps the piece of its instances' JSON that names it, `,"project_name":` and
    // its name as JSON, written by PostgreSQL whenever the project is (a stored generated column,
    // so a rename rewrites it): a page joins wire_head, that piece and wire_tail, instead of
    // escaping the name for every row and joining four pieces. A deep page of the 1M bench
    // tenant: backends 172–174 → 152–155 µs per page (docs/benchmarks.md, step P23). The same
    // IMMUTABLE wrapper around to_json as migration 8's, for the same reason. The ALTER rewrites
    // the projects table, and the runner analyzes it after: the rewrite left the planner a row
    // count without statistics, and a time range's first page flipped to a plan 170 times slower
    // (step P24).
    vacuum: ["projects"],
    up: `
      CREATE FUNCTION project_wire_name(name text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
      BEGIN
        RETURN ',"project_name":' || to_json(name)::text;
      END $$;
      ALTER TABLE projects ADD COLUMN wire_name text COLLATE "C"
        GENERATED ALWAYS AS (project_wire_name(name)) STORED;
    `,
    down: `
      ALTER TABLE projects DROP COLUMN wire_name;
      DROP FUNCTION project_wire_name(text);
    `,
  },
  {
    version: 12,
    name: "instances-fillfactor",
    // Instances' heap pages are filled to 85%, so that a status change (the write a fleet makes
    // most) can put the row's new version on its own page: a HOT update, which writes no index
    // entry. Filled to 100%, ~1 KB rows left no room (186 of 80,000 updates HOT on the bench
    // fleet), and every update inserted into all nine indexes, the two GIN indexes on names
    // included, whose pending lists every name search then scans: after 40,000 updates of the
    // 1M bench tenant name substring fell from ~1,720 to 640–760 req/s. At 85%: 38,807 of 40,000
    // updates HOT, name substring after them 1,180–1,470 (docs/benchmarks.md, step P27). Cost:
    // the table 1,133 → 1,432 MB per 1.1M rows; pages read no slower (page 1 and random pages
    // within noise). It applies to pages written from now on; `CLUSTER instances USING
    // instances_by_time` (README) rewrites the existing ones to it.
    up: `
      ALTER TABLE instances SET (fillfactor = 85);
    `,
    down: `
      ALTER TABLE instances RESET (fillfactor);
    `,
  },
];
