/**
 * The tenant API's batch query on PostgreSQL: one statement, so the count and the page come from
 * one snapshot and one round trip. It answers exactly what the plain query would
 * (`COUNT(*)`, then `ORDER BY … LIMIT … OFFSET …`; test/query-equivalence.test.ts checks it):
 *
 * - total_count is a sum over the maintained per-(project, pool) counts (migration 3) when the
 *   filters are only visibility, pool and scene tag; with a time range on top, whole days come
 *   from the per-day counts (migration 5) and only the two edge days are counted through an
 *   index; anything else (a name, an id, a member's projects with a pool or scene) is a COUNT(*);
 * - a deep page in creation order over such a scope is located without stepping over rows: the
 *   day holding its first row from the running sum of the day counts (from the range's first
 *   day on, where a range is given), then a step of at most one day's rows in the scope's
 *   index, then the page read from that key. A descending page is the mirrored window of the
 *   ascending order, read backwards from its last row's key;
 * - page 1 is read straight from the sort index; every other page steps over its offset on the
 *   narrow (tenant_id, sort keys) index alone (an index-only scan where an index covers the
 *   filters), and only the page's own rows are then read and joined to their projects;
 * - a name needle of 4 characters or more finds its candidates through the index of names'
 *   4-character pieces, one of 3 through the trigram index, and when it has at most FEW
 *   matches they are listed once for both the count and the page (the pre-encoded page reads
 *   that list, then the page's rows by id, in two statements: nameMatchesStatement and
 *   pageByIdsStatement);
 * - no page is read at all when the offset is past the total.
 *
 * The same statement can hand back the page as JSON text built by PostgreSQL (`encoded`): the
 * UTF-8 bytes of the rows exactly as JSON.stringify writes them in the wire field order, joined
 * from each row's stored JSON (migration 8), so Node neither builds row objects nor encodes
 * strings (test/encoded-rows.test.ts compares the bytes).
 */
import { type BatchQuery, offsetOf, type Visibility } from "../../instances/model.js";
import { countsFromDayEnd } from "../day-side.js";
import type { KeySampleOptions, SampledStart } from "./key-samples.js";

/** The wire columns of a page, in the reference page's order; project_name comes from its project. */
const WIRE_COLUMNS = `i.instance_id, i.instance_name, i.region, i.instance_sku, i.frozen_status,
  i.running_status, i.login_status, (i.assign_user <> '')::int AS assign_status, i.assign_user,
  i.billing_mode, i.project_id, p.name AS project_name, i.phone_id, i.member_name, i.account_name,
  i.region_name, i.region_name_en, i.backup_status, i.backup_time, i.restore_status, i.restore_time`;

/**
 * The same 21 fields as one JSON object text, byte for byte what JSON.stringify gives for the
 * row object: the row's stored wire_head and wire_tail (migration 8) around its project's
 * stored `,"project_name":…` (migration 11), kept with the project because a project can be
 * renamed. to_json escapes text as JSON.stringify does: \" \\ \b \f \n \r \t, other control
 * characters as \u00XX, everything else as it is; PostgreSQL text holds no NUL and no lone
 * surrogate, the two cases where they could differ.
 */
const WIRE_JSON = "i.wire_head || p.wire_name || i.wire_tail AS json";

/** Sort keys per order field; the last key is always instance_id, so the order is total. */
const SORT_KEYS: Record<BatchQuery["orderBy"], string[]> = {
  create_time: ["created_at", "instance_id"],
  instance_name: ["instance_name", "instance_id"],
  instance_id: ["instance_id"],
};

/** Selected beside the wire columns so the outer query can restore the page's order. */
export const SORT_PREFIX = "sort_";

/** Below this offset, stepping over index entries is cheaper than locating the page first. */
const SEEK_FROM_OFFSET = 1000;
/** A name needle with at most this many matches is searched once for its count and page. */
const FEW = 1000;
/** Sorts after any text that starts with the same prefix (U+10FFFF is the largest code point). */
const AFTER = "\u{10FFFF}";

