/** `/admin/v1/tenants/{tenant_id}/projects` and `/pools`: create. */
import { createPool, createProject } from "../../../operator/projects.js";
import { NewPool, NewProject } from "../../../operator/schemas.js";
import { ErrorBody } from "../../schemas.js";
import { type AdminApp, type AdminDeps, admin, ERRORS } from "./route.js";
import { PoolOut, ProjectOut, TenantParams } from "./schemas.js";

export function projectRoutes(app: AdminApp, { store }: AdminDeps): void {
  app.post(
    "/tenants/:tenant_id/projects",
    admin("adminCreateProject", "Create a project of a tenant", {
      params: TenantParams,
      body: NewProject,
      response: { 201: ProjectOut, ...ERRORS, 409: ErrorBody },
    }),
    async (request, reply) =>
      reply.code(201).send(await createProject(store, request.params.tenant_id, request.body)),
  );

  app.post(
    "/tenants/:tenant_id/pools",
    admin("adminCreatePool", "Create a resource pool of a tenant", {
      params: TenantParams,
      body: NewPool,
      response: { 201: PoolOut, ...ERRORS, 409: ErrorBody },
    }),
    async (request, reply) =>
      reply.code(201).send(await createPool(store, request.params.tenant_id, request.body)),
  );
}
