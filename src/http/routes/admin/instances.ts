/** `/admin/v1/instances/{instance_id}`: change an instance's state, or release it. */

import { deleteInstance, patchInstance } from "../../../operator/instances.js";
import { InstancePatch } from "../../../operator/schemas.js";
import type { StoredInstance } from "../../../store/types.js";
import { type AdminApp, type AdminDeps, admin, ERRORS } from "./route.js";
import { InstanceOut, InstanceParams } from "./schemas.js";

export function instanceRoutes(app: AdminApp, { store }: AdminDeps): void {
  app.patch(
    "/instances/:instance_id",
    admin("adminPatchInstance", "Change an instance's state; the next tenant query shows it", {
      params: InstanceParams,
      body: InstancePatch,
      response: { 200: InstanceOut, ...ERRORS },
    }),
    async (request) => view(await patchInstance(store, request.params.instance_id, request.body)),
  );

  app.delete(
    "/instances/:instance_id",
    admin("adminDeleteInstance", "Release an instance", {
      params: InstanceParams,
      response: { 204: { type: "null" }, ...ERRORS },
    }),
    async (request, reply) => {
      await deleteInstance(store, request.params.instance_id);
      return reply.code(204).send();
    },
  );
}

/** assign_status is not stored: it follows assign_user, as in the tenant API. */
function view(instance: StoredInstance) {
  return { ...instance, assign_status: instance.assign_user === "" ? 0 : 1 };
}
