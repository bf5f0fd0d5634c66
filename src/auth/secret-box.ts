/**
 * Encryption at rest for secrets the server must be able to read back: the secret half of an
 * access key (AK/SK), which verifying a signature needs in the clear. AES-256-GCM under one
 * server key; each sealed value carries its own random IV, and the access key it belongs to is
 * bound in as additional data, so a sealed secret copied onto another row does not open.
 *
 * Where the server key comes from (see docs/adr/0004-access-key-secrets.md):
 *   1. PHONEFLEET_SECRET_KEY (32 bytes, base64 or hex), parsed by src/config.ts;
 *   2. else, for a SQLite file, a key file beside it (`<db>.secret-key`, mode 0600), created on
 *      first use, so the CLI and the server of one database agree without configuration;
 *   3. else (`:memory:`) a random key for the life of the process (the data dies with it too);
 *   PostgreSQL without PHONEFLEET_SECRET_KEY cannot seal or open: the error says what to set.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import type { Config } from "../config.js";

const ALGORITHM = "aes-256-gcm";
const SCHEME = "aes256gcm";

export class SecretKeyError extends Error {
  override name = "SecretKeyError";
}

export class SecretBox {
  private key: Buffer | undefined;

  /** `load` runs on first use only: a server that never meets an access key creates no file. */
  constructor(private readonly load: () => Buffer) {}

  static ofKey(key: Buffer): SecretBox {
    return new SecretBox(() => key);
  }

  /** `aes256gcm$<key id>$<iv>$<ciphertext>$<tag>`, all base64url; `context` is bound as AAD. */
  seal(plaintext: string, context: string): string {
    const key = this.keyBytes();
    const iv = randomBytes(12);
    const cipher = createCipheriv(ALGORITHM, key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return [SCHEME, keyId(key), b64(iv), b64(body), b64(cipher.getAuthTag())].join("$");
  }

  open(sealed: string, context: string): string {
    const key = this.keyBytes();
    const [scheme, kid, iv, body, tag] = sealed.split("$");
    if (scheme !== SCHEME || !kid || !iv || body === undefined || !tag) {
      throw new SecretKeyError("a stored secret is not in the aes256gcm format");
    }
    if (kid !== keyId(key)) {
      throw new SecretKeyError(
        `a stored secret was sealed under another server key (id ${kid}, this server's is ${keyId(key)}): check PHONEFLEET_SECRET_KEY or the key file`,
      );
    }
    const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    try {
      return Buffer.concat([
        decipher.update(Buffer.from(body, "base64url")),
        decipher.final(),
      ]).toString("utf8");
    } catch {
      throw new SecretKeyError("a stored secret failed its integrity check (tampered or moved)");
    }
  }

  private keyBytes(): Buffer {
    this.key ??= this.load();
    return this.key;
  }
}

/** The server key from config, or the key file beside a SQLite database; see the header. */
export function secretBoxFor(config: Pick<Config, "secretKey" | "databaseUrl">): SecretBox {
  if (config.secretKey) return SecretBox.ofKey(config.secretKey);
  const url = config.databaseUrl;
  if (/^postgres(ql)?:\/\//.test(url)) {
    return new SecretBox(() => {
      throw new SecretKeyError(
        "access keys need PHONEFLEET_SECRET_KEY (32 bytes, base64 or hex) with PostgreSQL",
      );
    });
  }
  const file = url.replace(/^sqlite:(\/\/)?/, "");
  if (file === "" || file === ":memory:") return SecretBox.ofKey(randomBytes(32));
  return new SecretBox(() => keyFile(`${file}.secret-key`));
}

/**
 * Reads the key file, or creates it. Written to a temporary name and linked into place, so two
 * processes starting at once never read a half-written file and both end up with the same key.
 */
function keyFile(path: string): Buffer {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(temporary, `${randomBytes(32).toString("base64")}\n`, { flag: "wx", mode: 0o600 });
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    unlinkSync(temporary);
  }
  const key = parseSecretKey(readFileSync(path, "utf8").trim());
  if (!key) throw new SecretKeyError(`${path} does not hold a 32-byte key (base64 or hex)`);
  return key;
}

/** 32 bytes written as 64 hex digits or base64 (either alphabet); undefined otherwise. */
export function parseSecretKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const key = Buffer.from(text.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    if (key.length === 32) return key;
  }
  return undefined;
}

/** Names a key without revealing it, so a mismatch can be reported. */
function keyId(key: Buffer): string {
  return createHash("sha256").update("phonefleet key id").update(key).digest("hex").slice(0, 8);
}

const b64 = (bytes: Buffer) => bytes.toString("base64url");
