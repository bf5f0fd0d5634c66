/**
 * The storage seam. The SQLite store (embedded default) and the PostgreSQL store (scale-out)
 * both implement it; everything above it (HTTP, CLI, domain) is written against this file only.
 *
 * Tenancy is structural: every method that touches tenant-owned rows takes the tenant id (or a
 * Visibility holding it) as a required argument.
 */
import type {
  BatchQuery,
  EncodedPage,
  InstancePage,
  SceneTag,
  Visibility,
  WireInstance,
} from "../instances/model.js";

export type Role = "admin" | "member";

/** Where a store reports trouble it recovers from by itself (the server's logger). */
export interface StoreLog {
  error(object: object, message: string): void;
}

export interface Tenant {
  tenant_id: string;
  name: string;
  subscribed: boolean;
  /** Requests per second; null = the server's default. */
  rate_limit: number | null;
  created_at: string;
}

export interface Project {
  project_id: string;
  tenant_id: string;
  name: string;
}

export interface Pool {
  pool_id: string;
  tenant_id: string;
  name: string;
  scene_tag: SceneTag;
}

export interface User {
  user_id: string;
  tenant_id: string;
  name: string;
  role: Role;
  project_ids: string[];
  has_password: boolean;
}

export interface NewUser {
  user_id: string;
  tenant_id: string;
  name: string;
  role: Role;
  project_ids: string[];
  password_hash: string | null;
}

export interface UserPatch {
  role?: Role;
  project_ids?: string[];
  password_hash?: string | null;
}

export interface TokenRecord {
  token_id: string;
  user_id: string;
  token_hash: string;
  issued_at: string;
  expires_at: string;
}

/** Everything the tenant API needs to know about a caller, read in one lookup per request. */
export interface Principal {
  tokenId: string;
  expiresAt: string;
  revoked: boolean;
  userId: string;
  userName: string;
  role: Role;
  projectIds: string[];
  tenantId: string;
  tenantName: string;
  tenantDeleted: boolean;
  subscribed: boolean;
  rateLimit: number | null;
  /**
   * The tenant's queryVersion, read in the same statement (stores that keep one): spares the
   * response cache a second read per request.
   */
  queryVersion?: number;
  /**
   * The tenant's auth version, read in the same statement (stores that keep one): how long the
   * principal may be held between requests (src/store/principal-cache.ts).
   */
  authVersion?: number;
}

/** An access key (AK/SK) as stored: the secret only sealed (src/auth/secret-box.ts). */
export interface AccessKeyRecord {
  access_key: string;
  tenant_id: string;
  user_id: string;
  /** The secret key sealed with AES-256-GCM under the server key, bound to access_key. */
  secret_sealed: string;
  created_at: string;
}

/** The caller behind an access key: the user and tenant facts of a Principal, and the key. */
export interface AccessKeyPrincipal extends Omit<Principal, "tokenId" | "expiresAt"> {
  accessKey: string;
  secretSealed: string;
}

/** An instance as stored: the wire fields plus ownership and bookkeeping. */
export interface StoredInstance extends Omit<WireInstance, "project_name" | "assign_status"> {
  tenant_id: string;
  pool_id: string;
  scene_tag: SceneTag;
  created_at: string;
  updated_at: string;
}

/**
 * The columns of the instances table that a writer sets, in both stores: a StoredInstance's
 * fields and `name_folded` (the name as matched; foldName). The rest are derived by the
 * database (row ids, the wire JSON pieces). The SQLite import binds its values by position in
 * this order (import-instances.ts, bind()).
 */
export const INSTANCE_COLUMNS = [
  "instance_id",
  "tenant_id",
  "project_id",
  "pool_id",
  "scene_tag",
  "instance_name",
  "name_folded",
  "region",
  "instance_sku",
  "frozen_status",
  "running_status",
  "login_status",
  "assign_user",
  "billing_mode",
  "phone_id",
  "member_name",
  "account_name",
  "region_name",
  "region_name_en",
  "backup_status",
  "backup_time",
  "restore_status",
  "restore_time",
  "created_at",
  "updated_at",
] as const satisfies readonly (keyof StoredInstance | "name_folded")[];

/** One step of an import: pools to create first, then instances. */
export interface ImportBatch {
  pools: Pool[];
  instances: StoredInstance[];
  /** The source position of each instance (line or index), for error messages. */
  positions: string[];
  /** Whether each instance's id was generated (then the store picks another on a collision). */
  generated: boolean[];
}

