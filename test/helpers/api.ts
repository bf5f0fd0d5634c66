/**
 * Calling the tenant API through inject and checking its two wire shapes (a page and an error)
 * exactly as spec/batch-query.md writes them.
 */
import { Writable } from "node:stream";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import { hashToken, newToken } from "../../src/auth/secrets.js";
import { newHexId } from "../../src/ids.js";
import type { WireInstance } from "../../src/instances/model.js";
import { createUser, issueToken } from "../../src/operator/users.js";
import type { Store } from "../../src/store/types.js";

export const BATCH = "/v1/instances/batch-query";

export type Params = Record<string, string | number | readonly (string | number)[]>;

/** A query string, every key and value percent-encoded; arrays repeat the key. */
export function queryString(params: Params): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(v)}`);
  }
  return parts.join("&");
}

/** GET batch-query with the given token (none when undefined) and parameters or raw query. */
export function batchQuery(
  app: FastifyInstance,
  token: string | undefined,
  params: Params | string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const qs = typeof params === "string" ? params : queryString(params);
  return app.inject({
    method: "GET",
    url: qs === "" ? BATCH : `${BATCH}?${qs}`,
    headers: token === undefined ? headers : { "x-auth-token": token, ...headers },
  });
}

/** The 21 fields of a result element and their JSON types, in the reference page's order. */
export const WIRE_FIELDS = {
  instance_id: "string",
  instance_name: "string",
  region: "string",
  instance_sku: "string",
  frozen_status: "integer",
  running_status: "integer",
  login_status: "integer",
  assign_status: "integer",
  assign_user: "string",
  billing_mode: "string",
  project_id: "string",
  project_name: "string",
  phone_id: "string",
  member_name: "string",
  account_name: "string",
  region_name: "string",
  region_name_en: "string",
  backup_status: "integer",
  backup_time: "string",
  restore_status: "integer",
  restore_time: "string",
} as const satisfies Record<keyof WireInstance, "string" | "integer">;

const WIRE_TIME_OR_EMPTY = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})?$/;

export interface Page {
  data: { result: WireInstance[]; page_no: number; page_size: number; total_count: number };
  page_no: number;
  page_size: number;
  total_count: number;
  error_code: "0";
  error_msg: "OK";
}

/** Asserts the exact shape of a 200 page and returns its body. */
export function expectPage(res: LightMyRequestResponse): Page {
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
  expect(res.headers["cache-control"]).toBe("no-store");
  expect(res.headers["x-request-id"]).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  const body = res.json() as Page;
  expect(Object.keys(body).sort()).toEqual(
    ["data", "error_code", "error_msg", "page_no", "page_size", "total_count"].sort(),
  );
  expect(Object.keys(body.data).sort()).toEqual(
    ["page_no", "page_size", "result", "total_count"].sort(),
  );
  expect(body.error_code).toBe("0");
  expect(body.error_msg).toBe("OK");
  for (const field of ["page_no", "page_size", "total_count"] as const) {
    expect(Number.isInteger(body[field]), field).toBe(true);
    expect(body.data[field], `data.${field} equals top-level ${field}`).toBe(body[field]);
  }
  expect(body.page_size).toBeGreaterThanOrEqual(1);
  expect(body.page_size).toBeLessThanOrEqual(100);
  expect(Array.isArray(body.data.result)).toBe(true);
  expect(body.data.result.length).toBeLessThanOrEqual(body.page_size);
  for (const row of body.data.result) expectWireInstance(row);
  return body;
}

/** Exactly the 21 fields, each of its JSON type, with the value rules of the response table. */
export function expectWireInstance(row: unknown): void {
  expect(typeof row).toBe("object");
  const record = row as Record<string, unknown>;
  expect(Object.keys(record).sort()).toEqual(Object.keys(WIRE_FIELDS).sort());
  for (const [field, type] of Object.entries(WIRE_FIELDS)) {
    const value = record[field];
    if (type === "integer") expect(Number.isInteger(value), `${field}=${value}`).toBe(true);
    else expect(typeof value, `${field}=${JSON.stringify(value)}`).toBe("string");
  }
  expect(record.instance_id).toMatch(/^[A-Za-z0-9]{8}$/);
  expect(record.project_id).toMatch(/^[0-9a-f]{32}$/);
  expect(record.assign_status).toBe(record.assign_user === "" ? 0 : 1);
  expect(record.backup_time).toMatch(WIRE_TIME_OR_EMPTY);
  expect(record.restore_time).toMatch(WIRE_TIME_OR_EMPTY);
  expect(record.phone_id).not.toBe("");
}

/** Things a client must never see in an error message. */
const LEAKS = [
  /\bat .+:\d+:\d+/, // a stack frame
  /\/(work|home|tmp|usr|src)\//, // a file path
  /\.(ts|js):\d+/,
  /\b(SELECT|INSERT|UPDATE|DELETE)\b.+\b(FROM|INTO|SET|WHERE)\b/i, // SQL
  /sqlite|postgres|SQLITE_|ECONNREFUSED/i,
  /tenant_id/,
];

/**
 * Asserts an error response: status, exact body {error_code, error_msg}, request id set, and
 * (unless `echoesInput`: the message may quote what the caller sent) no internals in the message.
 */
export function expectError(
  res: LightMyRequestResponse,
  status: number,
  code: string,
  { echoesInput = false } = {},
): { error_code: string; error_msg: string } {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
  expect(res.headers["x-request-id"]).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  const body = res.json() as { error_code: string; error_msg: string };
  expect(Object.keys(body).sort()).toEqual(["error_code", "error_msg"]);
  expect(body.error_code).toBe(code);
  expect(typeof body.error_msg).toBe("string");
  expect(body.error_msg.length).toBeGreaterThan(0);
  expect(body.error_msg).not.toContain(process.cwd());
  expect(body.error_msg).not.toContain("node_modules");
  if (!echoesInput) for (const leak of LEAKS) expect(body.error_msg).not.toMatch(leak);
  return body;
}

/** A log sink for buildApp({ logStream }): every line parsed as JSON (a non-JSON line throws). */
export function logCollector(): {
  stream: Writable;
  raw: string[];
  lines(): Record<string, unknown>[];
} {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line !== "") raw.push(line);
      done();
    },
  });
  return { stream, raw, lines: () => raw.map((line) => JSON.parse(line)) };
}

/** A member or admin of a tenant with a token, keeping the ids an operator would act on. */
export async function userWithToken(
  store: Store,
  tenantId: string,
  user: { name: string; role: "admin" | "member"; project_ids?: string[] },
  ttlSeconds = 3600,
): Promise<{ userId: string; tokenId: string; token: string }> {
  const created = await createUser(store, tenantId, user);
  const issued = await issueToken(store, created.user_id, { ttl_seconds: ttlSeconds }, 3600);
  return { userId: created.user_id, tokenId: issued.token_id, token: issued.token };
}

/**
 * A token that expired a minute ago. No operator operation issues one (the shortest TTL is 60 s),
 * so it is written through the store seam the way issueToken writes tokens.
 */
export async function expiredToken(store: Store, userId: string): Promise<string> {
  const token = newToken();
  const now = Date.now();
  await store.insertToken({
    token_id: newHexId(),
    user_id: userId,
    token_hash: hashToken(token),
    issued_at: new Date(now - 3_600_000).toISOString(),
    expires_at: new Date(now - 60_000).toISOString(),
  });
  return token;
}

/**
 * Batch-query pages asked of a running server over real connections, `together` at a time (so
 * that many are in flight at once), each expected to be a 200; their bodies, in order.
 */
export async function fetchPages(
  base: string,
  token: string,
  queries: readonly { pageNo: number; pageSize: number }[],
  together = 24,
): Promise<string[]> {
  const bodies: string[] = [];
  for (let at = 0; at < queries.length; at += together) {
    const answers = await Promise.all(
      queries.slice(at, at + together).map(async (q) => {
        const params = { page_no: q.pageNo, page_size: q.pageSize };
        const res = await fetch(`${base}${BATCH}?${queryString(params)}`, {
          headers: { "X-Auth-Token": token },
        });
        if (res.status !== 200) throw new Error(`${res.status}: ${await res.text()}`);
        return res.text();
      }),
    );
    bodies.push(...answers);
  }
  return bodies;
}
