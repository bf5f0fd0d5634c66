/**
 * Per-request cost of the batch query inside the process (no HTTP), mean of 100 calls after 20
 * warm-up calls, on a bench fleet: rows as objects plus their encoding (the path of a store
 * without queryEncodedInstances), and the page encoded by the store, which the server uses.
 *
 * Usage: node --import tsx bench/profile.ts <database-url>   (e.g. .bench/sqlite-g2-s6-n1000000.db)
 */
import { pageJson } from "../src/http/page-json.js";
import type { BatchQuery } from "../src/instances/model.js";
import { openStore } from "../src/store/create-store.js";
import { BIG_TENANT } from "./generate.js";

const url = process.argv[2];
if (!url) throw new Error("usage: profile.ts <database-url>");
const store = await openStore(url);
const tenant = await store.tenantByName(BIG_TENANT);
if (!tenant) throw new Error(`no tenant ${BIG_TENANT}: generate the fleet first (npm run bench)`);
const visibility = { tenantId: tenant.tenant_id };
const base: BatchQuery = { pageNo: 1, pageSize: 100, order: "asc", orderBy: "create_time" };
const range = { createdFrom: "2024-03-01 00:00:00", createdTo: "2024-04-30 23:59:59" };
const cases: [string, BatchQuery][] = [
  ["page 1", base],
  ["page 5001", { ...base, pageNo: 5001 }],
  ["page 10000", { ...base, pageNo: 10_000 }],
  ["name 77777", { ...base, nameContains: "77777" }],
  ["pool_scene_tag", { ...base, sceneTag: "CLOUD_PHONE" }],
  ["time range", { ...base, ...range }],
  ["combination p200", { ...base, ...range, sceneTag: "CLOUD_APP", order: "desc", pageNo: 200 }],
];
/** Mean ms of `run` over 100 calls, after 20 warm-up calls. */
async function mean(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await run();
  const started = performance.now();
  for (let i = 0; i < 100; i++) await run();
  return (performance.now() - started) / 100;
}

console.log(
  "query             rows as objects + encoding | rows encoded by the store (server's path)",
);
for (const [label, query] of cases) {
  const page = await store.queryInstances(visibility, query);
  const objects = await mean(() => store.queryInstances(visibility, query));
  const body = await mean(async () => pageJson(page, query.pageNo, query.pageSize));
  const encoded = store.queryEncodedInstances
    ? await mean(async () => {
        const fast = await store.queryEncodedInstances?.(visibility, query);
        return pageJson(fast ?? page, query.pageNo, query.pageSize);
      })
    : Number.NaN;
  console.log(
    `${label.padEnd(18)} ${objects.toFixed(3)} + ${body.toFixed(3)} ms | ` +
      `${Number.isNaN(encoded) ? "n/a" : `${encoded.toFixed(3)} ms`}  ` +
      `(total_count ${page.total}, rows ${page.rows.length})`,
  );
}
await store.close();
