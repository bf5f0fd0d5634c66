/**
 * The tenant API's batch query on SQLite, built to stay fast on a tenant with millions of
 * instances (issue 5) while answering exactly what the plain query would
 * (`COUNT(*)` + `ORDER BY … LIMIT … OFFSET …`; test/query-equivalence.test.ts checks it):
 *
 * - total_count comes from the counts that migration 3 keeps with every write
 *   (instance_counts, instance_time_counts) whenever the filters allow, else from COUNT(*);
 * - a deep page in creation order is located through the per-day and per-hour counts, then
 *   read from its first key, instead of stepping over every row before it; in the other orders
 *   it is located by an index-only scan, then read from its first key;
 * - a name substring of 4 characters or more finds its candidates through the index of names'
 *   4-character pieces, one of 3 through the trigram index (as a phrase); instr() confirms every
 *   match (shorter needles scan, as before).
 *
 * Every query runs in one read transaction, so the count and the page see the same snapshot.
 */

import { isUtf8 } from "node:buffer";
import type Database from "better-sqlite3";
import {
  type BatchQuery,
  type EncodedPage,
  type InstancePage,
  offsetOf,
  type Visibility,
  type WireInstance,
} from "../../instances/model.js";
import { countsFromDayEnd } from "../day-side.js";

type Row = Record<string, unknown>;

/**
 * Where a page's rows are: `where` and `order` over `instances i` joined to its project `p`,
 * `limit` rows from `offset`.
 */
interface PageRead {
  where: string;
  params: Row;
  keys: string[];
  desc: boolean;
  limit: number;
  offset: number;
  /** The index to read the rows through, where the planner is not to choose. */
  index?: string;
}

/** Days holding rows of some scopes, ascending, and the rows created through each. */
interface DaySums {
  version: number;
  buckets: string[];
  through: number[];
  /**
   * Per day, as read when first needed at this version: its rows per hour (index 0–23), or null
   * when its hour buckets are not all of the form `YYYY-MM-DD HH`.
   */
  hours: Map<string, Int32Array | null>;
}

interface PlannedPage {
  total: number;
  read?: PageRead;
}

/** The wire columns of a page, in the reference page's order; project_name comes from its project. */
const WIRE_COLUMNS = `i.instance_id, i.instance_name, i.region, i.instance_sku, i.frozen_status,
  i.running_status, i.login_status, (i.assign_user <> '') AS assign_status, i.assign_user,
  i.billing_mode, i.project_id, p.name AS project_name, i.phone_id, i.member_name, i.account_name,
  i.region_name, i.region_name_en, i.backup_status, i.backup_time, i.restore_status, i.restore_time`;

/** A row's JSON: its stored bytes (migration 6) around its project's name. */
const WIRE_JSON = `i.wire_head || ',"project_name":' || json_quote(p.name) || i.wire_tail`;

/** A time range's bounds, as conditions on `instances i`. */
const FROM_BOUND = "i.created_at >= @from";
const TO_BOUND = "i.created_at <= @to";

/** Sort keys per order field; the last key is always instance_id, so the order is total. */
const SORT_KEYS: Record<BatchQuery["orderBy"], string[]> = {
  create_time: ["created_at", "instance_id"],
  instance_name: ["instance_name", "instance_id"],
  instance_id: ["instance_id"],
};

/** Up to this many matches of a name needle are listed once rather than counted, then paged. */
const FEW_MATCHES = 1000;
/**
 * Days whose hours are held with the day sums at most, per connection (~0.2 KB each): two years
 * of a scope are 731.
 */
const DAYS_HELD = 5_000;
/** Below this offset, stepping over rows is cheaper than locating the page first. */
const SEEK_FROM_OFFSET = 1000;
/** Sorts after any text that starts with the same prefix (U+10FFFF is the largest code point). */
const AFTER = "\u{10FFFF}";

/**
 * A set of rows the time counts can count: the union of scopes (all disjoint), each a key of
 * instance_time_counts and a column test that selects the same rows.
 */
