/**
 * A SQLite file the store creates has 16 KB pages (ADR 0011); a file made before, with another
 * page size, keeps it and is served as before: SQLite changes a file's page size only when the
 * whole file is rewritten (VACUUM), which the store never does on its own.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../src/store/create-store.js";
import { addInstances, makeTenant, spreadRecords } from "./helpers/fixtures.js";

const pageSize = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma("page_size", { simple: true });
  } finally {
    db.close();
  }
};

describe("SQLite page size", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** A store on `file`, with a tenant of 250 instances; its page 3 in creation order. */
  const served = async (file: string) => {
    const store = await openStore(file);
    try {
      const tenant = await makeTenant(store, "sized", 2);
      await addInstances(
        store,
        tenant.tenantId,
        spreadRecords(tenant, 250, {
          name: (i) => `s${i}`,
          // Distinct times, so the order does not fall back on the stores' own instance ids.
          createdAt: (i) =>
            `2024-03-0${1 + (i % 9)} 10:${String(Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}`,
        }),
      );
      return await store.queryInstances(
        { tenantId: tenant.tenantId },
        { pageNo: 3, pageSize: 100, order: "asc", orderBy: "create_time" },
      );
    } finally {
      await store.close();
    }
  };

  it("creates new files with 16 KB pages", async () => {
    dir = mkdtempSync(join(tmpdir(), "phonefleet-pages-"));
    const file = join(dir, "new.db");
    const page = await served(file);
    expect(page.total).toBe(250);
    expect(page.rows).toHaveLength(50);
    expect(pageSize(file)).toBe(16384);
  });

  it("keeps the page size of a file made before, and serves it", async () => {
    dir = mkdtempSync(join(tmpdir(), "phonefleet-pages-"));
    const file = join(dir, "old.db");
    const old = new Database(file);
    old.pragma("page_size = 4096");
    old.pragma("journal_mode = WAL");
    old.exec("CREATE TABLE made_before (n INTEGER)");
    old.close();
    const page = await served(file);
    expect(page.total).toBe(250);
    expect(page.rows.map((row) => row.instance_name)).toEqual(
      (await served(join(dir, "new.db"))).rows.map((row) => row.instance_name),
    );
    expect(pageSize(file)).toBe(4096);
  });
});
