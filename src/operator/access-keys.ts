/**
 * Access keys (AK/SK) of a user, for Huawei API-gateway request signing (src/auth/aksk.ts).
 * The secret is shown once, at issue; it is stored sealed under the server key, because
 * verifying a signature needs it in the clear (a hash would not do, unlike tokens).
 */
import { randomInt } from "node:crypto";
import { type SecretBox, SecretKeyError } from "../auth/secret-box.js";
import { ApiError, notFound, OPERATOR } from "../errors.js";
import type { Store } from "../store/types.js";
import { getUser } from "./users.js";

export interface IssuedAccessKey {
  access_key: string;
  /** Shown here only: it cannot be read back later. */
  secret_key: string;
  user_id: string;
  created_at: string;
}

export async function issueAccessKey(
  store: Store,
  userId: string,
  secrets: SecretBox,
): Promise<IssuedAccessKey> {
  const user = await getUser(store, userId);
  // A user of a deleted tenant can no longer be given credentials.
  if (!(await store.tenantById(user.tenant_id)))
    throw notFound(`no user ${JSON.stringify(userId)}`);
  const accessKey = randomString(UPPER_DIGITS, 20);
  const secretKey = randomString(ALPHANUMERIC, 40);
  const createdAt = new Date().toISOString();
  await store.insertAccessKey({
    access_key: accessKey,
    tenant_id: user.tenant_id,
    user_id: user.user_id,
    secret_sealed: seal(secrets, secretKey, accessKey),
    created_at: createdAt,
  });
  return {
    access_key: accessKey,
    secret_key: secretKey,
    user_id: user.user_id,
    created_at: createdAt,
  };
}

export async function revokeAccessKey(store: Store, accessKey: string): Promise<void> {
  if (!(await store.revokeAccessKey(accessKey, new Date().toISOString()))) {
    throw notFound(`no active access key ${JSON.stringify(accessKey)}`);
  }
}

/** A server without a usable key says what to configure, to the operator only. */
function seal(secrets: SecretBox, secretKey: string, accessKey: string): string {
  try {
    return secrets.seal(secretKey, accessKey);
  } catch (error) {
    if (error instanceof SecretKeyError) throw new ApiError(OPERATOR.notConfigured, error.message);
    throw error;
  }
}

/** Huawei's shapes: a 20-character upper-case AK, a 40-character SK (~238 bits of entropy). */
const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALPHANUMERIC = `${UPPER_DIGITS}abcdefghijklmnopqrstuvwxyz`;

function randomString(alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
