/**
 * Per-tenant request rate limits (requests per second). In-process: each replica counts on its
 * own, so N replicas together allow N times the rate.
 */
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

export interface RateDecision {
  allowed: boolean;
  /** When refused: milliseconds until a request would be allowed again. */
  retryAfterMs: number;
}

export interface RateLimiter {
  consume(key: string, perSecond: number): Promise<RateDecision>;
}

export class MemoryRateLimiter implements RateLimiter {
  /** One limiter per distinct rate; tenants with the same rate share it under their own keys. */
  private readonly byRate = new Map<number, RateLimiterMemory>();

  async consume(key: string, perSecond: number): Promise<RateDecision> {
    let limiter = this.byRate.get(perSecond);
    if (!limiter) {
      limiter = new RateLimiterMemory({ points: perSecond, duration: 1 });
      this.byRate.set(perSecond, limiter);
    }
    try {
      await limiter.consume(key);
      return { allowed: true, retryAfterMs: 0 };
    } catch (result) {
      if (result instanceof RateLimiterRes)
        return { allowed: false, retryAfterMs: result.msBeforeNext };
      throw result;
    }
  }
}
