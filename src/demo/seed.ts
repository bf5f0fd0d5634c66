/**
 * The demo tenant: projects, pools of both scene tags, an admin and a member user, and a fleet of
 * a few thousand instances, all made through the operator operations an operator would use.
 *
 * Idempotent and resumable: each part is created only if it is missing, so running it again
 * (or after an interrupted run) completes the tenant without duplicating anything.
 */
import { ApiError } from "../errors.js";
import { importInstances, type RawRecord } from "../operator/import/import-instances.js";
import { createPool, createProject, listPools, listProjects } from "../operator/projects.js";
import { createTenant, findTenant, getTenant } from "../operator/tenants.js";
import { createUser, listUsers } from "../operator/users.js";
import type { Store, Tenant } from "../store/types.js";
import { DEMO_POOLS, DEMO_PROJECTS, fleetRecords } from "./fleet.js";

export const DEMO_TENANT = "demo";
export const DEMO_ADMIN = "demo-admin";
export const DEMO_MEMBER = "demo-member";
export const DEMO_FLEET_SIZE = 3000;

export interface DemoOptions {
  /** Number of instances to create when the tenant has none. */
  instances?: number;
  /** Creation times fall in the two years before this day (default: today, UTC). */
  now?: Date;
}

export interface DemoSummary {
  tenant: Tenant;
  /** False when everything was already there. */
  created: boolean;
  instancesCreated: number;
}

export async function seedDemo(store: Store, options: DemoOptions = {}): Promise<DemoSummary> {
  let created = false;
  let tenant = await existingTenant(store);
  if (!tenant) {
    tenant = await createTenant(store, { name: DEMO_TENANT });
    created = true;
  }
  const tenantId = tenant.tenant_id;

  const projects = new Map((await listProjects(store, tenantId)).map((p) => [p.name, p]));
  for (const name of DEMO_PROJECTS) {
    if (projects.has(name)) continue;
    projects.set(name, await createProject(store, tenantId, { name }));
    created = true;
  }
  const projectIds = DEMO_PROJECTS.map((name) => projects.get(name)?.project_id ?? "");

  const pools = new Set((await listPools(store, tenantId)).map((p) => p.name));
  for (const { name, scene_tag } of DEMO_POOLS) {
    if (pools.has(name)) continue;
    await createPool(store, tenantId, { name, scene_tag });
    created = true;
  }

  const users = new Set((await listUsers(store, tenantId)).map((u) => u.name));
  if (!users.has(DEMO_ADMIN)) {
    await createUser(store, tenantId, { name: DEMO_ADMIN, role: "admin" });
    created = true;
  }
  if (!users.has(DEMO_MEMBER)) {
    // Two of the four projects: the member sees part of the fleet, the admin all of it.
    await createUser(store, tenantId, {
      name: DEMO_MEMBER,
      role: "member",
      project_ids: projectIds.slice(0, 2),
    });
    created = true;
  }

  let instancesCreated = 0;
  const counts = (await getTenant(store, tenantId)).instances_by_running_status;
  if (Object.values(counts).every((n) => n === 0)) {
    const today = new Date(options.now ?? Date.now());
    today.setUTCHours(0, 0, 0, 0);
    const records = fleetRecords({
      projectIds,
      count: options.instances ?? DEMO_FLEET_SIZE,
      now: today,
    });
    instancesCreated = (await importInstances(store, tenantId, asRawRecords(records))).created;
    created = created || instancesCreated > 0;
  }
  return { tenant, created, instancesCreated };
}

async function existingTenant(store: Store): Promise<Tenant | undefined> {
  try {
    return await findTenant(store, DEMO_TENANT);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

async function* asRawRecords(records: Iterable<unknown>): AsyncGenerator<RawRecord> {
  let index = 0;
  for (const value of records) yield { position: `demo record ${index++}`, value };
}
