/**
 * Input checking for operator operations. The CLI and the admin API hand raw input to the same
 * operation; the operation checks it against a TypeBox schema (also the admin route's body
 * schema) and rejects it with one message naming the field.
 */

import type { Static, TSchema } from "typebox";
import { Compile } from "typebox/compile";
import type { TLocalizedValidationError } from "typebox/error";
import { badInput } from "../errors.js";

export type Check<T extends TSchema> = (value: unknown, what?: string) => Static<T>;

export function checker<T extends TSchema>(schema: T): Check<T> {
  const validator = Compile(schema);
  return (value, what = "body") => {
    if (validator.Check(value)) {
      const broken = illFormedAt(value);
      if (broken !== undefined) {
        throw badInput(
          `${broken ? `${what}.${broken}` : what} holds a lone surrogate or NUL, which no store keeps as sent`,
        );
      }
      return value as Static<T>;
    }
    const errors = validator.Errors(value);
    // An unknown field is reported twice: as "schema is false" at the field, then as
    // additionalProperties naming it; the second reads better.
    const first =
      errors.find((e) => e.keyword === "additionalProperties") ??
      errors.find((e) => e.keyword !== "boolean") ??
      errors[0];
    if (!first) throw badInput(`${what} is invalid`);
    // A union of literals (status codes, roles, scene tags) fails once per literal: list them
    // all instead of the first one's "must be equal to constant".
    const allowed = errors
      .filter((e) => e.keyword === "const" && e.instancePath === first.instancePath)
      .map((e) => JSON.stringify((e.params as { allowedValue: unknown }).allowedValue));
    if (first.keyword === "const" && allowed.length > 1) {
      throw badInput(`${at(what, first)} must be one of ${allowed.join(", ")}`);
    }
    throw badInput(describe(what, first));
  };
}

/**
 * The dotted path of the first string in `value` that a store cannot keep as sent, "" for
 * `value` itself, undefined when every string is fine: a lone surrogate (not well-formed UTF-16,
 * no UTF-8 encoding exists; SQLite kept invalid bytes, PostgreSQL a replacement character) or
 * NUL (PostgreSQL text cannot hold it).
 */
// In a `u` regex a surrogate pair is one code point, so only a lone surrogate is category Cs.
const UNKEEPABLE = /\p{Cs}|\0/u;

function illFormedAt(value: unknown): string | undefined {
  if (typeof value === "string") return UNKEEPABLE.test(value) ? "" : undefined;
  if (typeof value !== "object" || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const path = illFormedAt(item);
    if (path !== undefined) return path ? `${key}.${path}` : key;
  }
  return undefined;
}

/** `body.role must be one of …`, `body: unknown field "tenant_id"`, `body: missing field "name"`. */
export function describe(what: string, error: TLocalizedValidationError): string {
  const where = at(what, error);
  switch (error.keyword) {
    case "additionalProperties":
      return `${where}: unknown field ${JSON.stringify(error.params.additionalProperties[0])}`;
    case "required":
      return `${where}: missing field ${JSON.stringify(error.params.requiredProperties[0])}`;
    default:
      return `${where} ${error.message}`;
  }
}

function at(what: string, error: TLocalizedValidationError): string {
  const path = error.instancePath.replace(/^\//, "").replaceAll("/", ".");
  return path ? `${what}.${path}` : what;
}