/**
 * How a page statement is planned: the session's plan_cache_mode (page-reader.ts runs each on
 * sessions of its own).
 *
 * - `generic`: one plan for every value (force_generic_plan): a tenant admin's statement whose
 *   order has an index of its own behind every filter it can hold, so the plan (read that index
 *   in order, up to the page) is the same for a tenant of 10 instances or 1,000,000.
 *   PostgreSQL's own choice planned page 1 of the 1M tenant anew on every request (0.4–0.5 ms of
 *   planning for 0.5 ms of execution), because it estimates a generic plan at twice the cost of
 *   the custom one.
 * - `custom`: planned for its own values every time (force_custom_plan): how many names match a
 *   needle decides the plan, and a prepared statement left to PostgreSQL's choice may settle on
 *   one generic plan for every needle (a needle in most names of the 1M tenant: 1.3-1.7 s
 *   generic, 0.3 s planned for it).
 * - `auto`: PostgreSQL's choice (a member's projects, an instance id, filters no index holds).
 */
export type PlanMode = "generic" | "custom" | "auto";

export interface PageStatement {
  text: string;
  values: unknown[];
  plan: PlanMode;
}

/** A deep page of a sampled scope, and where it is read from (key-samples.ts). */
export interface SampledPage {
  offset: number;
  start: SampledStart;
}

/**
 * The statement answering `query` for `visibility`. Rows: `total` and the wire columns, one row
 * per instance in page order (one row with null columns when the page is empty); or, `encoded`,
 * `total` and `body`, the row's JSON object as text, likewise.
 *
 * With `seek`, the pages of the sampled scope of `query` (sampledScope) at those offsets, in one
 * statement, each from its sampled start (taken at the same order version and total), whatever
 * page `query` names: after `total` and the columns or `body`, `fresh` (the sample still holds;
 * if not, no page is read) and `n`, the page's place in `seek` from 1. The pages come one after
 * the other, each in its order, an empty one as one row with null columns.
 *
 * With `countMatches`, a name needle already found to have more than FEW matches
 * (nameMatchesStatement) is counted and its page read in index order, as any other filter,
 * without listing its first FEW + 1 matches once more.
 */
