/**
 * The instance as the tenant API shows it, and the query a tenant can run over instances.
 * Field names and codes come from the reference page's response table.
 */

export const SCENE_TAGS = ["CLOUD_APP", "CLOUD_PHONE"] as const;
export type SceneTag = (typeof SCENE_TAGS)[number];

/** Status codes the reference page lists; nothing else may be stored. */
export const STATUS_CODES = {
  frozen_status: [0, 1],
  running_status: [0, 1, 2, 3, 4, 5],
  login_status: [0, 1],
  assign_status: [0, 1],
  backup_status: [0, 1, 2, 3, 4],
  restore_status: [0, 1, 2, 3, 4],
} as const;

/** One element of `data.result`: the 21 fields, in the reference page's order. */
export interface WireInstance {
  instance_id: string;
  instance_name: string;
  region: string;
  instance_sku: string;
  frozen_status: number;
  running_status: number;
  login_status: number;
  assign_status: number;
  assign_user: string;
  billing_mode: string;
  project_id: string;
  project_name: string;
  phone_id: string;
  member_name: string;
  account_name: string;
  region_name: string;
  region_name_en: string;
  backup_status: number;
  backup_time: string;
  restore_status: number;
  restore_time: string;
}

export const ORDER_FIELDS = ["create_time", "instance_name", "instance_id"] as const;
export type OrderField = (typeof ORDER_FIELDS)[number];

/** A validated batch query: every value checked, ready for the store. */
export interface BatchQuery {
  pageNo: number;
  pageSize: number;
  instanceId?: string;
  /** Already case-folded (see foldName); matched as a literal substring. */
  nameContains?: string;
  /** Inclusive bounds on the creation time, `YYYY-MM-DD HH:MM:SS` UTC. */
  createdFrom?: string;
  createdTo?: string;
  sceneTag?: SceneTag;
  poolName?: string;
  order: "asc" | "desc";
  orderBy: OrderField;
}

/** How many rows come before the page `query` asks for. */
export function offsetOf(query: Pick<BatchQuery, "pageNo" | "pageSize">): number {
  return (query.pageNo - 1) * query.pageSize;
}

/** What part of its tenant a caller may see: the whole tenant, or the granted projects. */
export interface Visibility {
  tenantId: string;
  /** `undefined` = every project of the tenant (tenant admin). */
  projectIds?: readonly string[];
}

export interface InstancePage {
  total: number;
  rows: WireInstance[];
}

/**
 * The same page with its rows already encoded: `json` concatenated is the UTF-8 text between
 * the brackets of `data.result`, exactly what encoding `rows` in WireInstance's field order
 * would give. Stores that can build it more cheaply than JavaScript objects offer it.
 */
export interface EncodedPage {
  total: number;
  json: Buffer[];
  /** Set when the bytes are borrowed rather than owned: see PageFrame. */
  frame?: PageFrame;
}

/**
 * Where a borrowed page's bytes live (SQLite's reader threads hand pages over in preallocated
 * shared memory, so no page allocates and frees memory on the main thread): `json` is the one
 * view `bytes[start, end)`, the bytes before `start` and from `end` on are free for the answer's
 * envelope to be written around it in place, and `release()` gives the memory back. The bytes
 * are valid until then; whoever takes the page must release it once, when the answer has been
 * written or dropped.
 */
export interface PageFrame {
  bytes: Buffer;
  start: number;
  end: number;
  release(): void;
}

/**
 * Names are searched case-insensitively. Folding happens in JavaScript, at write time for the
 * stored copy and at query time for the needle, so both stores match identically (SQLite's
 * LIKE folds ASCII only; PostgreSQL's ILIKE depends on the database locale).
 */
export function foldName(name: string): string {
  return name.toLowerCase();
}
