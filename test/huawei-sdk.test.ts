/**
 * Real clients nobody here wrote (issue 3 item 6), against the server on a real port over plain
 * HTTP: the official `@huaweicloud/huaweicloud-sdk-iam` obtains a token from POST /v3/auth/tokens
 * and that token lists instances; the official core package signs GET /v1/instances/batch-query
 * with an access key pair we issued (its HcClient: credentials → AKSKSigner → axios), and the
 * server accepts it, then refuses it once the key is revoked or the signature is tampered with.
 *
 * Two packaging faults of these SDK releases are worked around, not patched: the IAM package's
 * main entry also loads its v5 API, whose index requires a file that is not shipped
 * ("./GlobalCredentials,BasicCredentials"), so the v3 API is imported directly; and the core
 * package requires `uuid` without declaring it, so it is a dev dependency here.
 */
import { randomBytes } from "node:crypto";
import { createServer, request } from "node:http";
import { BasicCredentials, GlobalCredentials } from "@huaweicloud/huaweicloud-sdk-core";
import { ClientBuilder } from "@huaweicloud/huaweicloud-sdk-core/ClientBuilder.js";
import type { HcClient } from "@huaweicloud/huaweicloud-sdk-core/HcClient.js";
import { Logger4jInstance } from "@huaweicloud/huaweicloud-sdk-core/logger/log4jLogger.js";
import {
  IamClient,
  KeystoneCreateUserTokenByPasswordRequest,
  KeystoneCreateUserTokenByPasswordRequestBody,
  PwdAuth,
  PwdIdentity,
  PwdPassword,
  PwdPasswordUser,
  PwdPasswordUserDomain,
} from "@huaweicloud/huaweicloud-sdk-iam/v3/public-api.js";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../src/app.js";
import { SecretBox } from "../src/auth/secret-box.js";
import {
  type IssuedAccessKey,
  issueAccessKey,
  revokeAccessKey,
} from "../src/operator/access-keys.js";
import { createUser } from "../src/operator/users.js";
import { addInstances, makeTenant, testConfig } from "./helpers/fixtures.js";
import { STORES } from "./helpers/stores.js";

const PASSWORD = "sdk-password-123";

/**
 * Without a custom user agent the SDK writes an application id into ~/.huaweicloud on first
 * use; tests keep out of the home directory.
 */
const SDK_OPTIONS = { customUserAgent: "phonefleet-tests" };

// On every failed request the SDK logs the whole request config at ERROR level, body included
// (for a token request: the password). Tests expect failures; keep that out of their output.
Logger4jInstance.level = "off";
const BATCH = "/v1/instances/batch-query";

/** What the SDK rejects with (ClientRequestException and friends). */
interface SdkError {
  httpStatusCode?: number;
  errorCode?: string;
  errorMsg?: string;
}

async function sdkError(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error("the SDK call succeeded");
}

/** A page of the batch query as the SDK hands it back (the body plus httpStatusCode). */
interface SdkPage {
  httpStatusCode: number;
  total_count: number;
  data: { result: { instance_name: string }[] };
}

function iamTokenRequest(user: string, password: string, domain: string) {
  const identity = new PwdIdentity()
    .withMethods(["password"])
    .withPassword(
      new PwdPassword().withUser(
        new PwdPasswordUser()
          .withName(user)
          .withPassword(password)
          .withDomain(new PwdPasswordUserDomain().withName(domain)),
      ),
    );
  return new KeystoneCreateUserTokenByPasswordRequest().withBody(
    new KeystoneCreateUserTokenByPasswordRequestBody().withAuth(
      new PwdAuth().withIdentity(identity),
    ),
  );
}

