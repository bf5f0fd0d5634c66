/**
 * The stores every storage-touching test runs against, once each ("no mocks: every test runs
 * against real databases, once per dialect"). Each call makes a fresh, migrated, empty database.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/create-store.js";
import type { Store } from "../../src/store/types.js";

export interface StoreFactory {
  name: string;
  /** A fresh migrated database and a way to throw it away. */
  create(): Promise<{ store: Store; url: string; dispose(): Promise<void> }>;
}

export const sqlite: StoreFactory = {
  name: "sqlite",
  async create() {
    const dir = mkdtempSync(join(tmpdir(), "phonefleet-test-"));
    const url = join(dir, "test.db");
    const store = await openStore(url);
    return {
      store,
      url,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const STORES: StoreFactory[] = [sqlite];
