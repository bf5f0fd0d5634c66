/**
 * Verifies Huawei API-gateway request signatures (AK/SK, `SDK-HMAC-SHA256`), the authentication
 * Huawei's official SDKs use by default. Written from the public signing guide and from reading
 * the official Node.js SDK's signer; the protocol, as the signer computes it:
 *
 *   CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n
 *                      CanonicalHeaders \n SignedHeaders \n HexSHA256(payload)
 *   - CanonicalURI: each path segment URI-encoded (RFC 3986 unreserved characters kept, every
 *     other byte %XX upper case), ending in "/" even when the request path does not.
 *   - CanonicalQueryString: parameters sorted by name (values of a repeated name sorted too),
 *     each `encode(name)=encode(value)`, joined by "&"; "" without a query.
 *   - CanonicalHeaders: `name:value\n` for each signed header, names lower case.
 *   - SignedHeaders: the lower-case names, ";"-separated, as the Authorization header lists them.
 *   - payload: the X-Sdk-Content-Sha256 header when sent (the SDK sends `UNSIGNED-PAYLOAD` for
 *     requests without a JSON body), else the SHA-256 of the body.
 *   StringToSign = "SDK-HMAC-SHA256" \n X-Sdk-Date \n HexSHA256(CanonicalRequest)
 *   Signature    = Hex(HMAC-SHA256(secret key, StringToSign))
 *   Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<names>, Signature=<hex>
 *
 * Rules of our own, where the guide leaves room: X-Sdk-Date must be signed (else a captured
 * request could be replayed forever under a fresh date) and within 15 minutes of the server's
 * clock; a revoked key is reported as revoked only to a caller whose signature is valid.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { ApiError, GATEWAY } from "../errors.js";
import type { Store } from "../store/types.js";
import { type Caller, callerOf } from "./authenticate.js";
import type { SecretBox } from "./secret-box.js";

export const SIGNING_ALGORITHM = "SDK-HMAC-SHA256";
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const EMPTY_BODY_SHA256 = createHash("sha256").update("").digest("hex");

/** What the verifier needs of a request; `url` is the request target exactly as received. */
export interface SignedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Hex SHA-256 of the body; defaults to the empty body's. */
  payloadHash?: string;
}

export interface SignatureHeader {
  accessKey: string;
  signedHeaders: string[];
  signature: string;
}

const unauthorized = (why: string) =>
  new ApiError(GATEWAY.unauthorized, `Incorrect IAM authentication information: ${why}`);

export function isSignedRequest(authorization: string | undefined): boolean {
  return authorization?.startsWith(`${SIGNING_ALGORITHM} `) ?? false;
}

/** `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex` → its parts, or undefined. */
export function parseSignatureHeader(value: string): SignatureHeader | undefined {
  if (!value.startsWith(`${SIGNING_ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.slice(SIGNING_ALGORITHM.length + 1).split(",")) {
    const match = /^\s*(Access|SignedHeaders|Signature)=(\S+)\s*$/.exec(part);
    if (!match?.[1] || !match[2] || fields.has(match[1])) return undefined;
    fields.set(match[1], match[2]);
  }
  const accessKey = fields.get("Access");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!accessKey || !/^[A-Za-z0-9_-]{1,128}$/.test(accessKey)) return undefined;
  if (
    !signedHeaders ||
    !/^[a-z0-9!#$%&'*+.^_`|~-]+(;[a-z0-9!#$%&'*+.^_`|~-]+)*$/.test(signedHeaders)
  )
    return undefined;
  if (!signature || !/^[0-9a-fA-F]{64}$/.test(signature)) return undefined;
  return { accessKey, signedHeaders: signedHeaders.split(";"), signature: signature.toLowerCase() };
}

/** `YYYYMMDDTHHMMSSZ` (UTC) → the instant, or undefined when malformed or not a real time. */
export function parseSdkDate(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
  const date = new Date(iso);
  // Date rolls 2024-02-30 over into March; a real time prints back as itself.
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 19) !== iso.slice(0, 19)
    ? undefined
    : date;
}

/** RFC 3986 percent-encoding of everything but the unreserved characters, upper-case hex. */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Throws URIError on a malformed escape; the caller reports a bad signature. */
export function canonicalRequest(request: SignedRequest, signedHeaders: string[]): string {
  const queryAt = request.url.indexOf("?");
  const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const query = queryAt < 0 ? "" : request.url.slice(queryAt + 1);
  const headers = signedHeaders.map((name) => `${name}:${headerValue(request.headers, name)}\n`);
  const sentHash = headerValue(request.headers, "x-sdk-content-sha256");
  return [
    request.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    headers.join(""),
    signedHeaders.join(";"),
    sentHash ?? request.payloadHash ?? EMPTY_BODY_SHA256,
  ].join("\n");
}

/** Segments are decoded first, so a client that encoded its path and one that did not agree. */
function canonicalUri(path: string): string {
  const encoded = path
    .split("/")
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join("/");
  return encoded.endsWith("/") ? encoded : `${encoded}/`;
}

/** Decoded as a form would be (`+` is a space), then re-encoded canonically. */
function canonicalQuery(query: string): string {
  const byName = new Map<string, string[]>();
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = decodeForm(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? "" : decodeForm(part.slice(eq + 1));
    const values = byName.get(name);
    if (values) values.push(value);
    else byName.set(name, [value]);
  }
  const pairs: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    for (const value of (byName.get(name) ?? []).sort())
      pairs.push(`${uriEncode(name)}=${uriEncode(value)}`);
  }
  return pairs.join("&");
}

