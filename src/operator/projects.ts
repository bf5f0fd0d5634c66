/** Projects and resource pools of a tenant. */
import { newHexId } from "../ids.js";
import type { Pool, Project, Store } from "../store/types.js";
import { NewPool, NewProject } from "./schemas.js";
import { findTenant } from "./tenants.js";
import { checker } from "./validate.js";

const checkProject = checker(NewProject);
const checkPool = checker(NewPool);

export async function createProject(
  store: Store,
  tenant: string,
  input: unknown,
): Promise<Project> {
  const body = checkProject(input);
  const { tenant_id } = await findTenant(store, tenant);
  const project: Project = {
    project_id: body.project_id ?? newHexId(),
    tenant_id,
    name: body.name,
  };
  await store.createProject(project);
  return project;
}

export async function listProjects(store: Store, tenant: string): Promise<Project[]> {
  return store.listProjects((await findTenant(store, tenant)).tenant_id);
}

export async function createPool(store: Store, tenant: string, input: unknown): Promise<Pool> {
  const body = checkPool(input);
  const { tenant_id } = await findTenant(store, tenant);
  const pool: Pool = { pool_id: newHexId(), tenant_id, name: body.name, scene_tag: body.scene_tag };
  await store.createPool(pool);
  return pool;
}

export async function listPools(store: Store, tenant: string): Promise<Pool[]> {
  return store.listPools((await findTenant(store, tenant)).tenant_id);
}
