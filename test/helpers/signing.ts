/** Requests signed by the official Huawei SDK's signer, as its clients send them. */
import { stringify } from "node:querystring";
import { BasicCredentials } from "@huaweicloud/huaweicloud-sdk-core";
import { AKSKSigner } from "@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner.js";
import { vi } from "vitest";
import { BATCH } from "./api.js";

export type Query = Record<string, string>;

export interface Signed {
  url: string;
  headers: Record<string, string>;
}

/**
 * A GET of the batch query signed the way the SDK's credentials sign it: the SDK adds
 * `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` to requests without a JSON body, then AKSKSigner
 * signs every header it holds plus host and X-Sdk-Date. The query travels as the SDK's HTTP
 * client writes it (querystring.stringify).
 */
export function signGet(
  key: { access_key: string; secret_key: string },
  query: Query,
  headers: Record<string, string> = {},
  at?: Date,
): Signed {
  const request = {
    endpoint: `http://localhost:80${BATCH}`,
    method: "GET",
    headers: { "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD", ...headers },
    queryParams: query,
  };
  const credentials = new BasicCredentials().withAk(key.access_key).withSk(key.secret_key);
  if (at) {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(at);
  }
  try {
    const signed = AKSKSigner.sign(request as never, credentials) as Record<string, string>;
    return { url: `${BATCH}?${stringify(query)}`, headers: signed };
  } finally {
    if (at) vi.useRealTimers();
  }
}
