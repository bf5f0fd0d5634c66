/**
 * The tenant API's batch query on PostgreSQL: one statement, so the count and the page come from
 * one snapshot and one round trip. It answers exactly what the plain query would
 * (`COUNT(*)`, then `ORDER BY … LIMIT … OFFSET …`; test/query-equivalence.test.ts checks it):
 *
 * - total_count is a sum over the maintained per-(project, pool) counts (migration 3) when the
 *   filters are only visibility, pool and scene tag; otherwise a COUNT(*);
 * - a name needle of 3 characters or more finds its candidates through the trigram index;
 * - the page's offset is stepped over on the narrow (tenant_id, sort keys) index alone, and only
 *   the page's own rows are then read and joined to their projects;
 * - no page is read at all when the offset is past the total.
 */
import type { BatchQuery, Visibility } from "../../instances/model.js";

/** The wire columns of a page, in the reference page's order; project_name comes from its project. */
const WIRE_COLUMNS = `i.instance_id, i.instance_name, i.region, i.instance_sku, i.frozen_status,
  i.running_status, i.login_status, (i.assign_user <> '')::int AS assign_status, i.assign_user,
  i.billing_mode, i.project_id, p.name AS project_name, i.phone_id, i.member_name, i.account_name,
  i.region_name, i.region_name_en, i.backup_status, i.backup_time, i.restore_status, i.restore_time`;

/** Sort keys per order field; the last key is always instance_id, so the order is total. */
const SORT_KEYS: Record<BatchQuery["orderBy"], string[]> = {
  create_time: ["created_at", "instance_id"],
  instance_name: ["instance_name", "instance_id"],
  instance_id: ["instance_id"],
};

/** Selected beside the wire columns so the outer query can restore the page's order. */
export const SORT_PREFIX = "sort_";

export interface PageStatement {
  text: string;
  values: unknown[];
}

export function pageStatement(visibility: Visibility, query: BatchQuery): PageStatement {
  const values: unknown[] = [visibility.tenantId];
  const $ = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const scope: string[] = [];
  const rest: string[] = [];
  if (visibility.projectIds)
    scope.push(`project_id = ANY(${$([...visibility.projectIds])}::text[])`);
  if (query.sceneTag !== undefined) scope.push(`scene_tag = ${$(query.sceneTag)}`);
  if (query.poolName !== undefined) {
    scope.push(
      `pool_id = (SELECT pool_id FROM pools WHERE tenant_id = $1 AND name = ${$(query.poolName)})`,
    );
  }
  if (query.instanceId !== undefined) rest.push(`i.instance_id = ${$(query.instanceId)}`);
  if (query.nameContains !== undefined) {
    // Both sides folded in JavaScript (foldName): a literal, case-sensitive substring match on
    // the folded copy, bytewise (COLLATE "C"), like SQLite's instr().
    const needle = query.nameContains;
    // The LIKE only lets the trigram index (migration 3) find candidates; strpos decides.
    if ([...needle].length >= 3) rest.push(`i.name_folded LIKE ${$(`%${escapeLike(needle)}%`)}`);
    rest.push(`strpos(i.name_folded, ${$(needle)}) > 0`);
  }
  if (query.createdFrom !== undefined) rest.push(`i.created_at >= ${$(query.createdFrom)}`);
  if (query.createdTo !== undefined) rest.push(`i.created_at <= ${$(query.createdTo)}`);

  const filter = ["i.tenant_id = $1", ...scope.map((s) => `i.${s}`), ...rest].join(" AND ");
  const count =
    rest.length === 0
      ? `SELECT COALESCE(SUM(c.n), 0)::int AS total FROM instance_counts c
         WHERE ${["c.tenant_id = $1", ...scope.map((s) => `c.${s}`)].join(" AND ")}`
      : `SELECT COUNT(*)::int AS total FROM instances i WHERE ${filter}`;

  const dir = query.order === "desc" ? "DESC" : "ASC";
  const keys = SORT_KEYS[query.orderBy];
  const offset = `${$((query.pageNo - 1) * query.pageSize)}::bigint`;
  const limit = `${$(query.pageSize)}::int`;
  const inner = keys.map((k) => `i.${k} ${dir}`).join(", ");
  const outer = keys.map((k) => `page.${SORT_PREFIX}${k} ${dir}`).join(", ");
  const sortColumns = keys.map((k) => `i.${k} AS ${SORT_PREFIX}${k}`).join(", ");
  return {
    text: `SELECT t.total, page.*
      FROM (${count}) t
      LEFT JOIN LATERAL (
        SELECT ${WIRE_COLUMNS}, ${sortColumns}
        FROM (SELECT i.tenant_id, i.instance_id FROM instances i WHERE ${filter}
              ORDER BY ${inner} LIMIT ${limit} OFFSET ${offset}) k
        JOIN instances i ON i.tenant_id = k.tenant_id AND i.instance_id = k.instance_id
        JOIN projects p ON p.tenant_id = i.tenant_id AND p.project_id = i.project_id
        WHERE ${offset} < t.total
        OFFSET 0 -- kept a subquery, so the test above gates it: no page past the end is read
      ) page ON true
      ORDER BY ${outer}`,
    values,
  };
}

/** A LIKE pattern matching `text` literally (backslash is LIKE's default escape character). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, "\\$&");
}
