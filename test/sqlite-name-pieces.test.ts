/**
 * SQLite's index of names' 4-character pieces (migration 9), through which a needle of 4
 * characters or more finds its candidates: after every kind of write (a bulk import, indexed
 * set-wise; the store's own renames and deletions; another writer's inserts, renames and
 * deletions, indexed by the triggers) each piece matches exactly the names that hold it, and the
 * search answers what a filter over the names answers, also for a name longer than the index
 * lists pieces of. A piece that drifted would hide a match.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchQuery } from "../src/instances/model.js";
import { openStore } from "../src/store/create-store.js";
import { nameCandidates } from "../src/store/sqlite/instance-query.js";
import { migrations, namePieces, PIECE_POSITIONS } from "../src/store/sqlite/migrations.js";
import type { Store } from "../src/store/types.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { copyInstances } from "./helpers/sqlite.js";
import { sqlite } from "./helpers/stores.js";

/** The distinct 4-character pieces of `name`, by character, starting at most `upTo` in. */
const piecesOf = (name: string, upTo = Number.POSITIVE_INFINITY) => {
  const chars = [...name];
  const pieces = new Set<string>();
  for (let at = 0; at + 4 <= chars.length && at < upTo; at++) {
    pieces.add(chars.slice(at, at + 4).join(""));
  }
  return pieces;
};
const hex = (piece: string) => Buffer.from(piece, "utf8").toString("hex").toUpperCase();

const NAMES = [
  "CPH-apps-0007777",
  "CPH-apps-0077777",
  "云手机-7777",
  "云手机-17777",
  "abc",
  "aaaaaa",
  "Emoji-😀😀-box",
  "mIxEd-Case-Name",
  "to-lengthen",
  "to-rename",
  "to-delete",
  'Quote"d-Name',
];

