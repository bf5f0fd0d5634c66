/**
 * The process entry of the HTTP service: build the app over an open store, listen, and on
 * SIGINT/SIGTERM stop accepting, finish in-flight requests, then close the database.
 *
 * In a worker of `serve --workers N` (src/cluster.ts) the primary decides when to stop: it sends
 * SIGTERM to each worker once. SIGINT is ignored there, since Ctrl-C in a terminal reaches the
 * whole process group, and a second signal would make close-with-grace exit at once.
 */
import cluster from "node:cluster";
import closeWithGrace from "close-with-grace";
import type { FastifyInstance } from "fastify";
import { buildApp } from "./app.js";
import type { Config } from "./config.js";
import type { Store } from "./store/types.js";

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startServer(config: Config, store: Store): Promise<RunningServer> {
  const app = await buildApp({ config, store });
  try {
    await store.startReaders?.(config.sqliteReaders, app.log);
  } catch (err) {
    app.log.error({ err }, "SQLite reader threads did not start; reading on the main thread");
  }
  let grace: ReturnType<typeof closeWithGrace> | undefined;
  // Hooks must be added before listen (Fastify refuses them after).
  app.addHook("onClose", async () => {
    grace?.uninstall();
    await store.close();
  });
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;

  const worker = cluster.isWorker;
  if (worker) process.on("SIGINT", () => {});
  grace = closeWithGrace(
    { delay: config.shutdownGraceMs, ...(worker ? { skip: ["SIGINT"] } : {}) },
    async ({ signal, err }) => {
      if (err) app.log.error({ err }, "shutting down after an uncaught error");
      else app.log.info({ signal }, "shutting down: finishing in-flight requests");
      await app.close();
    },
  );
  return { app, url, close: () => app.close() };
}