interface Scope {
  key: string;
  /** Condition on `i` selecting the scope's rows (with @tenant), and the index that serves it. */
  where: string;
  index: string;
  /**
   * The index its pages in creation order are read through: `index`, or one whose entries also
   * hold what a page needs and are too wide to step over (a page's first key is then found in
   * `index`).
   */
  pages: string;
  param?: string;
}

export class InstanceQuery {
  private readonly statements = new Map<string, Database.Statement>();
  /** Per tenant and scopes, at the tenant's version (see days()). */
  private readonly daySums = new Map<string, DaySums>();
  /** Days whose hours are held in daySums, bounded by maxDays. */
  private daysHeld = 0;
  private readonly readRows: (visibility: Visibility, query: BatchQuery) => InstancePage;
  private readonly readJson: (visibility: Visibility, query: BatchQuery) => EncodedPage;

  /**
   * @param inOrder whether a page's rows came out of group_concat in its order (see json());
   *   a test replaces it to take the sorted path.
   * @param maxDays days whose hours are held with the day sums at most (a test makes it small).
   */
  constructor(
    private readonly db: Database.Database,
    private readonly inOrder: typeof keysInOrder = keysInOrder,
    private readonly maxDays = DAYS_HELD,
  ) {
    // One read transaction per query: the count and the page see the same snapshot.
    this.readRows = db.transaction((visibility: Visibility, query: BatchQuery) => {
      const { total, read } = this.plan(visibility, query);
      return { total, rows: read ? this.rows(read) : [] };
    });
    this.readJson = db.transaction((visibility: Visibility, query: BatchQuery) => {
      const { total, read } = this.plan(visibility, query);
      return { total, json: read ? [this.json(read)] : [] };
    });
  }

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  query(visibility: Visibility, query: BatchQuery): InstancePage {
    return this.readRows(visibility, query);
  }

  /**
   * The same page as one buffer of JSON, joined by SQLite from the bytes migration 6 keeps per
   * row: no per-row JavaScript objects or buffers. Undefined when the bytes are not valid
   * UTF-8 (text written with a lone surrogate before input was checked for them): the object
   * path then answers, with the replacement characters a JavaScript string gets, so both paths
   * always give the same bytes.
   */
  queryEncoded(visibility: Visibility, query: BatchQuery): EncodedPage | undefined {
    const page = this.readJson(visibility, query);
    return page.json.every((part) => isUtf8(part)) ? page : undefined;
  }

  /** The tenant's data version (see migration 3); unchanged version = unchanged answers. */
  version(tenantId: string): number {
    return (this.sql("SELECT version FROM tenant_versions WHERE tenant_id = ?")
      .pluck()
      .get(tenantId) ?? 0) as number;
  }

  /** The page's rows as objects in the wire shape. */
  private rows(read: PageRead): WireInstance[] {
    return this.sql(`SELECT ${WIRE_COLUMNS} ${pageSql(read)}`)
      .raw()
      .all(pageParams(read))
      .map(toWire);
  }

  /**
   * The page's rows as the text between the brackets of `data.result`, in one buffer.
   *
   * group_concat without ORDER BY joins rows in an order SQLite does not promise; with ORDER BY
   * it sorts them again in a temporary B-tree (a quarter of the statement's time), though the
   * subquery yields them in order already. So the rows are joined as they come, their sort keys
   * beside them (both aggregates step through the same rows, in the same order), and the keys
   * are checked here: in order, so is the page; otherwise it is joined again, sorted by SQLite.
   */
  private json(read: PageRead): Buffer {
    const params = pageParams(read);
    const names = read.keys.map((_, n) => `k${n}`);
    const page = `FROM (SELECT ${read.keys.map((k, n) => `i.${k} AS ${names[n]}`).join(", ")},
      ${WIRE_JSON} AS w ${pageSql(read)})`;
    const [json, keys, count, texts] = this.sql(`SELECT CAST(group_concat(w, ',') AS BLOB),
        CAST(group_concat(${names.join(" || char(31) || ")}, char(30)) AS BLOB), count(*),
        total(${names.map((k) => `(typeof(${k}) = 'text')`).join(" + ")}) ${page}`)
      .raw()
      .get(params) as [Buffer | null, Buffer | null, number, number];
    if (json === null) return Buffer.alloc(0);
    if (keys && this.inOrder(keys, count, names.length, texts, read.desc)) return json;
    const dir = read.desc ? "DESC" : "ASC";
    return this.sql(`SELECT CAST(group_concat(w, ',' ORDER BY ${names.map((k) => `${k} ${dir}`).join(", ")}) AS BLOB)
      ${page}`)
      .pluck()
      .get(params) as Buffer;
  }

