/**
 * `phonefleet serve --workers N` with N > 1: one primary and N worker processes (node:cluster)
 * listening on the same port, so the tenant API uses every core.
 *
 * The primary serves nothing itself. Before forking it has migrated the database and seeded the
 * demo (src/cli/serve.ts), so workers never race on either; it keeps the shared rate-limit counts
 * when there is no Redis (src/limits/cluster-rate-limiter.ts), prints the banner once all workers
 * listen, replaces a worker that dies (after a delay that doubles while replacements keep dying
 * young), and on SIGTERM/SIGINT sends each worker SIGTERM once (each finishes its in-flight
 * requests, src/server.ts) and exits when they all have: 0 if each did so cleanly, else 1.
 *
 * Each worker is the same binary with the same arguments (cluster.fork): src/cli/serve.ts sends
 * it to runWorker, which opens the store, starts the server and tells the primary its port.
 */
import cluster, { type Worker } from "node:cluster";
import pino from "pino";
import type { Config } from "./config.js";
import { startClusterLimits } from "./limits/cluster-rate-limiter.js";
import { loggerOptions } from "./logger.js";
import { createStore } from "./store/create-store.js";

/** Worker → primary. */
type Report = { phonefleet: "listening"; port: number } | { phonefleet: "failed"; message: string };

/** First delay before replacing a dead worker; doubled for each one that died young. */
const RESTART_DELAY_MS = 250;
const RESTART_DELAY_MAX_MS = 30_000;
/** A worker that lived this long died of something else than its start: delays start over. */
const HEALTHY_AFTER_MS = 30_000;
/** Beyond the workers' own grace period, how long the primary waits before killing them. */
const KILL_MARGIN_MS = 5_000;

interface Slot {
  worker?: Worker;
  startedAt: number;
  /** Replacements in a row that died within HEALTHY_AFTER_MS. */
  failures: number;
  restart?: NodeJS.Timeout;
}

function isReport(message: unknown): message is Report {
  return typeof message === "object" && message !== null && "phonefleet" in message;
}

/**
 * In the primary: forks `config.workers` workers and resolves with the port once all of them
 * listen. Rejects with the first worker's startup error (the others are stopped).
 */
export function startPrimary(config: Config): Promise<{ port: number }> {
  const log = pino(loggerOptions(config.logLevel));
  if (!config.redisUrl) startClusterLimits();
  const slots: Slot[] = [];
  const clean = new Set<Worker>();
  let phase: "starting" | "running" | "stopping" | "failed" = "starting";
  let port: number | undefined;
  let listening = 0;
  let ready!: (value: { port: number }) => void;
  let failed!: (error: Error) => void;
  const startup = new Promise<{ port: number }>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });

  const live = () => slots.flatMap((slot) => (slot.worker ? [slot.worker] : []));

  const fork = (slot: Slot) => {
    slot.restart = undefined;
    slot.startedAt = Date.now();
    const worker = cluster.fork();
    slot.worker = worker;
    worker.on("message", (message: unknown) => {
      if (!isReport(message)) return;
      if (message.phonefleet === "listening") {
        port ??= message.port;
        if (phase === "running") log.info({ worker_pid: worker.process.pid }, "worker replaced");
        else if (phase === "starting" && ++listening === slots.length) {
          phase = "running";
          ready({ port });
        }
      } else if (phase === "starting") {
        stopStarting(new Error(message.message));
      } else {
        log.error({ worker_pid: worker.process.pid, reason: message.message }, "worker failed");
      }
    });
    worker.on("exit", (code, signal) => {
      slot.worker = undefined;
      if (code === 0 && signal === null) clean.add(worker);
      if (phase === "failed") return;
      if (phase === "stopping") {
        if (live().length === 0) finish();
        return;
      }
      if (phase === "starting") {
        stopStarting(new Error(`a worker exited (${signal ?? `code ${code}`}) while starting`));
        return;
      }
      slot.failures = Date.now() - slot.startedAt >= HEALTHY_AFTER_MS ? 1 : slot.failures + 1;
      const delay = Math.min(RESTART_DELAY_MS * 2 ** (slot.failures - 1), RESTART_DELAY_MAX_MS);
      log.error(
        { worker_pid: worker.process.pid, code, signal, restart_in_ms: delay },
        "worker exited unexpectedly: starting another",
      );
      slot.restart = setTimeout(() => fork(slot), delay);
    });
  };

  let exiting = false;
  const exit = (code: number) => {
    if (exiting) return;
    exiting = true;
    process.exitCode = code;
    process.exit(code);
  };
  let everyone = 0;
  const finish = () => exit(clean.size === everyone ? 0 : 1);

  /** A worker could not start: stop the others and fail the command (one line, exit 1). */
  const stopStarting = (error: Error) => {
    if (phase !== "starting") return;
    phase = "failed";
    removeSignals();
    for (const worker of live()) worker.process.kill("SIGKILL");
    failed(error);
  };

  const shutdown = (signal: NodeJS.Signals) => {
    if (phase === "failed") return;
    if (phase === "stopping") {
      log.error({ signal }, `second ${signal}: killing the workers`);
      for (const worker of live()) worker.process.kill("SIGKILL");
      exit(1);
      return;
    }
    phase = "stopping";
    for (const slot of slots) clearTimeout(slot.restart);
    const workers = live();
    everyone = workers.length;
    clean.clear();
    log.info(
      { signal, workers: workers.length },
      "shutting down: workers finish in-flight requests",
    );
    if (workers.length === 0) return exit(0);
    for (const worker of workers) worker.process.kill("SIGTERM");
    setTimeout(() => {
      log.error({}, "workers did not stop in time: killing them");
      for (const worker of live()) worker.process.kill("SIGKILL");
      exit(1);
    }, config.shutdownGraceMs + KILL_MARGIN_MS).unref();
  };
  const onSignal = (signal: NodeJS.Signals) => shutdown(signal);
  const removeSignals = () => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  for (let i = 0; i < config.workers; i++) slots.push({ startedAt: 0, failures: 0 });
  for (const slot of slots) fork(slot);
  return startup;
}

/**
 * In a worker: open the store (already migrated by the primary), serve, and report the port to
 * the primary; a startup failure is reported to the primary, which prints it once.
 */
export async function runWorker(config: Config): Promise<void> {
  try {
    const store = await createStore(config.databaseUrl);
    try {
      // Loaded here, as in src/cli/serve.ts, so that other commands do not load the HTTP stack.
      const { startServer } = await import("./server.js");
      const { app } = await startServer(config, store);
      const address = app.server.address();
      const port = typeof address === "object" && address ? address.port : config.port;
      report({ phonefleet: "listening", port });
    } catch (error) {
      await store.close();
      throw error;
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    report({ phonefleet: "failed", message }, () => process.exit(1));
  }
}

function report(message: Report, sent?: () => void): void {
  process.send?.(message, undefined, undefined, sent);
}
