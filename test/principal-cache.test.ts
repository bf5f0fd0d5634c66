/**
 * Principals held between requests (src/store/principal-cache.ts) are never stale: every change
 * an operator makes through another connection to the same database (another process on the
 * SQLite file, another replica on PostgreSQL) shows on the holder's very next lookup. And the
 * versions read shared by the requests of one event-loop turn (src/store/same-turn-read.ts)
 * never answers a request from a read made, or sent, before it asked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../src/auth/secrets.js";
import { deleteTenant, updateTenant } from "../src/operator/tenants.js";
import { createUser, issueToken, revokeToken, updateUser } from "../src/operator/users.js";
import { openStore } from "../src/store/create-store.js";
import { SameTurnRead } from "../src/store/same-turn-read.js";
import type { Store } from "../src/store/types.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

for (const factory of STORES) {
  describe(`held principals (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    /** The holder (a server) and another writer on the same database. */
    let holder: Store;
    let writer: Store;
    let tenant: TenantFixture;

    beforeAll(async () => {
      ctx = await factory.create();
      holder = ctx.store;
      writer = await openStore(ctx.url);
      tenant = await makeTenant(writer, "held", 2);
    });
    afterAll(async () => {
      await writer.close();
      await ctx.dispose();
    });

    const project = (n: number) => tenant.projects[n]?.project_id as string;

    /** A member of project 0 with a token, looked up once by the holder (so it is held). */
    async function heldMember(name: string) {
      const user = await createUser(writer, tenant.tenantId, {
        name,
        role: "member",
        project_ids: [project(0)],
      });
      const issued = await issueToken(writer, user.user_id, {}, 3600);
      const hash = hashToken(issued.token);
      const first = await holder.principalByTokenHash(hash);
      expect(first).toMatchObject({ role: "member", projectIds: [project(0)], revoked: false });
      return { userId: user.user_id, tokenId: issued.token_id, hash };
    }

    it("sees a token revoked by another connection", async () => {
      const member = await heldMember("revoked");
      await revokeToken(writer, member.tokenId);
      expect(await holder.principalByTokenHash(member.hash)).toMatchObject({ revoked: true });
    });

    it("sees a role and grants changed by another connection", async () => {
      const member = await heldMember("changed");
      await updateUser(writer, member.userId, { role: "admin" });
      expect(await holder.principalByTokenHash(member.hash)).toMatchObject({ role: "admin" });
      await updateUser(writer, member.userId, { role: "member", project_ids: [project(1)] });
      expect(await holder.principalByTokenHash(member.hash)).toMatchObject({
        role: "member",
        projectIds: [project(1)],
      });
      await updateUser(writer, member.userId, { project_ids: [] });
      expect(await holder.principalByTokenHash(member.hash)).toMatchObject({ projectIds: [] });
    });

    it("sees the tenant's subscription and rate limit changed by another connection", async () => {
      const member = await heldMember("tenant-changed");
      await updateTenant(writer, tenant.tenantId, { subscribed: false, rate_limit: 7 });
      expect(await holder.principalByTokenHash(member.hash)).toMatchObject({
        subscribed: false,
        rateLimit: 7,
      });
      await updateTenant(writer, tenant.tenantId, { subscribed: true, rate_limit: 1_000_000 });
      expect(await holder.principalByTokenHash(member.hash)).toMatchObject({
        subscribed: true,
        rateLimit: 1_000_000,
      });
    });

    it("reads the query version fresh while it holds the principal", async () => {
      const member = await heldMember("versioned");
      const before = (await holder.principalByTokenHash(member.hash))?.queryVersion as number;
      await addInstances(writer, tenant.tenantId, [
        {
          instance_name: "v1",
          region: "cn-north-4",
          instance_sku: "s",
          project_id: project(0),
          pool_name: "apps",
        },
      ]);
      const after = (await holder.principalByTokenHash(member.hash))?.queryVersion as number;
      expect(after).toBeGreaterThan(before);
    });

    it("finds a token issued after the holder missed it, and the same principal when nothing changed", async () => {
      const later = hashToken("pf_issued_later");
      expect(await holder.principalByTokenHash(later)).toBeUndefined();
      const user = await createUser(writer, tenant.tenantId, { name: "later", role: "admin" });
      await writer.insertToken({
        token_id: "token-issued-later",
        user_id: user.user_id,
        token_hash: later,
        issued_at: new Date().toISOString(),
        expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      });
      expect(await holder.principalByTokenHash(later)).toMatchObject({ userId: user.user_id });
      const member = await heldMember("steady");
      const again = await holder.principalByTokenHash(member.hash);
      const fresh = await writer.principalByTokenHash(member.hash);
      expect(again).toEqual(fresh);
    });

    it("sees many concurrent lookups after a change, all of them", async () => {
      const member = await heldMember("concurrent");
      await updateUser(writer, member.userId, { role: "admin" });
      const seen = await Promise.all(
        Array.from({ length: 40 }, () => holder.principalByTokenHash(member.hash)),
      );
      expect(seen.map((p) => p?.role)).toEqual(Array(40).fill("admin"));
    });

    // Last: the tenant is gone for the tests after it.
    it("sees the tenant deleted by another connection", async () => {
      const member = await heldMember("deleted");
      await deleteTenant(writer, tenant.tenantId);
      expect(await holder.principalByTokenHash(member.hash)).toMatchObject({
        tenantDeleted: true,
      });
    });
  });
}

