import { PostgresStore } from "./postgres/postgres-store.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./types.js";

/** The one place that picks a store from a database URL. */
export async function createStore(databaseUrl: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return new PostgresStore(databaseUrl);
  const filename = databaseUrl.replace(/^sqlite:(\/\/)?/, "");
  return new SqliteStore(filename === "" ? ":memory:" : filename);
}

/** A store with its schema up to date: what the server and every CLI command start from. */
export async function openStore(databaseUrl: string): Promise<Store> {
  const store = await createStore(databaseUrl);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
