/**
 * Fallback server entry for the benchmark when the CLI (`dist/cli/main.js serve`) is not built:
 * the same startServer the CLI calls, configured from the environment (DATABASE_URL, PORT, ...).
 */
import { loadConfig } from "../src/config.js";
import { startServer } from "../src/server.js";
import { openStore } from "../src/store/create-store.js";

const config = loadConfig();
const store = await openStore(config.databaseUrl);
const server = await startServer(config, store);
console.error(`listening on ${server.url}`);