export type InstancePatch = Partial<
  Pick<
    StoredInstance,
    | "instance_name"
    | "running_status"
    | "frozen_status"
    | "login_status"
    | "assign_user"
    | "backup_status"
    | "backup_time"
    | "restore_status"
    | "restore_time"
    | "phone_id"
    | "project_id"
  >
> & { updated_at: string };

export interface Store {
  readonly dialect: "sqlite" | "postgres";
  /** Applies pending migrations; returns the names applied now. */
  migrate(): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;

  // The tenant API
  principalByTokenHash(tokenHash: string): Promise<Principal | undefined>;
  queryInstances(visibility: Visibility, query: BatchQuery): Promise<InstancePage>;
  /**
   * Optional: the same answer as queryInstances, rows already encoded (see EncodedPage), or
   * undefined where the store cannot vouch for the bytes (queryInstances answers then). A page
   * with a `frame` is lent: the caller releases it once, when done with the bytes (PageFrame).
   */
  queryEncodedInstances?(
    visibility: Visibility,
    query: BatchQuery,
  ): Promise<EncodedPage | undefined>;
  /**
   * Optional: a number that changes, in the same transaction, with every change that the
   * tenant's queryInstances answers depend on (its instances, its project and pool names).
   * Stores that keep one let the server reuse answers while it is unchanged.
   */
  queryVersion?(tenantId: string): Promise<number>;
  /**
   * Optional: answer queryEncodedInstances on `count` threads of their own (SQLite), so that
   * pages are read while the main thread serves HTTP. Called once by the server, before it
   * listens; `log` hears about a thread that stops. A store that cannot (an in-memory database)
   * keeps reading on its own.
   */
  startReaders?(count: number, log?: StoreLog): Promise<void>;
  /** Only for permission checks of a caller of `tenantId`; other tenants' instances are invisible. */
  instanceProject(tenantId: string, instanceId: string): Promise<string | undefined>;

  // Tenants
  createTenant(tenant: Tenant): Promise<void>;
  listTenants(limit: number, offset: number): Promise<Tenant[]>;
  tenantById(tenantId: string): Promise<Tenant | undefined>;
  tenantByName(name: string): Promise<Tenant | undefined>;
  updateTenant(
    tenantId: string,
    patch: Partial<Pick<Tenant, "name" | "subscribed" | "rate_limit">>,
  ): Promise<boolean>;
  /** Marks the tenant deleted and removes its instances; its tokens then meet KOOPHONE.API.0000. */
  deleteTenant(tenantId: string): Promise<boolean>;
  instanceCountsByRunningStatus(tenantId: string): Promise<Record<string, number>>;

  // Projects and pools
  createProject(project: Project): Promise<void>;
  listProjects(tenantId: string): Promise<Project[]>;
  createPool(pool: Pool): Promise<void>;
  listPools(tenantId: string): Promise<Pool[]>;

  // Users and tokens
  createUser(user: NewUser): Promise<void>;
  listUsers(tenantId: string): Promise<User[]>;
  userById(userId: string): Promise<(User & { password_hash: string | null }) | undefined>;
  userByName(
    tenantId: string,
    name: string,
  ): Promise<(User & { password_hash: string | null }) | undefined>;
  updateUser(userId: string, patch: UserPatch): Promise<boolean>;
  insertToken(token: TokenRecord): Promise<void>;
  revokeToken(tokenId: string, at: string): Promise<boolean>;

  // Access keys (AK/SK)
  insertAccessKey(key: AccessKeyRecord): Promise<void>;
  /** Read on every signed request, revoked keys included (`revoked` says so). */
  principalByAccessKey(accessKey: string): Promise<AccessKeyPrincipal | undefined>;
  /** False when the key is unknown or already revoked. */
  revokeAccessKey(accessKey: string, at: string): Promise<boolean>;

  // Instances
  /** All or nothing: either every batch is stored or, on any error, none is. Returns the count. */
  importInstances(tenantId: string, batches: AsyncIterable<ImportBatch>): Promise<number>;
  instanceById(instanceId: string): Promise<StoredInstance | undefined>;
  updateInstance(instanceId: string, patch: InstancePatch): Promise<boolean>;
  deleteInstance(instanceId: string): Promise<boolean>;
}
