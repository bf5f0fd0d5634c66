/**
 * PostgreSQL's import writes each batch in creation order, so that instances created together
 * share heap pages, as a page of the batch query reads them. Which records are refused, and
 * which one an error names, stays what the source order decides: of two records with one id
 * the later is refused, and of several ids already taken the first in the source is named.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { newInstanceId } from "../src/ids.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { freshPostgresStore, POSTGRES_URL } from "./helpers/stores.js";

// Generated ids as the store draws them, unless a test says otherwise.
vi.mock("../src/ids.js", async (actual) => {
  const ids = await actual<typeof import("../src/ids.js")>();
  return { ...ids, newInstanceId: vi.fn(ids.newInstanceId) };
});

describe.runIf(POSTGRES_URL)("PostgreSQL import order", () => {
  let ctx: Awaited<ReturnType<typeof freshPostgresStore>>;
  let tenant: TenantFixture;

  beforeAll(async () => {
    ctx = await freshPostgresStore();
    tenant = await makeTenant(ctx.store, "ordered", 1);
  }, 60_000);

  afterAll(() => ctx?.dispose());

  const record = (id: string, minute: number) => ({
    instance_id: id,
    instance_name: `n-${id}`,
    region: "cn-north-4",
    instance_sku: "sku",
    project_id: tenant.projects[0]?.project_id,
    pool_name: "apps",
    created_at: `2024-03-01 10:${String(minute).padStart(2, "0")}:00`,
  });
  const stored = async () =>
    (await ctx.plain.query("SELECT instance_id FROM instances ORDER BY ctid")).rows.map(
      (r) => r.instance_id as string,
    );

  it("lays a batch out in creation order", async () => {
    // Given newest first, and two of one minute: stored by time, then id.
    await addInstances(ctx.store, tenant.tenantId, [
      record("Ord00003", 30),
      record("Ord00002", 20),
      record("Ord00005", 10),
      record("Ord00004", 10),
      record("Ord00001", 5),
    ]);
    expect(await stored()).toEqual(["Ord00001", "Ord00004", "Ord00005", "Ord00002", "Ord00003"]);
  });

  it("refuses the later of two records with one id, whatever their times", async () => {
    const refused = addInstances(ctx.store, tenant.tenantId, [
      record("Dup00001", 50),
      record("Dup00002", 40),
      record("Dup00001", 1),
    ]);
    await expect(refused).rejects.toThrow("index 2: instance_id Dup00001 already exists");
    expect((await stored()).length).toBe(5); // nothing of that import
  });

  it("keeps every record when two generated ids collide in a batch", async () => {
    // Both records draw the same id first. The one first in the source keeps it, the other
    // draws again: in creation order, the later one would have been stored under it, and the
    // other taken for stored, then stored a second time under a new id.
    vi.mocked(newInstanceId).mockReturnValueOnce("Gen00001").mockReturnValueOnce("Gen00001");
    const { instance_id: _a, ...first } = record("GenFirst", 50);
    const { instance_id: _b, ...second } = record("GenLater", 1);
    await addInstances(ctx.store, tenant.tenantId, [first, second]);
    const { rows } = await ctx.plain.query(
      "SELECT instance_id, instance_name FROM instances WHERE instance_name LIKE 'n-Gen%' ORDER BY 2",
    );
    expect(rows.map((r) => r.instance_name)).toEqual(["n-GenFirst", "n-GenLater"]);
    expect(rows[0].instance_id).toBe("Gen00001");
    expect(rows[1].instance_id).not.toBe("Gen00001");
  });

  it("names the first record in the source whose id is taken", async () => {
    const before = (await stored()).length;
    const refused = addInstances(ctx.store, tenant.tenantId, [
      record("New00001", 1),
      record("Ord00003", 59), // taken: named, though it sorts after the next one
      record("Ord00001", 0), // taken too, and first by time
    ]);
    await expect(refused).rejects.toThrow("index 1: instance_id Ord00003 already exists");
    expect((await stored()).length).toBe(before); // nothing of that import
  });
});
