/**
 * The operator's key: every admin request carries `Authorization: Bearer <PHONEFLEET_ADMIN_KEY>`.
 *
 * Both sides are hashed with SHA-256 before the comparison so that timingSafeEqual always
 * compares 32 bytes: neither the key's content nor its length leaks through response timing.
 * Tenant credentials (X-Auth-Token, a tenant token sent as Bearer) are not admin keys and meet
 * the same 401 as a wrong key.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { onRequestAsyncHookHandler } from "fastify";
import { ApiError, OPERATOR } from "../errors.js";

const BEARER = /^Bearer +(\S+) *$/i;

const digest = (text: string) => createHash("sha256").update(text).digest();

export function adminAuth(adminKey: string): onRequestAsyncHookHandler {
  const expected = digest(adminKey);
  return async (request, reply) => {
    // Admin answers are about other people's data: never cache them.
    reply.header("cache-control", "no-store");
    const header = request.headers.authorization;
    const given = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new ApiError(
        OPERATOR.unauthorized,
        given === undefined
          ? "The admin API needs the header Authorization: Bearer <operator key>"
          : "The operator key is wrong",
        { "www-authenticate": 'Bearer realm="phonefleet-admin"' },
      );
    }
  };
}
