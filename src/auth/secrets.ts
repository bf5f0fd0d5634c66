/**
 * Secrets at rest. Tokens are random and only their SHA-256 is stored (a fast hash is enough for
 * 256 bits of entropy); passwords are low-entropy, so they get a slow salted scrypt hash.
 */
import * as crypto from "node:crypto";
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** An opaque bearer token with 256 bits of entropy; the prefix makes leaked ones greppable. */
export function newToken(): string {
  return `pf_${randomBytes(32).toString("base64url")}`;
}

/** Hashed on every tenant-API request: the one-shot crypto.hash (Node 20.12+) is 5x cheaper. */
export const hashToken: (token: string) => string =
  typeof crypto.hash === "function"
    ? (token) => crypto.hash("sha256", token, "hex")
    : (token) => createHash("sha256").update(token).digest("hex");

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const actual = await scryptAsync(password, Buffer.from(salt, "base64"), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return timingSafeEqual(actual, expected);
}
