/**
 * Query string → validated BatchQuery, following the request table of spec/batch-query.md.
 * Every rejection names the parameter and what was expected; user values are quoted, bounded.
 */
import { ApiError, badParameter, KOOPHONE, quote } from "../errors.js";
import {
  type BatchQuery,
  foldName,
  ORDER_FIELDS,
  type OrderField,
  SCENE_TAGS,
  type SceneTag,
} from "./model.js";

export const MAX_PAGE_SIZE = 100;
export const MAX_PAGE_NO = 1_000_000_000;

/** Every parameter the reference page, the official SDK or the Chinese page sends. */
export const KNOWN_PARAMETERS = new Set([
  "x-request-id",
  "page_no",
  "page_size",
  "instance_id",
  "instance_name",
  "query_start_time",
  "query_end_time",
  "pool_scene_tag",
  "poolSceneTag",
  "pool_name",
  "order",
  "order_by",
]);

export type RawQuery = Record<string, string | string[] | undefined>;

export interface ParseOptions {
  strict: boolean;
  /** What the request-id step found: see src/http/plugins/request-id.ts. */
  requestId: "given" | "generated" | "invalid";
}

const DIGITS = /^[0-9]+$/;
const TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

export function parseBatchQuery(raw: RawQuery, options: ParseOptions): BatchQuery {
  const single = singleValues(raw, options.strict);

  if (options.requestId === "invalid") {
    throw badParameter("x-request-id must be 1-128 characters of A-Z a-z 0-9 . _ : -");
  }
  if (options.requestId === "generated" && options.strict) {
    throw new ApiError(KOOPHONE.missingRequestId, "missing request header 'x-request-id'");
  }

  const pageNo = positiveInteger("page_no", single.page_no);
  if (pageNo > MAX_PAGE_NO) {
    throw badParameter(
      `page_no must be an integer from 1 to ${MAX_PAGE_NO}, got ${quote(single.page_no ?? "")}`,
    );
  }
  const pageSize = Math.min(positiveInteger("page_size", single.page_size), MAX_PAGE_SIZE);

  const query: BatchQuery = {
    pageNo,
    pageSize,
    order: oneOf("order", single.order, ["asc", "desc"] as const) ?? "asc",
    orderBy: oneOf<OrderField>("order_by", single.order_by, ORDER_FIELDS) ?? "create_time",
  };

  const instanceId = text("instance_id", single.instance_id);
  if (instanceId !== undefined) query.instanceId = instanceId;
  const name = text("instance_name", single.instance_name);
  if (name !== undefined) query.nameContains = foldName(name);
  const poolName = text("pool_name", single.pool_name);
  if (poolName !== undefined) query.poolName = poolName;

  const sceneTag = sceneTagOf(single.pool_scene_tag, single.poolSceneTag);
  if (sceneTag !== undefined) query.sceneTag = sceneTag;

  const from = time("query_start_time", single.query_start_time);
  const to = time("query_end_time", single.query_end_time);
  if (from !== undefined && to !== undefined && to < from) {
    throw new ApiError(
      KOOPHONE.endBeforeStart,
      `query_end_time ${quote(to)} is earlier than query_start_time ${quote(from)}`,
    );
  }
  if (from !== undefined) query.createdFrom = from;
  if (to !== undefined) query.createdTo = to;
  return query;
}

/** Rejects repeated parameters (and, in strict mode, unknown ones); returns one value each. */
function singleValues(raw: RawQuery, strict: boolean): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = Object.create(null);
  for (const [key, value] of Object.entries(raw)) {
    const known = KNOWN_PARAMETERS.has(key);
    if (!known && strict) throw badParameter(`unknown parameter ${quote(key)}`);
    if (Array.isArray(value)) {
      // Repeated unknown parameters are as harmless as single ones: ignore them outside strict mode.
      if (known) throw badParameter(`parameter ${key} must be given at most once`);
      continue;
    }
    if (known) out[key] = value;
  }
  return out;
}

function positiveInteger(name: string, value: string | undefined): number {
  if (value === undefined) throw badParameter(`${name} is required: an integer >= 1`);
  const n = DIGITS.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1)) throw badParameter(`${name} must be an integer >= 1, got ${quote(value)}`);
  return n;
}

function text(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Characters are code points, as the operator's schemas count them (an emoji is one, not two).
  const length = [...value].length;
  if (length < 1 || length > 64) {
    throw badParameter(`${name} must be 1-64 characters, got ${length}`);
  }
  return value;
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw badParameter(`${name} must be one of ${allowed.join(", ")}, got ${quote(value)}`);
}

function sceneTagOf(snake: string | undefined, camel: string | undefined): SceneTag | undefined {
  const tag = oneOf("pool_scene_tag", snake, SCENE_TAGS);
  const alias = oneOf("poolSceneTag", camel, SCENE_TAGS);
  if (tag !== undefined && alias !== undefined && tag !== alias) {
    throw badParameter(`pool_scene_tag ${quote(tag)} and poolSceneTag ${quote(alias)} disagree`);
  }
  return tag ?? alias;
}

/** `YYYY-MM-DD HH:MM:SS`, a real UTC calendar time, returned unchanged (it sorts as text). */
function time(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isWireTime(value)) {
    throw new ApiError(
      KOOPHONE.badTime,
      `${name} must be a real UTC time formatted YYYY-MM-DD HH:MM:SS, got ${quote(value)}`,
    );
  }
  return value;
}

export function isWireTime(value: string): boolean {
  const m = TIME.exec(value);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (h > 23 || mi > 59 || s > 59 || mo < 1 || mo > 12 || d < 1) return false;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it maps years 0-99 to 1900-1999
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}
