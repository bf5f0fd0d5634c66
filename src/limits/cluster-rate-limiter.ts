/**
 * Rate limits shared by the workers of one `serve --workers N` through their cluster primary
 * (node:cluster IPC, rate-limiter-flexible's RateLimiterCluster): 2 workers with a tenant limit of
 * 20 req/s together allow 20, not 40. Used when REDIS_URL is unset; with it, Redis is shared by
 * every worker of every replica instead.
 *
 * The primary counts (startClusterLimits, called there before the workers are forked); each
 * worker asks it once per request. Should the primary not answer in time, the worker counts in
 * its own memory instead, as the Redis limiter does without Redis, and says so once.
 */
import {
  RateLimiterCluster,
  RateLimiterClusterMaster,
  RateLimiterMemory,
  RateLimiterRes,
} from "rate-limiter-flexible";
import {
  type CounterOptions,
  decide,
  perRate,
  type RateDecision,
  type RateLimiter,
} from "./rate-limiter.js";
import type { LimiterLog } from "./redis-rate-limiter.js";

/** Long enough for a busy primary, short enough that a request never hangs on it. */
const ANSWER_WITHIN_MS = 500;

/** In the cluster primary, before forking: answers the workers' RateLimiterCluster requests. */
export function startClusterLimits(): void {
  new RateLimiterClusterMaster();
}

type Health = (answered: boolean) => void;

/**
 * A counter kept by the primary; when the primary does not answer, the same operation runs on an
 * in-process counter with the same options. A refusal (RateLimiterRes) is an answer.
 */
class InsuredClusterCounter extends RateLimiterCluster {
  private readonly insurance: RateLimiterMemory;

  constructor(
    options: CounterOptions,
    private readonly health: Health,
  ) {
    super({ ...options, timeoutMs: ANSWER_WITHIN_MS });
    this.insurance = new RateLimiterMemory(options);
  }

  private insured<T>(shared: Promise<T>, local: () => Promise<T>): Promise<T> {
    return shared.then(
      (result) => {
        this.health(true);
        return result;
      },
      (error: unknown) => {
        if (error instanceof RateLimiterRes) {
          this.health(true);
          throw error;
        }
        this.health(false);
        return local();
      },
    );
  }

  override consume(key: string | number, points?: number, options?: object) {
    return this.insured(super.consume(key, points, options), () =>
      this.insurance.consume(key, points, options),
    );
  }

  override penalty(key: string | number, points?: number, options?: object) {
    return this.insured(super.penalty(key, points, options), () =>
      this.insurance.penalty(key, points, options),
    );
  }

  override reward(key: string | number, points?: number, options?: object) {
    return this.insured(super.reward(key, points, options), () =>
      this.insurance.reward(key, points, options),
    );
  }

  override block(key: string | number, seconds: number, options?: object) {
    return this.insured(super.block(key, seconds, options), () =>
      this.insurance.block(key, seconds, options),
    );
  }

  override get(key: string | number, options?: object) {
    return this.insured(super.get(key, options), () => this.insurance.get(key, options));
  }

  override delete(key: string | number, options?: object) {
    return this.insured(super.delete(key, options), () => this.insurance.delete(key, options));
  }
}

/** In a cluster worker: every count kept by the primary. */
export class ClusterRateLimiter implements RateLimiter {
  /** One counter per distinct rate, each under its own prefix in the primary. */
  private readonly byRate = new Map<string, InsuredClusterCounter>();
  private degraded = false;
  private readonly health: Health = (answered) =>
    answered ? this.markRestored() : this.markDegraded();

  constructor(private readonly log: LimiterLog) {}

  async consume(key: string, perWindow: number, windowSeconds = 1): Promise<RateDecision> {
    const counter = perRate(this.byRate, perWindow, windowSeconds, (rate) =>
      this.counter({ keyPrefix: `rate:${rate}`, points: perWindow, duration: windowSeconds }),
    );
    return decide(counter.consume(key));
  }

  counter(options: CounterOptions): InsuredClusterCounter {
    return new InsuredClusterCounter(options, this.health);
  }

  private markDegraded(): void {
    if (this.degraded) return;
    this.degraded = true;
    this.log.warn(
      {},
      "the cluster primary did not answer: rate limits are counted per worker until it does",
    );
  }

  private markRestored(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.log.info({}, "the cluster primary answers again: rate limits are shared by the workers");
  }
}
