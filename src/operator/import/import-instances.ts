/**
 * Bulk instance import, all or nothing, streaming: records are checked one by one as they
 * arrive and handed to the store in batches inside one transaction, so a million records never
 * sit in memory at once, and one bad record (even the last) leaves the database unchanged.
 */
import { ApiError, badInput } from "../../errors.js";
import { newHexId, wireTime } from "../../ids.js";
import { regionNames } from "../../instances/regions.js";
import type { ImportBatch, Pool, Project, Store, StoredInstance } from "../../store/types.js";
import { ImportRecord } from "../schemas.js";
import { findTenant } from "../tenants.js";
import { checker } from "../validate.js";

/** One record as read from a file or request body, with where it was found. */
export interface RawRecord {
  /** "line 7" (JSON Lines, CSV) or "index 6" (JSON array). */
  position: string;
  value: unknown;
}

export const BATCH_SIZE = 1000;

const checkRecord = checker(ImportRecord);

export interface ImportOptions {
  /** Called after each batch is stored, with the number of records so far. */
  onProgress?: (count: number) => void;
}

export async function importInstances(
  store: Store,
  tenant: string,
  records: AsyncIterable<RawRecord>,
  options: ImportOptions = {},
): Promise<{ created: number }> {
  const { tenant_id } = await findTenant(store, tenant);
  const toInstance = await recordMapper(store, tenant_id);
  const created = await store.importInstances(tenant_id, batchesOf(records, toInstance, options));
  return { created };
}

async function* batchesOf(
  records: AsyncIterable<RawRecord>,
  toInstance: RecordMapper,
  options: ImportOptions,
): AsyncGenerator<ImportBatch> {
  let batch: ImportBatch = { pools: [], instances: [], positions: [], generated: [] };
  let count = 0;
  for await (const record of records) {
    try {
      const { instance, newPool, generatedId } = toInstance(record.value);
      if (newPool) batch.pools.push(newPool);
      batch.instances.push(instance);
      batch.positions.push(record.position);
      batch.generated.push(generatedId);
    } catch (error) {
      if (error instanceof ApiError) throw badInput(`${record.position}: ${error.message}`);
      throw error;
    }
    if (batch.instances.length >= BATCH_SIZE) {
      yield batch;
      count += batch.instances.length;
      options.onProgress?.(count);
      batch = { pools: [], instances: [], positions: [], generated: [] };
    }
  }
  if (batch.instances.length > 0 || batch.pools.length > 0) {
    yield batch;
    count += batch.instances.length;
    options.onProgress?.(count);
  }
}

type RecordMapper = (value: unknown) => {
  instance: StoredInstance;
  newPool?: Pool;
  generatedId: boolean;
};

/** Checks a record against the tenant's projects and pools and fills in derived fields. */
async function recordMapper(store: Store, tenantId: string): Promise<RecordMapper> {
  const projects = await store.listProjects(tenantId);
  const projectById = new Map(projects.map((p) => [p.project_id, p]));
  const projectByName = new Map(projects.map((p) => [p.name, p]));
  const pools = new Map((await store.listPools(tenantId)).map((p) => [p.name, p]));
  const started = new Date();
  const now = wireTime(started);
  const importedAt = started.toISOString();

  return (value) => {
    const r = checkRecord(value, "record");
    const project = projectOf(r.project_id, r.project_name, projectById, projectByName);
    let pool = pools.get(r.pool_name);
    let newPool: Pool | undefined;
    if (pool && r.pool_scene_tag !== undefined && r.pool_scene_tag !== pool.scene_tag) {
      throw badInput(
        `pool_scene_tag ${r.pool_scene_tag} contradicts pool ${JSON.stringify(pool.name)}, which is ${pool.scene_tag}`,
      );
    }
    if (!pool) {
      if (r.pool_scene_tag === undefined) {
        throw badInput(
          `pool_name: no pool ${JSON.stringify(r.pool_name)}; give pool_scene_tag to create it`,
        );
      }
      pool = {
        pool_id: newHexId(),
        tenant_id: tenantId,
        name: r.pool_name,
        scene_tag: r.pool_scene_tag,
      };
      pools.set(pool.name, pool);
      newPool = pool;
    }
    const assignUser = r.assign_user ?? "";
    if (r.assign_status !== undefined && r.assign_status !== (assignUser === "" ? 0 : 1)) {
      throw badInput(
        `assign_status ${r.assign_status} contradicts assign_user ${JSON.stringify(assignUser)}`,
      );
    }
    const names = regionNames(r.region);
    const created = r.created_at ?? now;
    const instance: StoredInstance = {
      instance_id: r.instance_id ?? "",
      tenant_id: tenantId,
      project_id: project.project_id,
      pool_id: pool.pool_id,
      scene_tag: pool.scene_tag,
      instance_name: r.instance_name,
      region: r.region,
      instance_sku: r.instance_sku,
      frozen_status: r.frozen_status ?? 0,
      running_status: r.running_status ?? 0,
      login_status: r.login_status ?? 0,
      assign_user: assignUser,
      billing_mode: r.billing_mode ?? "",
      phone_id: r.phone_id ?? "null",
      member_name: r.member_name ?? "",
      account_name: r.account_name ?? "",
      region_name: r.region_name ?? names.region_name,
      region_name_en: r.region_name_en ?? names.region_name_en,
      backup_status: r.backup_status ?? 0,
      backup_time: r.backup_time ?? "",
      restore_status: r.restore_status ?? 0,
      restore_time: r.restore_time ?? "",
      created_at: created,
      updated_at: importedAt,
    };
    return { instance, newPool, generatedId: r.instance_id === undefined };
  };
}

function projectOf(
  id: string | undefined,
  name: string | undefined,
  byId: Map<string, Project>,
  byName: Map<string, Project>,
): Project {
  if (id === undefined && name === undefined)
    throw badInput('missing field "project_id" (or project_name)');
  const project = id !== undefined ? byId.get(id) : byName.get(name as string);
  if (!project) {
    const field = id !== undefined ? "project_id" : "project_name";
    throw badInput(`${field}: no project ${JSON.stringify(id ?? name)} in this tenant`);
  }
  if (name !== undefined && project.name !== name) {
    throw badInput(
      `project_name ${JSON.stringify(name)} does not match project_id ${JSON.stringify(project.project_id)}`,
    );
  }
  return project;
}