describe("SQLite name pieces", () => {
  let ctx: Awaited<ReturnType<typeof sqlite.create>>;
  let store: Store;
  let other: Database.Database;
  let tenant: TenantFixture;

  beforeAll(async () => {
    ctx = await sqlite.create();
    store = ctx.store;
    tenant = await makeTenant(store, "pieces", 1);
    await addInstances(
      store,
      tenant.tenantId,
      [...NAMES, ...Array.from({ length: 300 }, (_, i) => `n-${(i * 7919) % 1000}`)].map(
        (instance_name) => ({
          instance_name,
          region: "cn-north-4",
          instance_sku: "sku",
          project_id: tenant.projects[0]?.project_id,
          pool_name: "apps",
        }),
      ),
    );
    other = new Database(ctx.url);
    other.pragma("busy_timeout = 5000");
  }, 60_000);

  afterAll(async () => {
    other?.close();
    await ctx?.dispose();
  });

  const folded = () =>
    other.prepare("SELECT row_id, name_folded FROM instances").all() as {
      row_id: number;
      name_folded: string;
    }[];

  /**
   * Pieces whose matches in the index differ from the names holding them (where the index
   * lists them: from the first PIECE_POSITIONS characters).
   */
  const drifted = () => {
    const rows = folded();
    const holders = new Map<string, number[]>();
    for (const { row_id, name_folded } of rows) {
      for (const piece of piecesOf(name_folded, PIECE_POSITIONS)) {
        holders.set(piece, [...(holders.get(piece) ?? []), row_id]);
      }
    }
    const match = other
      .prepare("SELECT rowid FROM instance_name_pieces WHERE instance_name_pieces MATCH ?")
      .pluck();
    const wrong: string[] = [];
    for (const [piece, expected] of holders) {
      const found = match.all(`"${hex(piece)}"`) as number[];
      if (found.join() !== expected.sort((a, b) => a - b).join()) wrong.push(piece);
    }
    return { pieces: holders.size, wrong };
  };

  /** Every page of `needle`'s matches through the store, against a filter over the names. */
  const expectSearch = async (needle: string) => {
    const expected = folded()
      .filter(({ name_folded }) => name_folded.includes(needle))
      .map(({ name_folded }) => name_folded)
      .sort();
    const query: BatchQuery = {
      pageNo: 1,
      pageSize: 100,
      order: "asc",
      orderBy: "instance_id",
      nameContains: needle,
    };
    const page = await store.queryInstances({ tenantId: tenant.tenantId }, query);
    expect(page.total, needle).toBe(expected.length);
    expect(page.rows.map((r) => r.instance_name.toLowerCase()).sort(), needle).toEqual(expected);
    return expected.length;
  };

  it("lists a name's 4-character pieces by character, as hex of their UTF-8 bytes", () => {
    const of = (name: string) =>
      other
        .prepare(`SELECT ${namePieces("?")}`)
        .pluck()
        .get(name, name, name) as string;
    expect(of("云手机-7777").split(" ").sort()).toEqual(
      [...piecesOf("云手机-7777")].map(hex).sort(),
    );
    expect(of("emoji-😀😀-b").split(" ")).toContain(hex("😀😀-b"));
    expect(of("abc")).toBe("");
    expect(of("abcd")).toBe(hex("abcd"));
    const long = "x".repeat(PIECE_POSITIONS + 3);
    expect(of(long).endsWith(" long")).toBe(false);
    expect(of(`${long}y`).endsWith(" long")).toBe(true);
  });

  it("matches a needle's pieces as FTS5 terms, the trigram index below 4 characters", () => {
    expect(nameCandidates("ab")).toBeUndefined();
    expect(nameCandidates('a"b')).toEqual({ table: "instance_names", match: '"a""b"' });
    expect(nameCandidates("77777")).toEqual({
      table: "instance_name_pieces",
      match: `("${hex("7777")}") OR "long"`,
    });
    expect(nameCandidates("手机-17")?.match).toBe(
      `("${hex("手机-1")}" AND "${hex("机-17")}") OR "long"`,
    );
  });

  it("indexes a bulk import", async () => {
    expect(drifted()).toEqual({ pieces: expect.any(Number), wrong: [] });
    for (const needle of ["7777", "77777", "手机-1", "😀😀", "-cas", "n-99", "zzzz"]) {
      await expectSearch(needle);
    }
    // FTS5 query syntax in a needle is only ever text to find.
    expect(await expectSearch('e"d-')).toBe(1);
    expect(await expectSearch('") OR "')).toBe(0);
  });

  it("follows the store's own renames and deletions", async () => {
    const ids = (
      await store.queryInstances(
        { tenantId: tenant.tenantId },
        { pageNo: 1, pageSize: 3, order: "asc", orderBy: "instance_id", nameContains: "7777" },
      )
    ).rows.map((r) => r.instance_id);
    expect(ids.length).toBe(3);
    const now = new Date().toISOString();
    await store.updateInstance(ids[0] as string, {
      instance_name: "Renamed-8888",
      updated_at: now,
    });
    await store.deleteInstance(ids[1] as string);
    expect(drifted().wrong).toEqual([]);
    for (const needle of ["7777", "8888", "d-88"])
      expect(await expectSearch(needle)).toBeGreaterThan(0);
  });

  it("follows another writer's inserts, renames and deletions, and finds a name too long for the index", async () => {
    const longName = `${"q".repeat(PIECE_POSITIONS)}-tail-9999`;
    other.exec(`
      ${copyInstances("name_folded IN ('abc', 'aaaaaa', 'emoji-😀😀-box')", {
        instance_id: "'x' || instance_id",
        instance_name: "'W-' || instance_name",
        name_folded: "'w-' || name_folded",
      })}
      UPDATE instances SET instance_name = '${longName}', name_folded = '${longName}'
        WHERE name_folded = 'to-lengthen';
      UPDATE instances SET instance_name = 'Moved-6666', name_folded = 'moved-6666'
        WHERE name_folded = 'to-rename';
      DELETE FROM instances WHERE name_folded IN ('to-delete', 'cph-apps-0077777');
    `);
    expect(drifted().wrong).toEqual([]);
    for (const needle of ["w-ab", "w-aa", "w-emoji", "-999", "-del", "77777"]) {
      await expectSearch(needle);
    }
    expect(await expectSearch("tail-9999")).toBe(1); // only in pieces the index does not list
    expect(await expectSearch("d-6666")).toBe(1);
    expect(await expectSearch("to-rename")).toBe(0);
  });

  it("indexes the names written before migration 9, and goes down and up again", async () => {
    const pieces = migrations.find((m) => m.name === "name-pieces");
    expect(pieces?.version).toBe(9);
    other.exec(pieces?.down as string);
    other.prepare("DELETE FROM schema_migrations WHERE version = 9").run();
    // Written while migration 9 is down.
    other.exec(
      copyInstances("name_folded = 'abc'", {
        instance_id: "'y' || instance_id",
        instance_name: "'Down-4321'",
        name_folded: "'down-4321'",
      }),
    );
    const again = await openStore(ctx.url);
    try {
      expect(await again.migrate()).toEqual([]); // openStore applied it
      expect(drifted().wrong).toEqual([]);
      expect(await expectSearch("4321")).toBe(1);
    } finally {
      await again.close();
    }
  });
});
