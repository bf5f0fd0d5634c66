/**
 * instance_name search answers the same whether its matches are few (listed once, then paged)
 * or many (counted, then paged through the index): every page of a needle matching 1,200
 * instances and of needles matching a few hundred, one and none, in both orders, against the
 * fleet filtered and sorted here, and the same in the pre-encoded form.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BatchQuery } from "../src/instances/model.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const FLEET = 1200;
const names = Array.from({ length: FLEET }, (_, n) => ({
  id: `Nam${String(n).padStart(5, "0")}`,
  name: `CPH-${(n * 7919) % FLEET}`,
}));

for (const factory of STORES) {
  describe(`instance_name search, few and many matches (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let acme: TenantFixture;

    beforeAll(async () => {
      ctx = await factory.create();
      acme = await makeTenant(ctx.store, "acme");
      await addInstances(
        ctx.store,
        acme.tenantId,
        names.map(({ id, name }) => ({
          instance_id: id,
          instance_name: name,
          region: "cn-north-4",
          instance_sku: "s",
          project_id: acme.projects[0]?.project_id,
          pool_name: "apps",
        })),
      );
    }, 60_000);
    afterAll(() => ctx?.dispose());

    for (const needle of ["cph", "cph-1", "-119", "cph-77", "nope"]) {
      it(`pages through "${needle}" exactly`, async () => {
        for (const order of ["asc", "desc"] as const) {
          const expected = names
            .filter(({ name }) => name.toLowerCase().includes(needle))
            .sort((a, b) => (a.name === b.name ? (a.id < b.id ? -1 : 1) : a.name < b.name ? -1 : 1))
            .map(({ id }) => id);
          if (order === "desc") expected.reverse();
          const seen: string[] = [];
          for (let pageNo = 1; pageNo <= Math.ceil(expected.length / 100) + 1; pageNo++) {
            const query: BatchQuery = {
              pageNo,
              pageSize: 100,
              order,
              orderBy: "instance_name",
              nameContains: needle,
            };
            const page = await ctx.store.queryInstances({ tenantId: acme.tenantId }, query);
            expect(page.total).toBe(expected.length);
            seen.push(...page.rows.map((row) => row.instance_id));
            // The pre-encoded page (PostgreSQL reads a listed needle's page in two statements).
            const encoded = await ctx.store.queryEncodedInstances?.(
              { tenantId: acme.tenantId },
              query,
            );
            if (encoded) {
              expect(encoded.total).toBe(expected.length);
              const rows = JSON.parse(`[${Buffer.concat(encoded.json).toString()}]`);
              expect(rows).toEqual(page.rows);
            }
          }
          expect(seen).toEqual(expected);
        }
      });
    }
  });
}
