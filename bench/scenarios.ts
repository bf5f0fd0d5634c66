/**
 * The scenarios of issue 5, all on the big tenant with page_size 100 and the admin's token.
 * "{page}" is replaced per request by a random page from 1 to maxPage (wrk script).
 */
export interface Scenario {
  name: string;
  path: string;
  maxPage: number;
  /** Served by a server with its response cache on; every other scenario runs with it off. */
  cached?: boolean;
  /** Minimum ratio against the baseline, per store. */
  target: { sqlite: number; postgres: number };
}

const Q = "/v1/instances/batch-query?page_size=100&page_no={page}";
/** Two months of the two-year fleet: about 84,000 of the 1,000,000 instances. */
const RANGE = "query_start_time=2024-03-01+00:00:00&query_end_time=2024-04-30+23:59:59";

export const SCENARIOS: Scenario[] = [
  { name: "same query repeated", path: Q, maxPage: 1, cached: true, target: at(0.5, 0.5) },
  { name: "page 1", path: Q, maxPage: 1, target: at(0.15, 0.1) },
  { name: "random page", path: Q, maxPage: 10_000, target: at(0.15, 0.1) },
  { name: "name substring", path: `${Q}&instance_name=77777`, maxPage: 1, target: at(0.05, 0.03) },
  {
    name: "pool_scene_tag",
    path: `${Q}&pool_scene_tag=CLOUD_PHONE`,
    maxPage: 1,
    target: at(0.05, 0.03),
  },
  { name: "time range", path: `${Q}&${RANGE}`, maxPage: 1, target: at(0.05, 0.03) },
  {
    name: "combination",
    path: `${Q}&pool_scene_tag=CLOUD_APP&${RANGE}&order=desc`,
    maxPage: 400,
    target: at(0.05, 0.03),
  },
];

function at(sqlite: number, postgres: number) {
  return { sqlite, postgres };
}