export function pageStatement(
  visibility: Visibility,
  query: BatchQuery,
  encoded = false,
  seek?: SampledPage[],
  countMatches = false,
): PageStatement {
  const { values, $ } = parameters(visibility.tenantId);
  /** A name needle's first FEW + 1 matches are listed once, for both the total and the page. */
  const listed = query.nameContains !== undefined && !countMatches;
  const { projects, scope, poolLookup, rest, timed, place, filter } = conditionsOf(
    visibility,
    query,
    $,
  );
  const placeTotal = placeTotalOf(scope);

  // The day counts' scopes for the place filters, where they have one: the tenant, a scene tag,
  // a pool, or a member's projects (each counted apart, all disjoint).
  // `keys` adds its parameter when called, so only statements that use it carry it.
  let days: { keys: () => string; single: boolean } | undefined;
  if (rest.length === 0) {
    if (projects) {
      if (query.poolName === undefined && query.sceneTag === undefined) {
        const scopes = projects.map((id) => `j:${id}`);
        days = { keys: () => `${$(scopes)}::text[]`, single: false };
      }
    } else if (poolLookup) days = { keys: () => `ARRAY['p:' || ${poolLookup}]`, single: true };
    else if (query.sceneTag !== undefined) {
      const key = `s:${query.sceneTag}`;
      days = { keys: () => `ARRAY[${$(key)}::text]`, single: true };
    } else days = { keys: () => "ARRAY['*']", single: true };
  }

  // total, and `before`: how many rows of the scope sort before the range and after the start
  // of its first day, `fromDay` (0 without a range).
  const fromDay =
    days && query.createdFrom !== undefined ? `left(${$(query.createdFrom)}, 10)` : undefined;
  // A deep page from a sampled key (key-samples.ts), which holds only where no filter but the
  // place's is given; `fresh`: the order version and total it was sampled at still hold
  // (OFFSET 0: the total is summed once, not once per use).
  const first = seek?.[0]?.start;
  const sampled =
    seek && first && timed.length === 0 && rest.length === 0 && query.orderBy === "create_time"
      ? { pages: seek, version: first.version, total: first.total }
      : undefined;
  let totals: string;
  if (sampled)
    totals = `SELECT x.total, 0::bigint AS before,
        (x.version = ${$(sampled.version)}::bigint AND x.total = ${$(sampled.total)}::bigint) AS fresh
      FROM (SELECT ${placeTotal}::bigint AS total, ${ORDER_VERSION} AS version OFFSET 0) x`;
  else if (timed.length === 0 && rest.length === 0)
    totals = `SELECT ${placeTotal}::bigint AS total, 0::bigint AS before`;
  else if (days) {
    const scopes = days.keys();
    // Positions count from the start of the range's first day (the anchor), not from the
    // scope's first row: only the days from the anchor on are summed, not the scope's whole
    // history twice over (~450 of the 1M tenant's day counts per bound, docs/benchmarks.md,
    // step P26).
    const anchor = fromDay ? `d.day >= ${fromDay}` : "true";
    /** The scope's rows on the days from the anchor on that also meet `condition`. */
    const daysFrom = (condition: string) => `(SELECT COALESCE(SUM(d.n), 0)
      FROM instance_day_counts d
      WHERE d.tenant_id = $1 AND d.scope = ANY(${scopes}) AND ${anchor} AND ${condition})`;
    /**
     * Rows of the scope created from the anchor up to `value` (or through it), `value` not
     * before the anchor's day: whole days from the day counts, then the rows of its own day on
     * one side of it, through the index (countsFromDayEnd).
     */
    const rank = (value: string, op: "<" | "<=") => {
      const at = $(value);
      const daySum = (cmp: "<" | "<=") => daysFrom(`d.day ${cmp} left(${at}, 10)`);
      if (!countsFromDayEnd(value)) {
        // Its day's rows only where that day is not before the anchor's.
        return `(${daySum("<")} + (SELECT COUNT(*) FROM instances i
          WHERE ${place} AND i.created_at >= left(${at}, 10) AND i.created_at ${op} ${at}
            ${fromDay ? `AND i.created_at >= ${fromDay}` : ""}))`;
      }
      // Before the anchor's day, the day sum is 0 and this is at most 0.
      return `(${daySum("<=")} - (SELECT COUNT(*) FROM instances i
          WHERE ${place} AND i.created_at ${op === "<" ? ">=" : ">"} ${at}
            AND i.created_at < left(${at}, 10) || ${$(AFTER)}))`;
    };
    const before = query.createdFrom !== undefined ? rank(query.createdFrom, "<") : "0";
    const through = query.createdTo !== undefined ? rank(query.createdTo, "<=") : daysFrom("true");
    totals = `SELECT GREATEST(0, through - before)::bigint AS total, before::bigint AS before
      FROM (SELECT ${through} AS through, ${before} AS before OFFSET 0) r`;
  } else if (listed) {
    // The needle's first FEW + 1 matches are found once (MATERIALIZED, below): all of them when
    // that many or fewer match, then the count and the page come from that list (a needle's
    // candidates are read once, not twice); otherwise the matches are counted.
    totals = `SELECT CASE WHEN s.n <= ${FEW} THEN s.n
        ELSE (SELECT COUNT(*) FROM instances i WHERE ${filter}) END AS total, 0::bigint AS before
      FROM (SELECT COUNT(*) AS n FROM m) s`;
  } else {
    totals = `SELECT COUNT(*) AS total, 0::bigint AS before FROM instances i WHERE ${filter}`;
  }

  const desc = query.order === "desc";
  const dir = desc ? "DESC" : "ASC";
  const keys = SORT_KEYS[query.orderBy];
  /** The page's order over `instances i`. */
  const inner = keys.map((k) => `i.${k} ${dir}`).join(", ");
  const offsetValue = offsetOf(query);
  // Page 1, the most frequent request, gets its offset written in too: with every LIMIT and
  // OFFSET visible, its generic plan costs what a custom one does, so PostgreSQL keeps the
  // generic one and stops planning page 1 on every request.
  // A sampled page's offset is its own (r, below).
  const offset = sampled ? "r.off" : offsetValue === 0 ? "0::bigint" : `${$(offsetValue)}::bigint`;
  // The page size is written into the text (a validated integer, 1 to 100, so a few statements
  // at most): a LIMIT the planner can see lets PostgreSQL settle on one generic plan, read in
  // index order, instead of planning every request anew (with a parameter it assumes a tenth of
  // the tenant and the generic plan sorts the tenant).
  const size = `${pageSizeOf(query)}::bigint`;
  const sortColumns = keys.map((k) => `i.${k} AS ${SORT_PREFIX}${k}`).join(", ");
  const columns = `${encoded ? WIRE_JSON : WIRE_COLUMNS}, ${sortColumns}`;

  /**
   * The page's rows joined to their projects. With a time range, each row's project is looked up
   * from the row, through a LATERAL subquery kept apart (OFFSET 0), so the rows are always read
   * first and in order: the range's bounds are parameters, a generic plan assumes they hold a
   * few hundred rows, and a plain join could then start from the tenant's projects, read every
   * row of the range through instances_by_project and sort them all (a time range's first page
   * took 68 ms instead of 0.4 once the projects table's statistics changed). Without one, the
   * plain join: its plans read the rows in order (a place holds too many rows to sort), and the
   * lookup costs ~5% (docs/benchmarks.md, step P24).
   */
  const withProjects =
    timed.length > 0
      ? `instances i CROSS JOIN LATERAL (SELECT p.name, p.wire_name FROM projects p
        WHERE p.tenant_id = i.tenant_id AND p.project_id = i.project_id OFFSET 0) p`
      : "instances i JOIN projects p ON p.tenant_id = i.tenant_id AND p.project_id = i.project_id";
  /**
   * The page read in its own order from the key `k` of its first row, `w.len` rows: the window's
   * first row ascending, its last descending (read backwards from there, so never sorted).
   */
  const fromKey = `LEFT JOIN LATERAL (
        SELECT ${columns}
        FROM ${withProjects}
        WHERE ${filter} AND (i.created_at, i.instance_id) ${desc ? "<=" : ">="} (k.created_at, k.instance_id)
        ORDER BY ${inner}
        LIMIT GREATEST(w.len, 0) -- negative past the end, where k is null and no row matches
      ) page ON true`;
  const start = desc ? `GREATEST(0, t.total - ${offset} - ${size})` : offset;
  const end = desc ? `t.total - ${offset}` : `LEAST(t.total, ${offset} + ${size})`;
  /** Where in the range (from 0, ascending) the row `k` a page is read from stands. */
  const from = desc ? `${end} - 1` : start;
  /** Whether the page's rows come in the answer's order, so the statement sorts nothing. */
  let ordered = true;
  let page: string;
  if (sampled) {
    // Per page r, the row k is r.skip rows after its sampled key, stepped over in the index.
    const { pages } = sampled;
    const offsets = $(pages.map((p) => p.offset));
    const createdAt = $(pages.map((p) => p.start.createdAt));
    const instanceIds = $(pages.map((p) => p.start.instanceId));
    const skips = $(pages.map((p) => p.start.skip));
    page = `CROSS JOIN LATERAL unnest(${offsets}::bigint[], ${createdAt}::text[],
          ${instanceIds}::text[], ${skips}::bigint[])
        WITH ORDINALITY AS r(off, created_at, instance_id, skip, n)
      CROSS JOIN LATERAL (SELECT ${end} - ${start} AS len) w
      LEFT JOIN LATERAL (
        SELECT i.created_at, i.instance_id FROM instances i
        WHERE ${place} AND t.fresh AND ${offset} < t.total
          AND (i.created_at, i.instance_id) >= (r.created_at, r.instance_id)
        ORDER BY i.created_at, i.instance_id
        OFFSET r.skip LIMIT 1
      ) k ON true
      ${fromKey}`;
  } else if (days && query.orderBy === "create_time" && offsetValue >= SEEK_FROM_OFFSET) {
    // The page as a window [start, start + len) of the scope's ascending order (offsets within
    // the range), the row k found through the day counts.
    // From the range's first day on (`before` counts from its start).
    const fromRange = fromDay ? `AND day >= ${fromDay}` : "";
    const dayRows = days.single
      ? `SELECT day, n FROM instance_day_counts
         WHERE tenant_id = $1 AND scope = (${days.keys()})[1] ${fromRange}`
      : `SELECT day, SUM(n) AS n FROM instance_day_counts
         WHERE tenant_id = $1 AND scope = ANY(${days.keys()}) ${fromRange} GROUP BY day`;
    page = `CROSS JOIN LATERAL (SELECT t.before + ${from} AS pos, ${end} - ${start} AS len) w
      LEFT JOIN LATERAL (
        SELECT c.day, c.cum - c.n AS before_day
        FROM (SELECT day, n, SUM(n) OVER (ORDER BY day ROWS UNBOUNDED PRECEDING) AS cum
              FROM (${dayRows}) e) c
        WHERE ${offset} < t.total AND c.cum > w.pos
        ORDER BY c.day LIMIT 1
      ) d ON true
      LEFT JOIN LATERAL (
        SELECT i.created_at, i.instance_id FROM instances i
        WHERE ${place} AND i.created_at >= d.day AND i.created_at < d.day || ${$(AFTER)}
        ORDER BY i.created_at, i.instance_id
        OFFSET w.pos - d.before_day LIMIT 1
      ) k ON true
      ${fromKey}`;
  } else if (listed) {
    // From the list of matches when it holds them all, else in index order over the tenant.
    ordered = false;
    const listed = keys.map((k) => `m.${k} ${dir}`).join(", ");
    page = `LEFT JOIN LATERAL (
        SELECT ${columns}
        FROM (
          (SELECT m.tenant_id, m.instance_id FROM m WHERE t.total <= ${FEW}
           ORDER BY ${listed} LIMIT ${size} OFFSET ${offset})
          UNION ALL
          (SELECT i.tenant_id, i.instance_id FROM instances i WHERE ${filter} AND t.total > ${FEW}
           ORDER BY ${inner} LIMIT ${size} OFFSET ${offset})
        ) k
        JOIN instances i ON i.tenant_id = k.tenant_id AND i.instance_id = k.instance_id
        JOIN projects p ON p.tenant_id = i.tenant_id AND p.project_id = i.project_id
        WHERE ${offset} < t.total
        OFFSET 0 -- kept a subquery, so the test above gates it: no page past the end is read
      ) page ON true`;
  } else if (offsetValue === 0) {
    // The first page is read straight from the sort index: a probe by id per row (the narrow
    // path below) would cost five times the buffers (80 instead of 414 on the 1M tenant).
    page = `LEFT JOIN LATERAL (
        SELECT ${columns}
        FROM ${withProjects}
        WHERE ${filter} AND 0 < t.total
        ORDER BY ${inner} LIMIT ${size}
      ) page ON true`;
  } else {
    ordered = false;
    page = `LEFT JOIN LATERAL (
        SELECT ${columns}
        FROM (SELECT i.tenant_id, i.instance_id FROM instances i WHERE ${filter}
              ORDER BY ${inner} LIMIT ${size} OFFSET ${offset}) k
        JOIN instances i ON i.tenant_id = k.tenant_id AND i.instance_id = k.instance_id
        JOIN projects p ON p.tenant_id = i.tenant_id AND p.project_id = i.project_id
        WHERE ${offset} < t.total
        OFFSET 0 -- kept a subquery, so the test above gates it: no page past the end is read
      ) page ON true`;
  }
  // A page read in its order (page 1, or from a key) is one LATERAL subquery with its own
  // ORDER BY and LIMIT, joined to the single row of totals: a nested loop, so its rows come out
  // as the subquery gives them. Sorting them again cost a backend a copy of the page (on a
  // random page of the 1M tenant ~15% of its CPU, docs/benchmarks.md, step P21).
  const order = ordered
    ? ""
    : `ORDER BY ${keys.map((k) => `page.${SORT_PREFIX}${k} ${dir}`).join(", ")}`;
  const matches = listed ? firstMatches(keys, filter) : "";
  // OFFSET 0 keeps the totals one subquery, computed once (inlined, each use recomputes them).
  const source = `FROM (${totals} OFFSET 0) t ${page}`;
  const fresh = sampled ? ", t.fresh, r.n::int AS n" : "";
  return {
    text: encoded
      ? // A row per instance, not one aggregate of the page: a 60 KB aggregate (and its
        // base64, and its copy for output) is memory each backend asks the OS for and gives
        // back on every request, and page faults made that 1 ms of a 1.6 ms page 1. The JSON
        // goes as text, not base64: PostgreSQL's base64 encoder was a fifth of a backend's CPU
        // on page 1 (perf), far more than Node spends decoding UTF-8 and encoding it again.
        `${matches}SELECT t.total::int AS total, page.json AS body${fresh}
         ${source} ${order}`
      : `${matches}SELECT t.total::int AS total${fresh}, page.* ${source} ${order}`,
    values,
    plan:
      query.nameContains !== undefined
        ? "custom"
        : projects === undefined && query.instanceId === undefined && indexed(query)
          ? "generic"
          : "auto",
  };
}

