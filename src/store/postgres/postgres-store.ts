/**
 * The scale-out store: PostgreSQL 15+ through a pg.Pool, for several replicas over one database.
 * It answers exactly like the SQLite store (../sqlite/sqlite-store.ts), method by method: same
 * ordering (COLLATE "C" = SQLite BINARY), same folded-name search, same conflict messages.
 * All SQL of this store lives in this folder.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { conflict } from "../../errors.js";
import {
  type BatchQuery,
  type EncodedPage,
  foldName,
  type InstancePage,
  offsetOf,
  type Visibility,
  type WireInstance,
} from "../../instances/model.js";
import { FramePool } from "../frame-pool.js";
import { PrincipalCache, type TenantVersions } from "../principal-cache.js";
import { SameTurnRead } from "../same-turn-read.js";
import { TurnBatch } from "../turn-batch.js";
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
  type Tenant,
  type TokenRecord,
  type User,
  type UserPatch,
} from "../types.js";
import { type PostgresSettings, postgresSettings } from "./connection.js";
import { insertInstances } from "./insert-instances.js";
import {
  NAME_LIST_MAX,
  nameMatchesStatement,
  type PageStatement,
  pageByIdsStatement,
  pageStatement,
  SORT_PREFIX,
  sampledScope,
  sampleStatement,
} from "./instance-query.js";
import {
  type KeySample,
  type KeySampleOptions,
  KeySamples,
  type SampledStart,
} from "./key-samples.js";
import { migrateDown, migrateUp } from "./migrate.js";
import { PageReader } from "./page-reader.js";
import { StreamedPage } from "./streamed-page.js";

type Row = Record<string, unknown>;
type Client = pg.PoolClient;

/** Operator operations that may touch a whole tenant (deleting a million instances). */
const LONG_STATEMENT_MS = 10 * 60_000;

/** Imports at least this big vacuum and analyze the instances (see vacuumInstances). */
const VACUUM_AFTER = 1000;

const TENANT_COLUMNS = "tenant_id, name, subscribed, rate_limit, created_at";

const USER_SELECT = `SELECT u.user_id, u.tenant_id, u.name, u.role, u.password_hash,
  ARRAY(SELECT g.project_id FROM user_projects g
        WHERE g.tenant_id = u.tenant_id AND g.user_id = u.user_id ORDER BY g.project_id) AS grants
  FROM users u`;

/** The user and tenant facts of a credential (token or access key), joined as `u` and `t`. */
const PRINCIPAL_COLUMNS = `u.user_id, u.name AS user_name, u.role,
              t.tenant_id, t.name AS tenant_name, t.deleted_at, t.subscribed, t.rate_limit,
              (SELECT version FROM tenant_versions v WHERE v.tenant_id = t.tenant_id) AS query_version,
              (SELECT version FROM auth_versions a WHERE a.tenant_id = t.tenant_id) AS auth_version,
              ARRAY(SELECT g.project_id FROM user_projects g
                    WHERE g.tenant_id = u.tenant_id AND g.user_id = u.user_id
                    ORDER BY g.project_id) AS grants`;

function principalOf(row: Row): Omit<Principal, "tokenId" | "expiresAt" | "revoked"> {
  return {
    userId: row.user_id as string,
    userName: row.user_name as string,
    role: row.role as Principal["role"],
    projectIds: row.grants as string[],
    tenantId: row.tenant_id as string,
    tenantName: row.tenant_name as string,
    tenantDeleted: row.deleted_at !== null,
    subscribed: row.subscribed === true,
    rateLimit: row.rate_limit as number | null,
    queryVersion: Number(row.query_version ?? 0),
    authVersion: Number(row.auth_version ?? 0),
  };
}

/** The byte of PostgreSQL's text for true. */
const T = 0x74;

/** Deep pages read by one statement at most (pageStatement with `seek`). */
const SAMPLED_PAGES_PER_STATEMENT = 16;

