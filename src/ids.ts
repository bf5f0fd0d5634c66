import { randomBytes, randomInt } from "node:crypto";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Tenant, project, user and token ids: 32 lowercase hex, as Huawei Cloud writes them. */
export function newHexId(): string {
  return randomBytes(16).toString("hex");
}

/** Instance ids: 8 characters [A-Za-z0-9], like the reference page's "5srn5hL8". */
export function newInstanceId(): string {
  let id = "";
  for (let i = 0; i < 8; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}

export const HEX_ID = /^[0-9a-f]{32}$/;
export const INSTANCE_ID = /^[A-Za-z0-9]{8}$/;

/** `YYYY-MM-DD HH:MM:SS` in UTC: the tenant API's time format. */
export function wireTime(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}