  private plan(visibility: Visibility, query: BatchQuery): PlannedPage {
    const empty = { total: 0 };
    const where = ["i.tenant_id = @tenant"];
    const params: Row = { tenant: visibility.tenantId };
    const projects = visibility.projectIds ? [...new Set(visibility.projectIds)] : undefined;
    if (projects) {
      if (projects.length === 0) return empty;
      where.push("i.project_id IN (SELECT value FROM json_each(@projects))");
      params.projects = JSON.stringify(projects);
    }
    let pool: { pool_id: string; scene_tag: string } | undefined;
    if (query.poolName !== undefined) {
      pool = this.sql("SELECT pool_id, scene_tag FROM pools WHERE tenant_id = ? AND name = ?").get(
        visibility.tenantId,
        query.poolName,
      ) as typeof pool;
      if (!pool || (query.sceneTag !== undefined && pool.scene_tag !== query.sceneTag)) {
        return empty;
      }
      where.push("i.pool_id = @pool");
      params.pool = pool.pool_id;
    } else if (query.sceneTag !== undefined) {
      where.push("i.scene_tag = @scene");
      params.scene = query.sceneTag;
    }
    if (query.instanceId !== undefined) {
      where.push("i.instance_id = @instanceId");
      params.instanceId = query.instanceId;
    }
    if (query.nameContains !== undefined) {
      const candidates = nameCandidates(query.nameContains);
      if (candidates !== undefined) {
        // Candidates from a name index; `+` keeps the planner from walking the tenant's index
        // instead.
        where[0] = "+i.tenant_id = @tenant";
        where.push(
          `i.row_id IN (SELECT rowid FROM ${candidates.table} WHERE ${candidates.table} MATCH @fts)`,
        );
        params.fts = candidates.match;
      }
      where.push("instr(i.name_folded, @name) > 0");
      params.name = query.nameContains;
    }
    if (query.createdFrom !== undefined) {
      where.push(FROM_BOUND);
      params.from = query.createdFrom;
    }
    if (query.createdTo !== undefined) {
      where.push(TO_BOUND);
      params.to = query.createdTo;
    }
    const filter = where.join(" AND ");

    // Scopes apply when every filter is one the time counts are kept by.
    let scopes: Scope[] | undefined;
    if (query.instanceId === undefined && query.nameContains === undefined) {
      if (projects) {
        if (!pool && query.sceneTag === undefined) scopes = projects.map(projectScope);
      } else if (pool) scopes = [poolScope(pool.pool_id)];
      else if (query.sceneTag !== undefined) scopes = [sceneScope(query.sceneTag)];
      else scopes = [TENANT_SCOPE];
    }

    const timed = query.createdFrom !== undefined || query.createdTo !== undefined;
    let total: number;
    let before = 0;
    let few: number[] | undefined;
    // Read at most once per query, when a range or a deep page needs them.
    let sums: DaySums | undefined;
    const daySums = (within: Scope[]) => {
      sums ??= this.days(visibility.tenantId, within);
      return sums;
    };
    if (scopes && !timed) {
      total = this.countByPlace(visibility.tenantId, params);
    } else if (scopes) {
      before =
        query.createdFrom === undefined
          ? 0
          : this.rank(visibility.tenantId, scopes, daySums(scopes), query.createdFrom, false);
      const through =
        query.createdTo === undefined
          ? this.countByPlace(visibility.tenantId, params)
          : this.rank(visibility.tenantId, scopes, daySums(scopes), query.createdTo, true);
      total = Math.max(0, through - before);
    } else {
      // A name needle's matches are found once when they are few: the list gives the count, and
      // the page is read from it (instead of searching again for the page).
      few =
        query.nameContains === undefined
          ? undefined
          : (this.sql(`SELECT i.row_id FROM instances i WHERE ${filter} LIMIT ${FEW_MATCHES + 1}`)
              .pluck()
              .all(params) as number[]);
      if (few && few.length > FEW_MATCHES) few = undefined;
      total =
        few?.length ??
        (this.sql(`SELECT COUNT(*) FROM instances i WHERE ${filter}`)
          .pluck()
          .get(params) as number);
    }

    const offset = offsetOf(query);
    if (offset >= total) return { total };
    const desc = query.order === "desc";
    const keys = SORT_KEYS[query.orderBy];

    if (few) {
      const where = "i.row_id IN (SELECT value FROM json_each(@rows))";
      const rows = { rows: JSON.stringify(few) };
      return {
        total,
        read: { where, params: rows, keys, desc, limit: query.pageSize, offset },
      };
    }

    // A page in creation order of one scope is read through the scope's page index, named:
    // without statistics, SQLite's choice moved with the indexes the file happened to have (a
    // scene tag's page from a key once scanned ~20,000 entries of the wrong range).
    const single = scopes?.length === 1 && query.orderBy === "create_time" ? scopes[0] : undefined;
    const index = single?.pages;
    // Read from a key in creation order, the range's bound on the key's side is implied by the
    // key (which lies in the range) and is left out, so that the key bounds the index range.
    const fromKey = (key: unknown[], limit: number): PageRead => {
      const bounded =
        query.orderBy === "create_time"
          ? where.filter((w) => w !== (desc ? TO_BOUND : FROM_BOUND)).join(" AND ")
          : filter;
      return { ...from(bounded, params, keys, desc, key, limit), index };
    };
    if (scopes && query.orderBy === "create_time" && offset >= SEEK_FROM_OFFSET) {
      // The page as a window [start, end) of the ascending order, located through the time
      // counts, and read in its own order from its first row (the window's last when descending:
      // read ascending, it would have to be sorted again).
      const end = desc ? total - offset : Math.min(total, offset + query.pageSize);
      const start = desc ? Math.max(0, end - query.pageSize) : offset;
      const first = before + (desc ? end - 1 : start);
      const key = this.locate(visibility.tenantId, scopes, daySums(scopes), first, params);
      return { total, read: fromKey(key, end - start) };
    }
    if (offset >= SEEK_FROM_OFFSET || (single && single.pages !== single.index && offset > 0)) {
      // Find the page's first sort key with an index-only scan where an index covers the
      // filters, then read the page from that key: the same rows as OFFSET, without fetching
      // every skipped row.
      const dir = desc ? "DESC" : "ASC";
      const key = this.sql(`SELECT ${keys.map((k) => `i.${k}`).join(", ")}
        FROM instances i${single ? ` INDEXED BY ${single.index}` : ""}
        WHERE ${filter} ORDER BY ${keys.map((k) => `i.${k} ${dir}`).join(", ")}
        LIMIT 1 OFFSET @offset`)
        .raw()
        .get({ ...params, offset }) as unknown[];
      return { total, read: fromKey(key, query.pageSize) };
    }
    return {
      total,
      read: { where: filter, params, keys, desc, limit: query.pageSize, offset, index },
    };
  }

