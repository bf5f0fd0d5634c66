/**
 * Serialized batch-query answers, reused while the tenant's data version is unchanged.
 *
 * Never stale: the store bumps a tenant's version in the same transaction as every change its
 * query results depend on (SQLite: triggers of migration 3, so also changes made by another
 * process on the same file), and the version is read before the answer is computed, so an
 * entry holds data at least as new as its version; a request whose freshly read version equals
 * the entry's therefore gets exactly what the query would answer now. The key holds the tenant,
 * the caller's scope (role and project grants, read fresh per request) and the normalized query.
 * Bounded in bytes, least recently used out first.
 */
import type { Caller } from "../auth/authenticate.js";
import type { BatchQuery } from "../instances/model.js";

interface Entry {
  version: number;
  body: Buffer;
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  static key(caller: Caller, q: BatchQuery): string {
    const scope = caller.role === "admin" ? "*" : [...caller.projectIds].sort().join(",");
    return JSON.stringify([
      caller.tenantId,
      scope,
      q.pageNo,
      q.pageSize,
      q.instanceId,
      q.nameContains,
      q.createdFrom,
      q.createdTo,
      q.sceneTag,
      q.poolName,
      q.order,
      q.orderBy,
    ]);
  }

  get(key: string, version: number): Buffer | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.version !== version) {
      this.bytes -= entry.body.length;
      return undefined;
    }
    this.entries.set(key, entry); // most recently used last
    return entry.body;
  }

  set(key: string, version: number, body: Buffer): void {
    if (body.length > this.maxBytes / 4) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.body.length;
    }
    this.entries.set(key, { version, body });
    this.bytes += body.length;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.body.length;
    }
  }
}
