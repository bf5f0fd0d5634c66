/**
 * One phonefleet replica as its own process, for tests that need several over one database:
 * the same path as `phonefleet serve` (config from the environment → openStore, which migrates →
 * startServer), on a free port. Prints `listening on <url>` once ready.
 *
 * Run: node --import tsx test/helpers/replica-server.ts (with DATABASE_URL etc. in the env).
 */
import { loadConfig } from "../../src/config.js";
import { startServer } from "../../src/server.js";
import { openStore } from "../../src/store/create-store.js";

const config = loadConfig(process.env, { port: 0 });
const store = await openStore(config.databaseUrl);
const { url } = await startServer(config, store);
process.stdout.write(`listening on ${url}\n`);