const decodeForm = (text: string) => decodeURIComponent(text.replaceAll("+", " "));

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return (Array.isArray(value) ? value.join(",") : value)?.trim();
}

export function stringToSign(sdkDate: string, canonical: string): string {
  const digest = createHash("sha256").update(canonical).digest("hex");
  return `${SIGNING_ALGORITHM}\n${sdkDate}\n${digest}`;
}

export function signature(secretKey: string, toSign: string): string {
  return createHmac("sha256", secretKey).update(toSign).digest("hex");
}

/**
 * A signed request → its caller, or the gateway's 401 naming the cause (never a secret).
 * Then the same checks as a token's caller: tenant exists (0000) → subscription (1004).
 */
export async function authenticateSignedRequest(
  store: Store,
  secrets: SecretBox,
  request: SignedRequest,
  now: Date,
): Promise<Caller> {
  const header = parseSignatureHeader(headerValue(request.headers, "authorization") ?? "");
  if (!header) {
    throw unauthorized(
      "the Authorization header is not `SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`",
    );
  }
  const sdkDate = headerValue(request.headers, "x-sdk-date");
  if (sdkDate === undefined || sdkDate === "")
    throw unauthorized("the X-Sdk-Date header is missing");
  const date = parseSdkDate(sdkDate);
  if (!date) throw unauthorized("X-Sdk-Date must be a UTC time written YYYYMMDDTHHMMSSZ");
  if (!header.signedHeaders.includes("x-sdk-date"))
    throw unauthorized("x-sdk-date must be one of the SignedHeaders");
  if (Math.abs(now.getTime() - date.getTime()) > MAX_CLOCK_SKEW_MS) {
    throw unauthorized("X-Sdk-Date is more than 15 minutes away from the server's time");
  }
  for (const name of header.signedHeaders) {
    if (headerValue(request.headers, name) === undefined)
      throw unauthorized(`signed header ${JSON.stringify(name)} is missing from the request`);
  }

  const principal = await store.principalByAccessKey(header.accessKey);
  if (!principal) throw unauthorized("the access key does not exist");
  const secretKey = secrets.open(principal.secretSealed, principal.accessKey);

  let canonical: string;
  try {
    canonical = canonicalRequest(request, header.signedHeaders);
  } catch {
    throw unauthorized("verify aksk signature fail: the request URL has a malformed escape");
  }
  const expected = Buffer.from(signature(secretKey, stringToSign(sdkDate, canonical)), "hex");
  if (!timingSafeEqual(expected, Buffer.from(header.signature, "hex")))
    throw unauthorized("verify aksk signature fail");
  if (principal.revoked) throw unauthorized("the access key has been revoked");
  return callerOf(principal);
}
