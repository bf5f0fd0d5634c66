/**
 * The streaming import over a real socket, where inject cannot tell: a bad first record of a
 * large upload is answered with the 400 (not a reset connection) while the client is still
 * sending, and a client that disconnects mid-upload leaves the database unchanged and unlocked.
 */
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, adminApp, checksum, instanceId, ndjson } from "./admin-helpers.js";
import { makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

/** An NDJSON upload of `chunks` × 1,000 records, made as it is sent (never held whole). */
function* upload(projectId: string, chunks: number, first: number, badFirst = false) {
  for (let c = 0; c < chunks; c++) {
    const bad = badFirst && c === 0 ? { badAt: 0 } : {};
    yield Buffer.from(ndjson(1000, projectId, { first: first + c * 1000, ...bad }));
  }
}

interface Sent {
  status?: number;
  body: string;
  /** Bytes the client wrote before it stopped. */
  written: number;
  error?: Error;
}

/**
 * POSTs the chunks and resolves once the response has ended and the body has been sent in
 * full (or, with `abortAfter`, once the request was destroyed after that many chunks).
 */
function post(
  base: string,
  path: string,
  chunks: Iterable<Buffer>,
  abortAfter?: number,
): Promise<Sent> {
  return new Promise((resolve) => {
    const sent: Sent = { body: "", written: 0 };
    let responded = false;
    let finished = false;
    const settle = () => {
      if (responded && finished) resolve(sent);
    };
    const req = request(`${base}${path}`, {
      method: "POST",
      headers: { ...ADMIN, "content-type": "application/x-ndjson" },
    });
    req.on("response", (res) => {
      sent.status = res.statusCode;
      res.setEncoding("utf8");
      res.on("data", (text: string) => {
        sent.body += text;
      });
      res.on("end", () => {
        responded = true;
        settle();
      });
    });
    req.on("finish", () => {
      finished = true;
      settle();
    });
    req.on("error", (error) => {
      sent.error = error;
      resolve(sent);
    });
    const iterator = chunks[Symbol.iterator]();
    let count = 0;
    // Node's client stops relaying its socket's 'drain' to the request once the response has
    // ended, so wait on the socket too: the server keeps reading (and dropping) the body.
    let waiting = false;
    const again = () => {
      if (!waiting) return;
      waiting = false;
      pump();
    };
    const pump = () => {
      for (;;) {
        if (abortAfter !== undefined && count === abortAfter) {
          req.destroy();
          resolve(sent);
          return;
        }
        const next = iterator.next();
        if (next.done) {
          req.end();
          return;
        }
        count++;
        sent.written += next.value.length;
        if (!req.write(next.value)) {
          waiting = true;
          req.once("drain", again);
          req.socket?.once("drain", again);
          return;
        }
      }
    };
    pump();
  });
}

for (const factory of STORES) {
  describe(`instance import over a socket (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let base: string;
    let acme: TenantFixture;
    let projectId: string;
    let path: string;

    beforeAll(async () => {
      ctx = await factory.create();
      acme = await makeTenant(ctx.store, "acme");
      projectId = acme.projects[0]?.project_id as string;
      path = `/admin/v1/tenants/${acme.tenantId}/instances`;
      app = (await adminApp(ctx.store)).app;
      await app.listen({ host: "127.0.0.1", port: 0 });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    it("answers a bad first record of a 20 MB upload with the 400, without resetting the client", async () => {
      const before = await checksum(ctx.store, ctx.url);
      const sent = await post(base, path, upload(projectId, 80, 0, true));
      expect(sent.error).toBeUndefined();
      expect(sent.status).toBe(400);
      expect(JSON.parse(sent.body)).toEqual({
        error_code: "ADMIN.BAD_REQUEST",
        error_msg: expect.stringContaining("line 1: record.running_status"),
      });
      expect(sent.written).toBeGreaterThan(20 * 1024 * 1024);
      expect(await checksum(ctx.store, ctx.url)).toEqual(before);
    });

    it("rolls back when the client disconnects mid-upload; the next import goes through", async () => {
      const before = await checksum(ctx.store, ctx.url);
      const cut = await post(base, path, upload(projectId, 60, 100_000), 20);
      expect(cut.status).toBeUndefined();
      expect(cut.written).toBeGreaterThan(4 * 1024 * 1024);
      // The server notices the disconnect only once it has read what the network had already
      // delivered; until then SQLite's one writer is taken and a second import is told to try
      // again later (409), as a client would.
      let next: Sent;
      for (;;) {
        next = await post(base, path, upload(projectId, 2, 200_000));
        if (next.status !== 409) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(next.status, next.body).toBe(201);
      expect(JSON.parse(next.body)).toEqual({ created: 2000 });
      // Closing waits for every request in flight: none may still be holding an import open.
      await app.close();
      const after = await checksum(ctx.store, ctx.url);
      expect(after.instances).toBe((before.instances ?? 0) + 2000);
      expect(await ctx.store.instanceById(instanceId(100_000))).toBeUndefined();
      expect(await ctx.store.instanceById(instanceId(200_000))).toBeDefined();
    }, 120_000);
  });
}
