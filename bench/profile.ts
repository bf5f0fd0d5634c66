/**
 * Per-request cost of the batch query inside the process (no HTTP): the store's query and the
 * body encoding, mean of 100 calls after 20 warm-up calls, on a bench fleet.
 *
 * Usage: node --import tsx bench/profile.ts <database-url>   (e.g. .bench/sqlite-g2-s5-n1000000.db)
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
for (const [label, query] of cases) {
  for (let i = 0; i < 20; i++) await store.queryInstances(visibility, query);
  let started = performance.now();
  let page = await store.queryInstances(visibility, query);
  for (let i = 0; i < 100; i++) page = await store.queryInstances(visibility, query);
  const queryMs = (performance.now() - started) / 100;
  started = performance.now();
  for (let i = 0; i < 100; i++) pageJson(page, query.pageNo, query.pageSize);
  const jsonMs = (performance.now() - started) / 100;
  console.log(
    `${label.padEnd(18)} query ${queryMs.toFixed(3)} ms  body ${jsonMs.toFixed(3)} ms  ` +
      `total_count ${page.total}  rows ${page.rows.length}`,
  );
}
await store.close();