  /** total_count for filters on visibility, pool and scene only: a sum over a few rows. */
  private countByPlace(tenantId: string, params: Row): number {
    const where = ["tenant_id = @tenant"];
    if (params.projects !== undefined)
      where.push("project_id IN (SELECT value FROM json_each(@projects))");
    if (params.pool !== undefined) where.push("pool_id = @pool");
    if (params.scene !== undefined) where.push("scene_tag = @scene");
    const named = Object.fromEntries(
      ["projects", "pool", "scene"]
        .filter((k) => params[k] !== undefined)
        .map((k) => [k, params[k]]),
    );
    return this.sql(`SELECT COALESCE(SUM(n), 0) FROM instance_counts WHERE ${where.join(" AND ")}`)
      .pluck()
      .get({ tenant: tenantId, ...named }) as number;
  }

  /**
   * The scopes' rows per creation day as running sums, read from instance_time_counts once per
   * tenant version and kept: every write that changes the counts bumps the version in the same
   * transaction, and the version is read in this query's own read transaction, so the sums
   * held for it are exactly the counts this query sees.
   */
  private days(tenantId: string, scopes: Scope[]): DaySums {
    const version = this.version(tenantId);
    const cacheKey = `${tenantId} ${scopes.map((s) => s.key).join(" ")}`;
    const held = this.daySums.get(cacheKey);
    if (held && held.version === version) return held;
    const rows = this.sql(`SELECT bucket, SUM(n) FROM instance_time_counts
        WHERE tenant_id = @tenant AND scope IN (SELECT value FROM json_each(@scopes))
          AND level = 'd'
        GROUP BY bucket ORDER BY bucket`)
      .raw()
      .all({ tenant: tenantId, scopes: JSON.stringify(scopes.map((s) => s.key)) }) as [
      string,
      number,
    ][];
    const sums: DaySums = { version, buckets: [], through: [], hours: new Map() };
    let running = 0;
    for (const [bucket, n] of rows) {
      if (n === 0) continue;
      running += n;
      sums.buckets.push(bucket);
      sums.through.push(running);
    }
    if (held) this.daysHeld -= held.hours.size;
    if (this.daySums.size >= 1000) {
      this.daySums.clear();
      this.daysHeld = 0;
    }
    this.daySums.set(cacheKey, sums);
    return sums;
  }

