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
    if (validator.Check(value)) return value as Static<T>;
    const first = validator.Errors(value)[0];
    throw badInput(first ? describe(what, first) : `${what} is invalid`);
  };
}

/** `body.role must be one of …`, `body: unknown field "tenant_id"`, `body: missing field "name"`. */
export function describe(what: string, error: TLocalizedValidationError): string {
  const path = error.instancePath.replace(/^\//, "").replaceAll("/", ".");
  const at = path ? `${what}.${path}` : what;
  switch (error.keyword) {
    case "additionalProperties":
      return `${at}: unknown field ${JSON.stringify(error.params.additionalProperties[0])}`;
    case "required":
      return `${at}: missing field ${JSON.stringify(error.params.requiredProperties[0])}`;
    default:
      return `${at} ${error.message}`;
  }
}