describe("SameTurnRead", () => {
  /** A read of a value that the test changes, counting the reads and the keys of each. */
  function countedRead() {
    const state = { value: 1, fail: false };
    const reads: string[][] = [];
    const shared = new SameTurnRead<number>((keys) => {
      reads.push(keys);
      if (state.fail) throw new Error("read failed");
      return new Map(keys.filter((k) => k !== "missing").map((k) => [k, state.value]));
    });
    return { shared, reads, state };
  }
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it("answers every key asked in one turn from one read, made after the last of them asked", async () => {
    const { shared, reads, state } = countedRead();
    const first = shared.load("t");
    const second = shared.load("t");
    const third = shared.load("u");
    // A write committed after the first asked, before the turn ended: all of them see it.
    state.value = 2;
    expect(reads).toEqual([]);
    expect(await Promise.all([first, second, third])).toEqual([2, 2, 2]);
    expect(reads).toEqual([["t", "u"]]);
  });

  it("reads again for a key asked after the read ran, and sees what changed since", async () => {
    const { shared, reads, state } = countedRead();
    expect(await shared.load("t")).toBe(1);
    state.value = 3;
    expect(await shared.load("t")).toBe(3);
    expect(reads).toEqual([["t"], ["t"]]);
  });

  it("fails the requests of a failed read only, and reads again for the next", async () => {
    const { shared, state } = countedRead();
    state.fail = true;
    const failed = shared.load("t");
    await expect(failed).rejects.toThrow("read failed");
    state.fail = false;
    await nextTurn();
    expect(await shared.load("t")).toBe(1);
  });

  it("fails a request whose key the read did not answer, and answers the others", async () => {
    const { shared } = countedRead();
    const missing = shared.load("missing");
    const present = shared.load("t");
    await expect(missing).rejects.toThrow(/did not answer/);
    expect(await present).toBe(1);
  });

  describe("with an asynchronous read (PostgreSQL's round trip)", () => {
    /** A read whose answers the test releases one at a time. */
    function controlledRead() {
      const calls: { keys: string[]; answer(values: Record<string, number>): void }[] = [];
      const shared = new SameTurnRead<number>(
        (keys) =>
          new Promise((resolve) => {
            calls.push({ keys, answer: (values) => resolve(new Map(Object.entries(values))) });
          }),
      );
      return { shared, calls };
    }

    it("answers a key asked while a read is in flight from the next read, never that one", async () => {
      const { shared, calls } = controlledRead();
      const first = shared.load("t");
      await nextTurn();
      expect(calls.map((c) => c.keys)).toEqual([["t"]]);
      // Asked after the read was sent: it must wait for one sent after it asked.
      const second = shared.load("t");
      const third = shared.load("u");
      await nextTurn();
      expect(calls).toHaveLength(1);
      calls[0]?.answer({ t: 1 });
      expect(await first).toBe(1);
      // Sent in a turn after the first read completed.
      await nextTurn();
      await nextTurn();
      expect(calls.map((c) => c.keys)).toEqual([["t"], ["t", "u"]]);
      calls[1]?.answer({ t: 2, u: 5 });
      expect(await second).toBe(2);
      expect(await third).toBe(5);
    });
  });
});
