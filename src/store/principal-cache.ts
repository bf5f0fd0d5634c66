/**
 * The principals of recently used tokens, each held with its tenant's auth version as read in the
 * same statement (migration 7 of both stores: a number per tenant, bumped in the writer's own
 * transaction by every change to the tenant's tokens, users, grants or its own row).
 *
 * Never stale: a held principal is used only after the request has read the tenant's auth
 * version again and found it unchanged, which means no change to anything the principal was
 * built from has committed since it was read. That read is one primary-key lookup, against the
 * join of four tables and the grant list it replaces (issue 5: the credentials were a tenth of a
 * cached answer's CPU). Unknown tokens are never held: issuing a token does not bump the version.
 */
import type { Principal } from "./types.js";

/** The tenant's two versions, read together on every request. */
export interface TenantVersions {
  auth: number;
  query: number;
}

export class PrincipalCache {
  private readonly entries = new Map<string, Principal>();

  constructor(private readonly maxEntries = 10_000) {}

  /**
   * The token's principal: the held one when `versionsOf` finds its tenant's auth version
   * unchanged (with the query version just read), else the one `read` finds, then held.
   */
  async get(
    tokenHash: string,
    versionsOf: (tenantId: string) => Promise<TenantVersions>,
    read: () => Promise<Principal | undefined>,
  ): Promise<Principal | undefined> {
    const held = this.entries.get(tokenHash);
    if (held) {
      const versions = await versionsOf(held.tenantId);
      if (versions.auth === (held.authVersion ?? 0))
        return { ...held, queryVersion: versions.query };
    }
    const found = await read();
    if (!found) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    if (this.entries.size >= this.maxEntries && !this.entries.has(tokenHash)) {
      this.entries.clear(); // rare: more live tokens than this start over
    }
    this.entries.set(tokenHash, found);
    return found;
  }
}
