/**
 * Rate limits shared by every replica through Redis: two replicas each configured for 20 req/s
 * together allow 20, not 40. Each key is one Redis counter per window (an atomic INCR + EXPIRE).
 *
 * Redis is never allowed to take the service down with it: commands fail fast when it is
 * unreachable (no offline queue, short timeouts) and an in-process limiter answers instead, as if
 * Redis were not configured. Going down and coming back are each logged once.
 */
import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from "rate-limiter-flexible";
import {
  type CounterOptions,
  decide,
  perRate,
  type RateDecision,
  type RateLimiter,
} from "./rate-limiter.js";

export interface LimiterLog {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

/** Set on a consume's options by the stand-in, so the caller knows Redis did not answer. */
interface CallMark {
  degraded?: boolean;
}

/** The in-process stand-in; marks the calls it answers. */
class Insurance extends RateLimiterMemory {
  override consume(
    key: string | number,
    points?: number,
    options?: { [key: string]: unknown },
  ): Promise<RateLimiterRes> {
    if (options) (options as CallMark).degraded = true;
    return super.consume(key, points, options);
  }
}

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly byRate = new Map<string, RateLimiterRedis>();
  private degraded = false;
  private connected: Promise<void> | undefined;

  constructor(
    url: string,
    private readonly log: LimiterLog,
    private readonly keyPrefix = "phonefleet:rate",
  ) {
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1000,
      commandTimeout: 500,
      // Reconnect forever, at most every 2 s: service comes back by itself with Redis.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    });
    // Errors surface through the failed commands (and the stand-in); unhandled they would be
    // printed by ioredis on every reconnection attempt.
    this.redis.on("error", (error: Error) => this.markDegraded(error.message));
    this.redis.on("ready", () => this.markRestored());
    this.connected = new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off("ready", done);
        this.redis.off("error", done);
        this.connected = undefined;
        resolve();
      };
      const timer = setTimeout(done, 1000);
      this.redis.once("ready", done);
      this.redis.once("error", done);
    });
  }

  async consume(key: string, perWindow: number, windowSeconds = 1): Promise<RateDecision> {
    // The first requests after start wait for the first connection (1 s at most) instead of
    // being counted locally while it is still being made.
    if (this.connected) await this.connected;
    const mark: CallMark = {};
    const decision = await decide(this.limiter(perWindow, windowSeconds).consume(key, 1, mark));
    if (mark.degraded) this.markDegraded("Redis did not answer");
    else this.markRestored();
    return decision;
  }

  counter(options: CounterOptions): RateLimiterRedis {
    return new RateLimiterRedis({
      ...options,
      storeClient: this.redis,
      keyPrefix: `${this.keyPrefix}:${options.keyPrefix}`,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(options),
    });
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private limiter(perWindow: number, windowSeconds: number): RateLimiterRedis {
    return perRate(
      this.byRate,
      perWindow,
      windowSeconds,
      (rate) =>
        new RateLimiterRedis({
          storeClient: this.redis,
          keyPrefix: `${this.keyPrefix}:${rate}`,
          points: perWindow,
          duration: windowSeconds,
          rejectIfRedisNotReady: true,
          // A key over its limit is refused from memory until its window ends: a flooding tenant
          // costs no Redis round trips.
          inMemoryBlockOnConsumed: perWindow + 1,
          insuranceLimiter: new Insurance({ points: perWindow, duration: windowSeconds }),
        }),
    );
  }

  private markDegraded(reason: string): void {
    if (this.degraded) return;
    this.degraded = true;
    this.log.warn(
      { reason },
      "Redis is unreachable: rate limits are counted per process until it is back",
    );
  }

  private markRestored(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.log.info({}, "Redis is reachable again: rate limits are shared by all replicas");
  }
}
