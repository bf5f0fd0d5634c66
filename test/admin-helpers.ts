/**
 * Shared by the admin API and import tests: the app as shipped with an operator key, calls with
 * that key, and looks at the database from outside the store (row checksums, raw contents).
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { Writable } from "node:stream";
import Database from "better-sqlite3";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import pg from "pg";
import { expect } from "vitest";
import { buildApp } from "../src/app.js";
import type { Store } from "../src/store/types.js";
import { testConfig } from "./helpers/fixtures.js";

export const ADMIN_KEY = "operator-key-for-tests-0123456789";
export const ADMIN = { authorization: `Bearer ${ADMIN_KEY}` };

export interface AdminApp {
  app: FastifyInstance;
  /** Every log line the app wrote so far. */
  logs(): string;
}

/**
 * The app exactly as shipped, with the operator key set (null: no key) and its logs captured
 * (at info level).
 */
export async function adminApp(store: Store, adminKey: string | null = ADMIN_KEY) {
  let captured = "";
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      captured += chunk.toString();
      done();
    },
  });
  const app = await buildApp({
    config: testConfig({ adminKey: adminKey ?? undefined, logLevel: "info" }),
    store,
    logStream,
  });
  return { app, logs: () => captured } satisfies AdminApp;
}

/** An admin call with the operator key (unless `headers` overrides authorization). */
export function call(
  app: FastifyInstance,
  method: InjectOptions["method"],
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: { ...ADMIN, ...headers },
    ...(body === undefined ? {} : { payload: body as InjectOptions["payload"] }),
  });
}

/** An admin error: status, ADMIN.* code, and (optionally) a fragment of the message. */
export function expectAdminError(
  res: LightMyRequestResponse,
  status: number,
  code: string,
  fragment?: string | RegExp,
): string {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json() as { error_code: string; error_msg: string };
  expect(Object.keys(body).sort()).toEqual(["error_code", "error_msg"]);
  expect(body.error_code).toBe(code);
  if (typeof fragment === "string") expect(body.error_msg).toContain(fragment);
  else if (fragment) expect(body.error_msg).toMatch(fragment);
  return body.error_msg;
}

export const bad = (res: LightMyRequestResponse, fragment?: string | RegExp) =>
  expectAdminError(res, 400, "ADMIN.BAD_REQUEST", fragment);
export const missing = (res: LightMyRequestResponse, fragment?: string | RegExp) =>
  expectAdminError(res, 404, "ADMIN.NOT_FOUND", fragment);
export const duplicate = (res: LightMyRequestResponse, fragment?: string | RegExp) =>
  expectAdminError(res, 409, "ADMIN.CONFLICT", fragment);

/** A status code and a JSON body, with the body shown when the status is not the one expected. */
export function ok<T = Record<string, unknown>>(res: LightMyRequestResponse, status = 200): T {
  expect(res.statusCode, res.body).toBe(status);
  return res.json() as T;
}

/**
 * What an import may change, from outside the store: the instances and pools tables (counts),
 * and a SHA-256 over every row of every table of the database (the store's derived tables
 * included), each table's rows in a fixed order.
 */
export async function checksum(store: Store, url: string) {
  const tables = await allTables(store, url);
  const hash = createHash("sha256");
  for (const [name, rows] of [...tables].sort(([a], [b]) => (a < b ? -1 : 1))) {
    hash.update(name);
    for (const row of rows.map((r) => JSON.stringify(r)).sort()) hash.update(row);
  }
  return {
    instances: tables.get("instances")?.length,
    pools: tables.get("pools")?.length,
    sha256: hash.digest("hex"),
  };
}

/** The schema (SQLite: sqlite_schema; PostgreSQL: its indexes), one sorted line per object. */
export async function schemaOf(store: Store, url: string): Promise<string[]> {
  const rows = (await allTables(store, url)).get("(schema)") ?? [];
  return rows.map((row) => JSON.stringify(row)).sort();
}