/**
 * The statement listing a name needle's matches (with every other filter of `query`), for
 * pages read in two statements (planned for the needle, then generic) instead of one planned
 * for the needle every time: on the 1M tenant PostgreSQL spent 1.5–1.8 ms planning the one
 * statement, more than half of its time (docs/benchmarks.md, step P25). One row: `total`, how many of the
 * first NAME_LIST_MAX + 1 matches there are; `version`, the tenant's data version in the same
 * snapshot; and `ids`, the instance ids of the page `query` asks for, in its order (complete
 * only when `total` is at most NAME_LIST_MAX).
 */
export function nameMatchesStatement(visibility: Visibility, query: BatchQuery): PageStatement {
  const { values, $ } = parameters(visibility.tenantId);
  const { filter } = conditionsOf(visibility, query, $);
  const keys = SORT_KEYS[query.orderBy];
  const dir = query.order === "desc" ? "DESC" : "ASC";
  const text = `${firstMatches(keys, filter)}
    SELECT (SELECT COUNT(*) FROM m)::int AS total, ${TENANT_VERSION} AS version,
      ARRAY(SELECT m.instance_id FROM m ORDER BY ${keys.map((k) => `m.${k} ${dir}`).join(", ")}
            LIMIT ${pageSizeOf(query)} OFFSET ${$(offsetOf(query))}::bigint) AS ids`;
  return { text, values, plan: "custom" };
}

