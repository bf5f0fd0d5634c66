/** Instance state changes by the operator; the next tenant query shows them. */
import { badInput, notFound } from "../errors.js";
import { wireTime } from "../ids.js";
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
  const now = new Date();
  const patch: StoredPatch = { ...body, ...eventTimes(body, now), updated_at: now.toISOString() };
  if (!(await store.updateInstance(instanceId, patch)))
    throw notFound(`no instance ${JSON.stringify(instanceId)}`);
  return getInstance(store, instanceId);
}

export async function deleteInstance(store: Store, instanceId: string): Promise<void> {
  if (!(await store.deleteInstance(instanceId)))
    throw notFound(`no instance ${JSON.stringify(instanceId)}`);
}

/**
 * Backups and restores are events: a status with its time. A status given alone happened now;
 * a time given alone would describe an event without saying what happened, so it is refused.
 */
function eventTimes(
  body: {
    backup_status?: number;
    backup_time?: string;
    restore_status?: number;
    restore_time?: string;
  },
  now: Date,
): Partial<StoredPatch> {
  const times: Partial<StoredPatch> = {};
  for (const event of ["backup", "restore"] as const) {
    const status = body[`${event}_status`];
    const time = body[`${event}_time`];
    if (time !== undefined && status === undefined) {
      throw badInput(
        `body.${event}_time: give ${event}_status with it (a ${event} event is a status and its time)`,
      );
    }
    if (status !== undefined && time === undefined) times[`${event}_time`] = wireTime(now);
  }
  return times;
}
