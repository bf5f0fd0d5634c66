/**
 * A name needle's page on PostgreSQL read in two statements (its matches and the page's ids,
 * then the rows by id): a change to the tenant that commits between the two never shows as a
 * page that disagrees with its total; the page is read again, and after three changes in a
 * row the one-statement read answers. A needle with more matches than the list holds is
 * counted by the one statement, which does not list them again.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { BatchQuery, Visibility, WireInstance } from "../src/instances/model.js";
import { patchInstance } from "../src/operator/instances.js";
import type { PageStatement } from "../src/store/postgres/instance-query.js";
import type { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { freshPostgresStore, POSTGRES_URL } from "./helpers/stores.js";

/** Text only the statement reading a page's rows by id holds. */
const BY_IDS = "WITH ORDINALITY AS k(instance_id, n)";

type Stream = (
  statement: PageStatement,
  onRow: (fields: (Buffer | null)[]) => void,
) => Promise<void>;

describe.runIf(POSTGRES_URL)("PostgreSQL name pages in two statements", () => {
  let ctx: Awaited<ReturnType<typeof freshPostgresStore>>;
  let store: PostgresStore;
  let acme: TenantFixture;
  let visibility: Visibility;
  let renamed = 0;

  /** Renames the next listed match so it no longer matches, as an operator would. */
  async function renameOne(): Promise<void> {
    const id = `Erly${String(2 * renamed++).padStart(4, "0")}`;
    await patchInstance(store, id, { instance_name: `Plain-renamed-${id}` });
  }

  /** Runs `before` ahead of each of the next `times` statements that read rows by id. */
  function beforeByIds(times: number, before: () => Promise<void>) {
    const reader = (store as unknown as { reader: { stream: Stream } }).reader;
    const original = reader.stream.bind(reader);
    let left = times;
    return vi.spyOn(reader, "stream").mockImplementation(async (statement, onRow) => {
      if (left > 0 && statement.text.includes(BY_IDS)) {
        left--;
        await before();
      }
      return original(statement, onRow);
    });
  }

  const query = (pageNo: number, pageSize = 100): BatchQuery => ({
    pageNo,
    pageSize,
    order: "asc",
    orderBy: "instance_id",
    nameContains: "lucky",
  });

  beforeAll(async () => {
    ctx = await freshPostgresStore();
    store = ctx.store;
    acme = await makeTenant(store, "acme");
    visibility = { tenantId: acme.tenantId };
    await addInstances(
      store,
      acme.tenantId,
      Array.from({ length: 40 }, (_, n) => ({
        instance_id: `Erly${String(n).padStart(4, "0")}`,
        instance_name: n % 2 === 0 ? `Lucky-${n}` : `Plain-${n}`,
        region: "cn-north-4",
        instance_sku: "s",
        project_id: acme.projects[n % 2]?.project_id,
        pool_name: "apps",
      })),
    );
  }, 60_000);

  afterAll(async () => {
    vi.restoreAllMocks();
    await ctx?.dispose();
  });

  /** The page's rows, each checked against the needle, and its total. */
  async function pageOf(q: BatchQuery) {
    const page = await store.queryEncodedInstances(visibility, q);
    const rows = JSON.parse(`[${Buffer.concat(page.json).toString()}]`) as WireInstance[];
    for (const row of rows) expect(row.instance_name.toLowerCase()).toContain("lucky");
    return { total: page.total, ids: rows.map((row) => row.instance_id) };
  }

  const byIds = (spy: ReturnType<typeof beforeByIds>) =>
    spy.mock.calls.filter(([statement]) => statement.text.includes(BY_IDS)).length;

  it("reads the page again when a listed row changed before the rows were read", async () => {
    expect((await pageOf(query(1))).total).toBe(20);
    const spy = beforeByIds(1, renameOne);
    try {
      // Read without the check, the page would hold Erly0000 renamed to no longer match, and
      // a total of 20 for 19 matches.
      const page = await pageOf(query(1));
      expect(page.total).toBe(19);
      expect(page.ids).toHaveLength(19);
      expect(page.ids).not.toContain("Erly0000");
      expect(byIds(spy)).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });

  it("answers from the one statement after three changes in a row", async () => {
    const spy = beforeByIds(3, renameOne);
    try {
      const page = await pageOf(query(1));
      expect(page.total).toBe(16);
      expect(page.ids).toEqual(
        Array.from({ length: 20 }, (_, n) => `Erly${String(2 * n).padStart(4, "0")}`).slice(4),
      );
      expect(byIds(spy)).toBe(3);
    } finally {
      spy.mockRestore();
    }
  });

  it("counts a needle with more matches than the list holds, without listing them again", async () => {
    const many = await makeTenant(store, "many");
    await addInstances(
      store,
      many.tenantId,
      Array.from({ length: 1_060 }, (_, n) => ({
        instance_id: `Mny${String(n).padStart(5, "0")}`,
        instance_name: n < 1_050 ? `Crowd-${n}` : `Alone-${n}`,
        region: "cn-north-4",
        instance_sku: "s",
        project_id: many.projects[n % 2]?.project_id,
        pool_name: "apps",
      })),
    );
    const reader = (store as unknown as { reader: { stream: Stream } }).reader;
    const streamed = vi.spyOn(reader, "stream");
    try {
      const crowd = { tenantId: many.tenantId };
      for (const pageNo of [1, 7, 11]) {
        const q = { ...query(pageNo), nameContains: "crowd" };
        const page = await store.queryEncodedInstances(crowd, q);
        const plain = await store.queryInstances(crowd, q);
        expect(page.total).toBe(1_050);
        const rows = JSON.parse(`[${Buffer.concat(page.json).toString()}]`) as WireInstance[];
        expect(rows.map((row) => row.instance_id)).toEqual(
          plain.rows.map((row) => row.instance_id),
        );
        page.frame?.release();
      }
      // The page's statement after the list: no list of the first matches in it.
      const pages = streamed.mock.calls.map(([statement]) => statement.text);
      expect(pages).toHaveLength(3);
      for (const text of pages) expect(text).not.toContain("WITH m AS MATERIALIZED");
    } finally {
      streamed.mockRestore();
    }
  });

  it("pages through the list in order, with the same total on every page", async () => {
    const { total, ids: all } = await pageOf(query(1));
    expect(all).toHaveLength(total);
    expect(total).toBeGreaterThan(5);
    const count = Math.ceil(total / 5);
    const seen = await Promise.all(
      Array.from({ length: count }, (_, n) => pageOf(query(n + 1, 5))),
    );
    expect(seen.map((page) => page.total)).toEqual(seen.map(() => total));
    expect(seen.flatMap((page) => page.ids)).toEqual(all);
    expect(await pageOf(query(count + 1, 5))).toEqual({ total, ids: [] });
  });
});
