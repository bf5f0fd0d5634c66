/**
 * The batch query, after authentication and parameter validation: permission rules, then the
 * store. Another tenant's instance is indistinguishable from one that does not exist.
 */
import type { Caller } from "../auth/authenticate.js";
import { ApiError, KOOPHONE } from "../errors.js";
import type { Store } from "../store/types.js";
import type { BatchQuery, EncodedPage, InstancePage, Visibility } from "./model.js";

export async function runBatchQuery(
  store: Store,
  caller: Caller,
  query: BatchQuery,
): Promise<InstancePage | EncodedPage> {
  const visibility = await visibilityOf(store, caller, query);
  if (unmatchable(query)) return { total: 0, rows: [] };
  const encoded = await store.queryEncodedInstances?.(visibility, query);
  return encoded ?? store.queryInstances(visibility, query);
}

/**
 * A filter holding NUL matches nothing: no stored id or name can hold one (names refuse control
 * characters, ids are alphanumeric). Answered here, the same on every store: PostgreSQL text
 * cannot even hold NUL, so the store would fail on it.
 */
function unmatchable(query: BatchQuery): boolean {
  return [query.instanceId, query.nameContains, query.poolName].some(holdsNul);
}

function holdsNul(value: string | undefined): boolean {
  return value?.includes("\u0000") === true;
}

/** Tenant admins see the whole tenant; members see the projects granted to them. */
async function visibilityOf(store: Store, caller: Caller, query: BatchQuery): Promise<Visibility> {
  if (caller.role === "admin") return { tenantId: caller.tenantId };
  if (caller.projectIds.length === 0) {
    throw new ApiError(
      KOOPHONE.forbidden,
      "Insufficient instance permissions: the user has no project grants",
    );
  }
  // An id holding NUL names no instance (see unmatchable): nothing to look up.
  if (query.instanceId !== undefined && !holdsNul(query.instanceId)) {
    const projectId = await store.instanceProject(caller.tenantId, query.instanceId);
    if (projectId !== undefined && !caller.projectIds.includes(projectId)) {
      throw new ApiError(
        KOOPHONE.forbidden,
        "Insufficient instance permissions: the instance belongs to a project not granted to the user",
      );
    }
  }
  return { tenantId: caller.tenantId, projectIds: caller.projectIds };
}
