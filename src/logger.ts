/**
 * Structured JSON logs (pino). Secrets never reach a log line: request headers are not logged at
 * all, and the paths below are redacted in case an error object carries them.
 */
import cluster from "node:cluster";
import type { LoggerOptions } from "pino";

export const REDACTED_PATHS = [
  "req.headers.authorization",
  'req.headers["x-auth-token"]',
  'headers["x-auth-token"]',
  "headers.authorization",
  "password",
  "*.password",
  "token",
  "*.token",
  "secret_key",
  "*.secret_key",
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    // pid tells apart the processes of `serve --workers N` (they share one stdout); `worker` is
    // node:cluster's worker id there (a replacement gets a new one).
    base: {
      service: "phonefleet",
      pid: process.pid,
      ...(cluster.isWorker && cluster.worker ? { worker: cluster.worker.id } : {}),
    },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
  };
}
