import { MemoryRateLimiter, type RateLimiter } from "./rate-limiter.js";
import { type LimiterLog, RedisRateLimiter } from "./redis-rate-limiter.js";

/** Shared through Redis when a URL is configured, else counted in this process. */
export function createRateLimiter(redisUrl: string | undefined, log: LimiterLog): RateLimiter {
  return redisUrl ? new RedisRateLimiter(redisUrl, log) : new MemoryRateLimiter();
}
