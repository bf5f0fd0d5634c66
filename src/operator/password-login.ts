/**
 * Password login: a user of a tenant (IAM's "domain") proves its password and gets a token, as
 * IAM's POST /v3/auth/tokens does. Every way of being wrong (no such domain, no such user, a
 * user without a password, a wrong password) fails alike: same error, same message, and the
 * same scrypt work, so neither the answer nor its timing tells which part was wrong.
 */
import { randomUUID } from "node:crypto";
import { hashPassword, verifyPassword } from "../auth/secrets.js";
import { ApiError, IAM } from "../errors.js";
import type { Store } from "../store/types.js";
import { type IssuedToken, issueToken } from "./users.js";

export interface PasswordCredentials {
  user: string;
  password: string;
  /** The tenant's name. */
  domain: string;
}

export interface LoginResult extends IssuedToken {
  user: { id: string; name: string };
  domain: { id: string; name: string };
}

export const WRONG_CREDENTIALS = "The user name, password or domain name is incorrect";

export async function passwordLogin(
  store: Store,
  { user, password, domain }: PasswordCredentials,
  ttlSeconds = 86_400,
): Promise<LoginResult> {
  const tenant = await store.tenantByName(domain);
  const found = tenant ? await store.userByName(tenant.tenant_id, user) : undefined;
  const stored = found?.password_hash ?? null;
  // Always one scrypt verification, against a throwaway hash when there is nothing to check.
  const matches = await verifyPassword(password, stored ?? (await dummyHash()));
  if (!tenant || !found || stored === null || !matches) {
    throw new ApiError(IAM.unauthorized, WRONG_CREDENTIALS);
  }
  const token = await issueToken(store, found.user_id, {}, ttlSeconds);
  return {
    ...token,
    user: { id: found.user_id, name: found.name },
    domain: { id: tenant.tenant_id, name: tenant.name },
  };
}

let dummy: Promise<string> | undefined;

/** A hash of a random password with the same parameters as real ones, made once per process. */
function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomUUID());
  return dummy;
}