  /**
   * How many rows of the scopes were created before `at` (or at or before it, `inclusive`):
   * whole days from the day sums, then the rows of its own day on one side of it, through the
   * index (countsFromDayEnd).
   */
  private rank(
    tenantId: string,
    scopes: Scope[],
    sums: DaySums,
    at: string,
    inclusive: boolean,
  ): number {
    const day = at.slice(0, 10);
    const late = countsFromDayEnd(at);
    const days = firstIndex(sums.buckets.length, (i) =>
      late ? (sums.buckets[i] as string) > day : (sums.buckets[i] as string) >= day,
    );
    let n = days === 0 ? 0 : (sums.through[days - 1] as number);
    const side = late
      ? `i.created_at ${inclusive ? ">" : ">="} @at AND i.created_at < @dayEnd`
      : `i.created_at >= @day AND i.created_at ${inclusive ? "<=" : "<"} @at`;
    for (const scope of scopes) {
      const rows = this.sql(`SELECT COUNT(*) FROM instances i INDEXED BY ${scope.index}
          WHERE ${scope.where} AND ${side}`)
        .pluck()
        .get({
          tenant: tenantId,
          at,
          value: scope.param,
          ...(late ? { dayEnd: day + AFTER } : { day }),
        }) as number;
      n += late ? -rows : rows;
    }
    return n;
  }

