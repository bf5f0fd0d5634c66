/**
 * buildApp: the whole HTTP service, configured exactly as it ships. It never listens and never
 * reads the environment; src/server.ts does that, and tests call buildApp directly.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import type { Logger } from "pino";
import { type SecretBox, secretBoxFor } from "./auth/secret-box.js";
import type { Config } from "./config.js";
import { registerErrorRenderer, renderFrameworkError } from "./http/error-renderer.js";
import { genReqId } from "./http/request-id.js";
import { adminRoutes } from "./http/routes/admin/index.js";
import { batchQueryRoute } from "./http/routes/batch-query.js";
import { healthRoutes } from "./http/routes/health.js";
import { iamTokenRoute } from "./http/routes/iam-tokens.js";
import { ErrorBody } from "./http/schemas.js";
import { registerTenantGuard } from "./http/tenant-guard.js";
import { createRateLimiter } from "./limits/create-rate-limiter.js";
import { FailureCountingThrottle, type LoginThrottle } from "./limits/login-throttle.js";
import type { RateLimiter } from "./limits/rate-limiter.js";
import { loggerOptions } from "./logger.js";
import type { Store } from "./store/types.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Name of the operation, tagged on the request's log line. */
    operation?: string;
  }
}

export interface AppDeps {
  config: Config;
  store: Store;
  limiter?: RateLimiter;
  /** Failed-login counting for POST /v3/auth/tokens; defaults to counters on `limiter`'s store. */
  loginThrottle?: LoginThrottle;
  /** Seals access-key secrets; defaults to the server key of `config` (src/auth/secret-box.ts). */
  secrets?: SecretBox;
  /** Where logs go; defaults to stdout. Tests pass a stream to read them. */
  logStream?: NodeJS.WritableStream;
}

export async function buildApp({
  config,
  store,
  limiter,
  loginThrottle,
  secrets,
  logStream,
}: AppDeps): Promise<FastifyInstance> {
  const options: FastifyServerOptions = {
    logger: logStream
      ? { ...loggerOptions(config.logLevel), stream: logStream }
      : loggerOptions(config.logLevel),
    genReqId,
    // One log line per request, written by the onResponse hook below.
    logController: new LogController({
      requestIdLogLabel: "request_id",
      disableRequestLogging: true,
    }),
    // Without a proxy in front, a server without timeouts can be held open forever.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    frameworkErrors: renderFrameworkError,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
  };
  const app = Fastify(options);

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "phonefleet",
        description: "The KooPhone tenant API (GET /v1/instances/batch-query), self-hosted.",
        version: "0.1.0",
      },
      components: {
        securitySchemes: {
          XAuthToken: { type: "apiKey", in: "header", name: "X-Auth-Token" },
          AdminKey: { type: "http", scheme: "bearer", description: "PHONEFLEET_ADMIN_KEY" },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.addSchema(ErrorBody);

  // Hooks run on every request: written with `done` rather than async, which spares each a
  // promise and a microtask (issue 5 measures this path in microseconds).
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });
  // The level is fixed at start: below info, the line's fields are not even gathered.
  const logRequests = (app.log as Logger).isLevelEnabled("info");
  app.addHook("onResponse", (request, reply, done) => {
    if (logRequests) {
      request.log.info(
        {
          operation: request.routeOptions.config.operation,
          method: request.method,
          path: request.url.split("?")[0],
          status: reply.statusCode,
          duration_ms: Math.round(reply.elapsedTime * 100) / 100,
        },
        "request",
      );
    }
    done();
  });

  // A keep-alive connection whose request finishes while close() runs would otherwise stay open
  // until keepAliveTimeout, holding close() (and the graceful shutdown) long after the last
  // response: once closing, every response tells its client to reconnect.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });

  registerErrorRenderer(app, config);
  registerTenantGuard(app);

  // Shared by the replicas through Redis when REDIS_URL is set; otherwise per process.
  const rateLimiter = limiter ?? createRateLimiter(config.redisUrl, app.log);
  if (!limiter) app.addHook("onClose", async () => rateLimiter.close?.());
  const deps = { config, store, limiter: rateLimiter, secrets: secrets ?? secretBoxFor(config) };
  healthRoutes(app, store);
  batchQueryRoute(app, deps);
  // Failed logins are counted where the rate limits are (shared through Redis when configured).
  const counter = rateLimiter.counter?.bind(rateLimiter);
  const throttle =
    loginThrottle ?? new FailureCountingThrottle(counter ? { limiterFactory: counter } : {});
  await iamTokenRoute(app, { config, store, throttle });
  await adminRoutes(app, { config, store, secrets: deps.secrets });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  return app;
}
