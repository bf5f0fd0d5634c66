/**
 * What every tenant-API request passes before its handler, in the spec's order of checks:
 * token (401) → tenant exists (500 0000) → subscription (400 1004) → rate limit (429).
 * Parameters are checked after this, by the route.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { authenticateToken, type Caller } from "../auth/authenticate.js";
import type { Config } from "../config.js";
import { ApiError, GATEWAY } from "../errors.js";
import type { RateLimiter } from "../limits/rate-limiter.js";
import type { Store } from "../store/types.js";

declare module "fastify" {
  interface FastifyRequest {
    caller: Caller | null;
  }
}

export interface GuardDeps {
  config: Config;
  store: Store;
  limiter: RateLimiter;
}

export function registerTenantGuard(app: FastifyInstance): void {
  app.decorateRequest("caller", null);
}

/** The caller of a request that passed the guard. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error("tenant route without the tenant guard");
  return request.caller;
}

export function tenantGuard({ config, store, limiter }: GuardDeps): onRequestAsyncHookHandler {
  return async (request, reply) => {
    // Tenant data is per caller and changes under the operator's hand: never cache it.
    reply.header("cache-control", "no-store");
    const token = request.headers["x-auth-token"];
    const caller = await authenticateToken(
      store,
      Array.isArray(token) ? token[0] : token,
      new Date(),
    );
    const decision = await limiter.consume(
      caller.tenantId,
      caller.rateLimit ?? config.defaultRateLimit,
    );
    if (!decision.allowed) {
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      throw new ApiError(
        GATEWAY.throttled,
        "The API has reached its request limit for this tenant; retry later",
        {
          "retry-after": String(seconds),
        },
      );
    }
    request.caller = caller;
  };
}
