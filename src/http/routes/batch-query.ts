/** `GET /v1/instances/batch-query`: the KooPhone tenant API (reference page, spec/batch-query.md). */
import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { runBatchQuery } from "../../instances/batch-query.js";
import { parseBatchQuery, type RawQuery } from "../../instances/parse-query.js";
import { pageJson } from "../page-json.js";
import { requestIdStatus } from "../request-id.js";
import { ResponseCache } from "../response-cache.js";
import { BatchQueryParameters, BatchQueryResponse, ErrorBody } from "../schemas.js";
import { callerOf, type GuardDeps, tenantGuard } from "../tenant-guard.js";

export function batchQueryRoute(app: FastifyInstance, deps: GuardDeps): void {
  const { config, store } = deps;
  // Answers reused while the tenant's data version is unchanged (stores that keep one).
  const cache =
    config.responseCacheMb > 0 && store.queryVersion
      ? new ResponseCache(config.responseCacheMb * 1024 * 1024)
      : undefined;
  app.get(
    "/v1/instances/batch-query",
    {
      config: { operation: "batchQueryInstances" },
      schema: {
        operationId: "batchQueryInstances",
        summary: "Query instances in batches",
        tags: ["instances"],
        security: [{ XAuthToken: [] }],
        querystring: BatchQueryParameters,
        response: {
          200: BatchQueryResponse,
          400: ErrorBody,
          401: ErrorBody,
          429: ErrorBody,
          500: ErrorBody,
        },
      },
      // The schema above documents the parameters; they are validated by parseBatchQuery, after
      // authentication, because the spec orders parameter errors after 401/0000/1004/429.
      validatorCompiler: () => (value) => ({ value }),
      onRequest: tenantGuard(deps),
    },
    async (request, reply) => {
      const query = parseBatchQuery(request.query as RawQuery, {
        strict: config.strict,
        requestId: requestIdStatus(request.raw),
      });
      const caller = callerOf(request);
      // Only where the permission rules cannot refuse: they are not re-run for a cached answer.
      const cacheable =
        cache !== undefined &&
        (caller.role === "admin" ||
          (caller.projectIds.length > 0 && query.instanceId === undefined));
      // Read with the credentials where the store can; never after the answer is computed.
      const version = cacheable
        ? (caller.queryVersion ?? (await store.queryVersion?.(caller.tenantId)))
        : undefined;
      const key = version === undefined ? undefined : ResponseCache.key(caller, query);
      let body = key === undefined ? undefined : cache?.get(key, version as number);
      if (!body) {
        const page = await runBatchQuery(store, caller, query);
        const frame = "json" in page ? page.frame : undefined;
        // A borrowed page's memory goes back once the answer is written, or the client gone.
        if (frame) {
          onceClosed(reply.raw, frame.release);
          // Fastify passes a Buffer through untouched only when its memory is an ArrayBuffer;
          // a frame's may be shared memory (SQLite's reader threads), so this reply's serializer
          // hands it over as it is.
          reply.serializer(asIs);
        }
        body = pageJson(page, query.pageNo, query.pageSize);
        // The cache keeps its own copy of bytes that are only borrowed.
        if (key !== undefined) cache?.set(key, version as number, frame ? Buffer.from(body) : body);
      }
      // The bytes BatchQueryResponse describes (the schema stays for the OpenAPI document).
      return reply.type("application/json; charset=utf-8").send(body);
    },
  );
}

/**
 * Runs `then` once the response is closed: written to the connection in full (its "close"
 * follows "finish", which waits for the last write to complete), or the connection gone.
 */
function onceClosed(response: ServerResponse, then: () => void): void {
  if (response.closed) then();
  else response.once("close", then);
}

/**
 * A serializer that hands the payload over unchanged: Fastify writes a Buffer that its
 * serializer returns, though the declared type says string.
 */
const asIs = ((body: Buffer) => body) as unknown as (payload: unknown) => string;
