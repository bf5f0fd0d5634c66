/** Tenants: the operations the CLI and the admin API share. */
import { notFound } from "../errors.js";
import { HEX_ID, newHexId } from "../ids.js";
import type { Store, Tenant } from "../store/types.js";
import { NewTenant, TenantPatch } from "./schemas.js";
import { checker } from "./validate.js";

const checkNew = checker(NewTenant);
const checkPatch = checker(TenantPatch);

export interface TenantDetail extends Tenant {
  /** Instance counts keyed by running_status code. */
  instances_by_running_status: Record<string, number>;
}

export async function createTenant(store: Store, input: unknown): Promise<Tenant> {
  const body = checkNew(input);
  const tenant: Tenant = {
    tenant_id: body.tenant_id ?? newHexId(),
    name: body.name,
    subscribed: body.subscribed ?? true,
    rate_limit: body.rate_limit ?? null,
    created_at: new Date().toISOString(),
  };
  await store.createTenant(tenant);
  return tenant;
}

export async function listTenants(store: Store, limit = 100, offset = 0): Promise<Tenant[]> {
  return store.listTenants(limit, offset);
}

/** A tenant by id or, for people at a terminal, by name. */
export async function findTenant(store: Store, idOrName: string): Promise<Tenant> {
  const tenant = HEX_ID.test(idOrName)
    ? ((await store.tenantById(idOrName)) ?? (await store.tenantByName(idOrName)))
    : await store.tenantByName(idOrName);
  if (!tenant) throw notFound(`no tenant ${JSON.stringify(idOrName)}`);
  return tenant;
}

export async function getTenant(store: Store, idOrName: string): Promise<TenantDetail> {
  const tenant = await findTenant(store, idOrName);
  return {
    ...tenant,
    instances_by_running_status: await store.instanceCountsByRunningStatus(tenant.tenant_id),
  };
}

export async function updateTenant(
  store: Store,
  idOrName: string,
  input: unknown,
): Promise<Tenant> {
  const patch = checkPatch(input);
  const tenant = await findTenant(store, idOrName);
  if (!(await store.updateTenant(tenant.tenant_id, patch)))
    throw notFound(`no tenant ${JSON.stringify(idOrName)}`);
  return findTenant(store, tenant.tenant_id);
}

export async function deleteTenant(store: Store, idOrName: string): Promise<void> {
  const tenant = await findTenant(store, idOrName);
  if (!(await store.deleteTenant(tenant.tenant_id)))
    throw notFound(`no tenant ${JSON.stringify(idOrName)}`);
}
