/**
 * A plain in-memory reading of the batch query (filters, permission scope, order, page), written
 * from spec/batch-query.md without looking at any store. Tests compare every store against it.
 *
 * Where the spec is silent on collation, text sorts by Unicode code point (UTF-8 byte order):
 * the same in every store and every locale.
 */
import type { SceneTag, WireInstance } from "../../src/instances/model.js";

/** An instance as a test created it: the record imported and the wire object expected back. */
export interface RefInstance {
  record: Record<string, unknown>;
  wire: WireInstance;
  created_at: string;
  pool_name: string;
  scene_tag: SceneTag;
}

/** A valid query, values as the server should understand them (page_size already clamped). */
export interface RefQuery {
  page_no: number;
  page_size: number;
  instance_id?: string;
  instance_name?: string;
  query_start_time?: string;
  query_end_time?: string;
  pool_scene_tag?: SceneTag;
  pool_name?: string;
  order?: "asc" | "desc";
  order_by?: "create_time" | "instance_name" | "instance_id";
}

export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Every instance the query matches, in the query's total order (no paging). */
export function referenceAll(
  all: readonly RefInstance[],
  q: Omit<RefQuery, "page_no" | "page_size">,
  grantedProjects?: readonly string[],
): RefInstance[] {
  const needle = q.instance_name?.toLowerCase();
  const matches = all.filter(
    (i) =>
      (grantedProjects === undefined || grantedProjects.includes(i.wire.project_id)) &&
      (q.instance_id === undefined || i.wire.instance_id === q.instance_id) &&
      (needle === undefined || i.wire.instance_name.toLowerCase().includes(needle)) &&
      (q.query_start_time === undefined || i.created_at >= q.query_start_time) &&
      (q.query_end_time === undefined || i.created_at <= q.query_end_time) &&
      (q.pool_scene_tag === undefined || i.scene_tag === q.pool_scene_tag) &&
      (q.pool_name === undefined || i.pool_name === q.pool_name),
  );
  const key = (i: RefInstance): string => {
    switch (q.order_by ?? "create_time") {
      case "create_time":
        return i.created_at;
      case "instance_name":
        return i.wire.instance_name;
      default:
        return i.wire.instance_id;
    }
  };
  const sign = q.order === "desc" ? -1 : 1;
  return matches.sort(
    (a, b) =>
      sign *
      (compareCodePoints(key(a), key(b)) ||
        compareCodePoints(a.wire.instance_id, b.wire.instance_id)),
  );
}

export function referencePage(
  all: readonly RefInstance[],
  q: RefQuery,
  grantedProjects?: readonly string[],
): { total: number; rows: WireInstance[] } {
  const matching = referenceAll(all, q, grantedProjects);
  const start = (q.page_no - 1) * q.page_size;
  return {
    total: matching.length,
    rows: matching.slice(start, start + q.page_size).map((i) => i.wire),
  };
}

/** Query parameters for a RefQuery (what a client would send). */
export function toParams(q: RefQuery): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(q))
    if (value !== undefined) params[key] = String(value);
  return params;
}
