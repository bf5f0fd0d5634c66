/**
 * Slows down password guessing on POST /v3/auth/tokens. Failed logins are counted per account
 * (user name + domain name, whether or not they exist, so the answer says nothing about which
 * accounts are real) and per client address; once either count is spent, every attempt on it
 * is refused with 429 before any password is checked, until its window has passed.
 *
 * Defaults: 5 failures per account and 20 per address in 15 minutes. A success clears the
 * account's count (not the address's: one good password must not reset a spray of guesses).
 *
 * In-process counters by default: each replica counts on its own. A shared store plugs in
 * through `limiterFactory` (buildApp passes RateLimiter.counter, Redis-backed with REDIS_URL).
 */
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { CounterOptions } from "./rate-limiter.js";

export interface LoginAttempt {
  user: string;
  domain: string;
  /** The client's address as the server sees it. */
  address: string;
}

export interface LoginThrottle {
  /**
   * Reserves one failure on the account and on the address before the password is checked (so
   * a burst of parallel guesses cannot all slip through before the first failure is counted).
   * Returns 0 to go ahead, or the milliseconds to wait; nothing is reserved then.
   */
  begin(attempt: LoginAttempt): Promise<number>;
  /** The password was right: the account's count is cleared, the address gets its one back. */
  succeeded(attempt: LoginAttempt): Promise<void>;
}

export interface LoginThrottleOptions {
  failuresPerAccount: number;
  failuresPerAddress: number;
  windowSeconds: number;
  limiterFactory: (options: CounterOptions) => RateLimiterAbstract;
}

export const LOGIN_THROTTLE_DEFAULTS: LoginThrottleOptions = {
  failuresPerAccount: 5,
  failuresPerAddress: 20,
  windowSeconds: 15 * 60,
  limiterFactory: (options) => new RateLimiterMemory(options),
};

export class FailureCountingThrottle implements LoginThrottle {
  private readonly byAccount: RateLimiterAbstract;
  private readonly byAddress: RateLimiterAbstract;

  constructor(options: Partial<LoginThrottleOptions> = {}) {
    const o = { ...LOGIN_THROTTLE_DEFAULTS, ...options };
    this.byAccount = o.limiterFactory({
      keyPrefix: "login_account",
      points: o.failuresPerAccount,
      duration: o.windowSeconds,
    });
    this.byAddress = o.limiterFactory({
      keyPrefix: "login_address",
      points: o.failuresPerAddress,
      duration: o.windowSeconds,
    });
  }

  async begin(attempt: LoginAttempt): Promise<number> {
    const account = accountKey(attempt);
    const refused = await spend(this.byAccount, account);
    if (refused > 0) return refused;
    const wait = await spend(this.byAddress, attempt.address);
    if (wait > 0) await this.byAccount.reward(account, 1);
    return wait;
  }

  async succeeded(attempt: LoginAttempt): Promise<void> {
    await Promise.all([
      this.byAccount.delete(accountKey(attempt)),
      this.byAddress.reward(attempt.address, 1),
    ]);
  }
}

/** Consumes one point: 0 when within budget, else the milliseconds until the window ends. */
async function spend(counter: RateLimiterAbstract, key: string): Promise<number> {
  try {
    await counter.consume(key);
    return 0;
  } catch (result) {
    if (result instanceof RateLimiterRes) return Math.max(1, result.msBeforeNext);
    throw result;
  }
}

/** NUL cannot occur in either name (they are validated), so the key is unambiguous. */
function accountKey({ user, domain }: LoginAttempt): string {
  return `${domain}\u0000${user}`;
}
