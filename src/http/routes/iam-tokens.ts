/**
 * `POST /v3/auth/tokens`: Huawei IAM's password authentication, so that clients written for
 * IAM (the official SDKs' KeystoneCreateUserTokenByPassword, scripts that curl IAM) get a token
 * here unchanged: `201`, the token in `X-Subject-Token`, and IAM's body shape (spec/operator.md).
 *
 * Its body is parsed here, not by Fastify's JSON parser, so that a malformed body is answered in
 * IAM's terms (IAM.0007 naming the field) like every other bad body of this route.
 */
import type { FastifyInstance } from "fastify";
import { type Static, Type } from "typebox";
import { Compile } from "typebox/compile";
import type { Config } from "../../config.js";
import { ApiError, GATEWAY, IAM } from "../../errors.js";
import type { LoginThrottle } from "../../limits/login-throttle.js";
import { type LoginResult, passwordLogin } from "../../operator/password-login.js";
import { describe } from "../../operator/validate.js";
import type { Store } from "../../store/types.js";
import { ErrorBody } from "../schemas.js";

const Name = Type.String({ minLength: 1, maxLength: 64, pattern: "^[^\\u0000-\\u001f\\u007f]*$" });

/** IAM's request body. Extra members (a `scope`, say) are accepted and ignored, as IAM clients
 * send them; tokens here are not scoped. */
const PasswordAuthBody = Type.Object({
  auth: Type.Object({
    identity: Type.Object({
      methods: Type.Array(Type.String({ maxLength: 32 }), { minItems: 1, maxItems: 8 }),
      password: Type.Object({
        user: Type.Object({
          name: Name,
          password: Type.String({ minLength: 1, maxLength: 256 }),
          domain: Type.Object({ name: Name }),
        }),
      }),
    }),
  }),
});
type PasswordAuthBody = Static<typeof PasswordAuthBody>;
const validator = Compile(PasswordAuthBody);

const TokenBody = Type.Object({
  token: Type.Object({
    expires_at: Type.String({ examples: ["2020-01-04T09:05:22.701000Z"] }),
    issued_at: Type.String({ examples: ["2020-01-03T09:05:22.701000Z"] }),
    methods: Type.Array(Type.String(), { examples: [["password"]] }),
    catalog: Type.Array(Type.Unknown()),
    domain: Type.Object({ id: Type.String(), name: Type.String() }),
    user: Type.Object({
      id: Type.String(),
      name: Type.String(),
      domain: Type.Object({ id: Type.String(), name: Type.String() }),
      password_expires_at: Type.String(),
    }),
  }),
});

export interface IamTokenDeps {
  config: Config;
  store: Store;
  throttle: LoginThrottle;
}

export function iamTokenRoute(app: FastifyInstance, { config, store, throttle }: IamTokenDeps) {
  return app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "string", bodyLimit: 16 * 1024 }, (_r, body, done) =>
      done(null, body),
    );
    scope.post(
      "/v3/auth/tokens",
      {
        config: { operation: "createTokenByPassword" },
        schema: {
          operationId: "createTokenByPassword",
          summary: "Obtain a token with a user name and password (Huawei IAM compatible)",
          tags: ["auth"],
          body: PasswordAuthBody,
          response: { 201: TokenBody, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody },
        },
        // The schema above documents the body; it is parsed and checked in the handler.
        validatorCompiler: () => (value) => ({ value }),
      },
      async (request, reply) => {
        const { user } = readBody(request.body).auth.identity.password;
        const attempt = { user: user.name, domain: user.domain.name, address: request.ip };
        const wait = await throttle.begin(attempt);
        if (wait > 0) {
          throw new ApiError(GATEWAY.throttled, "Too many failed logins; retry later", {
            "retry-after": String(Math.ceil(wait / 1000)),
          });
        }
        const login = await passwordLogin(
          store,
          { user: user.name, password: user.password, domain: user.domain.name },
          config.tokenTtlSeconds,
        );
        await throttle.succeeded(attempt);
        reply.code(201).header("x-subject-token", login.token).header("cache-control", "no-store");
        return tokenBody(login);
      },
    );
  });
}

const badRequest = (message: string) => new ApiError(IAM.badRequest, message);

function readBody(raw: unknown): PasswordAuthBody {
  if (typeof raw !== "string" || raw.trim() === "") throw badRequest("the body must be JSON");
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw badRequest("the body is not valid JSON");
  }
  if (!validator.Check(body)) {
    const first = validator.Errors(body)[0];
    throw badRequest(first ? describe("body", first) : "the body is invalid");
  }
  if (!body.auth.identity.methods.includes("password")) {
    throw badRequest('body.auth.identity.methods must include "password", the only method here');
  }
  return body;
}

/** IAM writes times with microseconds: 2020-01-04T09:05:22.701000Z. */
const iamTime = (iso: string) => iso.replace(/Z$/, "000Z");

function tokenBody(login: LoginResult): Static<typeof TokenBody> {
  return {
    token: {
      expires_at: iamTime(login.expires_at),
      issued_at: iamTime(login.issued_at),
      methods: ["password"],
      catalog: [],
      domain: login.domain,
      user: { ...login.user, domain: login.domain, password_expires_at: "" },
    },
  };
}
