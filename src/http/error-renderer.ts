/**
 * The one place that turns errors into responses. Domain errors (ApiError) carry their code and
 * status; Fastify's own client errors (bad body, wrong content type) become the family's
 * "bad request"; anything else is a 9999 whose details go to the log only.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config.js";
import { ApiError, GATEWAY, KOOPHONE, OPERATOR } from "../errors.js";

export function registerErrorRenderer(app: FastifyInstance, config: Config): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const api = toApiError(error, request);
    if (api.status >= 500) request.log.error({ err: error }, "request failed");
    const status = api.isKooPhone && config.errorStatus === "http200" ? 200 : api.status;
    send(reply, status, api);
  });

  app.setNotFoundHandler((request, reply) => {
    const admin = isAdmin(request);
    const kind = admin ? OPERATOR.notFound : GATEWAY.notFound;
    const message = admin
      ? "No such admin route"
      : "The API does not exist or has not been published";
    send(
      reply,
      kind.status,
      new ApiError(kind, `${message}: ${request.method} ${request.url.split("?")[0]}`),
    );
  });
}

/**
 * Fastify's `frameworkErrors`: a path that does not decode (`/v1/%E0%A4%A`) or an over-long path
 * parameter never reaches a route, a hook or the error handler above. It names no API, so it is
 * answered like an unknown route, in the same body and with the request id.
 */
export function renderFrameworkError(
  _error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const admin = isAdmin(request);
  const kind = admin ? OPERATOR.notFound : GATEWAY.notFound;
  reply.header("x-request-id", request.id);
  send(
    reply,
    kind.status,
    new ApiError(
      kind,
      admin ? "No such admin route" : "The API does not exist or has not been published",
    ),
  );
}

function send(reply: FastifyReply, status: number, error: ApiError): void {
  // Serialized here, not through the route's response schema: with --error-status http200 an
  // error body travels under the 200 status, whose schema describes a page.
  reply
    .code(status)
    .headers(error.headers)
    .type("application/json; charset=utf-8")
    .send(JSON.stringify({ error_code: error.code, error_msg: error.message }));
}

function toApiError(error: FastifyError, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error;
  const clientError =
    typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500;
  if (!clientError) return new ApiError(KOOPHONE.internal, "Internal service error");
  if (isAdmin(request)) {
    if (error.statusCode === 413) return new ApiError(OPERATOR.tooLarge, error.message);
    return new ApiError(OPERATOR.badInput, validationMessage(error));
  }
  return new ApiError(KOOPHONE.badParameter, validationMessage(error));
}

/** Names the offending field, e.g. `body/role must be equal to one of the allowed values`. */
function validationMessage(error: FastifyError): string {
  const first = error.validation?.[0];
  if (!first) return error.message;
  const field = first.instancePath.replace(/^\//, "").replaceAll("/", ".");
  const extra = first.params as { additionalProperty?: string; missingProperty?: string };
  const name = extra.additionalProperty ?? extra.missingProperty ?? field;
  if (extra.additionalProperty)
    return `${error.validationContext}: unknown field ${JSON.stringify(name)}`;
  return `${error.validationContext}${name ? `.${name}` : ""} ${first.message ?? "is invalid"}`;
}

function isAdmin(request: FastifyRequest): boolean {
  return request.url.startsWith("/admin/");
}
