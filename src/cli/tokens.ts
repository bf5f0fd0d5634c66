/** `phonefleet tokens issue|revoke` */
import type { Command } from "commander";
import { findUser, issueToken, revokeToken } from "../operator/users.js";
import { withStore } from "./context.js";
import { group } from "./group.js";
import { integer } from "./parsers.js";

export function tokensCommand(program: Command): void {
  const tokens = group(program, "tokens", "issue and revoke tenant-API tokens");

  tokens
    .command("issue")
    .description("issue a token for a user: printed once, only its hash is kept")
    .argument("<user>", "user id, or name with --tenant")
    .option("--tenant <tenant>", "the user's tenant (to name the user by name)")
    .option("--ttl-seconds <n>", "lifetime (default: PHONEFLEET_TOKEN_TTL, 24 h)", integer)
    .action(async (user: string, opts, command: Command) =>
      withStore(command, async ({ store, config, out }) => {
        const found = await findUser(store, user, opts.tenant);
        const issued = await issueToken(
          store,
          found.user_id,
          opts.ttlSeconds === undefined ? {} : { ttl_seconds: opts.ttlSeconds },
          config.tokenTtlSeconds,
        );
        // The token alone on stdout, so that TOKEN=$(phonefleet tokens issue …) works.
        out.note(`token ${issued.token_id} for ${found.name}, expires ${issued.expires_at}:`);
        out.done(issued.token, { ...issued, user_name: found.name });
      }),
    );

  tokens
    .command("revoke")
    .description("revoke a token: its next request is refused")
    .argument("<token-id>", "the token_id printed when it was issued")
    .action(async (tokenId: string, _opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        await revokeToken(store, tokenId);
        out.done(`revoked token ${tokenId}`, { token_id: tokenId, revoked: true });
      }),
    );
}
