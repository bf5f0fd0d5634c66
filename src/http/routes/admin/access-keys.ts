/** Access keys (AK/SK) of a user: issue (the secret shown once) and revoke. */
import { Type } from "typebox";
import { issueAccessKey, revokeAccessKey } from "../../../operator/access-keys.js";
import { type AdminApp, type AdminDeps, admin, ERRORS } from "./route.js";
import { UserParams } from "./schemas.js";

const closed = { additionalProperties: false } as const;

const AccessKeyParams = Type.Object(
  { access_key: Type.String({ pattern: "^[A-Za-z0-9]{1,128}$", description: "the AK" }) },
  closed,
);

/** Nothing to choose at issue; a body, if sent, must be empty. */
const NewAccessKey = Type.Object({}, closed);

const IssuedAccessKeyOut = Type.Object({
  access_key: Type.String({ description: "AK: 20 upper-case letters and digits" }),
  secret_key: Type.String({ description: "SK, shown once: stored only encrypted" }),
  user_id: Type.String(),
  created_at: Type.String({ description: "ISO 8601, UTC" }),
});

export function accessKeyRoutes(app: AdminApp, { store, secrets }: AdminDeps): void {
  app.post(
    "/users/:user_id/access-keys",
    {
      ...admin("adminIssueAccessKey", "Issue an access key pair (AK/SK) for a user", {
        params: UserParams,
        body: NewAccessKey,
        response: { 201: IssuedAccessKeyOut, ...ERRORS },
      }),
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) =>
      reply.code(201).send(await issueAccessKey(store, request.params.user_id, secrets)),
  );

  app.delete(
    "/access-keys/:access_key",
    admin("adminRevokeAccessKey", "Revoke an access key", {
      params: AccessKeyParams,
      response: { 204: { type: "null" }, ...ERRORS },
    }),
    async (request, reply) => {
      await revokeAccessKey(store, request.params.access_key);
      return reply.code(204).send();
    },
  );
}
