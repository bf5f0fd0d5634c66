/** Instance state changes by the operator; the next tenant query shows them. */
import { badInput, notFound } from "../errors.js";
import type { Store, StoredInstance, InstancePatch as StoredPatch } from "../store/types.js";
import { InstancePatch } from "./schemas.js";
import { checker } from "./validate.js";

const checkPatch = checker(InstancePatch);

export async function getInstance(store: Store, instanceId: string): Promise<StoredInstance> {
  const instance = await store.instanceById(instanceId);
  if (!instance) throw notFound(`no instance ${JSON.stringify(instanceId)}`);
  return instance;
}

export async function patchInstance(
  store: Store,
  instanceId: string,
  input: unknown,
): Promise<StoredInstance> {
  const body = checkPatch(input);
  const instance = await getInstance(store, instanceId);
  if (body.project_id !== undefined) {
    const projects = await store.listProjects(instance.tenant_id);
    if (!projects.some((p) => p.project_id === body.project_id)) {
      throw badInput(
        `body.project_id: no project ${JSON.stringify(body.project_id)} in the instance's tenant`,
      );
    }
  }
  const patch: StoredPatch = { ...body, updated_at: new Date().toISOString() };
  if (!(await store.updateInstance(instanceId, patch)))
    throw notFound(`no instance ${JSON.stringify(instanceId)}`);
  return getInstance(store, instanceId);
}

export async function deleteInstance(store: Store, instanceId: string): Promise<void> {
  if (!(await store.deleteInstance(instanceId)))
    throw notFound(`no instance ${JSON.stringify(instanceId)}`);
}