  /**
   * The scopes' rows per hour of `day`, held with the day sums: read at most once per day and
   * tenant version, so they are the counts this query's snapshot holds.
   */
  private hours(tenantId: string, scopes: Scope[], sums: DaySums, day: string): Int32Array | null {
    const held = sums.hours.get(day);
    if (held !== undefined) return held;
    const bounds = { tenant: tenantId, day, dayEnd: day + AFTER };
    const rows = (
      scopes.length === 1
        ? this.sql(`SELECT bucket, n FROM instance_time_counts
            WHERE tenant_id = @tenant AND scope = @scope AND level = 'h'
              AND bucket >= @day AND bucket < @dayEnd`)
            .raw()
            .all({ ...bounds, scope: scopes[0]?.key })
        : this.sql(`SELECT bucket, SUM(n) FROM instance_time_counts
            WHERE tenant_id = @tenant AND scope IN (SELECT value FROM json_each(@scopes))
              AND level = 'h' AND bucket >= @day AND bucket < @dayEnd
            GROUP BY bucket`)
            .raw()
            .all({ ...bounds, scopes: JSON.stringify(scopes.map((s) => s.key)) })
    ) as [string, number][];
    let hours: Int32Array | null = new Int32Array(24);
    for (const [bucket, n] of rows) {
      const hour = Number(/^\d{4}-\d\d-\d\d (\d\d)$/.exec(bucket)?.[1] ?? 24);
      if (hour > 23) {
        hours = null;
        break;
      }
      hours[hour] = (hours[hour] as number) + n;
    }
    if (this.daysHeld >= this.maxDays) {
      for (const other of this.daySums.values()) other.hours.clear();
      this.daysHeld = 0;
    }
    sums.hours.set(day, hours);
    this.daysHeld++;
    return hours;
  }

  /**
   * The sort key (created_at, instance_id) of the row at 0-based `position` of the scopes in
   * ascending creation order: the day holding it from the day sums, the hour from that day's
   * hour counts (migration 8), then a short step through that hour's rows in the index.
   */
  private locate(
    tenantId: string,
    scopes: Scope[],
    sums: DaySums,
    position: number,
    params: Row,
  ): unknown[] {
    const at = firstIndex(sums.buckets.length, (i) => (sums.through[i] as number) > position);
    if (at === sums.buckets.length) throw new Error("day counts disagree with instance counts");
    const day = sums.buckets[at] as string;
    const beforeDay = at === 0 ? 0 : (sums.through[at - 1] as number);
    // The bucket to step through and the rows of the scopes before it: the hour holding the
    // position, or the whole day if its hours do not add up to it (not expected: the same
    // triggers and imports keep both; a disagreement would cost a longer step, not a wrong page).
    const hours = this.hours(tenantId, scopes, sums, day);
    let found: [string, number] | undefined;
    let running = beforeDay;
    for (let hour = 0; hours && hour < 24; hour++) {
      const n = hours[hour] as number;
      if (!found && n > 0 && running + n > position) {
        found = [`${day} ${String(hour).padStart(2, "0")}`, running];
      }
      running += n;
    }
    const [bucket, before] = found && running === sums.through[at] ? found : [day, beforeDay];
    const scope = scopes.length === 1 ? scopes[0] : undefined;
    const where = scope
      ? scope.where
      : "i.tenant_id = @tenant AND i.project_id IN (SELECT value FROM json_each(@projects))";
    const key = this.sql(`SELECT i.created_at, i.instance_id
      FROM instances i INDEXED BY ${scope ? scope.index : "instances_by_time"}
      WHERE ${where} AND i.created_at >= @from AND i.created_at < @to
      ORDER BY i.created_at, i.instance_id LIMIT 1 OFFSET @skip`)
      .raw()
      .get({
        tenant: tenantId,
        ...(scope ? { value: scope.param } : { projects: params.projects }),
        from: bucket,
        to: bucket + AFTER,
        skip: position - before,
      }) as unknown[] | undefined;
    if (!key) throw new Error("day counts disagree with instance rows");
    return key;
  }
}

/**
 * A row of WIRE_COLUMNS as an object of one fixed shape: twice as fast as letting the driver
 * build an object per row, and the fields come out in the wire order.
 */
