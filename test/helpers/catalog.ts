/**
 * A deterministic fleet for the batch-query tests: names that trip wildcard and case bugs, ties on
 * creation time and on name, every pool and scene tag, optional fields both given and defaulted.
 * Imported through the operator's import operation; the expected wire objects are kept beside.
 */
import { createHash } from "node:crypto";
import type { SceneTag, WireInstance } from "../../src/instances/model.js";
import { createProject } from "../../src/operator/projects.js";
import type { Store } from "../../src/store/types.js";
import { addInstances, makeTenant, type TenantFixture } from "./fixtures.js";
import type { RefInstance } from "./reference.js";

/** Region names an import fills in when a record leaves them out (the built-in catalog). */
const DEFAULT_REGION_NAMES: Record<string, [string, string]> = {
  "cn-north-4": ["华北-北京四", "CN North-Beijing4"],
  "cn-east-3": ["华东-上海一", "CN East-Shanghai1"],
};

export interface InstanceSpec {
  instance_id: string;
  instance_name: string;
  project: { project_id: string; name: string };
  pool_name: string;
  scene_tag: SceneTag;
  created_at: string;
  region?: string;
  /** Optional record fields; left out, the import's defaults apply. */
  extra?: Partial<
    Omit<WireInstance, "instance_id" | "instance_name" | "project_id" | "project_name">
  >;
}

/** The import record for a spec and the wire object the tenant API must answer for it. */
export function buildInstance(spec: InstanceSpec): RefInstance {
  const region = spec.region ?? "cn-north-4";
  const [regionName, regionNameEn] = DEFAULT_REGION_NAMES[region] ?? [region, region];
  const extra = spec.extra ?? {};
  const { assign_status: _derived, ...recordExtra } = extra;
  const record: Record<string, unknown> = {
    instance_id: spec.instance_id,
    instance_name: spec.instance_name,
    region,
    instance_sku:
      "Professional edition | 8 vCPUs | 16 GB | 10 GB storage | Maximum resolution: 720p",
    project_id: spec.project.project_id,
    pool_name: spec.pool_name,
    pool_scene_tag: spec.scene_tag,
    created_at: spec.created_at,
    ...recordExtra,
  };
  const assignUser = extra.assign_user ?? "";
  const wire: WireInstance = {
    instance_id: spec.instance_id,
    instance_name: spec.instance_name,
    region,
    instance_sku: record.instance_sku as string,
    frozen_status: extra.frozen_status ?? 0,
    running_status: extra.running_status ?? 0,
    login_status: extra.login_status ?? 0,
    assign_status: assignUser === "" ? 0 : 1,
    assign_user: assignUser,
    billing_mode: extra.billing_mode ?? "",
    project_id: spec.project.project_id,
    project_name: spec.project.name,
    phone_id: extra.phone_id ?? "null",
    member_name: extra.member_name ?? "",
    account_name: extra.account_name ?? "",
    region_name: extra.region_name ?? regionName,
    region_name_en: extra.region_name_en ?? regionNameEn,
    backup_status: extra.backup_status ?? 0,
    backup_time: extra.backup_time ?? "",
    restore_status: extra.restore_status ?? 0,
    restore_time: extra.restore_time ?? "",
  };
  return {
    record,
    wire,
    created_at: spec.created_at,
    pool_name: spec.pool_name,
    scene_tag: spec.scene_tag,
  };
}

/** Creation times with ties, both leap-day sides and a year boundary. */
export const CATALOG_TIMES = [
  "2023-12-31 23:59:59",
  "2024-01-01 00:00:00",
  "2024-02-29 12:00:00",
  "2024-03-01 10:00:00",
  "2024-03-01 10:00:01",
  "2024-06-15 08:30:00",
  "2025-01-01 00:00:00",
] as const;

/** Names whose matches differ if %, _ or \ act as wildcards, or if case folding is ASCII-only. */
export const SPECIAL_NAMES = [
  "100% Done",
  "100X Done",
  "a_b-phone",
  "axb-phone",
  "back\\slash",
  "backXslash",
  "backslash",
  "Ünïcode-Phone",
  "ünïcode-phone-2",
  "Mixed-CASE-Name",
] as const;

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Ids whose order is unrelated to creation order or name order (a fixed scramble). */
function scrambledId(prefix: string, i: number): string {
  const bytes = createHash("sha256").update(`${prefix}/${i}`).digest();
  let id = prefix;
  for (const byte of bytes.subarray(0, 8 - prefix.length)) id += ID_CHARS[byte % ID_CHARS.length];
  return id;
}

export const POOLS: readonly { name: string; scene_tag: SceneTag }[] = [
  { name: "apps", scene_tag: "CLOUD_APP" },
  { name: "phones", scene_tag: "CLOUD_PHONE" },
  { name: "edge", scene_tag: "CLOUD_PHONE" }, // created by the import itself
];

export interface Catalog {
  tenant: TenantFixture;
  instances: RefInstance[];
}

/**
 * A tenant with 3 projects and `size` instances (default 105, more than one full page). `idPrefix` (2 characters) keeps
 * instance ids unique when several catalogs share a store; names repeat across catalogs.
 * `projectNames` names the 3 projects (default `<tenant>-p0`…), e.g. the same in every tenant.
 */
export async function seedCatalog(
  store: Store,
  tenantName: string,
  idPrefix: string,
  size = 105,
  projectNames?: readonly [string, string, string],
): Promise<Catalog> {
  const tenant = await makeTenant(store, tenantName, projectNames ? 0 : 3);
  for (const name of projectNames ?? [])
    tenant.projects.push(await createProject(store, tenant.tenantId, { name }));
  const instances: RefInstance[] = [];
  for (let i = 0; i < size; i++) {
    const project = tenant.projects[i % 3];
    const pool = POOLS[(i * 2 + (i >> 2)) % 3];
    const time = CATALOG_TIMES[(i * 5) % CATALOG_TIMES.length];
    if (!project || !pool || !time) throw new Error("catalog index out of range");
    const special = SPECIAL_NAMES[i];
    // Every 9th generic name repeats the previous one: ties on instance_name.
    const n = i % 9 === 8 ? i - 1 : i;
    const generic = `${i % 2 === 0 ? "CCTEST" : "cctest"}-${String(n).padStart(5, "0")}`;
    const extra: InstanceSpec["extra"] = {
      running_status: i % 6,
      frozen_status: i % 2,
      login_status: (i >> 1) % 2,
      backup_status: i % 5,
      restore_status: (i + 2) % 5,
      billing_mode: String(i % 2),
    };
    if (i % 3 === 0) extra.assign_user = `10086000000${i}`;
    if (i % 4 === 0) extra.phone_id = `ph${i}`;
    if (i % 5 === 0) extra.backup_time = "2024-05-24 17:34:58";
    if (i % 7 === 0) extra.restore_time = "2024-05-24 20:34:58";
    if (i % 2 === 0) {
      extra.member_name = `member-${i}`;
      extra.account_name = `acct${i}@example.com`;
    }
    if (i % 8 === 1) {
      extra.region_name = "CN North-Ulanqab-2003";
      extra.region_name_en = "CN North-Ulanqab203";
    }
    instances.push(
      buildInstance({
        instance_id: scrambledId(idPrefix, i),
        instance_name: special ?? generic,
        project,
        pool_name: pool.name,
        scene_tag: pool.scene_tag,
        created_at: time,
        region: i % 4 === 3 ? "cn-east-3" : "cn-north-4",
        extra,
      }),
    );
  }
  await addInstances(
    store,
    tenant.tenantId,
    instances.map((i) => i.record),
  );
  return { tenant, instances };
}
