/**
 * SQLite reader threads (src/store/sqlite/reader-pool.ts): pages read on a thread are the bytes
 * the store's own connection reads, a write is seen by the very next page read on a thread,
 * a thread that stops fails only what it held and the store reads on, pages lent in shared
 * memory come back with the same bytes and their memory is reused only once released (also
 * through the real server, many requests at once), and the setting's bad values are refused at
 * start.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { pageJson } from "../src/http/page-json.js";
import type { BatchQuery, EncodedPage } from "../src/instances/model.js";
import { startServer } from "../src/server.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { fetchPages } from "./helpers/api.js";
import { type Catalog, seedCatalog } from "./helpers/catalog.js";
import { addInstances, testConfig } from "./helpers/fixtures.js";

const BASE: BatchQuery = { pageNo: 1, pageSize: 10, order: "asc", orderBy: "create_time" };

const QUERIES: BatchQuery[] = [
  BASE,
  { ...BASE, pageNo: 3, order: "desc" },
  { ...BASE, pageSize: 100, orderBy: "instance_name" },
  { ...BASE, orderBy: "instance_id", pageNo: 2 },
  { ...BASE, nameContains: "cctest" },
  { ...BASE, sceneTag: "CLOUD_PHONE", pageNo: 2 },
  { ...BASE, poolName: "apps", order: "desc" },
  { ...BASE, createdFrom: "2024-01-01 00:00:00", createdTo: "2024-12-31 23:59:59" },
  { ...BASE, pageNo: 99 },
];

interface Fleet {
  file: string;
  /** Reads pages on two threads. */
  threaded: SqliteStore;
  /** Reads on its own connection only. */
  plain: SqliteStore;
  catalog: Catalog;
  dispose(): Promise<void>;
}

