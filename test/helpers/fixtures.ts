/**
 * Builds tenants, projects, pools, users, tokens and instances through the same operator
 * operations the CLI and admin API use, so tests set up data the way an operator would.
 */
import { Readable } from "node:stream";
import { type Config, loadConfig } from "../../src/config.js";
import { importInstances, type RawRecord } from "../../src/operator/import/import-instances.js";
import { createPool, createProject } from "../../src/operator/projects.js";
import { createTenant } from "../../src/operator/tenants.js";
import { createUser, issueToken } from "../../src/operator/users.js";
import type { ImportBatch, Pool, Store, StoredInstance } from "../../src/store/types.js";

export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({ LOG_LEVEL: "silent" }), ...overrides };
}

export interface TenantFixture {
  tenantId: string;
  name: string;
  projects: { project_id: string; name: string }[];
  adminToken: string;
}

/** A tenant with `projects` projects, two pools (one per scene tag) and an admin with a token. */
export async function makeTenant(store: Store, name: string, projects = 2): Promise<TenantFixture> {
  const tenant = await createTenant(store, { name, rate_limit: 1_000_000 });
  const made = [];
  for (let i = 0; i < projects; i++)
    made.push(await createProject(store, tenant.tenant_id, { name: `${name}-p${i}` }));
  await createPool(store, tenant.tenant_id, { name: "apps", scene_tag: "CLOUD_APP" });
  await createPool(store, tenant.tenant_id, { name: "phones", scene_tag: "CLOUD_PHONE" });
  const admin = await createUser(store, tenant.tenant_id, { name: "admin", role: "admin" });
  const { token } = await issueToken(store, admin.user_id, {}, 3600);
  return { tenantId: tenant.tenant_id, name, projects: made, adminToken: token };
}

export async function tokenFor(
  store: Store,
  tenantId: string,
  user: { name: string; role: "admin" | "member"; project_ids?: string[] },
): Promise<string> {
  const created = await createUser(store, tenantId, user);
  return (await issueToken(store, created.user_id, {}, 3600)).token;
}

/** Imports plain records (as an operator's JSON array would hold them). */
export async function addInstances(
  store: Store,
  tenantId: string,
  records: Record<string, unknown>[],
): Promise<void> {
  async function* source(): AsyncGenerator<RawRecord> {
    for (const [index, value] of records.entries()) yield { position: `index ${index}`, value };
  }
  await importInstances(store, tenantId, source());
}

/**
 * `count` plain records spread over the tenant: the i-th named `name(i)`, in project i modulo
 * the tenant's projects, in pool `pool(i)` (by default "apps" for odd i, "phones" for even), and
 * created at `createdAt(i)`.
 */
export function spreadRecords(
  tenant: TenantFixture,
  count: number,
  shape: {
    name: (i: number) => string;
    createdAt: (i: number) => string;
    pool?: (i: number) => string;
  },
): Record<string, unknown>[] {
  const pool = shape.pool ?? ((i: number) => (i % 2 ? "apps" : "phones"));
  return Array.from({ length: count }, (_, i) => ({
    instance_name: shape.name(i),
    region: "cn-north-4",
    instance_sku: "sku",
    project_id: tenant.projects[i % tenant.projects.length]?.project_id,
    pool_name: pool(i),
    created_at: shape.createdAt(i),
  }));
}

export const readable = (text: string) => Readable.from([Buffer.from(text)]);

/** A tenant row written straight to the store (no operator checks), for store-level tests. */
export async function storeTenant(store: Store, tenantId: string, name: string): Promise<void> {
  await store.createTenant({
    tenant_id: tenantId,
    name,
    subscribed: true,
    rate_limit: null,
    created_at: "2024-01-01T00:00:00.000Z",
  });
}

/** Stores rows as they are, in one batch of the store's own import (no operator checks). */
export async function importStored(
  store: Store,
  tenantId: string,
  pools: Pool[],
  instances: StoredInstance[],
): Promise<void> {
  async function* batches(): AsyncGenerator<ImportBatch> {
    yield {
      pools,
      instances,
      positions: instances.map((_, i) => `index ${i}`),
      generated: instances.map(() => false),
    };
  }
  await store.importInstances(tenantId, batches());
}
