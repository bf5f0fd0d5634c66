/**
 * The admin API (spec/operator.md, "Admin HTTP API"): thin adapters over the operator
 * operations the CLI also runs. It exists only when an operator key is configured; without
 * one, /admin/* answers 404 like any unknown route.
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { adminAuth } from "../../admin-auth.js";
import { accessKeyRoutes } from "./access-keys.js";
import { importRoute } from "./import-instances.js";
import { instanceRoutes } from "./instances.js";
import { projectRoutes } from "./projects.js";
import type { AdminApp, AdminDeps } from "./route.js";
import { tenantRoutes } from "./tenants.js";
import { userRoutes } from "./users.js";
import { operatorValidator, parseJsonBody } from "./validation.js";

export const ADMIN_PREFIX = "/admin/v1";

export async function adminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { adminKey } = deps.config;
  if (adminKey === undefined) return;
  await app.register(
    async (scope) => {
      const admin: AdminApp = scope.withTypeProvider<TypeBoxTypeProvider>();
      admin.setValidatorCompiler(operatorValidator);
      admin.removeContentTypeParser("application/json");
      admin.addContentTypeParser("application/json", { parseAs: "string" }, parseJsonBody);
      // onRequest: the key is checked before any body is read.
      admin.addHook("onRequest", adminAuth(adminKey));
      tenantRoutes(admin, deps);
      projectRoutes(admin, deps);
      userRoutes(admin, deps);
      accessKeyRoutes(admin, deps);
      instanceRoutes(admin, deps);
      await importRoute(admin, deps);
    },
    { prefix: ADMIN_PREFIX },
  );
}