/** A database file with a 150-instance catalog, and two stores on it (threaded, plain). */
async function fleet(name: string, idPrefix: string): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), `phonefleet-${name}-`));
  const file = join(dir, `${name}.db`);
  const threaded = new SqliteStore(file);
  await threaded.migrate();
  const catalog = await seedCatalog(threaded, name, idPrefix, 150);
  await threaded.startReaders(2);
  const plain = new SqliteStore(file);
  return {
    file,
    threaded,
    plain,
    catalog,
    async dispose() {
      await threaded.close();
      await plain.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The fleet of the enclosing describe: made before its tests, thrown away after. */
function useFleet(name: string, idPrefix: string): Fleet {
  const made = {} as Fleet;
  beforeAll(async () => {
    Object.assign(made, await fleet(name, idPrefix));
  });
  afterAll(() => made.dispose());
  return made;
}

describe("SQLite reader threads", () => {
  const f = useFleet("readers", "rd");

  const visibility = () => ({ tenantId: f.catalog.tenant.tenantId });
  const member = () => ({
    tenantId: f.catalog.tenant.tenantId,
    projectIds: [f.catalog.tenant.projects[1]?.project_id as string],
  });

  it("answers every query with the bytes and total of the store's own connection", async () => {
    expect(f.threaded.readerThreads()).toHaveLength(2);
    for (const query of QUERIES) {
      for (const who of [visibility(), member()]) {
        const [onThread, onConnection] = await Promise.all([
          f.threaded.queryEncodedInstances(who, query),
          f.plain.queryEncodedInstances(who, query),
        ]);
        expect(onThread, JSON.stringify(query)).toBeDefined();
        expect(onThread?.total).toBe(onConnection?.total);
        expect(Buffer.concat(onThread?.json ?? []).toString()).toBe(
          Buffer.concat(onConnection?.json ?? []).toString(),
        );
      }
    }
  });

  it("answers many concurrent queries, each with its own page", async () => {
    const pages = Array.from({ length: 40 }, (_, n) => ({ ...BASE, pageNo: (n % 15) + 1 }));
    const answers = await Promise.all(
      pages.map((q) => f.threaded.queryEncodedInstances(visibility(), q)),
    );
    const expected = await Promise.all(
      pages.map((q) => f.plain.queryEncodedInstances(visibility(), q)),
    );
    expect(answers.map((a) => Buffer.concat(a?.json ?? []).toString())).toEqual(
      expected.map((a) => Buffer.concat(a?.json ?? []).toString()),
    );
  });

  it("sees a write on the very next page read, whichever connection wrote it", async () => {
    const newest = { ...BASE, order: "desc" as const, pageSize: 1 };
    for (const [writer, name, year] of [
      [f.threaded, "written-by-owner", 2098],
      [f.plain, "written-by-another", 2099],
    ] as const) {
      await addInstances(writer, f.catalog.tenant.tenantId, [
        {
          instance_name: name,
          region: "cn-north-4",
          instance_sku: "s",
          project_id: f.catalog.tenant.projects[0]?.project_id,
          pool_name: "apps",
          created_at: `${year}-01-01 00:00:00`,
        },
      ]);
      const page = await f.threaded.queryEncodedInstances(visibility(), newest);
      expect(Buffer.concat(page?.json ?? []).toString()).toContain(`"instance_name":"${name}"`);
    }
  });

  it("reads on its own connection once its threads have stopped", async () => {
    const expected = await f.plain.queryEncodedInstances(visibility(), BASE);
    await Promise.all(f.threaded.readerThreads().map((worker) => worker.terminate()));
    expect(f.threaded.readerThreads()).toHaveLength(0);
    const page = await f.threaded.queryEncodedInstances(visibility(), BASE);
    expect(Buffer.concat(page?.json ?? []).toString()).toBe(
      Buffer.concat(expected?.json ?? []).toString(),
    );
  });

  it("fails the pages in hand when it closes, instead of leaving them unanswered", async () => {
    const closing = new SqliteStore(f.file);
    await closing.startReaders(1);
    const page = closing.queryEncodedInstances(visibility(), BASE);
    // Awaited the way a request awaits it: the rejection has a handler before it happens.
    const failed = expect(page).rejects.toThrow("the SQLite store is closing");
    await closing.close();
    await failed;
  });

  it("starts no thread for an in-memory database, and still answers", async () => {
    const memory = new SqliteStore(":memory:");
    await memory.migrate();
    try {
      const small = await seedCatalog(memory, "mem", "me", 5);
      await memory.startReaders(2);
      expect(memory.readerThreads()).toHaveLength(0);
      const page = await memory.queryEncodedInstances({ tenantId: small.tenant.tenantId }, BASE);
      expect(page?.total).toBe(5);
    } finally {
      await memory.close();
    }
  });
});

describe("SQLite reader threads: pages lent in shared memory", () => {
  const f = useFleet("slots", "sl");

  const who = () => ({ tenantId: f.catalog.tenant.tenantId });
  const query = (n: number): BatchQuery => ({
    ...BASE,
    pageSize: 7 + (n % 11),
    pageNo: (n % 9) + 1,
  });
  const text = (page: EncodedPage | undefined) => Buffer.concat(page?.json ?? []).toString();

  it("takes a released page's memory back: pages read one after another all come lent", async () => {
    // Three times as many pages as there are slots: without the memory back, most would not
    // be lent. Released twice, a slot must still go back once (or two pages would share it).
    for (let n = 0; n < 200; n++) {
      const page = await f.threaded.queryEncodedInstances(who(), query(n));
      expect(page?.frame, `page ${n}`).toBeDefined();
      expect(text(page)).toBe(text(await f.plain.queryEncodedInstances(who(), query(n))));
      page?.frame?.release();
      page?.frame?.release();
    }
    const many = Array.from({ length: 60 }, (_, n) => query(n));
    const pages = await Promise.all(many.map((q) => f.threaded.queryEncodedInstances(who(), q)));
    const expected = await Promise.all(many.map((q) => f.plain.queryEncodedInstances(who(), q)));
    expect(pages.map(text)).toEqual(expected.map(text));
    for (const page of pages) page?.frame?.release();
  });

  it("hands pages over in memory of their own while every slot is lent, bytes unchanged", async () => {
    const many = Array.from({ length: 90 }, (_, n) => query(n));
    const pages = await Promise.all(many.map((q) => f.threaded.queryEncodedInstances(who(), q)));
    const lent = pages.filter((page) => page?.frame !== undefined);
    expect(lent.length).toBeGreaterThan(0);
    expect(lent.length).toBeLessThan(pages.length);
    const expected = await Promise.all(many.map((q) => f.plain.queryEncodedInstances(who(), q)));
    expect(pages.map(text)).toEqual(expected.map(text));
    for (const page of pages) page?.frame?.release();
  });

  it("answers many requests at once over HTTP, each with its own page's exact bytes", async () => {
    const server = await startServer(
      testConfig({ host: "127.0.0.1", port: 0, sqliteReaders: 2, responseCacheMb: 0 }),
      new SqliteStore(f.file),
    );
    try {
      const queries = Array.from({ length: 240 }, (_, n) => query(n * 7));
      // 24 requests at a time, so slots are lent, written, released and reused.
      const bodies = await fetchPages(server.url, f.catalog.tenant.adminToken, queries);
      const expected = await Promise.all(
        queries.map(async (q) => {
          const page = await f.plain.queryEncodedInstances(who(), q);
          return pageJson(page ?? { total: 0, json: [] }, q.pageNo, q.pageSize).toString();
        }),
      );
      expect(bodies).toEqual(expected);
    } finally {
      await server.close();
    }
  });
});

describe("PHONEFLEET_SQLITE_READERS", () => {
  it("takes 0 to 16, and auto", () => {
    expect(loadConfig({ PHONEFLEET_SQLITE_READERS: "0" }).sqliteReaders).toBe(0);
    expect(loadConfig({ PHONEFLEET_SQLITE_READERS: "16" }).sqliteReaders).toBe(16);
    const auto = loadConfig({ PHONEFLEET_SQLITE_READERS: "auto" }).sqliteReaders;
    expect(auto).toBe(availableParallelism() > 1 ? 2 : 0);
    expect(loadConfig({}).sqliteReaders).toBe(auto);
  });

  it.each(["-1", "17", "two", "1.5", ""])("refuses %j with a line naming it", (value) => {
    expect(() => loadConfig({ PHONEFLEET_SQLITE_READERS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ PHONEFLEET_SQLITE_READERS: value })).toThrow(
      /PHONEFLEET_SQLITE_READERS must be an integer from 0 to 16 or "auto"/,
    );
  });
});
