/**
 * Request rate limits: N requests per window (one second unless said otherwise) per key. The
 * tenant API keys them by tenant; login throttling can key them by user and use a longer window.
 *
 * In-process by default: each replica counts on its own, so N replicas together allow N times
 * the rate. With REDIS_URL the count is shared (./redis-rate-limiter.ts).
 */
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";

export interface RateDecision {
  allowed: boolean;
  /** When refused: milliseconds until a request would be allowed again. */
  retryAfterMs: number;
}

export interface RateLimiter {
  /** Counts one request of `key` against `perWindow` requests per `windowSeconds` (default 1). */
  consume(key: string, perWindow: number, windowSeconds?: number): Promise<RateDecision>;
  /**
   * A raw counter on the same backing store (shared through Redis when configured), for callers
   * that need more than consume, e.g. login throttling counting failures and clearing them.
   */
  counter?(options: CounterOptions): RateLimiterAbstract;
  close?(): Promise<void>;
}

/** `points` per `duration` seconds under `keyPrefix`. */
export interface CounterOptions {
  keyPrefix: string;
  points: number;
  duration: number;
}

export class MemoryRateLimiter implements RateLimiter {
  /** One limiter per distinct rate; keys with the same rate share it under their own names. */
  private readonly byRate = new Map<string, RateLimiterMemory>();

  async consume(key: string, perWindow: number, windowSeconds = 1): Promise<RateDecision> {
    const limiter = perRate(
      this.byRate,
      perWindow,
      windowSeconds,
      () => new RateLimiterMemory({ points: perWindow, duration: windowSeconds }),
    );
    return decide(limiter.consume(key));
  }

  counter(options: CounterOptions): RateLimiterAbstract {
    return new RateLimiterMemory(options);
  }
}

/**
 * The counter of one rate (`perWindow` per `windowSeconds`), made by `make` on its first use:
 * every key (tenant) with the same rate shares it, under its own name.
 */
export function perRate<T>(
  byRate: Map<string, T>,
  perWindow: number,
  windowSeconds: number,
  make: (rate: string) => T,
): T {
  const rate = `${perWindow}/${windowSeconds}`;
  let counter = byRate.get(rate);
  if (!counter) {
    counter = make(rate);
    byRate.set(rate, counter);
  }
  return counter;
}

/** A consume's outcome: refused with its wait, or allowed; anything else is a real error. */
export async function decide(consumed: Promise<RateLimiterRes>): Promise<RateDecision> {
  try {
    await consumed;
    return { allowed: true, retryAfterMs: 0 };
  } catch (result) {
    if (result instanceof RateLimiterRes) {
      return { allowed: false, retryAfterMs: result.msBeforeNext };
    }
    throw result;
  }
}
