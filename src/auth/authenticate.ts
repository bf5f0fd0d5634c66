/**
 * Token → caller, with the gateway's answers for every way a token can be unusable.
 * Read from the store on every request: a revoked token, a changed role or an unsubscribed
 * tenant takes effect on the very next request.
 */
import { ApiError, GATEWAY, KOOPHONE } from "../errors.js";
import type { Principal, Store } from "../store/types.js";
import { hashToken } from "./secrets.js";

/** The authenticated caller of a tenant-API request. */
export interface Caller {
  tenantId: string;
  userId: string;
  role: Principal["role"];
  projectIds: readonly string[];
  /** Requests per second for the tenant; null = the server default. */
  rateLimit: number | null;
  /** The tenant's query version as read with the credentials, when the store keeps one. */
  queryVersion?: number;
}

const unauthorized = (why: string) => new ApiError(GATEWAY.unauthorized, why);

/** Order of checks (spec): token (401) → tenant exists (500 0000) → subscription (400 1004). */
export async function authenticateToken(
  store: Store,
  token: string | undefined,
  now: Date,
): Promise<Caller> {
  if (token === undefined || token === "") {
    throw unauthorized(
      "Incorrect IAM authentication information: the X-Auth-Token header is missing",
    );
  }
  const principal = await store.principalByTokenHash(hashToken(token));
  if (!principal)
    throw unauthorized("Incorrect IAM authentication information: the token is unknown");
  if (principal.revoked)
    throw unauthorized("Incorrect IAM authentication information: the token has been revoked");
  if (principal.expiresAt <= now.toISOString()) {
    throw unauthorized("Incorrect IAM authentication information: the token has expired");
  }
  return callerOf(principal);
}

/** The user and tenant facts of a token's or an access key's principal → the caller. */
export function callerOf(principal: Omit<Principal, "tokenId" | "expiresAt">): Caller {
  if (principal.tenantDeleted)
    throw new ApiError(KOOPHONE.tenantMissing, "The tenant does not exist");
  if (!principal.subscribed) {
    throw new ApiError(
      KOOPHONE.notSubscribed,
      "The tenant has not subscribed to the KooPhone service",
    );
  }
  return {
    tenantId: principal.tenantId,
    userId: principal.userId,
    role: principal.role,
    projectIds: principal.projectIds,
    rateLimit: principal.rateLimit,
    ...(principal.queryVersion !== undefined && { queryVersion: principal.queryVersion }),
  };
}
