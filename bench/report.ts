/** The benchmark's table and the PASS/FAIL check of every target of issue 5. */
import { SCENARIOS } from "./scenarios.js";

export interface Result {
  store: string;
  scenario: string;
  rps: number;
  p99ms: number;
  rssMb: number;
  errors: number;
  ratio: number;
}

const P99_LIMIT_MS: Record<string, number> = { sqlite: 50, postgres: 100 };
const RSS_LIMIT_MB = 200;
const RANDOM_VS_PAGE1 = 0.7;

export function printTable(results: Result[]): void {
  const header = ["store", "scenario", "req/s", "p99 ms", "ratio", "server RSS MB", "errors"];
  const rows = results.map((r) => [
    r.store,
    r.scenario,
    r.rps.toFixed(0),
    r.p99ms.toFixed(1),
    r.ratio.toFixed(3),
    r.rssMb.toFixed(0),
    String(r.errors),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  console.log(line(header));
  console.log(
    `|${widths.map((w, i) => (i < 2 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
  );
  for (const row of rows) console.log(line(row));
}

/** Prints one PASS/FAIL line per target; returns the number of failures. */
export function checkTargets(results: Result[]): number {
  let failed = 0;
  const check = (ok: boolean, what: string) => {
    console.log(`${ok ? "PASS" : "FAIL"}  ${what}`);
    if (!ok) failed++;
  };
  console.log("");
  for (const store of [...new Set(results.map((r) => r.store))]) {
    const of = (name: string) => results.find((r) => r.store === store && r.scenario === name);
    const limit = P99_LIMIT_MS[store] ?? 50;
    for (const scenario of SCENARIOS) {
      const r = of(scenario.name);
      if (!r) continue;
      const target = scenario.target[store as "sqlite" | "postgres"];
      check(
        r.ratio >= target,
        `${store} ${scenario.name}: ratio ${r.ratio.toFixed(3)} >= ${target}`,
      );
      check(
        r.p99ms <= limit,
        `${store} ${scenario.name}: p99 ${r.p99ms.toFixed(1)} ms <= ${limit} ms`,
      );
      check(r.errors === 0, `${store} ${scenario.name}: every answer 200 (${r.errors} errors)`);
    }
    const page1 = of("page 1");
    const random = of("random page");
    if (page1 && random) {
      const relative = random.rps / page1.rps;
      check(
        relative >= RANDOM_VS_PAGE1,
        `${store} random page: ${relative.toFixed(2)}x page 1 >= ${RANDOM_VS_PAGE1}x`,
      );
    }
    const rss = Math.max(
      ...results.filter((r) => r.store === store && r.scenario !== "baseline").map((r) => r.rssMb),
    );
    check(
      rss <= RSS_LIMIT_MB,
      `${store} server RSS ${rss.toFixed(0)} MB <= ${RSS_LIMIT_MB} MB (this fleet)`,
    );
  }
  return failed;
}
