/**
 * The embedded store: one SQLite file through better-sqlite3, in WAL mode so readers never wait
 * for the writer. All SQL of the SQLite store lives in this file, ./instance-query.ts (the tenant
 * API's batch query) and ./migrations.ts.
 */
import type { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { conflict } from "../../errors.js";
import {
  type BatchQuery,
  type EncodedPage,
  foldName,
  type InstancePage,
  type Visibility,
} from "../../instances/model.js";
import { PrincipalCache, type TenantVersions } from "../principal-cache.js";
import { SameTurnRead } from "../same-turn-read.js";
import {
  type AccessKeyPrincipal,
  type AccessKeyRecord,
  type ImportBatch,
  INSTANCE_COLUMNS,
  type InstancePatch,
  type NewUser,
  type Pool,
  type Principal,
  type Project,
  type Store,
  type StoredInstance,
  type StoreLog,
  type Tenant,
  type TokenRecord,
  type User,
  type UserPatch,
} from "../types.js";
import { beginBulk, finishBulk } from "./bulk-maintenance.js";
import { importInstances as importInto } from "./import-instances.js";
import { InstanceQuery } from "./instance-query.js";
import { migrations } from "./migrations.js";
import { ReaderPool } from "./reader-pool.js";

type Row = Record<string, unknown>;

/** The user and tenant facts of a credential (token or access key), joined as `u` and `t`. */
const PRINCIPAL_COLUMNS = `u.user_id, u.name AS user_name, u.role,
             t.tenant_id, t.name AS tenant_name, t.deleted_at, t.subscribed, t.rate_limit,
             (SELECT version FROM tenant_versions v WHERE v.tenant_id = t.tenant_id) AS query_version,
             (SELECT version FROM auth_versions a WHERE a.tenant_id = t.tenant_id) AS auth_version,
             (SELECT json_group_array(project_id) FROM user_projects g WHERE g.user_id = u.user_id) AS grants`;

function principalOf(row: Row): Omit<Principal, "tokenId" | "expiresAt" | "revoked"> {
  return {
    userId: row.user_id as string,
    userName: row.user_name as string,
    role: row.role as Principal["role"],
    projectIds: JSON.parse(row.grants as string) as string[],
    tenantId: row.tenant_id as string,
    tenantName: row.tenant_name as string,
    tenantDeleted: row.deleted_at !== null,
    subscribed: row.subscribed === 1,
    rateLimit: row.rate_limit as number | null,
    queryVersion: (row.query_version ?? 0) as number,
    authVersion: (row.auth_version ?? 0) as number,
  };
}

export class SqliteStore implements Store {
  readonly dialect = "sqlite";
  private readonly db: Database.Database;
  private readonly instances: InstanceQuery;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly principals = new PrincipalCache();
  /** Read by every request with a held principal, so shared by those of one event-loop turn. */
  private readonly versions = new SameTurnRead((tenantIds) => this.readVersions(tenantIds));
  /** Threads reading pages beside this connection (startReaders), when the server wants them. */
  private readers: ReaderPool | undefined;

  constructor(private readonly filename: string) {
    this.db = SqliteStore.open(filename);
    this.instances = new InstanceQuery(this.db);
  }

  private static open(filename: string): Database.Database {
    const db = new Database(filename);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL"); // durable across process crashes in WAL mode
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    return db;
  }

  /** Prepared once per distinct SQL text, reused for the life of the connection. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  async migrate(): Promise<string[]> {
    this.db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const done = new Set(
      this.db.prepare("SELECT version FROM schema_migrations").pluck().all() as number[],
    );
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      this.db
        .transaction(() => {
          this.db.exec(migration.up);
          this.db
            .prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
            .run(migration.version, migration.name, new Date().toISOString());
        })
        .immediate();
      applied.push(`${String(migration.version).padStart(3, "0")}-${migration.name}`);
    }
    return applied;
  }

  async ping(): Promise<void> {
    this.sql("SELECT 1").get();
  }

  async startReaders(count: number, log?: StoreLog): Promise<void> {
    if (count < 1 || this.filename === ":memory:" || this.readers) return;
    this.readers = await ReaderPool.start(this.filename, count, log);
  }

  /** The reader threads alive now (none until startReaders). */
  readerThreads(): Worker[] {
    return this.readers?.threads() ?? [];
  }

  async close(): Promise<void> {
    await this.readers?.close();
    if (this.db.open) this.db.close();
  }

  // ---- the tenant API ----------------------------------------------------------------------

  async principalByTokenHash(tokenHash: string): Promise<Principal | undefined> {
    return this.principals.get(
      tokenHash,
      (tenantId) => this.versions.load(tenantId),
      async () => {
        const row = this.sql(`
          SELECT k.token_id, k.expires_at, k.revoked_at, ${PRINCIPAL_COLUMNS}
          FROM tokens k JOIN users u ON u.user_id = k.user_id
            JOIN tenants t ON t.tenant_id = u.tenant_id
          WHERE k.token_hash = ?`).get(tokenHash) as Row | undefined;
        if (!row) return undefined;
        return {
          tokenId: row.token_id as string,
          expiresAt: row.expires_at as string,
          revoked: row.revoked_at !== null,
          ...principalOf(row),
        };
      },
    );
  }

  /** Tenants' auth and query versions, one statement (one read transaction) for all of them. */
  private readVersions(tenantIds: string[]): Map<string, TenantVersions> {
    const rows = this.sql(`SELECT t.value,
        (SELECT version FROM auth_versions WHERE tenant_id = t.value),
        (SELECT version FROM tenant_versions WHERE tenant_id = t.value)
      FROM json_each(?) t`)
      .raw()
      .all(JSON.stringify(tenantIds)) as [string, number | null, number | null][];
    return new Map(
      rows.map(([tenantId, auth, query]) => [tenantId, { auth: auth ?? 0, query: query ?? 0 }]),
    );
  }

  async queryInstances(visibility: Visibility, query: BatchQuery): Promise<InstancePage> {
    return this.instances.query(visibility, query);
  }

  async queryEncodedInstances(
    visibility: Visibility,
    query: BatchQuery,
  ): Promise<EncodedPage | undefined> {
    // Every page goes to the readers while one is alive: this thread then only serves HTTP.
    // (Reading some pages here when the readers were busy measured slower: a page read here
    // holds up the readers' answers waiting for this thread.)
    if (this.readers?.size) return this.readers.queryEncoded(visibility, query);
    return this.instances.queryEncoded(visibility, query);
  }

  async queryVersion(tenantId: string): Promise<number> {
    return this.instances.version(tenantId);
  }

  async instanceProject(tenantId: string, instanceId: string): Promise<string | undefined> {
    return this.sql("SELECT project_id FROM instances WHERE tenant_id = ? AND instance_id = ?")
      .pluck()
      .get(tenantId, instanceId) as string | undefined;
  }

  // ---- tenants -----------------------------------------------------------------------------

  async createTenant(tenant: Tenant): Promise<void> {
    this.write(`tenant ${tenant.tenant_id} / ${tenant.name}`, () =>
      this.sql(`INSERT INTO tenants (tenant_id, name, subscribed, rate_limit, created_at)
        VALUES (@tenant_id, @name, @subscribed, @rate_limit, @created_at)`).run({
        ...tenant,
        subscribed: tenant.subscribed ? 1 : 0,
      }),
    );
  }

  async listTenants(limit: number, offset: number): Promise<Tenant[]> {
    const rows = this.sql(`SELECT * FROM tenants WHERE deleted_at IS NULL
      ORDER BY created_at, tenant_id LIMIT ? OFFSET ?`).all(limit, offset) as Row[];
    return rows.map(toTenant);
  }

  async tenantById(tenantId: string): Promise<Tenant | undefined> {
    const row = this.sql("SELECT * FROM tenants WHERE tenant_id = ? AND deleted_at IS NULL").get(
      tenantId,
    );
    return row ? toTenant(row as Row) : undefined;
  }

  async tenantByName(name: string): Promise<Tenant | undefined> {
    const row = this.sql("SELECT * FROM tenants WHERE name = ? AND deleted_at IS NULL").get(name);
    return row ? toTenant(row as Row) : undefined;
  }

  async updateTenant(
    tenantId: string,
    patch: Partial<Pick<Tenant, "name" | "subscribed" | "rate_limit">>,
  ): Promise<boolean> {
    const sets: string[] = [];
    const params: Row = { tenant_id: tenantId };
    if (patch.name !== undefined) {
      sets.push("name = @name");
      params.name = patch.name;
    }
    if (patch.subscribed !== undefined) {
      sets.push("subscribed = @subscribed");
      params.subscribed = patch.subscribed ? 1 : 0;
    }
    if (patch.rate_limit !== undefined) {
      sets.push("rate_limit = @rate_limit");
      params.rate_limit = patch.rate_limit;
    }
    if (sets.length === 0) return (await this.tenantById(tenantId)) !== undefined;
    const result = this.write(`tenant name ${patch.name ?? ""}`, () =>
      this.db
        .prepare(
          `UPDATE tenants SET ${sets.join(", ")} WHERE tenant_id = @tenant_id AND deleted_at IS NULL`,
        )
        .run(params),
    );
    return result.changes > 0;
  }

  async deleteTenant(tenantId: string): Promise<boolean> {
    return this.db
      .transaction(() => {
        const result = this.sql(
          "UPDATE tenants SET deleted_at = ? WHERE tenant_id = ? AND deleted_at IS NULL",
        ).run(new Date().toISOString(), tenantId);
        if (result.changes === 0) return false;
        this.sql("DELETE FROM instances WHERE tenant_id = ?").run(tenantId);
        return true;
      })
      .immediate();
  }

  async instanceCountsByRunningStatus(tenantId: string): Promise<Record<string, number>> {
    const rows = this.sql(`SELECT running_status, COUNT(*) AS n FROM instances
      WHERE tenant_id = ? GROUP BY running_status`).all(tenantId) as {
      running_status: number;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [String(r.running_status), r.n]));
  }

  // ---- projects and pools ------------------------------------------------------------------

  async createProject(project: Project): Promise<void> {
    this.write(`project ${project.project_id} / ${project.name}`, () =>
      this.sql(
        "INSERT INTO projects (project_id, tenant_id, name) VALUES (@project_id, @tenant_id, @name)",
      ).run(project),
    );
  }

  async listProjects(tenantId: string): Promise<Project[]> {
    return this.sql(
      "SELECT project_id, tenant_id, name FROM projects WHERE tenant_id = ? ORDER BY name",
    ).all(tenantId) as Project[];
  }

  async createPool(pool: Pool): Promise<void> {
    this.write(`pool ${pool.name}`, () =>
      this.sql(`INSERT INTO pools (pool_id, tenant_id, name, scene_tag)
        VALUES (@pool_id, @tenant_id, @name, @scene_tag)`).run(pool),
    );
  }

  async listPools(tenantId: string): Promise<Pool[]> {
    return this.sql(
      "SELECT pool_id, tenant_id, name, scene_tag FROM pools WHERE tenant_id = ? ORDER BY name",
    ).all(tenantId) as Pool[];
  }

  // ---- users and tokens --------------------------------------------------------------------

  async createUser(user: NewUser): Promise<void> {
    this.write(`user ${user.name}`, () =>
      this.db
        .transaction(() => {
          this.sql(`INSERT INTO users (user_id, tenant_id, name, role, password_hash)
          VALUES (@user_id, @tenant_id, @name, @role, @password_hash)`).run(user);
          this.grant(user.tenant_id, user.user_id, user.project_ids);
        })
        .immediate(),
    );
  }

  private grant(tenantId: string, userId: string, projectIds: string[]): void {
    const insert = this.sql(
      "INSERT INTO user_projects (tenant_id, user_id, project_id) VALUES (?, ?, ?)",
    );
    for (const projectId of new Set(projectIds)) insert.run(tenantId, userId, projectId);
  }

  async listUsers(tenantId: string): Promise<User[]> {
    const rows = this.sql(`${USER_SELECT} WHERE u.tenant_id = ? ORDER BY u.name`).all(
      tenantId,
    ) as Row[];
    return rows.map((row) => publicUser(toUser(row)));
  }

  async userById(userId: string) {
    const row = this.sql(`${USER_SELECT} WHERE u.user_id = ?`).get(userId) as Row | undefined;
    return row ? toUser(row) : undefined;
  }

  async userByName(tenantId: string, name: string) {
    const row = this.sql(`${USER_SELECT} WHERE u.tenant_id = ? AND u.name = ?`).get(
      tenantId,
      name,
    ) as Row | undefined;
    return row ? toUser(row) : undefined;
  }

  async updateUser(userId: string, patch: UserPatch): Promise<boolean> {
    return this.db
      .transaction(() => {
        const user = this.sql("SELECT tenant_id FROM users WHERE user_id = ?").get(userId) as
          | Row
          | undefined;
        if (!user) return false;
        if (patch.role !== undefined)
          this.sql("UPDATE users SET role = ? WHERE user_id = ?").run(patch.role, userId);
        if (patch.password_hash !== undefined) {
          this.sql("UPDATE users SET password_hash = ? WHERE user_id = ?").run(
            patch.password_hash,
            userId,
          );
        }
        if (patch.project_ids !== undefined) {
          this.sql("DELETE FROM user_projects WHERE user_id = ?").run(userId);
          this.grant(user.tenant_id as string, userId, patch.project_ids);
        }
        return true;
      })
      .immediate();
  }

  async insertToken(token: TokenRecord): Promise<void> {
    this.sql(`INSERT INTO tokens (token_id, user_id, token_hash, issued_at, expires_at)
      VALUES (@token_id, @user_id, @token_hash, @issued_at, @expires_at)`).run(token);
  }

  async revokeToken(tokenId: string, at: string): Promise<boolean> {
    const result = this.sql(
      "UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
    ).run(at, tokenId);
    return result.changes > 0;
  }

  // ---- access keys -------------------------------------------------------------------------

  async insertAccessKey(key: AccessKeyRecord): Promise<void> {
    this.write(`access key ${key.access_key}`, () =>
      this.sql(`INSERT INTO access_keys (access_key, tenant_id, user_id, secret_sealed, created_at)
        VALUES (@access_key, @tenant_id, @user_id, @secret_sealed, @created_at)`).run(key),
    );
  }

  async principalByAccessKey(accessKey: string): Promise<AccessKeyPrincipal | undefined> {
    const row = this.sql(`
      SELECT a.access_key, a.secret_sealed, a.revoked_at, ${PRINCIPAL_COLUMNS}
      FROM access_keys a JOIN users u ON u.user_id = a.user_id JOIN tenants t ON t.tenant_id = u.tenant_id
      WHERE a.access_key = ?`).get(accessKey) as Row | undefined;
    if (!row) return undefined;
    return {
      accessKey: row.access_key as string,
      secretSealed: row.secret_sealed as string,
      revoked: row.revoked_at !== null,
      ...principalOf(row),
    };
  }

  async revokeAccessKey(accessKey: string, at: string): Promise<boolean> {
    const result = this.sql(
      "UPDATE access_keys SET revoked_at = ? WHERE access_key = ? AND revoked_at IS NULL",
    ).run(at, accessKey);
    return result.changes > 0;
  }

  // ---- instances ---------------------------------------------------------------------------

  async importInstances(tenantId: string, batches: AsyncIterable<ImportBatch>): Promise<number> {
    // A second connection, so that tenant queries served meanwhile by this.db read the last
    // committed state (WAL) instead of a half-done import. :memory: has only one database.
    const own = this.filename !== ":memory:";
    const db = own ? SqliteStore.open(this.filename) : this.db;
    return importInto({ db, own }, tenantId, batches, { begin: beginBulk, finish: finishBulk });
  }

  async instanceById(instanceId: string): Promise<StoredInstance | undefined> {
    return this.sql(`SELECT ${INSTANCE_COLUMNS.filter((c) => c !== "name_folded").join(", ")}
      FROM instances WHERE instance_id = ?`).get(instanceId) as StoredInstance | undefined;
  }

  async updateInstance(instanceId: string, patch: InstancePatch): Promise<boolean> {
    const columns = Object.keys(patch).filter((k) =>
      (INSTANCE_COLUMNS as readonly string[]).includes(k),
    );
    const sets = columns.map((c) => `${c} = @${c}`);
    const params: Row = { ...patch, instance_id: instanceId };
    if (patch.instance_name !== undefined) {
      sets.push("name_folded = @name_folded");
      params.name_folded = foldName(patch.instance_name);
    }
    const result = this.write(`instance ${instanceId}`, () =>
      this.db
        .prepare(`UPDATE instances SET ${sets.join(", ")} WHERE instance_id = @instance_id`)
        .run(params),
    );
    return result.changes > 0;
  }

  async deleteInstance(instanceId: string): Promise<boolean> {
    return this.sql("DELETE FROM instances WHERE instance_id = ?").run(instanceId).changes > 0;
  }

  /** Runs a write, turning a uniqueness violation into a 409 that names what collided. */
  private write<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (
        error instanceof Database.SqliteError &&
        error.code.startsWith("SQLITE_CONSTRAINT_UNIQUE")
      ) {
        throw conflict(`${what} already exists`);
      }
      if (
        error instanceof Database.SqliteError &&
        error.code.startsWith("SQLITE_CONSTRAINT_PRIMARYKEY")
      ) {
        throw conflict(`${what} already exists`);
      }
      throw error;
    }
  }
}

const USER_SELECT = `SELECT u.user_id, u.tenant_id, u.name, u.role, u.password_hash,
  (SELECT json_group_array(project_id) FROM user_projects g WHERE g.user_id = u.user_id) AS grants
  FROM users u`;

function toTenant(row: Row): Tenant {
  return {
    tenant_id: row.tenant_id as string,
    name: row.name as string,
    subscribed: row.subscribed === 1,
    rate_limit: row.rate_limit as number | null,
    created_at: row.created_at as string,
  };
}

function toUser(row: Row): User & { password_hash: string | null } {
  const passwordHash = row.password_hash as string | null;
  return {
    user_id: row.user_id as string,
    tenant_id: row.tenant_id as string,
    name: row.name as string,
    role: row.role as User["role"],
    project_ids: (JSON.parse(row.grants as string) as string[]).sort(),
    has_password: passwordHash !== null,
    password_hash: passwordHash,
  };
}

function publicUser(user: User & { password_hash: string | null }): User {
  const { password_hash: _hidden, ...rest } = user;
  return rest;
}
