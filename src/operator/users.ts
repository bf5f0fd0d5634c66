/** Users of a tenant, their roles and project grants, and their tokens. */
import { hashPassword, hashToken, newToken } from "../auth/secrets.js";
import { badInput, notFound } from "../errors.js";
import { newHexId } from "../ids.js";
import type { Store, UserPatch as StoredUserPatch, User } from "../store/types.js";
import { NewToken, NewUser, UserPatch } from "./schemas.js";
import { findTenant } from "./tenants.js";
import { checker } from "./validate.js";

const checkNew = checker(NewUser);
const checkPatch = checker(UserPatch);
const checkToken = checker(NewToken);

export async function createUser(store: Store, tenant: string, input: unknown): Promise<User> {
  const body = checkNew(input);
  const { tenant_id } = await findTenant(store, tenant);
  const project_ids = await ownProjects(store, tenant_id, body.project_ids ?? []);
  const user = {
    user_id: newHexId(),
    tenant_id,
    name: body.name,
    role: body.role,
    project_ids,
    password_hash: body.password === undefined ? null : await hashPassword(body.password),
  };
  await store.createUser(user);
  return {
    user_id: user.user_id,
    tenant_id,
    name: user.name,
    role: user.role,
    project_ids,
    has_password: user.password_hash !== null,
  };
}

export async function listUsers(store: Store, tenant: string): Promise<User[]> {
  return store.listUsers((await findTenant(store, tenant)).tenant_id);
}

/** A user of a live tenant: a deleted tenant's users are gone for the operator too. */
export async function getUser(store: Store, userId: string): Promise<User> {
  const user = await store.userById(userId);
  if (!user || !(await store.tenantById(user.tenant_id)))
    throw notFound(`no user ${JSON.stringify(userId)}`);
  const { password_hash: _hidden, ...rest } = user;
  return rest;
}

/** A user by id, or by name within a tenant (for the command line). */
export async function findUser(store: Store, user: string, tenant?: string): Promise<User> {
  if (tenant === undefined) return getUser(store, user);
  const { tenant_id } = await findTenant(store, tenant);
  const found = (await store.userByName(tenant_id, user)) ?? (await store.userById(user));
  if (!found || found.tenant_id !== tenant_id)
    throw notFound(`no user ${JSON.stringify(user)} in tenant ${JSON.stringify(tenant)}`);
  return getUser(store, found.user_id);
}

export async function updateUser(store: Store, userId: string, input: unknown): Promise<User> {
  const body = checkPatch(input);
  const user = await getUser(store, userId);
  const patch: StoredUserPatch = {};
  if (body.role !== undefined) patch.role = body.role;
  if (body.project_ids !== undefined)
    patch.project_ids = await ownProjects(store, user.tenant_id, body.project_ids);
  if (body.password !== undefined)
    patch.password_hash = body.password === null ? null : await hashPassword(body.password);
  await store.updateUser(userId, patch);
  return getUser(store, userId);
}

/** Grants may name only projects of the user's own tenant. */
async function ownProjects(
  store: Store,
  tenantId: string,
  projectIds: string[],
): Promise<string[]> {
  const own = new Set((await store.listProjects(tenantId)).map((p) => p.project_id));
  const foreign = projectIds.find((id) => !own.has(id));
  if (foreign !== undefined)
    throw badInput(`project_ids: no project ${JSON.stringify(foreign)} in this tenant`);
  return [...new Set(projectIds)].sort();
}

export interface IssuedToken {
  token: string;
  token_id: string;
  user_id: string;
  issued_at: string;
  expires_at: string;
}

/** A new bearer token: shown once here, only its SHA-256 is stored. */
export async function issueToken(
  store: Store,
  userId: string,
  input: unknown,
  defaultTtlSeconds: number,
): Promise<IssuedToken> {
  const body = checkToken(input ?? {});
  await getUser(store, userId);
  const token = newToken();
  const issued = new Date();
  const expires = new Date(issued.getTime() + (body.ttl_seconds ?? defaultTtlSeconds) * 1000);
  const record = {
    token_id: newHexId(),
    user_id: userId,
    token_hash: hashToken(token),
    issued_at: issued.toISOString(),
    expires_at: expires.toISOString(),
  };
  await store.insertToken(record);
  return {
    token,
    token_id: record.token_id,
    user_id: userId,
    issued_at: record.issued_at,
    expires_at: record.expires_at,
  };
}

export async function revokeToken(store: Store, tokenId: string): Promise<void> {
  if (!(await store.revokeToken(tokenId, new Date().toISOString()))) {
    throw notFound(`no active token ${JSON.stringify(tokenId)}`);
  }
}