/** Every row of every (non-virtual) table, keyed by table name. */
async function allTables(store: Store, url: string): Promise<Map<string, unknown[]>> {
  const tables = new Map<string, unknown[]>();
  if (store.dialect === "sqlite") {
    const db = new Database(url, { readonly: true });
    try {
      const names = db
        .prepare(
          "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'",
        )
        .pluck()
        .all() as string[];
      for (const name of names) tables.set(name, db.prepare(`SELECT * FROM "${name}"`).all());
      // The schema too: an import may drop and rebuild indexes inside its transaction.
      tables.set(
        "(schema)",
        db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema").all(),
      );
    } finally {
      db.close();
    }
    return tables;
  }
  return withPostgres(url, async (client, schema) => {
    const { rows } = await client.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
      [schema],
    );
    for (const { table_name } of rows as { table_name: string }[]) {
      tables.set(table_name, (await client.query(`SELECT * FROM ${schema}."${table_name}"`)).rows);
    }
    const indexes = await client.query(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1",
      [schema],
    );
    tables.set("(schema)", indexes.rows);
    return tables;
  });
}

/**
 * Everything the database holds, as text to grep: for SQLite the raw bytes of the database file
 * and its write-ahead log; for PostgreSQL every row of every table of the test's schema.
 */
export async function databaseContents(store: Store, url: string): Promise<string> {
  if (store.dialect === "sqlite") {
    return [url, `${url}-wal`]
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file).toString("latin1"))
      .join("\n");
  }
  return withPostgres(url, async (client, schema) => {
    const { rows } = await client.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
      [schema],
    );
    let text = "";
    for (const { table_name } of rows as { table_name: string }[]) {
      const data = await client.query(`SELECT * FROM ${schema}.${table_name}`);
      text += JSON.stringify(data.rows);
    }
    return text;
  });
}

async function withPostgres<T>(
  url: string,
  body: (client: pg.Client, schema: string) => Promise<T>,
): Promise<T> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get("schema") ?? "public";
  parsed.searchParams.delete("schema");
  const client = new pg.Client({ connectionString: parsed.toString() });
  await client.connect();
  try {
    return await body(client, schema);
  } finally {
    await client.end();
  }
}

/** A valid import record; `i` makes its name and id unique. */
export function record(i: number, projectId: string, extra: Record<string, unknown> = {}) {
  return {
    instance_id: instanceId(i),
    instance_name: `CCTEST-${String(i).padStart(7, "0")}`,
    region: "cn-north-4",
    instance_sku: "Professional edition | 8 vCPUs | 16 GB | 10 GB storage",
    project_id: projectId,
    // Every tenth record goes to a pool the import itself creates.
    ...(i % 10 === 0
      ? { pool_name: "imported", pool_scene_tag: "CLOUD_PHONE" }
      : { pool_name: i % 2 ? "phones" : "apps" }),
    running_status: i % 6,
    created_at: `2024-03-${String(1 + (i % 28)).padStart(2, "0")} 08:00:00`,
    ...extra,
  };
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A distinct, scattered 8-character id for every i < 62^4. */
export function instanceId(i: number): string {
  let id = "";
  let x = i;
  for (let k = 0; k < 4; k++) {
    id += ALNUM[x % 62];
    x = Math.floor(x / 62);
  }
  return `${id}${ALNUM[(i * 7) % 62]}imp`;
}

/**
 * `n` records as NDJSON, numbered from `first`, with `bad` (a field override) applied to the
 * record at position `badAt`.
 */
export function ndjson(
  n: number,
  projectId: string,
  { badAt, bad = { running_status: 9 }, first = 0 }: NdjsonOptions = {},
): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++)
    lines.push(JSON.stringify(record(first + i, projectId, i === badAt ? bad : {})));
  return `${lines.join("\n")}\n`;
}

export interface NdjsonOptions {
  badAt?: number;
  bad?: Record<string, unknown>;
  first?: number;
}
