/** `phonefleet access-keys issue|revoke`: AK/SK pairs for Huawei API-gateway request signing. */
import type { Command } from "commander";
import { secretBoxFor } from "../auth/secret-box.js";
import { issueAccessKey, revokeAccessKey } from "../operator/access-keys.js";
import { findUser } from "../operator/users.js";
import { withStore } from "./context.js";
import { group } from "./group.js";

export function accessKeysCommand(program: Command): void {
  const keys = group(
    program,
    "access-keys",
    "issue and revoke access keys (AK/SK) for signed requests",
  );

  keys
    .command("issue")
    .description("issue an access key pair for a user: the secret key is printed once")
    .argument("<user>", "user id, or name with --tenant")
    .option("--tenant <tenant>", "the user's tenant (to name the user by name)")
    .action(async (user: string, opts, command: Command) =>
      withStore(command, async ({ store, config, out }) => {
        const found = await findUser(store, user, opts.tenant);
        // The same server key as the server's: PHONEFLEET_SECRET_KEY, or the key file beside
        // the SQLite database named by --db.
        const issued = await issueAccessKey(store, found.user_id, secretBoxFor(config));
        out.note(`access key for ${found.name}; the secret key is shown only now:`);
        out.done(`access_key=${issued.access_key}\nsecret_key=${issued.secret_key}`, {
          ...issued,
          user_name: found.name,
        });
      }),
    );

  keys
    .command("revoke")
    .description("revoke an access key: its next signed request is refused")
    .argument("<access-key>", "the access_key printed when it was issued")
    .action(async (accessKey: string, _opts, command: Command) =>
      withStore(command, async ({ store, out }) => {
        await revokeAccessKey(store, accessKey);
        out.done(`revoked access key ${accessKey}`, { access_key: accessKey, revoked: true });
      }),
    );
}