/** A deep page to read from its sampled start, batched with others of its scope. */
interface SampledRequest {
  visibility: Visibility;
  query: BatchQuery;
  start: SampledStart;
}

/** Name pages read in two statements, tried again this often when the tenant changed between. */
const NAME_PAGE_ATTEMPTS = 3;

/** A sample of a scope's keys (key-samples.ts) may take this long: it runs in the background. */
const SAMPLE_TIMEOUT_MS = 60_000;

export class PostgresStore implements Store {
  readonly dialect = "postgres";
  private readonly settings: PostgresSettings;
  private readonly pool: pg.Pool;
  /** The batch query's page statements, on connections of their own (page-reader.ts). */
  private readonly reader: PageReader;
  private readonly statementNames = new Map<string, string>();
  private readonly principals = new PrincipalCache();
  /** Where encoded pages are decoded, lent to each request until its answer is written. */
  private readonly frames = new FramePool(false);
  /** Read by every request with a held principal, so shared by those of one event-loop turn. */
  private readonly versions = new SameTurnRead((tenantIds) => this.readVersions(tenantIds));
  /** Where deep pages in creation order start (key-samples.ts). */
  readonly samples: KeySamples;
  /**
   * Deep pages of one sampled scope that wait together for a connection, read by one statement
   * (turn-batch.ts): per page, a backend then spends ~10% less and Node ~20% less than with a
   * statement each (docs/benchmarks.md, step P22).
   */
  private readonly sampledPages: TurnBatch<SampledRequest, EncodedPage | undefined>;
  private closed = false;

  constructor(databaseUrl: string, options: { keySamples?: KeySampleOptions } = {}) {
    this.settings = postgresSettings(databaseUrl);
    this.samples = new KeySamples(options.keySamples);
    this.pool = new pg.Pool(this.settings.pool);
    // An idle connection that dies (server restart, pg_terminate_backend) is reported here and
    // dropped from the pool; the next query opens a fresh one. Unhandled, it would end the process.
    this.pool.on("error", () => {});
    this.reader = new PageReader(this.settings.readers, this.settings.statementTimeoutMs + 1000);
    // As many statements at once as the sampled pages' connections, each reading the pages
    // that waited meanwhile.
    this.sampledPages = new TurnBatch(
      (requests) => this.readSampledPages(requests),
      SAMPLED_PAGES_PER_STATEMENT,
      this.settings.readers.generic.max,
    );
  }

  migrate(): Promise<string[]> {
    return migrateUp(this.settings);
  }

  /** Reverts migrations above `toVersion` (operators' escape hatch; tests use it too). */
  migrateDown(toVersion: number): Promise<string[]> {
    return migrateDown(this.settings, toVersion);
  }

