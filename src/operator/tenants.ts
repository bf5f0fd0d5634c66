/** Tenants: the operations the CLI and the admin API share. */
import { badInput, conflict, notFound } from "../errors.js";
import { HEX_ID, newHexId } from "../ids.js";
import { STATUS_CODES } from "../instances/model.js";
import type { Store, Tenant } from "../store/types.js";
import { NewTenant, TenantPatch } from "./schemas.js";
import { checker } from "./validate.js";

const checkNew = checker(NewTenant);
const checkPatch = checker(TenantPatch);

export interface TenantDetail extends Tenant {
  /** Instance counts keyed by running_status code, every code present (0 when none). */
  instances_by_running_status: Record<string, number>;
}

/** Paging bounds of the tenant list: a page is at most MAX_PAGE tenants. */
export const MAX_PAGE = 1000;
const MAX_OFFSET = 1_000_000_000;

export async function createTenant(store: Store, input: unknown): Promise<Tenant> {
  const body = checkNew(input);
  // Named here rather than left to the store's unique index, whose message would also show the
  // id just generated for the refused tenant. The index still settles a race.
  if (await store.tenantByName(body.name)) {
    throw conflict(`tenant ${JSON.stringify(body.name)} already exists`);
  }
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
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE)
    throw badInput(`limit must be an integer from 1 to ${MAX_PAGE}, got ${limit}`);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > MAX_OFFSET)
    throw badInput(`offset must be an integer from 0 to ${MAX_OFFSET}, got ${offset}`);
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
  const counts = await store.instanceCountsByRunningStatus(tenant.tenant_id);
  return {
    ...tenant,
    instances_by_running_status: Object.fromEntries(
      STATUS_CODES.running_status.map((code) => [String(code), counts[code] ?? 0]),
    ),
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