for (const factory of STORES) {
  describe(`official Huawei Cloud SDKs (${factory.name})`, () => {
    let ctx: Awaited<ReturnType<typeof factory.create>>;
    let app: FastifyInstance;
    let endpoint = "";
    let tenantId = "";
    let userId = "";
    const secrets = SecretBox.ofKey(randomBytes(32));

    beforeAll(async () => {
      ctx = await factory.create();
      const acme = await makeTenant(ctx.store, "acme", 1);
      tenantId = acme.tenantId;
      const project = acme.projects[0]?.project_id;
      await addInstances(
        ctx.store,
        tenantId,
        ["sdk-phone-1", "sdk-phone-2", "sdk-phone-3"].map((instance_name) => ({
          instance_name,
          region: "cn-north-4",
          instance_sku: "sku",
          project_id: project,
          pool_name: "phones",
        })),
      );
      userId = (
        await createUser(ctx.store, tenantId, {
          name: "sdk-user",
          role: "admin",
          password: PASSWORD,
        })
      ).user_id;
      app = await buildApp({ config: testConfig(), store: ctx.store, secrets });
      await app.listen({ host: "127.0.0.1", port: 0 });
      const address = app.server.address();
      if (!address || typeof address === "string") throw new Error("no port");
      endpoint = `http://127.0.0.1:${address.port}`;
    });
    afterAll(async () => {
      await app.close();
      await ctx.dispose();
    });

    /**
     * The SDK's IAM client. Its builder insists on an AK/SK (it signs every request, the token
     * request included), although IAM's token API does not need one; ours ignores it too. These
     * placeholders are deliberately not a key we issued.
     */
    const iamClient = () =>
      IamClient.newBuilder()
        .withCredential(new GlobalCredentials().withAk("PLACEHOLDERAK").withSk("placeholder-sk"))
        .withEndpoint(endpoint)
        .withOptions(SDK_OPTIONS)
        .build();

    /** A bare core client: the pipeline every generated service client runs on. */
    const coreClient = (ak: string, sk: string, via = endpoint): HcClient =>
      new ClientBuilder((client: HcClient) => client)
        .withCredential(new BasicCredentials().withAk(ak).withSk(sk))
        .withEndpoint(via)
        .withOptions(SDK_OPTIONS)
        .build();

    const listInstances = (client: HcClient, headers: Record<string, string> = {}) =>
      client.sendRequest({
        method: "GET",
        url: BATCH,
        contentType: "application/json",
        queryParams: {
          page_no: "1",
          page_size: "10",
          instance_name: "sdk-",
          order_by: "instance_name",
        },
        pathParams: {},
        headers,
      } as never) as Promise<SdkPage>;

    it("the IAM SDK obtains a token, and that token lists instances", async () => {
      const response = await iamClient().keystoneCreateUserTokenByPassword(
        iamTokenRequest("sdk-user", PASSWORD, "acme"),
      );
      expect(response.httpStatusCode).toBe(201);
      // The SDK hands back the body as parsed JSON (its model classes type it, their getters are
      // not applied) with the X-Subject-Token response header copied in under its own name.
      const raw = response as unknown as IamTokenResponse;
      const token = raw["X-Subject-Token"];
      expect(token).toMatch(/^pf_/);
      expect(raw.token.methods).toEqual(["password"]);
      expect(raw.token.user).toMatchObject({
        id: userId,
        name: "sdk-user",
        domain: { id: tenantId, name: "acme" },
      });
      expect(Date.parse(raw.token.expires_at)).toBeGreaterThan(Date.now());

      // The token, through the SDK's core client: it still signs with its placeholder AK/SK
      // and sends that Authorization header, which a valid X-Auth-Token makes irrelevant.
      const page = await listInstances(coreClient("PLACEHOLDERAK", "placeholder-sk"), {
        "X-Auth-Token": String(token),
      });
      expect(page.httpStatusCode).toBe(200);
      expect(page.total_count).toBe(3);
      // And with a plain HTTP client.
      const res = await fetch(`${endpoint}${BATCH}?page_no=1&page_size=10`, {
        headers: { "X-Auth-Token": String(token) },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { total_count: number }).total_count).toBe(3);
    });

    it("the IAM SDK reads our 401 for a wrong password", async () => {
      const error = await sdkError(
        iamClient().keystoneCreateUserTokenByPassword(iamTokenRequest("sdk-user", "wrong", "acme")),
      );
      expect(error.httpStatusCode).toBe(401);
      expect(error.errorCode).toBe("IAM.0001");
      expect(error.errorMsg).toMatch(/incorrect/);
    });

    describe("AK/SK", () => {
      let key: IssuedAccessKey;
      beforeAll(async () => {
        key = await issueAccessKey(ctx.store, userId, secrets);
      });

      it("the core SDK signs GET /v1/instances/batch-query with our AK/SK, and it is accepted", async () => {
        const page = await listInstances(coreClient(key.access_key, key.secret_key));
        expect(page.httpStatusCode).toBe(200);
        expect(page.total_count).toBe(3);
        expect(page.data.result.map((r) => r.instance_name)).toEqual([
          "sdk-phone-1",
          "sdk-phone-2",
          "sdk-phone-3",
        ]);
      });

      it("a signature made with another secret is refused", async () => {
        const error = await sdkError(listInstances(coreClient(key.access_key, "x".repeat(40))));
        expect(error.httpStatusCode).toBe(401);
        expect(error.errorCode).toBe("APIGW.0301");
        expect(error.errorMsg).toMatch(/verify aksk signature fail/);
      });

      it("a signed request tampered with on the way is refused", async () => {
        // A man in the middle between the SDK and the server, forwarding each request with
        // `rewrite` applied to its target (page_size=10 as signed → page_size=100 as received).
        const { url, close } = await forwarder(endpoint, (target) =>
          target.replace("page_size=10", "page_size=100"),
        );
        try {
          const client = coreClient(key.access_key, key.secret_key, url);
          const error = await sdkError(listInstances(client));
          expect(error.httpStatusCode).toBe(401);
          expect(error.errorMsg).toMatch(/verify aksk signature fail/);
          // Through a forwarder that changes nothing, the same request is accepted.
          const honest = await forwarder(endpoint, (target) => target);
          try {
            const page = await listInstances(
              coreClient(key.access_key, key.secret_key, honest.url),
            );
            expect(page.httpStatusCode).toBe(200);
          } finally {
            await honest.close();
          }
        } finally {
          await close();
        }
      });

      it("once the key is revoked, the same signed requests are refused", async () => {
        const client = coreClient(key.access_key, key.secret_key);
        expect((await listInstances(client)).httpStatusCode).toBe(200);
        await revokeAccessKey(ctx.store, key.access_key);
        const error = await sdkError(listInstances(client));
        expect(error.httpStatusCode).toBe(401);
        expect(error.errorCode).toBe("APIGW.0301");
        expect(error.errorMsg).toMatch(/revoked/);
      });
    });
  });
}

interface IamTokenResponse {
  "X-Subject-Token": string;
  token: {
    methods: string[];
    expires_at: string;
    user: { id: string; name: string; domain: { id: string; name: string } };
  };
}

/** An HTTP forwarder on its own port that rewrites each request target on the way. */
async function forwarder(
  upstream: string,
  rewrite: (target: string) => string,
): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(upstream);
  const server = createServer((req, res) => {
    const forwarded = request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: rewrite(req.url ?? "/"),
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
