/**
 * A PostgreSQL migration that rewrites a table (migration 8 rewrites instances) is followed by
 * a VACUUM (ANALYZE) of it, so index-only scans need not read the heap after an upgrade.
 */
import { describe, expect, it } from "vitest";
import { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { adminQuery, freshPostgresUrl, POSTGRES_URL } from "./helpers/stores.js";

describe.runIf(POSTGRES_URL)("PostgreSQL migrations that rewrite a table", () => {
  it("vacuum and analyze it once committed", async () => {
    const { url, schema, drop } = freshPostgresUrl();
    const store = new PostgresStore(url);
    try {
      await store.migrate();
      // Statistics reach other sessions when the migrating session ends: allow a moment.
      let row: { last_vacuum: Date | null; last_analyze: Date | null } | undefined;
      for (let attempt = 0; attempt < 40; attempt++) {
        const { rows } = await adminQuery(
          `SELECT last_vacuum, last_analyze FROM pg_stat_user_tables
           WHERE schemaname = $1 AND relname = 'instances'`,
          [schema],
        );
        row = rows[0];
        if (row?.last_vacuum && row.last_analyze) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(row?.last_vacuum).toBeInstanceOf(Date);
      expect(row?.last_analyze).toBeInstanceOf(Date);
    } finally {
      await store.close();
      await drop();
    }
  });
});
