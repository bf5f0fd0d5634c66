import cluster from "node:cluster";
import { ClusterRateLimiter } from "./cluster-rate-limiter.js";
import { MemoryRateLimiter, type RateLimiter } from "./rate-limiter.js";
import { type LimiterLog, RedisRateLimiter } from "./redis-rate-limiter.js";

/**
 * Shared through Redis when a URL is configured; else, in a worker of `serve --workers N`, shared
 * by the workers through their primary; else counted in this process.
 */
export function createRateLimiter(redisUrl: string | undefined, log: LimiterLog): RateLimiter {
  if (redisUrl) return new RedisRateLimiter(redisUrl, log);
  return cluster.isWorker ? new ClusterRateLimiter(log) : new MemoryRateLimiter();
}
