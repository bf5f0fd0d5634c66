/**
 * How the admin API reads request bodies and checks request parts.
 *
 * Schemas are checked by the operator's own checker (TypeBox), not Fastify's default Ajv: that
 * one is configured to coerce types ("false" → false) and to drop unknown properties silently,
 * and the spec wants both rejected with a message naming the field. The message is then the
 * same one the operation (and so the CLI) gives for the same mistake.
 */
import type { FastifySchemaCompiler } from "fastify";
import type { TSchema } from "typebox";
import { badInput } from "../../../errors.js";
import { checker } from "../../../operator/validate.js";

export const operatorValidator: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = checker(schema);
  const what = httpPart === "querystring" ? "query" : (httpPart ?? "body");
  return (value) => {
    try {
      return { value: check(value, what) };
    } catch (error) {
      return { error: error as Error };
    }
  };
};

/**
 * JSON bodies through plain JSON.parse. Fastify's default parser refuses `__proto__` and
 * `constructor.prototype` keys as "not valid JSON"; JSON.parse keeps them as ordinary own keys
 * (it never sets a prototype), so the closed body schema rejects them as unknown fields, by name.
 * An empty body is no body.
 */
export function parseJsonBody(
  _request: unknown,
  body: string | Buffer,
  done: (error: Error | null, value?: unknown) => void,
): void {
  const text = body.toString();
  if (text.trim() === "") {
    done(null, undefined);
    return;
  }
  try {
    done(null, JSON.parse(text));
  } catch {
    done(badInput("body is not valid JSON"));
  }
}
