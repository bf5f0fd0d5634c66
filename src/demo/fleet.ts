/**
 * The demo fleet: import records for a realistic tenant, generated from a fixed seed. Every
 * status code of every status field appears, creation times spread over two years, and the
 * same seed gives the same fleet (ids, names, states) on every run.
 */
import { wireTime } from "../ids.js";
import type { SceneTag } from "../instances/model.js";
import { REGIONS } from "../instances/regions.js";
import { type Random, seededRandom } from "./prng.js";

export const DEMO_PROJECTS = ["retail-stores", "field-sales", "qa-lab", "livestream"] as const;

export const DEMO_POOLS: readonly { name: string; scene_tag: SceneTag; prefix: string }[] = [
  { name: "phones-standard", scene_tag: "CLOUD_PHONE", prefix: "CPH" },
  { name: "phones-test", scene_tag: "CLOUD_PHONE", prefix: "QA" },
  { name: "apps-gaming", scene_tag: "CLOUD_APP", prefix: "GAME" },
  { name: "apps-office", scene_tag: "CLOUD_APP", prefix: "OFFICE" },
];

const SKUS = [
  "Basic edition | 2 vCPUs | 4 GB | 32 GB storage | Maximum resolution: 540p",
  "Standard edition | 4 vCPUs | 8 GB | 64 GB storage | Maximum resolution: 720p",
  "Professional edition | 8 vCPUs | 16 GB | 10 GB storage | Maximum resolution: 720p",
  "Flagship edition | 16 vCPUs | 32 GB | 128 GB storage | Maximum resolution: 1080p",
];

const PEOPLE = [
  "li.wei",
  "wang.fang",
  "zhang.min",
  "chen.jie",
  "liu.yang",
  "maria.garcia",
  "john.smith",
  "aisha.khan",
  "kenji.sato",
  "olga.ivanova",
];

/** Most regions the catalog knows, busier ones weighted up. */
const REGION_WEIGHTS = Object.keys(REGIONS).map(
  (region, index) => [region, index < 3 ? 4 : 1] as const,
);

const RUNNING: readonly (readonly [number, number])[] = [
  [2, 60], // running
  [1, 14], // stopped
  [0, 6], // unknown
  [3, 4], // going offline
  [4, 6], // starting
  [5, 10], // shut down
];
const JOB_STATUS: readonly (readonly [number, number])[] = [
  [2, 70], // successful
  [3, 10], // failed
  [1, 8], // executing
  [0, 6], // preparing
  [4, 6], // others
];

const ALPHANUMERIC = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"];
const TWO_YEARS_S = 730 * 86_400;

export interface FleetOptions {
  /** Project ids in DEMO_PROJECTS order. */
  projectIds: readonly string[];
  count: number;
  /** Creation times fall in the two years before this. */
  now: Date;
  seed?: number;
}

export function* fleetRecords(options: FleetOptions): Generator<Record<string, unknown>> {
  const random = seededRandom(options.seed ?? 20240524);
  const now = options.now.getTime();
  const ids = new Set<string>();
  const serials = new Map<string, number>();
  for (let i = 0; i < options.count; i++) {
    let id = randomId(random);
    while (ids.has(id)) id = randomId(random);
    ids.add(id);

    const pool = random.pick(DEMO_POOLS);
    const serial = (serials.get(pool.prefix) ?? 0) + 1;
    serials.set(pool.prefix, serial);
    // The first few records cycle through every code, so each one is present whatever the draw.
    const cycle = i < 6 ? i : undefined;
    const created = now - random.int(0, TWO_YEARS_S) * 1000;
    const running = cycle ?? random.weighted(RUNNING);
    const assigned = cycle !== undefined ? cycle % 2 === 1 : random.chance(0.55);
    const person = random.pick(PEOPLE);
    const record: Record<string, unknown> = {
      instance_id: id,
      instance_name: `${pool.prefix}-${String(serial).padStart(5, "0")}`,
      region: random.weighted(REGION_WEIGHTS),
      instance_sku: random.weighted(SKUS.map((sku, n) => [sku, n === 1 || n === 2 ? 3 : 1])),
      project_id: random.pick(options.projectIds),
      pool_name: pool.name,
      running_status: running,
      frozen_status: cycle !== undefined ? cycle % 2 : random.chance(0.03) ? 1 : 0,
      login_status:
        cycle !== undefined ? cycle % 2 : assigned && running === 2 && random.chance(0.7) ? 1 : 0,
      billing_mode: random.chance(0.8) ? "1" : "0",
      created_at: wireTime(new Date(created)),
    };
    if (assigned) {
      record.assign_user = `10086${String(random.int(0, 99_999_999_999_999)).padStart(14, "0")}`;
      record.member_name = person;
      record.account_name = `${person}@example.com`;
    }
    if (random.chance(0.4)) record.phone_id = randomHex(random);
    if (cycle !== undefined || random.chance(0.35)) {
      const backedUp = created + random.int(0, Math.floor((now - created) / 1000)) * 1000;
      record.backup_status = cycle !== undefined ? cycle % 5 : random.weighted(JOB_STATUS);
      record.backup_time = wireTime(new Date(backedUp));
      if (cycle !== undefined || random.chance(0.25)) {
        const restored = backedUp + random.int(0, Math.floor((now - backedUp) / 1000)) * 1000;
        record.restore_status = cycle !== undefined ? cycle % 5 : random.weighted(JOB_STATUS);
        record.restore_time = wireTime(new Date(restored));
      }
    }
    yield record;
  }
}

function randomId(random: Random): string {
  let id = "";
  for (let i = 0; i < 8; i++) id += random.pick(ALPHANUMERIC);
  return id;
}

function randomHex(random: Random): string {
  let hex = "";
  for (let i = 0; i < 32; i++) hex += random.int(0, 15).toString(16);
  return hex;
}
