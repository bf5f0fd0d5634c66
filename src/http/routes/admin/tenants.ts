/** `/admin/v1/tenants`: create, list (paged), read with instance counts, update, delete. */

import { NewTenant, TenantPatch } from "../../../operator/schemas.js";
import {
  createTenant,
  deleteTenant,
  getTenant,
  listTenants,
  updateTenant,
} from "../../../operator/tenants.js";
import { ErrorBody } from "../../schemas.js";
import { type AdminApp, type AdminDeps, admin, ERRORS } from "./route.js";
import { PageQuery, TenantDetailOut, TenantOut, TenantPage, TenantParams } from "./schemas.js";

export function tenantRoutes(app: AdminApp, { store }: AdminDeps): void {
  app.post(
    "/tenants",
    admin("adminCreateTenant", "Create a tenant", {
      body: NewTenant,
      response: { 201: TenantOut, ...ERRORS, 409: ErrorBody },
    }),
    async (request, reply) => reply.code(201).send(await createTenant(store, request.body)),
  );

  app.get(
    "/tenants",
    admin("adminListTenants", "List tenants, oldest first, a page at a time", {
      querystring: PageQuery,
      response: { 200: TenantPage, ...ERRORS },
    }),
    async (request) => {
      const limit = Number(request.query.limit ?? 100);
      const offset = Number(request.query.offset ?? 0);
      // A one-row look past the page tells whether another follows, without counting the table.
      const rows = await listTenants(store, limit, offset);
      const next = rows.length === limit ? await listTenants(store, 1, offset + limit) : [];
      return { tenants: rows, limit, offset, has_more: next.length > 0 };
    },
  );

  app.get(
    "/tenants/:tenant_id",
    admin("adminGetTenant", "Read a tenant, with its instance counts by running_status", {
      params: TenantParams,
      response: { 200: TenantDetailOut, ...ERRORS },
    }),
    async (request) => getTenant(store, request.params.tenant_id),
  );

  app.patch(
    "/tenants/:tenant_id",
    admin("adminUpdateTenant", "Rename a tenant, (un)subscribe it or change its rate limit", {
      params: TenantParams,
      body: TenantPatch,
      response: { 200: TenantOut, ...ERRORS, 409: ErrorBody },
    }),
    async (request) => updateTenant(store, request.params.tenant_id, request.body),
  );

  app.delete(
    "/tenants/:tenant_id",
    admin("adminDeleteTenant", "Delete a tenant: its instances go, its tokens stop working", {
      params: TenantParams,
      response: { 204: { type: "null" }, ...ERRORS },
    }),
    async (request, reply) => {
      await deleteTenant(store, request.params.tenant_id);
      return reply.code(204).send();
    },
  );
}
