/**
 * A `postgres://` URL → pool settings. The settings travel in the URL (like libpq's own
 * `connect_timeout`) so that the server and every CLI command opened on the same DATABASE_URL
 * behave the same:
 *
 * | parameter           | default | meaning                                                     |
 * |---------------------|---------|-------------------------------------------------------------|
 * | `schema`            | (none)  | search_path for every connection; `migrate` creates it      |
 * | `pool_max`          | 2×cores | connections per process, in each of its four pools          |
 * | `connect_timeout`   | 3       | seconds to get a connection (new or from a busy pool)       |
 * | `statement_timeout` | 5000    | ms a statement may run; the client gives up 1 s later        |
 *
 * The bounds are what keep a request from hanging when PostgreSQL is down or unreachable: it
 * fails (500 KOOPHONE.API.9999) within connect_timeout + statement_timeout at worst.
 */
import { availableParallelism } from "node:os";
import type { ClientConfig, PoolConfig } from "pg";
import { parse } from "pg-connection-string";
import type postgres from "postgres";
import type { PlanMode } from "./instance-query.js";

export interface PostgresSettings {
  /** pg's pool: every statement but the batch query's pages. */
  pool: PoolConfig;
  /**
   * postgres.js, for the batch query's pages (page-reader.ts), one set of sessions per plan
   * mode: the same server and session settings as the pool, and the mode's plan_cache_mode.
   */
  readers: Record<PlanMode, ReaderOptions>;
  /** The schema named by `?schema=`, if any: created by migrate, used as search_path. */
  schema: string | undefined;
  statementTimeoutMs: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * `pool_max` when the URL gives none: twice the cores this process may use. A page statement
 * is CPU work for a backend, so statements running beyond about twice the database's cores only
 * take turns on them (PostgreSQL's own rule of thumb for connection counts). A process cannot
 * see the database server's cores and takes its own, which are the same cores where both run on
 * one machine (the one-box setup, the benchmark). On the 2-core bench machine, 4 connections per
 * pool against pg's default of 10 served every PostgreSQL scenario faster, page 1 and random
 * pages by ~18%, with a lower p99; 3 and 6 did about as well as 4, 2 worse (docs/benchmarks.md,
 * step P20).
 */
export const DEFAULT_POOL_MAX = Math.min(2 * availableParallelism(), 1000);

export function postgresSettings(databaseUrl: string): PostgresSettings {
  const url = new URL(databaseUrl);
  const take = (name: string): string | undefined => {
    const value = url.searchParams.get(name) ?? undefined;
    url.searchParams.delete(name);
    return value;
  };
  const schema = take("schema");
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(
      `database URL: schema must match ${SCHEMA_NAME.source}, got ${JSON.stringify(schema)}`,
    );
  }
  const poolMax = integer("pool_max", take("pool_max") ?? String(DEFAULT_POOL_MAX), 1, 1000);
  const connectSeconds = integer("connect_timeout", take("connect_timeout") ?? "3", 1, 600);
  const statementMs = integer(
    "statement_timeout",
    take("statement_timeout") ?? "5000",
    100,
    3_600_000,
  );
  const client: ClientConfig = {
    connectionString: url.toString(),
    application_name: url.searchParams.get("application_name") ?? "phonefleet",
    connectionTimeoutMillis: connectSeconds * 1000,
    statement_timeout: statementMs,
    // Client-side bound too: a network that swallows packets never sends the server's cancel.
    query_timeout: statementMs + 1000,
    lock_timeout: statementMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // No parallel workers and no JIT for this service's statements: each request is already
    // one of many running at once, and on the 2-core bench machine a parallel count of the
    // names holding "cph" (900,000 of the 1M tenant) took 2.2 s instead of 0.44 s in one
    // process; JIT compiles for tens of milliseconds where the statements run for a few.
    options: [
      "-c max_parallel_workers_per_gather=0",
      "-c jit=off",
      ...(schema !== undefined ? [`-c search_path=${schema}`] : []),
    ].join(" "),
  };
  const pool = { ...client, max: poolMax, idleTimeoutMillis: 30_000 };
  const reader = (plan: PlanMode) =>
    readerOptions(client, poolMax, connectSeconds, statementMs, PLAN_CACHE_MODE[plan]);
  return {
    pool,
    readers: { generic: reader("generic"), custom: reader("custom"), auto: reader("auto") },
    schema,
    statementTimeoutMs: statementMs,
  };
}

/**
 * Seconds before the next attempt after failed connects: pg tries again at once, and
 * postgres.js's own curve reaches 20 s, longer than a restarted database takes to come back.
 */
const backoff = (attempt: number) => Math.min(0.01 * 2 ** attempt, 1);
const ignore = () => {};

const PLAN_CACHE_MODE: Record<PlanMode, string> = {
  generic: "force_generic_plan",
  custom: "force_custom_plan",
  auto: "auto",
};

/** postgres.js's options, with one its type declarations leave out (documented in its code). */
export type ReaderOptions = postgres.Options<Record<string, never>> & { max_pipeline?: number };

/**
 * pg's client settings as postgres.js options: the address read from the URL the way pg reads
 * it (pg-connection-string: a host that is a directory is a Unix socket's), and the session
 * settings sent at startup, statement_timeout and lock_timeout among them.
 */
function readerOptions(
  client: ClientConfig,
  max: number,
  connectSeconds: number,
  statementMs: number,
  planCacheMode: string,
): ReaderOptions {
  const url = parse(client.connectionString as string);
  const port = Number(url.port || 5432);
  const host = url.host ?? "localhost";
  return {
    ...(host.startsWith("/") ? { path: `${host}/.s.PGSQL.${port}` } : { host, port }),
    ...(url.database ? { database: url.database } : {}),
    ...(url.user ? { username: url.user } : {}),
    ...(url.password ? { password: url.password } : {}),
    ...(url.ssl ? { ssl: url.ssl as ReaderOptions["ssl"] } : {}),
    max,
    // One statement per connection at a time, as with pg: a page never waits behind another
    // request's statement on its connection, only for a free connection.
    max_pipeline: 1,
    idle_timeout: 30,
    connect_timeout: connectSeconds,
    keep_alive: 10,
    backoff,
    fetch_types: true, // the array types' serializers (text[] parameters)
    onnotice: ignore,
    connection: {
      application_name: client.application_name as string,
      options: `${client.options} -c statement_timeout=${statementMs} -c lock_timeout=${statementMs} -c plan_cache_mode=${planCacheMode}`,
    },
  };
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new Error(
      `database URL: ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}