/**
 * `m`: the first FEW + 1 rows meeting `filter` (a name needle's matches), found once
 * (MATERIALIZED), with the tenant and the sort keys `keys` of each.
 */
function firstMatches(keys: string[], filter: string): string {
  const columns = ["tenant_id", ...keys.filter((k) => k !== "instance_id"), "instance_id"];
  return `WITH m AS MATERIALIZED (
      SELECT ${columns.map((k) => `i.${k}`).join(", ")}
      FROM instances i WHERE ${filter} LIMIT ${FEW + 1})
    `;
}

/** Matches of a needle that nameMatchesStatement lists in full; more are counted (pageStatement). */
export const NAME_LIST_MAX = FEW;

/**
 * The rows of the instances `ids` of the tenant, in that order, as pageStatement's `encoded`
 * rows (`total`, here the parameter, and `body`, the row's JSON text), beside the tenant's data
 * version read in the same snapshot (`version`, on every row; one row with a null body when
 * none of them is found). One plan for every list (generic).
 */
export function pageByIdsStatement(tenantId: string, ids: string[], total: number): PageStatement {
  const text = `SELECT $3::int AS total, page.json AS body, v.version
    FROM (SELECT ${TENANT_VERSION} AS version OFFSET 0) v
    LEFT JOIN LATERAL (
      SELECT ${WIRE_JSON}
      FROM unnest($2::text[]) WITH ORDINALITY AS k(instance_id, n)
      JOIN instances i ON i.tenant_id = $1 AND i.instance_id = k.instance_id
      JOIN projects p ON p.tenant_id = i.tenant_id AND p.project_id = i.project_id
      ORDER BY k.n
    ) page ON true`;
  return { text, values: [tenantId, ids, total], plan: "generic" };
}

