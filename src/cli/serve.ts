/**
 * `phonefleet serve`: the HTTP service, optionally with the demo tenant and a ready curl line;
 * with `--workers N` (N > 1), a cluster of N processes on one port (src/cluster.ts).
 */
import cluster from "node:cluster";
import { type Command, InvalidArgumentError, Option } from "commander";
import { ConfigError, MAX_WORKERS, parseWorkers } from "../config.js";
import { configOf, globalsOf, open } from "./context.js";
import {
  accessJson,
  accessLines,
  clientUrl,
  type DemoAccess,
  demoAccess,
  seededLine,
} from "./demo.js";

export function serveCommand(program: Command): void {
  program
    .command("serve")
    .description("run the HTTP service (tenant API, docs, health checks, admin API)")
    .option("--port <port>", "port to listen on, 0 for any free one (default: $PORT or 8080)")
    .option("--host <host>", "address to listen on (default: $HOST or 127.0.0.1)")
    .option("--strict", "reject unknown query parameters and a missing x-request-id, as upstream")
    .addOption(
      new Option(
        "--error-status <mode>",
        "KooPhone errors with their own HTTP status (seed) or all with HTTP 200 (http200)",
      ).choices(["seed", "http200"]),
    )
    .option("--log-level <level>", "pino log level (default: $LOG_LEVEL or info)")
    .option("--demo", "create the demo tenant if missing and print a token and a curl line")
    .option(
      "--workers <n|auto>",
      `processes serving requests on the one port, 1 to ${MAX_WORKERS}, or auto for one per core (default: $PHONEFLEET_WORKERS or 1)`,
      workersOption,
    )
    .action(async (opts, command: Command) => {
      const config = configOf(command, {
        host: opts.host,
        port: opts.port,
        ...(opts.strict && { strict: true }),
        errorStatus: opts.errorStatus,
        logLevel: opts.logLevel,
        workers: opts.workers,
      });
      if (config.workers > 1 && /^(sqlite:(\/\/)?)?(:memory:)?$/.test(config.databaseUrl)) {
        // Each worker would have a database of its own, empty.
        throw new ConfigError(
          "several workers need a database file or PostgreSQL: an in-memory database is per process",
        );
      }
      if (cluster.isWorker) {
        // Forked by the primary below, with the same arguments: it prints nothing itself.
        const { runWorker } = await import("../cluster.js");
        await runWorker(config);
        return;
      }
      const store = await open(config.databaseUrl);
      let access: DemoAccess | undefined;
      let port: number;
      try {
        if (opts.demo) access = await demoAccess(store, config);
        if (config.workers > 1) {
          // Migrated and seeded above, once; each worker opens its own connection.
          await store.close();
          const { startPrimary } = await import("../cluster.js");
          port = (await startPrimary(config)).port;
        } else {
          // Loaded here so that the other commands do not pay for loading the HTTP stack.
          const { startServer } = await import("../server.js");
          const { app } = await startServer(config, store);
          const address = app.server.address();
          port = typeof address === "object" && address ? address.port : config.port;
        }
      } catch (error) {
        await store.close();
        throw error;
      }
      const baseUrl = clientUrl(config.host, port);
      if (globalsOf(command).json) {
        const demo = access ? accessJson(access, baseUrl, config.strict) : {};
        process.stdout.write(
          `${JSON.stringify({ url: baseUrl, workers: config.workers, ...demo })}\n`,
        );
        return;
      }
      const workers = config.workers > 1 ? ` (${config.workers} workers)` : "";
      const lines = [`phonefleet listening on ${baseUrl}${workers}`];
      if (access) lines.push(seededLine(access), ...accessLines(access, baseUrl, config.strict));
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}

function workersOption(value: string): number {
  const workers = parseWorkers(value);
  if (workers === undefined) {
    throw new InvalidArgumentError(`Expected a whole number from 1 to ${MAX_WORKERS}, or auto.`);
  }
  return workers;
}
