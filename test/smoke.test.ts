import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { addInstances, makeTenant, testConfig } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

for (const factory of STORES) {
  describe(`smoke (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: Awaited<ReturnType<typeof buildApp>>;
    let token: string;
    beforeAll(async () => {
      ctx = await factory.create();
      const t = await makeTenant(ctx.store, "acme");
      token = t.adminToken;
      await addInstances(ctx.store, t.tenantId, [
        {
          instance_name: "CCTEST-00001",
          region: "cn-north-4",
          instance_sku: "sku",
          project_id: t.projects[0]?.project_id,
          pool_name: "phones",
        },
      ]);
      app = await buildApp({ config: testConfig(), store: ctx.store });
    });
    afterAll(async () => {
      await app.close();
      await ctx.dispose();
    });
    it("answers a page", async () => {
      const res = await app.inject({
        url: "/v1/instances/batch-query?page_no=1&page_size=200",
        headers: { "x-auth-token": token },
      });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      console.log(JSON.stringify(body), res.headers);
      expect(body.page_size).toBe(100);
      expect(body.data.result).toHaveLength(1);
    });
  });
}