/** The tenant's data version (migration 4), 0 before its first change, as text. */
const TENANT_VERSION = `${versionOf("tenant_versions")}::text`;

/**
 * The conditions on `instances i` that `query` and `visibility` ask for, their parameters added
 * through `$`: the place (tenant, a member's projects, pool, scene tag), the rest (instance id,
 * name needle), the time range, and all of them joined (`filter`).
 */
function conditionsOf(visibility: Visibility, query: BatchQuery, $: (value: unknown) => string) {
  const { projects, scope, poolLookup } = placeOf(visibility, query, $);
  const rest: string[] = [];
  if (query.instanceId !== undefined) rest.push(`i.instance_id = ${$(query.instanceId)}`);
  if (query.nameContains !== undefined) {
    // Both sides folded in JavaScript (foldName): a literal, case-sensitive substring match on
    // the folded copy, bytewise (COLLATE "C"), like SQLite's instr().
    const needle = query.nameContains;
    // The pieces only let an index find candidates, 4-character pieces (migration 10) or
    // trigrams (the LIKE, migration 3); strpos decides.
    const at = $(needle);
    const length = [...needle].length;
    if (length >= 4) rest.push(`instance_name_grams(i.name_folded) @> instance_name_grams(${at})`);
    else if (length === 3) rest.push(`i.name_folded LIKE ${$(`%${escapeLike(needle)}%`)}`);
    rest.push(`strpos(i.name_folded, ${at}) > 0`);
  }
  const timed: string[] = [];
  if (query.createdFrom !== undefined) timed.push(`i.created_at >= ${$(query.createdFrom)}`);
  if (query.createdTo !== undefined) timed.push(`i.created_at <= ${$(query.createdTo)}`);
  const place = placeFilter(scope);
  const filter = [place, ...rest, ...timed].join(" AND ");
  return { projects, scope, poolLookup, rest, timed, place, filter };
}

