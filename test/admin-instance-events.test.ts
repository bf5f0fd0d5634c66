/**
 * Backup and restore are events: `PATCH` with a status alone stamps the event with the current
 * UTC time; a time without its status is refused and changes nothing.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { wireTime } from "../src/ids.js";
import { adminApp, call } from "./admin-helpers.js";
import { batchQuery } from "./helpers/api.js";
import { addInstances, makeTenant, type TenantFixture } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

for (const factory of STORES) {
  describe(`admin API: backup and restore events (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let acme: TenantFixture;

    beforeAll(async () => {
      ctx = await factory.create();
      app = (await adminApp(ctx.store)).app;
      acme = await makeTenant(ctx.store, "acme");
      await addInstances(ctx.store, acme.tenantId, [
        {
          instance_id: "Evnt0001",
          instance_name: "one",
          region: "cn-north-4",
          instance_sku: "s",
          pool_name: "phones",
          project_id: acme.projects[0]?.project_id,
        },
      ]);
    });
    afterAll(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    async function seen() {
      const res = await batchQuery(app, acme.adminToken, {
        page_no: 1,
        page_size: 1,
        instance_id: "Evnt0001",
      });
      return res.json().data.result[0] as Record<string, unknown>;
    }

    for (const event of ["backup", "restore"] as const) {
      it(`${event}_status alone is an event happening now`, async () => {
        const before = wireTime(new Date());
        const res = await call(app, "PATCH", "/admin/v1/instances/Evnt0001", {
          [`${event}_status`]: 1,
        });
        const after = wireTime(new Date());
        expect(res.statusCode, res.body).toBe(200);
        const shown = await seen();
        expect(shown[`${event}_status`]).toBe(1);
        const time = shown[`${event}_time`] as string;
        expect(time >= before && time <= after, `${time} within [${before}, ${after}]`).toBe(true);
      });

      it(`${event}_time without ${event}_status is refused, naming the field, and changes nothing`, async () => {
        const was = await seen();
        const res = await call(app, "PATCH", "/admin/v1/instances/Evnt0001", {
          [`${event}_time`]: "2024-05-01 03:00:00",
          running_status: 2,
        });
        expect(res.statusCode).toBe(400);
        expect(res.json().error_msg).toContain(`body.${event}_time`);
        expect(await seen()).toEqual(was);
      });
    }
  });
}
