/** Projects and resource pools of a tenant. */
import { conflict, notFound } from "../errors.js";
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
  const { tenant_id, name } = await findTenant(store, tenant);
  // As for tenants: the unique index's message would show the id generated for this project.
  if ((await store.listProjects(tenant_id)).some((p) => p.name === body.name)) {
    throw conflict(
      `project ${JSON.stringify(body.name)} already exists in tenant ${JSON.stringify(name)}`,
    );
  }
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

/**
 * Project ids from ids or names of projects of the tenant (people at a terminal name them);
 * an unknown one is a 404 naming it.
 */
export async function resolveProjects(
  store: Store,
  tenant: string,
  idsOrNames: readonly string[],
): Promise<string[]> {
  const { tenant_id, name } = await findTenant(store, tenant);
  const projects = await store.listProjects(tenant_id);
  return idsOrNames.map((wanted) => {
    const project =
      projects.find((p) => p.project_id === wanted) ?? projects.find((p) => p.name === wanted);
    if (!project) {
      throw notFound(`no project ${JSON.stringify(wanted)} in tenant ${JSON.stringify(name)}`);
    }
    return project.project_id;
  });
}