/** The tenant's order version (migration 9), 0 before its first change. */
const ORDER_VERSION = versionOf("order_versions");

/** The tenant's ($1) number in a table of versions, 0 before its first change. */
function versionOf(table: "tenant_versions" | "order_versions"): string {
  return `COALESCE((SELECT version FROM ${table} WHERE tenant_id = $1), 0)`;
}

/** A statement's parameters, the tenant first ($1); `$` adds one and names it. */
function parameters(tenantId: string): { values: unknown[]; $: (value: unknown) => string } {
  const values: unknown[] = [tenantId];
  return {
    values,
    $: (value) => {
      values.push(value);
      return `$${values.length}`;
    },
  };
}

/**
 * The page size, written into a statement's text (a validated integer, 1 to 100, so a few
 * statements at most; checked again here since it is not a parameter).
 */
function pageSizeOf(query: BatchQuery): number {
  if (!Number.isInteger(query.pageSize) || query.pageSize < 1) throw new Error("bad page size");
  return query.pageSize;
}

/**
 * The place filters (a member's projects, a pool, a scene tag) as conditions on columns that
 * both instances and instance_counts have, with their parameters added through `$`.
 */
function placeOf(visibility: Visibility, query: BatchQuery, $: (value: unknown) => string) {
  const projects = visibility.projectIds ? [...new Set(visibility.projectIds)] : undefined;
  const scope: string[] = [];
  if (projects) scope.push(`project_id = ANY(${$(projects)}::text[])`);
  let poolLookup: string | undefined;
  if (query.poolName !== undefined) {
    // A pool of another scene tag than the one asked for selects nothing.
    poolLookup = `(SELECT pool_id FROM pools WHERE tenant_id = $1 AND name = ${$(query.poolName)}${
      query.sceneTag !== undefined ? ` AND scene_tag = ${$(query.sceneTag)}` : ""
    })`;
    scope.push(`pool_id = ${poolLookup}`);
  } else if (query.sceneTag !== undefined) scope.push(`scene_tag = ${$(query.sceneTag)}`);
  return { projects, scope, poolLookup };
}