function toWire(row: unknown): WireInstance {
  const r = row as unknown[];
  return {
    instance_id: r[0] as string,
    instance_name: r[1] as string,
    region: r[2] as string,
    instance_sku: r[3] as string,
    frozen_status: r[4] as number,
    running_status: r[5] as number,
    login_status: r[6] as number,
    assign_status: r[7] as number,
    assign_user: r[8] as string,
    billing_mode: r[9] as string,
    project_id: r[10] as string,
    project_name: r[11] as string,
    phone_id: r[12] as string,
    member_name: r[13] as string,
    account_name: r[14] as string,
    region_name: r[15] as string,
    region_name_en: r[16] as string,
    backup_status: r[17] as number,
    backup_time: r[18] as string,
    restore_status: r[19] as number,
    restore_time: r[20] as string,
  };
}

/** Joins a row's sort keys (char(31) in SQL; see keysInOrder). */
const KEY_SEPARATOR = 0x1f;
/** Joins the rows' keys (char(30) in SQL). */
const ROW_SEPARATOR = 0x1e;

/**
 * Whether a page came out in its order: given its rows' sort keys as UTF-8 bytes, each row's
 * joined by KEY_SEPARATOR, the rows' by ROW_SEPARATOR, as many rows as `count` and every key a
 * text, the rows are strictly ascending (descending with `desc`; no two rows tie, since the last
 * sort key, instance_id, is unique). Rows compare as their bytes do, which is SQLite's BINARY
 * order of the keys, since the separator sorts below every byte a key may hold; a key holding a
 * byte below the space (a control character, or a separator) answers false.
 *
 * One pass over the bytes, comparing each row with the one before it in place. As JavaScript
 * strings (decoded, split, compared) the keys of a 1M-tenant page took ~10 µs to check against
 * ~6.5 now, and a key with a character outside the BMP (whose UTF-16 order is not its UTF-8
 * order) sent the page to the sorted statement (~20% slower); now it is compared as SQLite does.
 */
export function keysInOrder(
  keys: Buffer,
  count: number,
  keyCount: number,
  texts: number,
  desc: boolean,
): boolean {
  if (texts !== count * keyCount) return false;
  let rows = 0;
  let separators = 0;
  let start = 0;
  let previous = -1;
  let previousEnd = 0;
  // The end of the bytes closes the last row, as a row separator would.
  for (let at = 0; at <= keys.length; at++) {
    const byte = at < keys.length ? (keys[at] as number) : ROW_SEPARATOR;
    if (byte >= 0x20) continue;
    if (byte === KEY_SEPARATOR) {
      separators++;
      continue;
    }
    if (byte !== ROW_SEPARATOR) return false;
    rows++;
    if (previous >= 0) {
      const after = compareBytes(keys, start, at, previous, previousEnd);
      if (desc ? after >= 0 : after <= 0) return false;
    }
    previous = start;
    previousEnd = at;
    start = at + 1;
  }
  return rows === count && separators === count * (keyCount - 1);
}

/**
 * Bytes `a` to `aEnd` of `bytes` against `b` to `bEnd`, as memcmp orders them (a prefix first):
 * negative, 0 or positive. A loop here: Buffer.compare with offsets costs more per call than
 * a page's rows take to compare.
 */
function compareBytes(bytes: Buffer, a: number, aEnd: number, b: number, bEnd: number): number {
  for (; a < aEnd && b < bEnd; a++, b++) {
    const difference = (bytes[a] as number) - (bytes[b] as number);
    if (difference !== 0) return difference;
  }
  return aEnd - a - (bEnd - b);
}

