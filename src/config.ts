/**
 * Environment variables and command-line flags, parsed once into a frozen Config.
 * Nothing else in the code base reads process.env: the config is handed to whoever needs it.
 */

import { availableParallelism } from "node:os";
import { parseSecretKey } from "./auth/secret-box.js";

export type ErrorStatusMode = "seed" | "http200";

export interface Config {
  readonly host: string;
  readonly port: number;
  /** A SQLite file path, `sqlite:` URL or `:memory:`; `postgres://` URLs select PostgreSQL. */
  readonly databaseUrl: string;
  /** Reject unknown query parameters and a missing x-request-id (upstream behaviour). */
  readonly strict: boolean;
  readonly errorStatus: ErrorStatusMode;
  /** Requests per second a tenant may make when its own `rate_limit` is not set. */
  readonly defaultRateLimit: number;
  /** Operator key for the admin API; the admin routes exist only when it is set. */
  readonly adminKey: string | undefined;
  readonly logLevel: string;
  /** Whole-request limit; Fastify's default of 0 (none) is unsafe without a proxy in front. */
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Longest a graceful shutdown waits for in-flight requests before exiting anyway. */
  readonly shutdownGraceMs: number;
  /**
   * Processes serving HTTP (PHONEFLEET_WORKERS, `serve --workers`): 1 = this process alone; more
   * = a node:cluster primary that forks that many workers on the same port.
   */
  readonly workers: number;
  /**
   * Threads reading SQLite pages beside each serving process (PHONEFLEET_SQLITE_READERS):
   * 0 = none, the process reads on its own; `auto` (default) = 2 where there is a second core
   * (the best of 0–4 on the 2-core bench machine), else 0.
   */
  readonly sqliteReaders: number;
  readonly tokenTtlSeconds: number;
  /** Memory for reusing batch-query answers while a tenant's data is unchanged; 0 = off. */
  readonly responseCacheMb: number;
  /** Redis shared by the replicas for rate limits (REDIS_URL); unset = counted per process. */
  readonly redisUrl: string | undefined;
  /**
   * Server key (PHONEFLEET_SECRET_KEY, 32 bytes) that encrypts access-key secrets at rest; when
   * absent, a key file beside the SQLite database is used (src/auth/secret-box.ts).
   */
  readonly secretKey: Buffer | undefined;
}

/** Flags given on the command line win over the environment. */
export interface ConfigOverrides {
  host?: string;
  port?: string | number;
  db?: string;
  strict?: boolean;
  errorStatus?: string;
  logLevel?: string;
  /** Already checked by the command line's own parser (parseWorkers). */
  workers?: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

export const DEFAULT_DATABASE = "phonefleet.db";

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  flags: ConfigOverrides = {},
): Config {
  const errorStatus = flags.errorStatus ?? env.PHONEFLEET_ERROR_STATUS ?? "seed";
  if (errorStatus !== "seed" && errorStatus !== "http200") {
    throw new ConfigError(
      `error status mode must be "seed" or "http200", got ${JSON.stringify(errorStatus)}`,
    );
  }
  const secretKeyText = env.PHONEFLEET_SECRET_KEY;
  const secretKey = secretKeyText ? parseSecretKey(secretKeyText) : undefined;
  if (secretKeyText && !secretKey) {
    throw new ConfigError(
      "PHONEFLEET_SECRET_KEY must be 32 bytes written as 64 hex digits or base64",
    );
  }
  const adminKey = env.PHONEFLEET_ADMIN_KEY;
  if (adminKey !== undefined && adminKey !== "" && adminKey.length < 16) {
    throw new ConfigError("PHONEFLEET_ADMIN_KEY must be at least 16 characters");
  }
  return Object.freeze({
    host: flags.host ?? env.HOST ?? "127.0.0.1",
    port: integer("port", flags.port ?? env.PORT ?? "8080", 0, 65535),
    databaseUrl: flags.db ?? env.DATABASE_URL ?? DEFAULT_DATABASE,
    strict: flags.strict ?? bool("PHONEFLEET_STRICT", env.PHONEFLEET_STRICT),
    errorStatus,
    defaultRateLimit: integer(
      "PHONEFLEET_RATE_LIMIT",
      env.PHONEFLEET_RATE_LIMIT ?? "100",
      1,
      1_000_000,
    ),
    adminKey: adminKey === "" ? undefined : adminKey,
    redisUrl: redisUrl(env.REDIS_URL),
    logLevel: flags.logLevel ?? env.LOG_LEVEL ?? "info",
    requestTimeoutMs: integer(
      "PHONEFLEET_REQUEST_TIMEOUT_MS",
      env.PHONEFLEET_REQUEST_TIMEOUT_MS ?? "30000",
      1,
      3_600_000,
    ),
    keepAliveTimeoutMs: 72_000,
    shutdownGraceMs: integer(
      "PHONEFLEET_SHUTDOWN_GRACE_MS",
      env.PHONEFLEET_SHUTDOWN_GRACE_MS ?? "10000",
      0,
      600_000,
    ),
    responseCacheMb: integer(
      "PHONEFLEET_RESPONSE_CACHE_MB",
      env.PHONEFLEET_RESPONSE_CACHE_MB ?? "32",
      0,
      65_536,
    ),
    workers: flags.workers ?? workersFromEnv(env.PHONEFLEET_WORKERS),
    sqliteReaders: readersFromEnv(env.PHONEFLEET_SQLITE_READERS),
    tokenTtlSeconds: integer(
      "PHONEFLEET_TOKEN_TTL",
      env.PHONEFLEET_TOKEN_TTL ?? "86400",
      60,
      31_536_000,
    ),
    secretKey,
  });
}

/** More would only add memory and context switches: each worker is a whole server. */
export const MAX_WORKERS = 64;

/**
 * A worker count: a whole number from 1 to MAX_WORKERS, or `auto` for one per core the process
 * may use (os.availableParallelism). Undefined when `text` is neither.
 */
export function parseWorkers(text: string): number | undefined {
  if (text === "auto") return Math.min(availableParallelism(), MAX_WORKERS);
  if (!/^\d{1,4}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= 1 && value <= MAX_WORKERS ? value : undefined;
}

function workersFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 1;
  const workers = parseWorkers(raw);
  if (workers === undefined) {
    throw new ConfigError(
      `PHONEFLEET_WORKERS must be an integer from 1 to ${MAX_WORKERS} or "auto", got ${JSON.stringify(raw)}`,
    );
  }
  return workers;
}

/** More threads than this only contend for the one writer's file and the cores. */
const MAX_READERS = 16;

function readersFromEnv(raw: string | undefined): number {
  if (raw === undefined || raw === "auto") return availableParallelism() > 1 ? 2 : 0;
  if (!/^\d{1,2}$/.test(raw) || Number(raw) > MAX_READERS) {
    throw new ConfigError(
      `PHONEFLEET_SQLITE_READERS must be an integer from 0 to ${MAX_READERS} or "auto", got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}

function redisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^rediss?:\/\//.test(raw)) {
    throw new ConfigError(
      `REDIS_URL must be a redis:// or rediss:// URL, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

function integer(name: string, raw: string | number, min: number, max: number): number {
  const text = String(raw);
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new ConfigError(
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function bool(name: string, raw: string | undefined): boolean {
  if (raw === undefined || raw === "" || raw === "0" || raw === "false") return false;
  if (raw === "1" || raw === "true") return true;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}
