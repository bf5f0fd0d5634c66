/**
 * PostgreSQL leaves room on instances' heap pages (migration 12, fill factor 85), so that an
 * instance's status change keeps its new version on the row's own page: a HOT update, which
 * writes no entry in any of the table's indexes (name searches then do not slow down as the
 * fleet's statuses change). Here: rows imported in one batch fill pages only so far, and status
 * changes through the operator side stay on their pages; without the migration they move.
 */
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { patchInstance } from "../src/operator/instances.js";
import type { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { addInstances, makeTenant, spreadRecords } from "./helpers/fixtures.js";
import { freshPostgresStore, POSTGRES_URL } from "./helpers/stores.js";

describe.runIf(POSTGRES_URL)("PostgreSQL status changes as HOT updates", () => {
  let ctx: Awaited<ReturnType<typeof freshPostgresStore>> | undefined;
  afterEach(() => ctx?.dispose());

  /** The heap page holding each of the instances, by id. */
  const pages = async (plain: pg.Client, ids: string[]) => {
    const { rows } = await plain.query(
      `SELECT instance_id, (ctid::text::point)[0]::int AS page FROM instances
       WHERE instance_id = ANY($1)`,
      [ids],
    );
    return Object.fromEntries(rows.map((row) => [row.instance_id, row.page]));
  };

  /**
   * 300 instances imported into a fresh store (after `before`), then the status of one on each of
   * the first three heap pages changed through the operator side: where each was, and is.
   */
  const changeStatuses = async (
    before?: (store: PostgresStore, plain: pg.Client) => Promise<void>,
  ) => {
    ctx = await freshPostgresStore();
    const { store, plain } = ctx;
    await before?.(store, plain);
    const tenant = await makeTenant(store, "churn", 2);
    await addInstances(
      store,
      tenant.tenantId,
      spreadRecords(tenant, 300, {
        name: (i) => `churn-${i}`,
        createdAt: (i) =>
          `2024-05-01 00:${String(Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}`,
      }),
    );
    const { rows } = await plain.query(
      `SELECT DISTINCT ON (page) instance_id, (ctid::text::point)[0]::int AS page
       FROM instances WHERE (ctid::text::point)[0] < 3 ORDER BY page, instance_id`,
    );
    const ids = rows.map((row) => row.instance_id as string);
    expect(ids).toHaveLength(3);
    const was = await pages(plain, ids);
    for (const id of ids) {
      await patchInstance(store, id, { running_status: 3, login_status: 1 });
    }
    return { was, is: await pages(plain, ids), ids, store };
  };

  it("keeps a status change on the row's own page", async () => {
    const { was, is, ids, store } = await changeStatuses();
    expect(is).toEqual(was);
    const row = await store.instanceById(ids[0] as string);
    expect(row).toMatchObject({ running_status: 3, login_status: 1 });
  });

  it("moves it to another page without the migration's room (pages filled to 100%)", async () => {
    const { was, is } = await changeStatuses(async (store) => {
      await store.migrateDown(11);
    });
    for (const id of Object.keys(was)) expect(is[id]).not.toBe(was[id]);
  });
});
