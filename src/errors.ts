/**
 * The error catalogue. Every error a client can see is listed here once, with its wire code,
 * its HTTP status and the kind of failure it is. Domain code throws these; one renderer
 * (src/http/plugins/error-renderer.ts) turns them into bodies. Nothing else builds error bodies.
 */

/** Errors of the KooPhone tenant API (codes and statuses from the reference page). */
export const KOOPHONE = {
  tenantMissing: { code: "KOOPHONE.API.0000", status: 500 },
  missingRequestId: { code: "KOOPHONE.API.0002", status: 400 },
  badParameter: { code: "KOOPHONE.API.1000", status: 400 },
  forbidden: { code: "KOOPHONE.API.1001", status: 400 },
  notSubscribed: { code: "KOOPHONE.API.1004", status: 400 },
  badTime: { code: "KOOPHONE.API.5002", status: 400 },
  endBeforeStart: { code: "KOOPHONE.API.5004", status: 400 },
  internal: { code: "KOOPHONE.API.9999", status: 500 },
} as const;

/** Errors the Huawei Cloud API gateway answers before the service sees the request. */
export const GATEWAY = {
  unauthorized: { code: "APIGW.0301", status: 401 },
  notFound: { code: "APIGW.0101", status: 404 },
  throttled: { code: "APIGW.0308", status: 429 },
} as const;

/**
 * Errors of the IAM-compatible token endpoint (POST /v3/auth/tokens), in IAM's own
 * `IAM.xxxx` style (IAM.0007 is IAM's "request parameter is invalid"). Its throttling answers
 * GATEWAY.throttled, as the gateway in front of IAM would.
 */
export const IAM = {
  badRequest: { code: "IAM.0007", status: 400 },
  unauthorized: { code: "IAM.0001", status: 401 },
} as const;

/** Errors of the operator side (CLI and admin API). */
export const OPERATOR = {
  badInput: { code: "ADMIN.BAD_REQUEST", status: 400 },
  unauthorized: { code: "ADMIN.UNAUTHORIZED", status: 401 },
  notFound: { code: "ADMIN.NOT_FOUND", status: 404 },
  conflict: { code: "ADMIN.CONFLICT", status: 409 },
  tooLarge: { code: "ADMIN.PAYLOAD_TOO_LARGE", status: 413 },
  throttled: { code: "ADMIN.TOO_MANY_REQUESTS", status: 429 },
  /** A feature the server's configuration does not enable (access keys without a server key). */
  notConfigured: { code: "ADMIN.NOT_CONFIGURED", status: 503 },
} as const;

export interface ErrorKind {
  readonly code: string;
  readonly status: number;
}

/** An error whose message is safe to show to the caller. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra response headers (for example Retry-After). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(kind: ErrorKind, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "ApiError";
    this.code = kind.code;
    this.status = kind.status;
    this.headers = headers;
  }

  /** KooPhone errors may be sent with HTTP 200 (`--error-status http200`); gateway ones never. */
  get isKooPhone(): boolean {
    return this.code.startsWith("KOOPHONE.API.");
  }
}

/** Shortcuts for the errors thrown most, so call sites read as sentences. */
export const badParameter = (message: string) => new ApiError(KOOPHONE.badParameter, message);
export const badInput = (message: string) => new ApiError(OPERATOR.badInput, message);
export const notFound = (message: string) => new ApiError(OPERATOR.notFound, message);
export const conflict = (message: string) => new ApiError(OPERATOR.conflict, message);

/** Quote a user-supplied value for an error message: bounded, control characters escaped. */
export function quote(value: string, max = 64): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}
