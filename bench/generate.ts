/**
 * Builds the benchmark fleet: one tenant with BENCH_INSTANCES (default 1,000,000) instances and a
 * few smaller tenants around it, written through the store's own bulk import path
 * (Store.importInstances), so whatever the store maintains beside the rows (indexes, counts,
 * search index) is built exactly as a real import builds it. Tenants, projects and pools are
 * made through the operator operations. Deterministic: same version + size → same data.
 *
 * Usage: tsx bench/generate.ts <database-url> <instances>
 */

import { REGIONS } from "../src/instances/regions.js";
import { createPool, createProject } from "../src/operator/projects.js";
import { createTenant } from "../src/operator/tenants.js";
import { createUser } from "../src/operator/users.js";
import { openStore } from "../src/store/create-store.js";
import type { ImportBatch, Pool, Project, Store, StoredInstance } from "../src/store/types.js";

/**
 * Bump when the generated data changes, or how a store lays it out (3: PostgreSQL's import writes
 * each batch in creation order): the cached database is keyed by it.
 */
export const GENERATOR_VERSION = 3;

export const BIG_TENANT = "bench-big";
/** Made last: when it exists, the fleet is complete. */
export const LAST_TENANT = "bench-c";
/** Smaller tenants whose rows sit around the big one's in every index. */
const NEIGHBOURS = [
  { name: "bench-a", size: 40_000 },
  { name: "bench-b", size: 40_000 },
  { name: "bench-c", size: 20_000 },
];
/** Creation times spread over two years, in instance order with some jitter. */
const EPOCH = Date.UTC(2023, 0, 1);
const SPAN_MS = 2 * 365 * 24 * 3600 * 1000;
const BATCH = 5000;
/** Instances per import transaction (a multiple of BATCH). */
const IMPORT_CHUNK = 1_000_000;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const REGION_CODES = Object.keys(REGIONS);
const SKUS = [
  "Professional edition | 8 vCPUs | 16 GB | 10 GB storage | Maximum resolution: 720p",
  "Standard edition | 4 vCPUs | 8 GB | 10 GB storage | Maximum resolution: 720p",
  "Enterprise edition | 16 vCPUs | 32 GB | 64 GB storage | Maximum resolution: 1080p",
];

/** A small deterministic PRNG (mulberry32), so reruns build identical data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Unique 8-character ids from a counter, scrambled so they do not sort like the counter. */
function instanceId(n: number): string {
  let x = (n * 2654435761 + 12345) % 62 ** 6; // a bijection on [0, 62^6) since gcd(…, 62) = 1
  let id = "";
  for (let i = 0; i < 6; i++) {
    id += ALPHABET[x % 62];
    x = Math.floor(x / 62);
  }
  const prefix = Math.floor(n / 62 ** 6);
  return `${ALPHABET[(prefix * 7 + 3) % 62]}${ALPHABET[(prefix + 11) % 62]}${id}`;
}

function wireTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

async function* batches(
  tenantId: string,
  size: number,
  firstId: number,
  projects: Project[],
  pools: Pool[],
  seed: number,
): AsyncGenerator<ImportBatch> {
  const random = prng(seed);
  for (let start = 0; start < size; start += BATCH) {
    const instances: StoredInstance[] = [];
    for (let i = start; i < Math.min(size, start + BATCH); i++) {
      const pool = pools[Math.floor(random() * pools.length)] as Pool;
      const project = projects[Math.floor(random() * projects.length)] as Project;
      const region = REGION_CODES[i % REGION_CODES.length] as string;
      const names = REGIONS[region] ?? { region_name: region, region_name_en: region };
      const created = wireTime(EPOCH + (i / size) * SPAN_MS + Math.floor(random() * 3_600_000));
      const assigned = random() < 0.3;
      instances.push({
        instance_id: instanceId(firstId + i),
        tenant_id: tenantId,
        project_id: project.project_id,
        pool_id: pool.pool_id,
        scene_tag: pool.scene_tag,
        // Mostly ASCII console-style names, some Chinese ones, as real fleets have.
        instance_name:
          i % 10 === 0 ? `云手机-${i}` : `CPH-${pool.name}-${String(i).padStart(7, "0")}`,
        region,
        instance_sku: SKUS[i % SKUS.length] as string,
        frozen_status: random() < 0.02 ? 1 : 0,
        running_status: Math.floor(random() * 6),
        login_status: random() < 0.5 ? 1 : 0,
        assign_user: assigned ? `user${i % 5000}` : "",
        billing_mode: "1",
        phone_id: random() < 0.1 ? "null" : `phone-${instanceId(firstId + i)}`,
        member_name: assigned ? `member${i % 5000}` : "",
        account_name: "bench-account",
        region_name: names.region_name,
        region_name_en: names.region_name_en,
        backup_status: Math.floor(random() * 5),
        backup_time: random() < 0.5 ? created : "",
        restore_status: Math.floor(random() * 5),
        restore_time: "",
        created_at: created,
        updated_at: created,
      });
    }
    yield {
      pools: [],
      instances,
      positions: instances.map((_, k) => `bench ${start + k}`),
      generated: instances.map(() => false),
    };
  }
}

async function makeTenant(store: Store, name: string, size: number, firstId: number, seed: number) {
  const tenant = await createTenant(store, { name, rate_limit: 1_000_000 });
  const projects: Project[] = [];
  for (let p = 0; p < 4; p++)
    projects.push(await createProject(store, tenant.tenant_id, { name: `${name}-proj-${p}` }));
  const pools: Pool[] = [];
  for (const [poolName, scene_tag] of [
    ["apps-east", "CLOUD_APP"],
    ["apps-west", "CLOUD_APP"],
    ["phones-east", "CLOUD_PHONE"],
    ["phones-west", "CLOUD_PHONE"],
  ] as const) {
    pools.push(await createPool(store, tenant.tenant_id, { name: poolName, scene_tag }));
  }
  await createUser(store, tenant.tenant_id, { name: "admin", role: "admin" });
  await createUser(store, tenant.tenant_id, {
    name: "member",
    role: "member",
    project_ids: projects.slice(0, 2).map((p) => p.project_id),
  });
  // One import (one transaction) per IMPORT_CHUNK instances, fed from one stream of batches so
  // the data is the same however it is cut: 10M instances in one transaction grew a 12.7 GB WAL.
  const all = batches(tenant.tenant_id, size, firstId, projects, pools, seed);
  for (let left = size; left > 0; left -= IMPORT_CHUNK) {
    const want = Math.min(IMPORT_CHUNK, left);
    async function* chunk(): AsyncGenerator<ImportBatch> {
      for (let taken = 0; taken < want; ) {
        const next = await all.next();
        if (next.done) return;
        taken += next.value.instances.length;
        yield next.value;
      }
    }
    await store.importInstances(tenant.tenant_id, chunk());
  }
}

export async function generate(databaseUrl: string, size: number): Promise<void> {
  const store = await openStore(databaseUrl);
  try {
    let firstId = 0;
    // Neighbours on both sides of the big tenant in creation order.
    const plan = [NEIGHBOURS[0], { name: BIG_TENANT, size }, ...NEIGHBOURS.slice(1)];
    for (const [k, t] of plan.entries()) {
      if (!t) continue;
      const started = Date.now();
      await makeTenant(store, t.name, t.size, firstId, 1000 + k);
      firstId += t.size;
      console.error(
        `  ${t.name}: ${t.size} instances in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
  } finally {
    await store.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, size] = process.argv.slice(2);
  if (!url) throw new Error("usage: generate.ts <database-url> [instances]");
  await generate(url, Number(size ?? 1_000_000));
}
