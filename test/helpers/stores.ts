/**
 * The stores every storage-touching test runs against, once each ("no mocks: every test runs
 * against real databases, once per dialect"). Each call makes a fresh, migrated, empty database.
 *
 * PostgreSQL: TEST_POSTGRES_URL, or the machine's 127.0.0.1:5432 (user postgres, database test).
 * Each factory call gets its own schema (`?schema=`), dropped by dispose. When the server cannot
 * be reached, the PostgreSQL runs are skipped with one line, except under CI=true, where that is
 * a failure.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openStore } from "../../src/store/create-store.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import type { Store } from "../../src/store/types.js";

export interface StoreFactory {
  name: string;
  /** A fresh migrated database and a way to throw it away. */
  create(): Promise<{ store: Store; url: string; dispose(): Promise<void> }>;
}

export const sqlite: StoreFactory = {
  name: "sqlite",
  async create() {
    const dir = mkdtempSync(join(tmpdir(), "phonefleet-test-"));
    const url = join(dir, "test.db");
    const store = await openStore(url);
    return {
      store,
      url,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const POSTGRES_BASE = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** The PostgreSQL server tests use, or undefined when it is unreachable outside CI. */
export const POSTGRES_URL: string | undefined = await reachablePostgres(POSTGRES_BASE);

async function reachablePostgres(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return url;
  } catch (error) {
    const why = `PostgreSQL at ${url} is unreachable (${(error as Error).message})`;
    if (process.env.CI === "true") throw new Error(`${why}: required under CI=true`);
    console.warn(`[tests] ${why}: skipping the PostgreSQL runs`);
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A statement on the test server outside any store (creating and dropping schemas). */
export async function adminQuery(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  if (!POSTGRES_URL) throw new Error("PostgreSQL is not available");
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  client.on("error", () => {});
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** A client of the test server whose statements see `schema` first (reference queries). */
export async function schemaClient(schema: string): Promise<pg.Client> {
  if (!POSTGRES_URL) throw new Error("PostgreSQL is not available");
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`SET search_path TO ${schema}`);
  return client;
}

/** A database URL on a schema no one else uses (created by the first migrate), and its drop. */
export function freshPostgresUrl(params: Record<string, string> = {}): {
  url: string;
  schema: string;
  drop(): Promise<void>;
} {
  if (!POSTGRES_URL) throw new Error("PostgreSQL is not available");
  const schema = `pf_test_${randomBytes(6).toString("hex")}`;
  const url = new URL(POSTGRES_URL);
  url.searchParams.set("schema", schema);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return {
    url: url.toString(),
    schema,
    drop: async () => {
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

/**
 * A migrated PostgresStore on a schema no one else uses, a client of the test server on that
 * schema (reference queries), and one call to close both and drop the schema.
 */
export async function freshPostgresStore(
  options?: ConstructorParameters<typeof PostgresStore>[1],
): Promise<{ store: PostgresStore; plain: pg.Client; dispose(): Promise<void> }> {
  const { url, schema, drop } = freshPostgresUrl();
  const store = new PostgresStore(url, options);
  await store.migrate();
  const plain = await schemaClient(schema);
  return {
    store,
    plain,
    async dispose() {
      await plain.end();
      await store.close();
      await drop();
    },
  };
}

export const postgres: StoreFactory = {
  name: "postgres",
  async create() {
    const { url, drop } = freshPostgresUrl();
    const store = await openStore(url);
    return {
      store,
      url,
      async dispose() {
        await store.close();
        await drop();
      },
    };
  },
};

export const STORES: StoreFactory[] = POSTGRES_URL ? [sqlite, postgres] : [sqlite];
