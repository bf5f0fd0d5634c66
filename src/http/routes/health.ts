/** Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers). */
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Store } from "../../store/types.js";

const READY_TIMEOUT_MS = 2000;

const Status = Type.Object({ status: Type.String(), database: Type.Optional(Type.String()) });

export function healthRoutes(app: FastifyInstance, store: Store): void {
  app.get(
    "/healthz",
    { config: { operation: "health" }, schema: { tags: ["health"], response: { 200: Status } } },
    async () => ({ status: "ok" }),
  );

  app.get(
    "/readyz",
    {
      config: { operation: "ready" },
      schema: { tags: ["health"], response: { 200: Status, 503: Status } },
    },
    async (request, reply) => {
      try {
        await withTimeout(store.ping(), READY_TIMEOUT_MS);
        return { status: "ready", database: store.dialect };
      } catch (error) {
        request.log.warn({ err: error }, "readiness check failed");
        return reply.code(503).send({ status: "not ready", database: store.dialect });
      }
    },
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
