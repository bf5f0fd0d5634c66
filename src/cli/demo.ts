/**
 * `phonefleet demo`, and the demo access `serve --demo` prints: the demo tenant (seeded when
 * missing), a fresh token of its admin and a curl line that works when pasted.
 */
import type { Command } from "commander";
import type { Config } from "../config.js";
import { DEMO_ADMIN, DEMO_TENANT, type DemoSummary, seedDemo } from "../demo/seed.js";
import { findUser, type IssuedToken, issueToken } from "../operator/users.js";
import type { Store } from "../store/types.js";
import { withStore } from "./context.js";
import type { Output } from "./output.js";

export interface DemoAccess {
  seeded: DemoSummary;
  user: string;
  token: IssuedToken;
}

export async function demoAccess(store: Store, config: Config): Promise<DemoAccess> {
  const seeded = await seedDemo(store);
  const admin = await findUser(store, DEMO_ADMIN, DEMO_TENANT);
  const token = await issueToken(store, admin.user_id, {}, config.tokenTtlSeconds);
  return { seeded, user: admin.name, token };
}

/** The base URL a client on this machine reaches; a wildcard bind address is not one. */
export function clientUrl(host: string, port: number): string {
  const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `http://${reachable.includes(":") ? `[${reachable}]` : reachable}:${port}`;
}

export function curlLine(baseUrl: string, token: string, strict: boolean): string {
  // In strict mode the service requires a request id, as upstream does.
  const requestId = strict ? " -H 'X-Request-Id: demo-1'" : "";
  return `curl -s -H 'X-Auth-Token: ${token}'${requestId} '${baseUrl}/v1/instances/batch-query?page_no=1&page_size=10'`;
}

export function seededLine({ seeded }: DemoAccess): string {
  return seeded.instancesCreated > 0
    ? `demo tenant "${seeded.tenant.name}" seeded with ${seeded.instancesCreated} instances`
    : `demo tenant "${seeded.tenant.name}" already present`;
}

export function accessLines(access: DemoAccess, baseUrl: string, strict: boolean): string[] {
  return [
    `token (${access.user}, expires ${access.token.expires_at}): ${access.token.token}`,
    curlLine(baseUrl, access.token.token, strict),
  ];
}

export function accessJson(access: DemoAccess, baseUrl: string, strict: boolean) {
  return {
    tenant: access.seeded.tenant.name,
    tenant_id: access.seeded.tenant.tenant_id,
    instances_created: access.seeded.instancesCreated,
    user: access.user,
    token: access.token.token,
    token_id: access.token.token_id,
    expires_at: access.token.expires_at,
    curl: curlLine(baseUrl, access.token.token, strict),
  };
}

export function demoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      `create the "${DEMO_TENANT}" tenant with users and a realistic fleet (if missing), print a token and a curl line`,
    )
    .action(async (_opts, command: Command) =>
      withStore(command, async ({ store, config, out }) => {
        const access = await demoAccess(store, config);
        const baseUrl = clientUrl(config.host, config.port);
        printAccess(out, access, baseUrl, config.strict);
        out.note("start the server first (phonefleet serve), then run the curl line");
      }),
    );
}

function printAccess(out: Output, access: DemoAccess, baseUrl: string, strict: boolean): void {
  out.done([seededLine(access), ...accessLines(access, baseUrl, strict)].join("\n"), {
    ...accessJson(access, baseUrl, strict),
    url: baseUrl,
  });
}
