/** `GET /v1/instances/batch-query`: the KooPhone tenant API (reference page, spec/batch-query.md). */
import type { FastifyInstance } from "fastify";
import { runBatchQuery } from "../../instances/batch-query.js";
import { parseBatchQuery, type RawQuery } from "../../instances/parse-query.js";
import { requestIdStatus } from "../request-id.js";
import { BatchQueryParameters, BatchQueryResponse, ErrorBody } from "../schemas.js";
import { callerOf, type GuardDeps, tenantGuard } from "../tenant-guard.js";

export function batchQueryRoute(app: FastifyInstance, deps: GuardDeps): void {
  const { config, store } = deps;
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
    async (request) => {
      const query = parseBatchQuery(request.query as RawQuery, {
        strict: config.strict,
        requestId: requestIdStatus(request.raw),
      });
      const page = await runBatchQuery(store, callerOf(request), query);
      const fields = { page_no: query.pageNo, page_size: query.pageSize, total_count: page.total };
      return {
        data: { result: page.rows, ...fields },
        ...fields,
        error_code: "0",
        error_msg: "OK",
      };
    },
  );
}