/** The place's rows of `instances i`. */
function placeFilter(scope: string[]): string {
  return ["i.tenant_id = $1", ...scope.map((s) => `i.${s}`)].join(" AND ");
}

/** The place's row count, from the maintained counts. */
function placeTotalOf(scope: string[]): string {
  return `(SELECT COALESCE(SUM(c.n), 0) FROM instance_counts c
    WHERE ${["c.tenant_id = $1", ...scope.map((s) => `c.${s}`)].join(" AND ")})`;
}

/**
 * The scope whose sampled keys can start the page `query` asks for (key-samples.ts), as the
 * samples' key: a deep page in creation order of the whole tenant, a pool or a scene tag, seen
 * by a tenant admin, with no other filter. Anything else has no sample.
 */
export function sampledScope(visibility: Visibility, query: BatchQuery): string | undefined {
  if (
    visibility.projectIds !== undefined ||
    query.orderBy !== "create_time" ||
    query.instanceId !== undefined ||
    query.nameContains !== undefined ||
    query.createdFrom !== undefined ||
    query.createdTo !== undefined ||
    offsetOf(query) < SEEK_FROM_OFFSET
  )
    return undefined;
  return JSON.stringify([visibility.tenantId, query.poolName ?? null, query.sceneTag ?? null]);
}

/**
 * The statement sampling the scope of `query` (sampledScope): rows of `version`, `total`,
 * `step` and the key (created_at, instance_id) of every step-th row in ascending creation
 * order, from position 0; one row with null keys when the scope is empty. One statement, so
 * one snapshot: the keys, the total and the order version agree.
 */
export function sampleStatement(
  visibility: Visibility,
  query: BatchQuery,
  options: Pick<KeySampleOptions, "minStep" | "maxKeysPerScope">,
): { text: string; values: unknown[] } {
  const { values, $ } = parameters(visibility.tenantId);
  const { scope } = placeOf(visibility, query, $);
  const perScope = $(options.maxKeysPerScope);
  const text = `SELECT c.version, c.total, c.step, s.created_at, s.instance_id
    FROM (SELECT x.version, x.total,
            GREATEST(${$(options.minStep)}::bigint, (x.total + ${perScope}::bigint - 1) / ${perScope}::bigint) AS step
          FROM (SELECT ${ORDER_VERSION} AS version, ${placeTotalOf(scope)}::bigint AS total) x
          OFFSET 0) c
    LEFT JOIN LATERAL (
      SELECT r.created_at, r.instance_id
      FROM (SELECT i.created_at, i.instance_id,
              row_number() OVER (ORDER BY i.created_at, i.instance_id) - 1 AS pos
            FROM instances i WHERE ${placeFilter(scope)}) r
      WHERE r.pos % c.step = 0
    ) s ON true
    ORDER BY s.created_at, s.instance_id`;
  return { text, values };
}

/**
 * Whether one index serves the query's filters in its order: creation order has one per place
 * filter (tenant, pool, scene tag: …, created_at, instance_id), and a time range is on created_at
 * itself; the other orders have only the tenant's (tenant_id, key, instance_id).
 */
function indexed(query: BatchQuery): boolean {
  if (query.nameContains !== undefined) return false;
  if (query.orderBy === "create_time") return true;
  return (
    query.poolName === undefined &&
    query.sceneTag === undefined &&
    query.createdFrom === undefined &&
    query.createdTo === undefined
  );
}

/** A LIKE pattern matching `text` literally (backslash is LIKE's default escape character). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, "\\$&");
}
