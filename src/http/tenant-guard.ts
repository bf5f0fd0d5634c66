/**
 * What every tenant-API request passes before its handler, in the spec's order of checks:
 * credentials (401) → tenant exists (500 0000) → subscription (400 1004) → rate limit (429).
 * Parameters are checked after this, by the route.
 *
 * Credentials are an X-Auth-Token or an AK/SK signature. A request with a non-empty
 * X-Auth-Token is judged by the token alone and its Authorization header is ignored (official
 * SDKs may send both); without one, an `Authorization: SDK-HMAC-SHA256 …` header is verified.
 * Tenant routes are GET-only and never read a body, so a signature is checked against the
 * payload hash the client declared (X-Sdk-Content-Sha256) or the empty body's.
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from "fastify";
import { authenticateSignedRequest, isSignedRequest } from "../auth/aksk.js";
import { authenticateToken, type Caller } from "../auth/authenticate.js";
import type { SecretBox } from "../auth/secret-box.js";
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
  /** Opens access-key secrets for signature checks. */
  secrets: SecretBox;
}

export function registerTenantGuard(app: FastifyInstance): void {
  app.decorateRequest("caller", null);
}

/** The caller of a request that passed the guard. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error("tenant route without the tenant guard");
  return request.caller;
}

export function tenantGuard({
  config,
  store,
  limiter,
  secrets,
}: GuardDeps): onRequestAsyncHookHandler {
  return async (request, reply) => {
    // Tenant data is per caller and changes under the operator's hand: never cache it.
    reply.header("cache-control", "no-store");
    const caller = await authenticate(request, store, secrets);
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

function authenticate(request: FastifyRequest, store: Store, secrets: SecretBox): Promise<Caller> {
  const now = new Date();
  const header = request.headers["x-auth-token"];
  const token = Array.isArray(header) ? header[0] : header;
  if (token?.trim() || !isSignedRequest(request.headers.authorization)) {
    return authenticateToken(store, token, now);
  }
  const { method, url, headers } = request.raw;
  return authenticateSignedRequest(
    store,
    secrets,
    { method: method ?? "GET", url: url ?? "/", headers },
    now,
  );
}