/** The first i in [0, length) where `test(i)` holds (tests false, then true); length if none. */
function firstIndex(length: number, test: (i: number) => boolean): number {
  let low = 0;
  let high = length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (test(mid)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** Up to `limit` rows in the given order, starting at (and including) the sort key `key`. */
function from(
  filter: string,
  params: Row,
  keys: string[],
  desc: boolean,
  key: unknown[],
  limit: number,
): PageRead {
  const sortColumns = keys.map((k) => `i.${k}`).join(", ");
  const marks = keys.map((_, n) => `@k${n}`).join(", ");
  const bound =
    keys.length === 1
      ? `${sortColumns} ${desc ? "<=" : ">="} ${marks}`
      : `(${sortColumns}) ${desc ? "<=" : ">="} (${marks})`;
  const keyParams = Object.fromEntries(key.map((v, n) => [`k${n}`, v]));
  return {
    where: `${filter} AND ${bound}`,
    params: { ...params, ...keyParams },
    keys,
    desc,
    limit,
    offset: 0,
  };
}

/**
 * The page's rows in order. The LIMIT is written into the text (a page size, 1 to 100, so a few
 * statements at most): SQLite reads a bound LIMIT's value while planning, which marks the
 * statement to be planned again whenever the parameter is bound, so every request re-parsed and
 * re-planned it (a sixth of a page 1's time on the 1M tenant).
 */
function pageSql(read: PageRead): string {
  if (!Number.isInteger(read.limit) || read.limit < 0) throw new Error("bad page limit");
  const dir = read.desc ? "DESC" : "ASC";
  return `FROM instances i${read.index ? ` INDEXED BY ${read.index}` : ""}
    JOIN projects p ON p.project_id = i.project_id
    WHERE ${read.where} ORDER BY ${read.keys.map((k) => `i.${k} ${dir}`).join(", ")}
    LIMIT ${read.limit} OFFSET @offset`;
}

function pageParams(read: PageRead): Row {
  return { ...read.params, offset: read.offset };
}

const TENANT_SCOPE: Scope = {
  key: "*",
  where: "i.tenant_id = @tenant",
  index: "instances_by_time",
  // Each row's sort keys, project and wire JSON (migration 10): a page of the whole tenant
  // reads ~20 consecutive pages of it and no table row.
  pages: "instances_pages",
};

function sceneScope(scene: string): Scope {
  return {
    key: `s:${scene}`,
    where: "i.tenant_id = @tenant AND i.scene_tag = @value",
    index: "instances_by_scene",
    pages: "instances_by_scene",
    param: scene,
  };
}

function poolScope(poolId: string): Scope {
  return {
    key: `p:${poolId}`,
    where: "i.tenant_id = @tenant AND i.pool_id = @value",
    index: "instances_by_pool",
    pages: "instances_by_pool",
    param: poolId,
  };
}

function projectScope(projectId: string): Scope {
  return {
    key: `j:${projectId}`,
    where: "i.tenant_id = @tenant AND i.project_id = @value",
    index: "instances_by_project",
    pages: "instances_by_project",
    param: projectId,
  };
}

/**
 * Where the candidates for a name needle are, as an FTS5 table and the query to match in it;
 * instr() still confirms every one. Undefined for needles shorter than three characters, which
 * no index holds.
 *
 * - 4 characters or more: the names holding every distinct 4-character piece of the needle
 *   (migration 9's index, pieces as the hex of their UTF-8 bytes, as namePieces() writes them),
 *   and the names too long for the index to list all their pieces;
 * - 3 characters: the trigram index (its tokenizer's substring search, as a phrase).
 */
export function nameCandidates(needle: string): { table: string; match: string } | undefined {
  const chars = [...needle];
  if (chars.length < 3) return undefined;
  if (chars.length === 3) {
    return { table: "instance_names", match: `"${needle.replaceAll('"', '""')}"` };
  }
  const pieces = new Set<string>();
  for (let at = 0; at + 4 <= chars.length; at++) {
    pieces.add(
      Buffer.from(chars.slice(at, at + 4).join(""), "utf8")
        .toString("hex")
        .toUpperCase(),
    );
  }
  const all = [...pieces].map((hex) => `"${hex}"`).join(" AND ");
  return { table: "instance_name_pieces", match: `(${all}) OR "long"` };
}
