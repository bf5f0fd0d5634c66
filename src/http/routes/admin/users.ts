/** Users of a tenant and their tokens: create, update (role, grants, password), issue, revoke. */
import { NewToken, NewUser, UserPatch } from "../../../operator/schemas.js";
import { createUser, issueToken, revokeToken, updateUser } from "../../../operator/users.js";
import { ErrorBody } from "../../schemas.js";
import { type AdminApp, type AdminDeps, admin, ERRORS } from "./route.js";
import { IssuedTokenOut, TenantParams, TokenParams, UserOut, UserParams } from "./schemas.js";

export function userRoutes(app: AdminApp, { config, store }: AdminDeps): void {
  app.post(
    "/tenants/:tenant_id/users",
    admin("adminCreateUser", "Create a user of a tenant", {
      params: TenantParams,
      body: NewUser,
      response: { 201: UserOut, ...ERRORS, 409: ErrorBody },
    }),
    async (request, reply) =>
      reply.code(201).send(await createUser(store, request.params.tenant_id, request.body)),
  );

  app.patch(
    "/users/:user_id",
    admin("adminUpdateUser", "Change a user's role, project grants or password", {
      params: UserParams,
      body: UserPatch,
      response: { 200: UserOut, ...ERRORS },
    }),
    async (request) => updateUser(store, request.params.user_id, request.body),
  );

  app.post(
    "/users/:user_id/tokens",
    {
      ...admin("adminIssueToken", "Issue a token for a user (shown once)", {
        params: UserParams,
        body: NewToken,
        response: { 201: IssuedTokenOut, ...ERRORS },
      }),
      // The body is optional here: a bare POST issues a token with the default lifetime.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request, reply) => {
      const issued = await issueToken(
        store,
        request.params.user_id,
        request.body,
        config.tokenTtlSeconds,
      );
      return reply.code(201).send(issued);
    },
  );
  app.delete(
    "/tokens/:token_id",
    admin("adminRevokeToken", "Revoke a token", {
      params: TokenParams,
      response: { 204: { type: "null" }, ...ERRORS },
    }),
    async (request, reply) => {
      await revokeToken(store, request.params.token_id);
      return reply.code(204).send();
    },
  );
}
