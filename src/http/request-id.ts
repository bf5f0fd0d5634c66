/**
 * The request id: from the `x-request-id` query parameter (as the reference page and the official
 * Java SDK send it) or header (as other KooPhone APIs do), else a fresh UUID. It is echoed in the
 * X-Request-Id response header and tagged on every log line of the request.
 *
 * A malformed id is never echoed (no header injection): the request gets a fresh id and is
 * marked, and the batch query rejects it with KOOPHONE.API.1000 at the parameter step.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export type RequestIdStatus = "given" | "generated" | "invalid";

const statuses = new WeakMap<IncomingMessage, RequestIdStatus>();

export function genReqId(raw: IncomingMessage): string {
  const candidate = fromQuery(raw.url) ?? raw.headers["x-request-id"];
  if (candidate === undefined) {
    statuses.set(raw, "generated");
    return randomUUID();
  }
  if (typeof candidate === "string" && REQUEST_ID.test(candidate)) {
    statuses.set(raw, "given");
    return candidate;
  }
  statuses.set(raw, "invalid");
  return randomUUID();
}

export function requestIdStatus(raw: IncomingMessage): RequestIdStatus {
  return statuses.get(raw) ?? "generated";
}

/** The query parameter wins over the header; given twice, it is invalid (an array). */
function fromQuery(url: string | undefined): string | string[] | undefined {
  const start = url?.indexOf("?") ?? -1;
  if (url === undefined || start < 0) return undefined;
  // Skip parsing when the name cannot be there; it may also arrive percent-encoded (x%2Drequest…).
  if (!url.includes("x-request-id", start) && !url.includes("%", start)) return undefined;
  const values = new URLSearchParams(url.slice(start + 1)).getAll("x-request-id");
  if (values.length === 0) return undefined;
  return values.length === 1 ? values[0] : values;
}