  async ping(): Promise<void> {
    await this.query("SELECT 1");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.pool.end(), this.reader.close()]);
  }

  /**
   * One statement on any pooled connection, prepared once per connection under a name derived
   * from its text (the hot tenant-API statements are parsed and planned once, not per request).
   */
  private async query(text: string, values: unknown[] = []): Promise<pg.QueryResult<Row>> {
    return this.pool.query<Row>({ name: this.statementName(text), text, values });
  }

  private statementName(text: string): string {
    let name = this.statementNames.get(text);
    if (!name) {
      name = `pf_${createHash("sha1").update(text).digest("hex").slice(0, 24)}`;
      this.statementNames.set(text, name);
    }
    return name;
  }

  /** Runs `work` in one transaction on one dedicated connection. */
  private async transaction<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // The pool listens for errors only on idle connections; this one is ours until released.
    const onError = () => {};
    client.on("error", onError);
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.removeListener("error", onError);
      client.release(broken);
    }
  }

  // ---- the tenant API ----------------------------------------------------------------------

  async principalByTokenHash(tokenHash: string): Promise<Principal | undefined> {
    return this.principals.get(
      tokenHash,
      (tenantId) => this.versions.load(tenantId),
      async () => {
        const { rows } = await this.query(
          `SELECT k.token_id, k.expires_at, k.revoked_at, ${PRINCIPAL_COLUMNS}
           FROM tokens k
           JOIN users u ON u.tenant_id = k.tenant_id AND u.user_id = k.user_id
           JOIN tenants t ON t.tenant_id = u.tenant_id
           WHERE k.token_hash = $1`,
          [tokenHash],
        );
        const row = rows[0];
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

  /** Tenants' auth and query versions, one statement for every tenant asked for at once. */
  private async readVersions(tenantIds: string[]): Promise<Map<string, TenantVersions>> {
    const { rows } = await this.query(
      `SELECT 'auth' AS kind, tenant_id, version FROM auth_versions WHERE tenant_id = ANY($1)
       UNION ALL
       SELECT 'query', tenant_id, version FROM tenant_versions WHERE tenant_id = ANY($1)`,
      [tenantIds],
    );
    const versions = new Map(tenantIds.map((id) => [id, { auth: 0, query: 0 }]));
    for (const row of rows) {
      const held = versions.get(row.tenant_id as string);
      if (held) held[row.kind as keyof TenantVersions] = Number(row.version);
    }
    return versions;
  }

  async queryInstances(visibility: Visibility, query: BatchQuery): Promise<InstancePage> {
    const seek = this.seek(visibility, query);
    const sampled = seek && [{ offset: offsetOf(query), start: seek.start }];
    let rows = await this.reader.rows(pageStatement(visibility, query, false, sampled));
    if (seek && !this.fresh(seek, rows[0]?.fresh === true))
      rows = await this.reader.rows(pageStatement(visibility, query));
    const total = (rows[0]?.total ?? 0) as number;
    const page: WireInstance[] = [];
    for (const row of rows) {
      if (row.instance_id === null) continue; // the count's row when the page is empty
      delete row.total;
      delete row.fresh;
      delete row.n;
      for (const key of Object.keys(row)) if (key.startsWith(SORT_PREFIX)) delete row[key];
      page.push(row as unknown as WireInstance);
    }
    return { total, rows: page };
  }

  async queryEncodedInstances(visibility: Visibility, query: BatchQuery): Promise<EncodedPage> {
    // Each row's JSON comes as text, and its bytes go into the page as they came
    // (page-reader.ts): PostgreSQL's base64 encoder was a quarter of the backend's CPU
    // (docs/benchmarks.md, step P16), and nothing decodes the text on this side.
    const seek = this.seek(visibility, query);
    if (seek) {
      // Read with the scope's other deep pages waiting with it (same sample, order and size).
      const { version, total } = seek.start;
      const group = JSON.stringify([seek.scope, version, total, query.order, query.pageSize]);
      const page = await this.sampledPages.add(group, { visibility, query, start: seek.start });
      if (this.fresh(seek, page !== undefined)) return page as EncodedPage;
    }
    let countMatches = false;
    if (query.nameContains !== undefined) {
      const named = await this.readNamePage(visibility, query);
      if (named !== "many" && named !== undefined) return named;
      countMatches = named === "many";
    }
    const statement = pageStatement(visibility, query, true, undefined, countMatches);
    const [page] = await this.streamPages(statement, 1, () => 0);
    return (page as StreamedPage).finish();
  }

  /**
   * A name needle's page in two statements where its matches are few enough to list: the
   * matches and the page's ids (planned for the needle), then the page's rows by id (one plan
   * for all). Both read the tenant's data version, and the page stands only if it is the same
   * in both: nothing of the tenant changed between the two snapshots. "many" where the needle
   * has more matches than the list holds (pageStatement then counts them without listing them
   * again), undefined where the tenant changed between the two every time (pageStatement's one
   * statement answers then).
   */
  private async readNamePage(
    visibility: Visibility,
    query: BatchQuery,
  ): Promise<EncodedPage | "many" | undefined> {
    for (let attempt = 0; attempt < NAME_PAGE_ATTEMPTS; attempt++) {
      const [listed] = await this.reader.rows(nameMatchesStatement(visibility, query));
      if (!listed) return undefined;
      const total = Number(listed.total);
      if (total > NAME_LIST_MAX) return "many";
      const ids = listed.ids as string[];
      if (ids.length === 0) return { total, json: [] };
      let version: string | undefined;
      const [page] = await this.streamPages(
        pageByIdsStatement(visibility.tenantId, ids, total),
        1,
        (fields) => {
          version = fields[2]?.toString("latin1");
          return 0;
        },
      );
      if (version === listed.version) return (page as StreamedPage).finish();
      page?.discard();
    }
    return undefined;
  }

  /**
   * `count` pages of an encoded statement's rows, each row into the page `pageOf` names (from 0);
   * every page's slot given back if the statement fails.
   */
  private async streamPages(
    statement: PageStatement,
    count: number,
    pageOf: (fields: (Buffer | null)[]) => number,
  ): Promise<StreamedPage[]> {
    const pages = Array.from({ length: count }, () => new StreamedPage(this.frames));
    let total: number | undefined;
    try {
      await this.reader.stream(statement, (fields) => {
        // The total is the same on every row.
        total ??= Number(fields[0]?.toString("latin1"));
        const page = pages[pageOf(fields)];
        if (!page) throw new Error("a page statement's row names no page of it");
        page.add(total, fields[1] ?? null);
      });
    } catch (error) {
      for (const page of pages) page.discard();
      throw error;
    }
    return pages;
  }

  /**
   * Deep pages of one sampled scope, from one statement (pageStatement with `seek`), in the
   * requests' order; none where the sample was found no longer current.
   */
  private async readSampledPages(requests: SampledRequest[]): Promise<(EncodedPage | undefined)[]> {
    const [first] = requests;
    if (!first) return [];
    const seek = requests.map(({ query, start }) => ({ offset: offsetOf(query), start }));
    let fresh = true;
    const statement = pageStatement(first.visibility, first.query, true, seek);
    const pages = await this.streamPages(statement, requests.length, (fields) => {
      // `fresh` (t or f) is the same on every row; `n` is the row's page, from 1.
      if (fields[2]?.[0] !== T) fresh = false;
      return Number(fields[3]?.toString("latin1")) - 1;
    });
    if (fresh) return pages.map((page) => page.finish());
    for (const page of pages) page.discard();
    return pages.map(() => undefined);
  }

  /**
   * Where a deep page in creation order starts, from the scope's held sample (key-samples.ts);
   * none without one. A sample is taken in the background when due.
   */
  private seek(
    visibility: Visibility,
    query: BatchQuery,
  ): { scope: string; start: SampledStart } | undefined {
    const scope = sampledScope(visibility, query);
    if (scope === undefined) return undefined;
    const offset = offsetOf(query);
    const start = this.samples.start(scope, { offset, desc: query.order === "desc" }, () =>
      this.takeSample(visibility, query),
    );
    return start && { scope, start };
  }

  /** Whether a sampled statement found its sample current; forgets the sample if not. */
  private fresh(seek: { scope: string; start: SampledStart }, fresh: boolean): boolean {
    if (!fresh) this.samples.stale(seek.scope, seek.start.version);
    return fresh;
  }

  private async takeSample(visibility: Visibility, query: BatchQuery): Promise<KeySample> {
    // In the background, so with more time than a request's statement: ~0.7 s per million rows
    // of the scope on the 2-core bench machine, and a 10M-instance tenant is meant to work.
    const { rows } = await this.transaction(async (client) => {
      await client.query(`SET LOCAL statement_timeout = ${SAMPLE_TIMEOUT_MS}`);
      return client.query<Row>({
        ...sampleStatement(visibility, query, this.samples.options),
        query_timeout: SAMPLE_TIMEOUT_MS + 1000,
      } as pg.QueryConfig);
    });
    const first = rows[0];
    const sample: KeySample = {
      version: Number(first?.version ?? 0),
      total: Number(first?.total ?? 0),
      step: Number(first?.step ?? 1),
      createdAt: [],
      instanceIds: [],
    };
    for (const row of rows) {
      if (row.instance_id === null) continue; // the scope is empty
      sample.createdAt.push(row.created_at as string);
      sample.instanceIds.push(row.instance_id as string);
    }
    return sample;
  }

  async queryVersion(tenantId: string): Promise<number> {
    const { rows } = await this.query("SELECT version FROM tenant_versions WHERE tenant_id = $1", [
      tenantId,
    ]);
    return Number(rows[0]?.version ?? 0);
  }

  async instanceProject(tenantId: string, instanceId: string): Promise<string | undefined> {
    const { rows } = await this.query(
      "SELECT project_id FROM instances WHERE tenant_id = $1 AND instance_id = $2",
      [tenantId, instanceId],
    );
    return rows[0]?.project_id as string | undefined;
  }

  // ---- tenants -----------------------------------------------------------------------------

  async createTenant(tenant: Tenant): Promise<void> {
    await write(`tenant ${tenant.tenant_id} / ${tenant.name}`, () =>
      this.query(
        `INSERT INTO tenants (tenant_id, name, subscribed, rate_limit, created_at)
         VALUES ($1, $2, $3, $4, $5)`,
        [tenant.tenant_id, tenant.name, tenant.subscribed, tenant.rate_limit, tenant.created_at],
      ),
    );
  }

  async listTenants(limit: number, offset: number): Promise<Tenant[]> {
    const { rows } = await this.query(
      `SELECT ${TENANT_COLUMNS} FROM tenants WHERE deleted_at IS NULL
       ORDER BY created_at, tenant_id LIMIT $1 OFFSET $2`,
      [limit, offset],
    );
    return rows.map(toTenant);
  }

  async tenantById(tenantId: string): Promise<Tenant | undefined> {
    const { rows } = await this.query(
      `SELECT ${TENANT_COLUMNS} FROM tenants WHERE tenant_id = $1 AND deleted_at IS NULL`,
      [tenantId],
    );
    return rows[0] ? toTenant(rows[0]) : undefined;
  }

  async tenantByName(name: string): Promise<Tenant | undefined> {
    const { rows } = await this.query(
      `SELECT ${TENANT_COLUMNS} FROM tenants WHERE name = $1 AND deleted_at IS NULL`,
      [name],
    );
    return rows[0] ? toTenant(rows[0]) : undefined;
  }

  async updateTenant(
    tenantId: string,
    patch: Partial<Pick<Tenant, "name" | "subscribed" | "rate_limit">>,
  ): Promise<boolean> {
    const sets: string[] = [];
    const params: unknown[] = [tenantId];
    for (const column of ["name", "subscribed", "rate_limit"] as const) {
      if (patch[column] === undefined) continue;
      params.push(patch[column]);
      sets.push(`${column} = $${params.length}`);
    }
    if (sets.length === 0) return (await this.tenantById(tenantId)) !== undefined;
    const result = await write(`tenant name ${patch.name ?? ""}`, () =>
      this.query(
        `UPDATE tenants SET ${sets.join(", ")} WHERE tenant_id = $1 AND deleted_at IS NULL`,
        params,
      ),
    );
    return (result.rowCount ?? 0) > 0;
  }

  async deleteTenant(tenantId: string): Promise<boolean> {
    return this.transaction(async (client) => {
      await client.query(`SET LOCAL statement_timeout = ${LONG_STATEMENT_MS}`);
      const result = await client.query(
        "UPDATE tenants SET deleted_at = $1 WHERE tenant_id = $2 AND deleted_at IS NULL",
        [new Date().toISOString(), tenantId],
      );
      if (result.rowCount === 0) return false;
      await client.query({
        text: "DELETE FROM instances WHERE tenant_id = $1",
        values: [tenantId],
        query_timeout: LONG_STATEMENT_MS + 1000,
      } as pg.QueryConfig);
      return true;
    });
  }

  async instanceCountsByRunningStatus(tenantId: string): Promise<Record<string, number>> {
    const { rows } = await this.query(
      `SELECT running_status, COUNT(*)::int AS n FROM instances
       WHERE tenant_id = $1 GROUP BY running_status`,
      [tenantId],
    );
    return Object.fromEntries(rows.map((r) => [String(r.running_status), r.n as number]));
  }

  // ---- projects and pools ------------------------------------------------------------------

  async createProject(project: Project): Promise<void> {
    await write(`project ${project.project_id} / ${project.name}`, () =>
      this.query("INSERT INTO projects (project_id, tenant_id, name) VALUES ($1, $2, $3)", [
        project.project_id,
        project.tenant_id,
        project.name,
      ]),
    );
  }

  async listProjects(tenantId: string): Promise<Project[]> {
    const { rows } = await this.query(
      "SELECT project_id, tenant_id, name FROM projects WHERE tenant_id = $1 ORDER BY name",
      [tenantId],
    );
    return rows as unknown as Project[];
  }

  async createPool(pool: Pool): Promise<void> {
    await write(`pool ${pool.name}`, () =>
      insertPool((text, values) => this.query(text, values), pool),
    );
  }

  async listPools(tenantId: string): Promise<Pool[]> {
    const { rows } = await this.query(
      "SELECT pool_id, tenant_id, name, scene_tag FROM pools WHERE tenant_id = $1 ORDER BY name",
      [tenantId],
    );
    return rows as unknown as Pool[];
  }

  // ---- users and tokens --------------------------------------------------------------------

  async createUser(user: NewUser): Promise<void> {
    await write(`user ${user.name}`, () =>
      this.transaction(async (client) => {
        await client.query(
          `INSERT INTO users (user_id, tenant_id, name, role, password_hash)
           VALUES ($1, $2, $3, $4, $5)`,
          [user.user_id, user.tenant_id, user.name, user.role, user.password_hash],
        );
        await grant(client, user.tenant_id, user.user_id, user.project_ids);
      }),
    );
  }

  async listUsers(tenantId: string): Promise<User[]> {
    const { rows } = await this.query(`${USER_SELECT} WHERE u.tenant_id = $1 ORDER BY u.name`, [
      tenantId,
    ]);
    return rows.map((row) => publicUser(toUser(row)));
  }

  async userById(userId: string) {
    const { rows } = await this.query(`${USER_SELECT} WHERE u.user_id = $1`, [userId]);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  async userByName(tenantId: string, name: string) {
    const { rows } = await this.query(`${USER_SELECT} WHERE u.tenant_id = $1 AND u.name = $2`, [
      tenantId,
      name,
    ]);
    return rows[0] ? toUser(rows[0]) : undefined;
  }

  async updateUser(userId: string, patch: UserPatch): Promise<boolean> {
    return this.transaction(async (client) => {
      const found = await client.query(
        "SELECT tenant_id FROM users WHERE user_id = $1 FOR UPDATE",
        [userId],
      );
      const tenantId = found.rows[0]?.tenant_id as string | undefined;
      if (tenantId === undefined) return false;
      if (patch.role !== undefined) {
        await client.query("UPDATE users SET role = $1 WHERE user_id = $2", [patch.role, userId]);
      }
      if (patch.password_hash !== undefined) {
        await client.query("UPDATE users SET password_hash = $1 WHERE user_id = $2", [
          patch.password_hash,
          userId,
        ]);
      }
      if (patch.project_ids !== undefined) {
        await client.query("DELETE FROM user_projects WHERE tenant_id = $1 AND user_id = $2", [
          tenantId,
          userId,
        ]);
        await grant(client, tenantId, userId, patch.project_ids);
      }
      return true;
    });
  }

  async insertToken(token: TokenRecord): Promise<void> {
    // The token's tenant is its user's: copied here so tokens distribute by tenant too.
    const result = await this.query(
      `INSERT INTO tokens (tenant_id, token_id, user_id, token_hash, issued_at, expires_at)
       SELECT u.tenant_id, $1, u.user_id, $3, $4, $5 FROM users u WHERE u.user_id = $2`,
      [token.token_id, token.user_id, token.token_hash, token.issued_at, token.expires_at],
    );
    if (result.rowCount === 0) throw new Error(`token for an unknown user ${token.user_id}`);
  }

  async revokeToken(tokenId: string, at: string): Promise<boolean> {
    const result = await this.query(
      "UPDATE tokens SET revoked_at = $1 WHERE token_id = $2 AND revoked_at IS NULL",
      [at, tokenId],
    );
    return (result.rowCount ?? 0) > 0;
  }

  // ---- access keys -------------------------------------------------------------------------

  async insertAccessKey(key: AccessKeyRecord): Promise<void> {
    await write(`access key ${key.access_key}`, () =>
      this.query(
        `INSERT INTO access_keys (tenant_id, access_key, user_id, secret_sealed, created_at)
         VALUES ($1, $2, $3, $4, $5)`,
        [key.tenant_id, key.access_key, key.user_id, key.secret_sealed, key.created_at],
      ),
    );
  }

  async principalByAccessKey(accessKey: string): Promise<AccessKeyPrincipal | undefined> {
    const { rows } = await this.query(
      `SELECT a.access_key, a.secret_sealed, a.revoked_at, ${PRINCIPAL_COLUMNS}
       FROM access_keys a
       JOIN users u ON u.tenant_id = a.tenant_id AND u.user_id = a.user_id
       JOIN tenants t ON t.tenant_id = u.tenant_id
       WHERE a.access_key = $1`,
      [accessKey],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      accessKey: row.access_key as string,
      secretSealed: row.secret_sealed as string,
      revoked: row.revoked_at !== null,
      ...principalOf(row),
    };
  }

  async revokeAccessKey(accessKey: string, at: string): Promise<boolean> {
    const result = await this.query(
      "UPDATE access_keys SET revoked_at = $1 WHERE access_key = $2 AND revoked_at IS NULL",
      [at, accessKey],
    );
    return (result.rowCount ?? 0) > 0;
  }

  // ---- instances ---------------------------------------------------------------------------

  async importInstances(tenantId: string, batches: AsyncIterable<ImportBatch>): Promise<number> {
    // One transaction on one connection: tenant queries served meanwhile by other connections
    // read the last committed state, and any error leaves the database as it was.
    const count = await this.transaction(async (client) => {
      await this.lockTenantForImport(client, tenantId);
      let stored = 0;
      for await (const batch of batches) {
        for (const pool of batch.pools) {
          await write(`pool ${pool.name}`, () =>
            insertPool((text, values) => client.query(text, values), pool),
          );
        }
        if (batch.instances.some((instance) => instance.tenant_id !== tenantId)) {
          throw new Error("import batch for another tenant");
        }
        await insertInstances(client, batch);
        stored += batch.instances.length;
      }
      return stored;
    });
    if (count >= VACUUM_AFTER) await this.vacuumInstances();
    return count;
  }

  /**
   * One import per tenant at a time, as on SQLite (where one import holds the only write lock):
   * a second import into the same tenant is told to come back later rather than wait behind the
   * first one's counters until its lock timeout. Imports into other tenants run side by side.
   */
  private async lockTenantForImport(client: Client, tenantId: string): Promise<void> {
    await client.query(`SET LOCAL lock_timeout = ${IMPORT_LOCK_WAIT_MS}`);
    try {
      await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [
        IMPORT_LOCK_CLASS,
        tenantId,
      ]);
    } catch (error) {
      if ((error as { code?: unknown }).code === LOCK_NOT_AVAILABLE) {
        throw conflict("the database is busy with another import or write; try again later");
      }
      throw error;
    }
    await client.query(`SET LOCAL lock_timeout = ${this.settings.statementTimeoutMs}`);
  }

  /**
   * After a bulk import: fresh planner statistics, and the visibility map set so that pages are
   * located by index-only scans. Until autovacuum gets to it, the planner would believe the
   * tenant still has a handful of rows (measured on 100,000 fresh rows: a first page 420 ms
   * instead of 0.5 ms; page 500 130 ms instead of 7 ms). VACUUM cannot run in a transaction,
   * hence its own connection without the request timeouts. Best effort: the import has
   * committed whatever happens here.
   */
  private async vacuumInstances(): Promise<void> {
    const client = new pg.Client({
      ...this.settings.pool,
      statement_timeout: 0,
      query_timeout: 0,
      lock_timeout: 0,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      // The counters too: an import rewrites each of its counter rows once per batch.
      await client.query(
        "VACUUM (ANALYZE) instances, instance_counts, instance_day_counts, tenant_versions",
      );
    } catch {
      // Autovacuum will do it later.
    } finally {
      await client.end().catch(() => {});
    }
  }

  async instanceById(instanceId: string): Promise<StoredInstance | undefined> {
    const { rows } = await this.query(
      `SELECT ${INSTANCE_COLUMNS.filter((c) => c !== "name_folded").join(", ")}
       FROM instances WHERE instance_id = $1`,
      [instanceId],
    );
    return rows[0] as StoredInstance | undefined;
  }

  async updateInstance(instanceId: string, patch: InstancePatch): Promise<boolean> {
    const params: unknown[] = [instanceId];
    const sets: string[] = [];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    for (const [column, value] of Object.entries(patch)) {
      if (value !== undefined && (INSTANCE_COLUMNS as readonly string[]).includes(column)) {
        set(column, value);
      }
    }
    if (patch.instance_name !== undefined) set("name_folded", foldName(patch.instance_name));
    const result = await write(`instance ${instanceId}`, () =>
      this.query(`UPDATE instances SET ${sets.join(", ")} WHERE instance_id = $1`, params),
    );
    return (result.rowCount ?? 0) > 0;
  }

  async deleteInstance(instanceId: string): Promise<boolean> {
    const result = await this.query("DELETE FROM instances WHERE instance_id = $1", [instanceId]);
    return (result.rowCount ?? 0) > 0;
  }
}

/** PostgreSQL's unique_violation: the same 409 as the SQLite store's constraint errors. */
const UNIQUE_VIOLATION = "23505";
/** lock_timeout expired. */
const LOCK_NOT_AVAILABLE = "55P03";
/** First key of the per-tenant import lock (the second is the tenant id's hash). */
const IMPORT_LOCK_CLASS = 0x70660001;
/** How long an import waits for another one into the same tenant (SQLite waits as long). */
const IMPORT_LOCK_WAIT_MS = 250;

/** Runs a write, turning a uniqueness violation into a 409 that names what collided. */
async function write<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) {
      throw conflict(`${what} already exists`);
    }
    throw error;
  }
}

type Run = (text: string, values: unknown[]) => Promise<unknown>;

function insertPool(run: Run, pool: Pool): Promise<unknown> {
  return run("INSERT INTO pools (pool_id, tenant_id, name, scene_tag) VALUES ($1, $2, $3, $4)", [
    pool.pool_id,
    pool.tenant_id,
    pool.name,
    pool.scene_tag,
  ]);
}

async function grant(
  client: Client,
  tenantId: string,
  userId: string,
  projectIds: string[],
): Promise<void> {
  const distinct = [...new Set(projectIds)];
  if (distinct.length === 0) return;
  await client.query(
    `INSERT INTO user_projects (tenant_id, user_id, project_id)
     SELECT $1, $2, unnest($3::text[])`,
    [tenantId, userId, distinct],
  );
}

function toTenant(row: Row): Tenant {
  return {
    tenant_id: row.tenant_id as string,
    name: row.name as string,
    subscribed: row.subscribed === true,
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
    project_ids: [...(row.grants as string[])].sort(),
    has_password: passwordHash !== null,
    password_hash: passwordHash,
  };
}

function publicUser(user: User & { password_hash: string | null }): User {
  const { password_hash: _hidden, ...rest } = user;
  return rest;
}
